-- Version 2: names for points in a run's history.
CREATE TABLE snapshots (
    name       TEXT    PRIMARY KEY,
    run        INTEGER NOT NULL REFERENCES runs(id),
    seq        INTEGER NOT NULL,   -- the point: the state after event seq
    created_at TEXT    NOT NULL
);
CREATE INDEX snapshots_by_run ON snapshots(run, seq);
