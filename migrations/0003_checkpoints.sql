-- Version 3: checkpoints for reconstructing any point of a run.
-- A checkpoint is the engine's whole state after event seq (tables, both views
-- of their memory, dirty lines, allocator, TLB, gather), in pgstore's compact
-- binary form. The state at any seq is the nearest checkpoint at or before it
-- plus the events after it. A restored run starts from its checkpoint at seq 0.
CREATE TABLE checkpoints (
    run   INTEGER NOT NULL REFERENCES runs(id),
    seq   INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    state BLOB    NOT NULL,
    PRIMARY KEY (run, seq)
);
