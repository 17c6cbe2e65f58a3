-- report_row: Simple WHERE clause
-- report_order: 4
-- expects_index: ix_contact_social_profiles_contact_priority
-- param priority: SELECT DISTINCT contact_priority FROM contact_social_profiles ORDER BY 1
--
-- Contacts by priority: an equality filter on one newly indexed column. contact_priority has
-- four values of very different frequency (critical ~1%, high ~15%, medium ~49%, low ~35%), and
-- each is asked for equally often: a low-cardinality column is where a B-tree index helps least.
SELECT id, lead_id, full_name, job_title, company_name, decision_maker_score
FROM contact_social_profiles
WHERE contact_priority = :priority
