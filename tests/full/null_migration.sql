-- The null-migration control (tests/full/test_null_migration.py): a new table, with an index,
-- that no query shape reads and no write workload writes. It changes no plan and no write path,
-- so any read or write figure the harness calls a change after it is noise or a bias of the
-- harness. (An index that holds no row on a table the workloads insert into is no null: an
-- empty partial index on voice_session_logs made its single-row inserts 7-13% dearer in five
-- runs at the PR workflow's settings, three of their intervals excluding 0: every INSERT opens
-- every index of its table and evaluates the predicate.)
CREATE TABLE null_control (id bigint PRIMARY KEY, note text);
CREATE INDEX ix_null_control ON null_control (note);

-- down
DROP TABLE null_control;
