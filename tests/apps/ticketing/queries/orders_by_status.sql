-- report_row: Latest orders with one status
-- report_order: 3
-- expects_index: orders_status_placed_at_idx
-- param status: SELECT DISTINCT status FROM orders ORDER BY 1
--
-- The order dashboard: the latest 50 orders of a status tab.
SELECT id, customer_id, total, placed_at
FROM orders
WHERE status = :status
ORDER BY placed_at DESC
LIMIT 50
