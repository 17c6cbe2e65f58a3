-- report_row: Platform timeline query
-- report_order: 5
-- expects_index: ix_social_media_activity_platform_posted
-- param platform: SELECT DISTINCT platform FROM social_media_activity ORDER BY 1
--
-- The platform feed: the latest 50 posts of one platform, newest first.
SELECT id, lead_id, activity_type, content, post_url, engagement_count, sentiment, posted_at
FROM social_media_activity
WHERE platform = :platform
ORDER BY posted_at DESC
LIMIT 50
