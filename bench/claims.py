"""What TASK_21_COMPLETION_REPORT.md claims beyond the six query shapes, quoted as stated.

These are claims to test, never results: the report and the charts print them next to what was
measured, labelled as claimed. (The per-shape read claims live in each queries/*.sql header.)
"""

from __future__ import annotations

# "Indexes Per Table": new indexes per table as the report's own table states them.
# Its list of 19 gives 4 for agent_executions and contact_social_profiles and 1 for
# organization_charts, which the table leaves out: counting pg_indexes shows which is right.
NEW_INDEXES_PER_TABLE = {
    "leads": 3,
    "agent_executions": 3,
    "social_media_activity": 5,
    "contact_social_profiles": 3,
    "organization_charts": None,  # not in the report's table
    "voice_session_logs": 2,
}
TOTAL_NEW_INDEXES = 19

# "Write Performance Impact", as ranges in percent.
INSERT_OVERHEAD_PCT = (3.0, 5.0)
UPDATE_OVERHEAD_PCT = (2.0, 4.0)
DISK_GROWTH_PCT = (10.0, 15.0)
