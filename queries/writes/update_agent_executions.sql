-- table: agent_executions
-- rows: SELECT id FROM agent_executions WHERE status = 'running' ORDER BY id
-- A running agent run completes: status, completed_at and latency change.
UPDATE agent_executions SET status = 'completed', completed_at = clock_timestamp(), latency_ms = :n WHERE id = :id
