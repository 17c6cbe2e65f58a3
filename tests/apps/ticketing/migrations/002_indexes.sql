-- Indexes for the order history page, the box-office report and the order dashboard.
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX tickets_event_code_tier_no_idx ON tickets (event_code, tier_no);
CREATE INDEX orders_status_placed_at_idx ON orders (status, placed_at DESC);
