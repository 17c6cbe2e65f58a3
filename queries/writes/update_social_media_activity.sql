-- table: social_media_activity
-- rows: SELECT id FROM social_media_activity ORDER BY id
-- A post is scraped again: scraped_at and its engagement count change.
UPDATE social_media_activity SET scraped_at = clock_timestamp(), engagement_count = :n WHERE id = :id
