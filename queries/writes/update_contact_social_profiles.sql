-- table: contact_social_profiles
-- rows: SELECT id FROM contact_social_profiles ORDER BY id
-- A contact is scored again: score, priority (from the score) and updated_at change.
UPDATE contact_social_profiles SET decision_maker_score = :n, contact_priority = CASE WHEN :n >= 70 THEN 'critical' WHEN :n >= 45 THEN 'high' WHEN :n >= 20 THEN 'medium' ELSE 'low' END, updated_at = clock_timestamp() WHERE id = :id
