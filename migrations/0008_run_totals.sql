-- Version 8: totals kept as a run is recorded, so what `stats`, `compare` and
-- `report` show costs the same for a run of a thousand events and of a
-- hundred million.
--
-- The recorder updates these in the transaction of every batch it commits, so
-- they always describe exactly the committed events (`through_seq` is the
-- run's `events` at that commit). The views of 0004 still compute the same
-- figures from the raw events for ad-hoc SQL; tests check the two agree.

-- Per run: the figures of `strategy_summary`.
CREATE TABLE run_totals (
    run                INTEGER PRIMARY KEY,
    through_seq        INTEGER NOT NULL,
    calls              INTEGER NOT NULL,   -- top-level calls that returned
    descriptor_writes  INTEGER NOT NULL,
    clean_calls        INTEGER NOT NULL,   -- descriptor cleans (reason 0)
    lines_cleaned      INTEGER NOT NULL,
    mapped_bytes       INTEGER NOT NULL,   -- value of successful top-level map, iommu_map and map_sg calls
    tlb_flush_all      INTEGER NOT NULL,
    tlb_flush_walk     INTEGER NOT NULL,
    tlb_inv_range      INTEGER NOT NULL,
    tlb_add_page       INTEGER NOT NULL,
    stale_descriptors  INTEGER NOT NULL,
    stale_reads        INTEGER NOT NULL,
    stale_tlb_hits     INTEGER NOT NULL
);

-- Per cache line of a run's tables: how many descriptor cleans touched it.
-- The heatmap reads it; distinct lines and the most cleans of one line come from it.
CREATE TABLE line_totals (
    run    INTEGER NOT NULL,
    tbl    INTEGER NOT NULL,
    line   INTEGER NOT NULL,
    cleans INTEGER NOT NULL,
    PRIMARY KEY (run, tbl, line)
) WITHOUT ROWID;

-- Per committed batch: the run's cumulative writes and lines cleaned, the
-- report's timeline without a scan of the events.
CREATE TABLE batch_totals (
    run               INTEGER NOT NULL,
    through_seq       INTEGER NOT NULL,
    descriptor_writes INTEGER NOT NULL,
    lines_cleaned     INTEGER NOT NULL,
    PRIMARY KEY (run, through_seq)
) WITHOUT ROWID;

-- A history recorded before this version gets its totals from its events, once.
INSERT INTO run_totals
SELECT s.run, r.events, s.calls, s.descriptor_writes, s.clean_calls, s.lines_cleaned,
       (SELECT coalesce(sum(value), 0) FROM calls c WHERE c.run = r.id AND c.depth = 0 AND c.kind IN (1, 6, 7) AND c.ret = 0),
       s.tlb_flush_all, s.tlb_flush_walk, s.tlb_inv_range, s.tlb_add_page, s.stale_descriptors, s.stale_reads, s.stale_tlb_hits
FROM strategy_summary s JOIN runs r ON r.id = s.run;

INSERT INTO line_totals
SELECT run, tbl, line, count(*) FROM clean_lines WHERE reason = 0 GROUP BY run, tbl, line;

INSERT INTO batch_totals
SELECT r.id, r.events,
       (SELECT count(*) FROM writes w WHERE w.run = r.id),
       (SELECT coalesce(sum(lines), 0) FROM cleans c WHERE c.run = r.id AND c.reason = 0)
FROM runs r WHERE r.events > 0;
