-- report_row: Top contacts per company
-- report_order: 6
-- expects_index: ix_contact_profiles_company_score
-- param company: SELECT DISTINCT company_name FROM contact_social_profiles ORDER BY 1
--
-- Account view: the ten strongest decision makers at one company. Companies are drawn
-- uniformly, so most are small; a few large ones have thousands of contacts.
SELECT id, full_name, job_title, decision_maker_score, contact_priority, linkedin_url
FROM contact_social_profiles
WHERE company_name = :company
  AND decision_maker_score IS NOT NULL
ORDER BY decision_maker_score DESC
LIMIT 10
