-- table: leads
-- rows: SELECT id FROM leads ORDER BY id
-- An agent touches a lead: its updated_at moves (ix_leads_updated_at must follow).
UPDATE leads SET updated_at = clock_timestamp() WHERE id = :id
