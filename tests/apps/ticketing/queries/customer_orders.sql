-- report_row: Order history of one customer
-- report_order: 1
-- expects_index: orders_customer_id_idx
-- param customer_id: SELECT id FROM customers ORDER BY id
--
-- The customer's account page: their latest orders.
SELECT id, order_ref, status, total, currency, placed_at
FROM orders
WHERE customer_id = :customer_id
ORDER BY placed_at DESC
LIMIT 20
