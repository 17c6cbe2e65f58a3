-- report_row: Composite filter + sort
-- report_order: 3
-- expects_index: ix_agent_executions_status_created
-- param status: SELECT DISTINCT status FROM agent_executions ORDER BY 1
--
-- The agent-runs dashboard tab: the latest 50 executions with a given status (each status tab
-- equally often, so rare statuses such as 'failed' and 'pending' count as much as 'completed').
SELECT id, lead_id, agent_type, status, model, error_message, created_at, completed_at
FROM agent_executions
WHERE status = :status
ORDER BY created_at DESC
LIMIT 50
