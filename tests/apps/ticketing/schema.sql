--
-- PostgreSQL database dump (schema only): a ticketing app, the second example app of the
-- tests (tests/full/test_generic_data.py). Written the way pg_dump --schema-only writes it.
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: event_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.event_status AS ENUM (
    'scheduled',
    'on_sale',
    'sold_out',
    'cancelled',
    'completed'
);

--
-- Name: payment_method; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.payment_method AS ENUM (
    'card',
    'paypal',
    'bank_transfer',
    'voucher'
);

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: venues; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.venues (
    id integer NOT NULL,
    name character varying(120) NOT NULL,
    city character varying(80) NOT NULL,
    country character(2) NOT NULL,
    capacity integer NOT NULL,
    latitude double precision,
    longitude double precision,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT venues_capacity_check CHECK ((capacity > 0))
);

CREATE SEQUENCE public.venues_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.venues_id_seq OWNED BY public.venues.id;

--
-- Name: customers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.customers (
    id bigint NOT NULL,
    email character varying(254) NOT NULL,
    first_name character varying(60) NOT NULL,
    last_name character varying(60) NOT NULL,
    phone character varying(40),
    country character(2),
    birth_date date,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE SEQUENCE public.customers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.customers_id_seq OWNED BY public.customers.id;

--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    code character varying(12) NOT NULL,
    venue_id integer NOT NULL,
    title character varying(200) NOT NULL,
    category text NOT NULL,
    status public.event_status DEFAULT 'scheduled'::public.event_status NOT NULL,
    starts_at timestamp without time zone NOT NULL,
    ends_at timestamp without time zone,
    doors_open time without time zone,
    description text,
    CONSTRAINT events_category_check CHECK ((category = ANY (ARRAY['concert'::text, 'sport'::text, 'theatre'::text, 'comedy'::text, 'conference'::text]))),
    CONSTRAINT events_check CHECK ((ends_at > starts_at))
);

--
-- Name: price_tiers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.price_tiers (
    event_code character varying(12) NOT NULL,
    tier_no smallint NOT NULL,
    name character varying(40) NOT NULL,
    price numeric(8,2) NOT NULL,
    quota integer,
    CONSTRAINT price_tiers_price_check CHECK ((price >= (0)::numeric)),
    CONSTRAINT price_tiers_tier_no_check CHECK (((tier_no >= 1) AND (tier_no <= 6)))
);

--
-- Name: orders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.orders (
    id bigint NOT NULL,
    order_ref uuid NOT NULL,
    customer_id bigint NOT NULL,
    status character varying(20) DEFAULT 'pending'::character varying NOT NULL,
    total numeric(10,2) NOT NULL,
    currency character(3) DEFAULT 'USD'::bpchar NOT NULL,
    placed_at timestamp with time zone NOT NULL,
    paid_at timestamp with time zone,
    notes text,
    metadata jsonb,
    CONSTRAINT orders_status_check CHECK (((status)::text = ANY ((ARRAY['pending'::character varying, 'paid'::character varying, 'refunded'::character varying, 'cancelled'::character varying])::text[]))),
    CONSTRAINT orders_total_check CHECK ((total >= (0)::numeric))
);

CREATE SEQUENCE public.orders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.orders_id_seq OWNED BY public.orders.id;

--
-- Name: tickets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tickets (
    order_id bigint NOT NULL,
    line_no integer NOT NULL,
    event_code character varying(12) NOT NULL,
    tier_no smallint NOT NULL,
    seat_label character varying(8),
    price_paid numeric(8,2) NOT NULL,
    attendee_name character varying(120),
    scanned_at timestamp with time zone,
    CONSTRAINT tickets_line_no_check CHECK ((line_no > 0)),
    CONSTRAINT tickets_price_paid_check CHECK ((price_paid >= (0)::numeric))
);

--
-- Name: payments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payments (
    id bigint NOT NULL,
    order_id bigint NOT NULL,
    method public.payment_method NOT NULL,
    amount double precision NOT NULL,
    fee real,
    paid_on date NOT NULL,
    processor_ref character varying(64),
    receipt bytea,
    CONSTRAINT payments_amount_check CHECK ((amount >= (0)::double precision))
);

CREATE SEQUENCE public.payments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.payments_id_seq OWNED BY public.payments.id;

ALTER TABLE ONLY public.customers ALTER COLUMN id SET DEFAULT nextval('public.customers_id_seq'::regclass);

ALTER TABLE ONLY public.orders ALTER COLUMN id SET DEFAULT nextval('public.orders_id_seq'::regclass);

ALTER TABLE ONLY public.payments ALTER COLUMN id SET DEFAULT nextval('public.payments_id_seq'::regclass);

ALTER TABLE ONLY public.venues ALTER COLUMN id SET DEFAULT nextval('public.venues_id_seq'::regclass);

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_email_key UNIQUE (email);

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (code);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_order_ref_key UNIQUE (order_ref);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.price_tiers
    ADD CONSTRAINT price_tiers_pkey PRIMARY KEY (event_code, tier_no);

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_pkey PRIMARY KEY (order_id, line_no);

ALTER TABLE ONLY public.venues
    ADD CONSTRAINT venues_pkey PRIMARY KEY (id);

--
-- Name: customers_lower_email_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX customers_lower_email_idx ON public.customers USING btree (lower((email)::text));

--
-- Name: events_on_sale_starts_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_on_sale_starts_idx ON public.events USING btree (starts_at) WHERE (status = 'on_sale'::public.event_status);

CREATE INDEX events_venue_id_idx ON public.events USING btree (venue_id);

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_venue_id_fkey FOREIGN KEY (venue_id) REFERENCES public.venues(id);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id);

ALTER TABLE ONLY public.price_tiers
    ADD CONSTRAINT price_tiers_event_code_fkey FOREIGN KEY (event_code) REFERENCES public.events(code) ON UPDATE CASCADE;

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_event_code_tier_no_fkey FOREIGN KEY (event_code, tier_no) REFERENCES public.price_tiers(event_code, tier_no) ON UPDATE CASCADE;

--
-- PostgreSQL database dump complete
--
