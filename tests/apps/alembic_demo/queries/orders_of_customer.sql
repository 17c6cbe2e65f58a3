-- report_row: Orders of one customer
-- report_order: 1
-- expects_index: ix_orders_customer_id
-- param customer_id: SELECT id FROM customers ORDER BY id
SELECT id, total_cents FROM orders WHERE customer_id = :customer_id
