-- report_row: Tickets sold per tier of one event
-- report_order: 2
-- expects_index: tickets_event_code_tier_no_idx
-- param event_code: SELECT code FROM events ORDER BY code
--
-- The box-office report: tickets and revenue per price tier, through the composite foreign key.
SELECT p.tier_no, p.name, count(t.line_no) AS sold, coalesce(sum(t.price_paid), 0) AS revenue
FROM price_tiers AS p
LEFT JOIN tickets AS t ON t.event_code = p.event_code AND t.tier_no = p.tier_no
WHERE p.event_code = :event_code
GROUP BY p.tier_no, p.name
ORDER BY p.tier_no
