-- Version 7: histories that are safe while they grow.
--
-- A recording commits every --batch events wherever they fall, also in the
-- middle of one long call (a map_sg of millions of pages), and at least once a
-- second when it follows a stream. A call that has begun but not yet ended
-- when its batch commits is listed here with its begin event; when it ends,
-- the same transaction that inserts its row into `calls` removes it from here.
-- So `calls` holds only calls that returned (two events, seq and end_seq), and
-- a recording cut inside a call (Ctrl-C, SIGTERM, SIGKILL, a crash) leaves the
-- call here, begun and never ended: its end event never happened. Every event
-- committed inside it is in the event tables, so any point inside the call can
-- be reconstructed, dumped, diffed and checked by `stale`.
CREATE TABLE unfinished_calls (
    run         INTEGER NOT NULL,
    seq         INTEGER NOT NULL,   -- its begin event
    parent      INTEGER NOT NULL,
    depth       INTEGER NOT NULL,
    kind        INTEGER NOT NULL,   -- call_kinds.code
    iova        INTEGER NOT NULL,
    paddr       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    prot        INTEGER NOT NULL,
    source_line INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- Places where the trace a run was recorded from says it lost events: the
-- kernel's `CPU:N [LOST M EVENTS]` in trace and trace_pipe, trace-cmd's
-- `CPU:N [M EVENTS DROPPED]`. seq is the last event recorded before the marker
-- was read: from there on the history may miss maps and unmaps the kernel did.
CREATE TABLE trace_gaps (
    run         INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    source_line INTEGER NOT NULL,   -- the marker's line in the input
    cpu         INTEGER NOT NULL,
    lost        INTEGER,            -- how many events the marker says were lost (NULL: it does not say)
    marker      TEXT NOT NULL       -- the marker as it was read
);
CREATE INDEX trace_gaps_by_seq ON trace_gaps(run, seq);

-- Findings after a gap in the trace may be incomplete (or wrong: the lost
-- events may have unmapped or invalidated what the history still holds).
DROP VIEW findings;
CREATE VIEW findings AS
SELECT f.*, EXISTS (SELECT 1 FROM trace_gaps g WHERE g.run = f.run AND g.seq < f.seq) AS after_lost_events
FROM (
    SELECT run, seq, call, 'stale descriptor' AS kind, iova, tbl, idx, cpu, memory FROM stale_descriptors
    UNION ALL
    SELECT run, seq, call, 'stale read', iova, tbl, idx, cpu, memory FROM stale_reads
    UNION ALL
    SELECT run, seq, call, 'stale TLB hit', iova, NULL, NULL, NULL, NULL FROM stale_tlb_hits
) f;
