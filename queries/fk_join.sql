-- report_row: Simple FK join (10k rows)
-- report_order: 1
-- expects_index: ix_social_media_activity_lead_id
-- param lead_id: SELECT id FROM leads ORDER BY id
--
-- The lead page: one lead with its contact and org-chart counts and its social-media activity,
-- newest first, each joined through lead_id. Without an index on the three lead_id foreign keys
-- of social_media_activity, contact_social_profiles and organization_charts (the seeded schema
-- has none), each join scans its whole table. Also uses ix_contact_social_profiles_lead_id and
-- ix_organization_charts_lead_id.
SELECT l.id, l.company_name, l.status, l.qualification_score,
       c.contact_count, o.org_chart_count,
       s.platform, s.activity_type, s.posted_at, s.sentiment, s.engagement_count
FROM leads AS l
CROSS JOIN LATERAL (
    SELECT count(*) AS contact_count FROM contact_social_profiles WHERE lead_id = l.id
) AS c
CROSS JOIN LATERAL (
    SELECT count(*) AS org_chart_count FROM organization_charts WHERE lead_id = l.id
) AS o
LEFT JOIN social_media_activity AS s ON s.lead_id = l.id
WHERE l.id = :lead_id
ORDER BY s.posted_at DESC
