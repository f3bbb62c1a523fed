-- Version 5: snapshot names belong to their run, and a run is a sequence of
-- segments (its first recording, then each `record --continue`).

-- Snapshot names were unique in a file, so recording a script with a
-- `snapshot` line twice failed halfway. They are now unique within a run;
-- a point `RUN:NAME` names one, a bare `NAME` the latest run that has it.
CREATE TABLE snapshots_v5 (
    run        INTEGER NOT NULL REFERENCES runs(id),
    name       TEXT    NOT NULL,
    seq        INTEGER NOT NULL,   -- the point: the state after event seq
    created_at TEXT    NOT NULL,
    PRIMARY KEY (run, name)
) WITHOUT ROWID;
INSERT INTO snapshots_v5 (run, name, seq, created_at)
    SELECT run, name, seq, created_at FROM snapshots;
DROP TABLE snapshots;
ALTER TABLE snapshots_v5 RENAME TO snapshots;
CREATE INDEX snapshots_by_name ON snapshots(name, run);

-- One row per recording session of a run: what it read, when, which events
-- it added (start_seq < seq <= end_seq) and how it ended. The run's own
-- status is its last segment's.
CREATE TABLE run_segments (
    run             INTEGER NOT NULL REFERENCES runs(id),
    segment         INTEGER NOT NULL,            -- 1, 2, ... in recording order
    source_kind     TEXT    NOT NULL CHECK (source_kind IN ('script', 'ftrace', 'generator', 'restore')),
    source          TEXT    NOT NULL,            -- path, or generator spec
    source_sha256   TEXT    NOT NULL,
    pgstore_version TEXT    NOT NULL,
    started_at      TEXT    NOT NULL,            -- UTC, ISO 8601
    ended_at        TEXT,
    start_seq       INTEGER NOT NULL,            -- the run's last event before this segment
    end_seq         INTEGER NOT NULL,            -- the last event this segment committed
    start_calls     INTEGER NOT NULL,            -- top-level calls before this segment
    end_calls       INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'incomplete')),
    message         TEXT,                        -- why it failed or stopped
    PRIMARY KEY (run, segment)
) WITHOUT ROWID;

-- Runs recorded before version 5 become one segment each. (A continuation
-- recorded then left no trace of its own, so it is part of that segment.)
INSERT INTO run_segments (run, segment, source_kind, source, source_sha256, pgstore_version,
                          started_at, ended_at, start_seq, end_seq, start_calls, end_calls, status, message)
    SELECT id, 1, source_kind, source, source_sha256, pgstore_version,
           started_at, ended_at, 0, events, 0, calls, status, message
    FROM runs;
