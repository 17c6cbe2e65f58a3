-- report_row: Timestamp range filter
-- report_order: 2
-- expects_index: ix_agent_executions_started_at
-- param day: SELECT DISTINCT date_trunc('day', started_at) FROM agent_executions WHERE started_at IS NOT NULL ORDER BY 1
--
-- The daily agent-run report: every run started on one day (about 540 of 400,000 rows on an
-- average day at the default scale, more on recent days), with its cost. A narrow range on a
-- newly indexed timestamp.
SELECT id, lead_id, agent_type, status, model, tokens_used, cost_usd, started_at, completed_at
FROM agent_executions
WHERE started_at >= :day
  AND started_at < :day + interval '1 day'
ORDER BY started_at
