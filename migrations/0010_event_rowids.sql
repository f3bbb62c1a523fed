-- Version 10: the event tables become rowid tables keyed by one integer,
-- id = (run << 40) | seq, so recording appends to a plain integer B-tree.
--
-- Measured before the change (tools/sqlite-insert-limit.c, raw C, same rows):
-- tables keyed by the composite (run, seq) WITHOUT ROWID filled at 0.53-0.67
-- of the simplest possible table, rowid tables at 0.72-0.87. SQLite compares
-- and appends integer keys without decoding a record, and splits the last
-- page of an integer B-tree in place when rows arrive in key order.
--
-- `run` and `seq` stay columns of every table, as virtual generated columns
-- computed from id: every query and view that names them keeps working.
-- A condition on them is not a range of the key, though: a query over a
-- range of one run's events is fast written on id, e.g. the events after
-- seq 100 up to 200 of run 2:
--     WHERE id > (2 << 40) + 100 AND id <= (2 << 40) + 200
-- A run has at most 2^40 - 1 events, and a file at most 2^23 - 1 runs.
--
-- The tables of exposures, list entries, unfinished calls and trace gaps
-- keep their keys: they are not written once per event.

-- The views read these tables by name and are left as they are (the old
-- rename rule, legacy_alter_table, keeps RENAME from rewriting them);
-- the two whose joins need the new key are made again at the end.
PRAGMA legacy_alter_table = ON;

CREATE TABLE calls_v10 (
    id          INTEGER PRIMARY KEY,   -- (run << 40) | seq
    run         INTEGER AS (id >> 40) VIRTUAL,
    seq         INTEGER AS (id & 1099511627775) VIRTUAL,
    end_seq     INTEGER NOT NULL,
    parent      INTEGER NOT NULL,
    depth       INTEGER NOT NULL,
    kind        INTEGER NOT NULL,
    iova        INTEGER NOT NULL,
    paddr       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    prot        INTEGER NOT NULL,
    ret         INTEGER NOT NULL,
    value       INTEGER NOT NULL,
    source_line INTEGER NOT NULL
);
INSERT INTO calls_v10 (id, end_seq, parent, depth, kind, iova, paddr, size, count, prot, ret, value, source_line)
SELECT (run << 40) | seq, end_seq, parent, depth, kind, iova, paddr, size, count, prot, ret, value, source_line FROM calls;
DROP TABLE calls;
ALTER TABLE calls_v10 RENAME TO calls;
CREATE INDEX calls_by_end ON calls(run, end_seq) WHERE depth = 0;

CREATE TABLE writes_v10 (
    id    INTEGER PRIMARY KEY,
    run   INTEGER AS (id >> 40) VIRTUAL,
    seq   INTEGER AS (id & 1099511627775) VIRTUAL,
    call  INTEGER NOT NULL,
    tbl   INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    level INTEGER NOT NULL,
    iova  INTEGER NOT NULL,
    old   INTEGER NOT NULL,
    new   INTEGER NOT NULL
);
INSERT INTO writes_v10 (id, call, tbl, idx, level, iova, old, new)
SELECT (run << 40) | seq, call, tbl, idx, level, iova, old, new FROM writes;
DROP TABLE writes;
ALTER TABLE writes_v10 RENAME TO writes;

CREATE TABLE cleans_v10 (
    id            INTEGER PRIMARY KEY,
    run           INTEGER AS (id >> 40) VIRTUAL,
    seq           INTEGER AS (id & 1099511627775) VIRTUAL,
    call          INTEGER NOT NULL,
    tbl           INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    first_line    INTEGER NOT NULL,
    lines         INTEGER NOT NULL,
    already_clean INTEGER NOT NULL,
    reason        INTEGER NOT NULL
);
INSERT INTO cleans_v10 (id, call, tbl, idx, count, first_line, lines, already_clean, reason)
SELECT (run << 40) | seq, call, tbl, idx, count, first_line, lines, already_clean, reason FROM cleans;
DROP TABLE cleans;
ALTER TABLE cleans_v10 RENAME TO cleans;

CREATE TABLE tlb_ops_v10 (
    id      INTEGER PRIMARY KEY,
    run     INTEGER AS (id >> 40) VIRTUAL,
    seq     INTEGER AS (id & 1099511627775) VIRTUAL,
    call    INTEGER NOT NULL,
    op      INTEGER NOT NULL,
    iova    INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    granule INTEGER NOT NULL
);
INSERT INTO tlb_ops_v10 (id, call, op, iova, size, granule)
SELECT (run << 40) | seq, call, op, iova, size, granule FROM tlb_ops;
DROP TABLE tlb_ops;
ALTER TABLE tlb_ops_v10 RENAME TO tlb_ops;

CREATE TABLE table_allocs_v10 (
    id           INTEGER PRIMARY KEY,
    run          INTEGER AS (id >> 40) VIRTUAL,
    seq          INTEGER AS (id & 1099511627775) VIRTUAL,
    call         INTEGER NOT NULL,
    tbl          INTEGER NOT NULL,
    pa           INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    alloc_bytes  INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    parent       INTEGER NOT NULL,
    parent_index INTEGER NOT NULL,
    iova_base    INTEGER NOT NULL
);
INSERT INTO table_allocs_v10 (id, call, tbl, pa, bytes, alloc_bytes, level, parent, parent_index, iova_base)
SELECT (run << 40) | seq, call, tbl, pa, bytes, alloc_bytes, level, parent, parent_index, iova_base FROM table_allocs;
DROP TABLE table_allocs;
ALTER TABLE table_allocs_v10 RENAME TO table_allocs;

CREATE TABLE table_frees_v10 (
    id   INTEGER PRIMARY KEY,
    run  INTEGER AS (id >> 40) VIRTUAL,
    seq  INTEGER AS (id & 1099511627775) VIRTUAL,
    call INTEGER NOT NULL,
    tbl  INTEGER NOT NULL
);
INSERT INTO table_frees_v10 (id, call, tbl) SELECT (run << 40) | seq, call, tbl FROM table_frees;
DROP TABLE table_frees;
ALTER TABLE table_frees_v10 RENAME TO table_frees;

CREATE TABLE accesses_v10 (
    id           INTEGER PRIMARY KEY,
    run          INTEGER AS (id >> 40) VIRTUAL,
    seq          INTEGER AS (id & 1099511627775) VIRTUAL,
    call         INTEGER NOT NULL,
    iova         INTEGER NOT NULL,
    is_write     INTEGER NOT NULL,
    outcome      INTEGER NOT NULL,
    pa           INTEGER NOT NULL,
    tlb_hit      INTEGER NOT NULL,
    stale_read   INTEGER NOT NULL,
    stale_tlb    INTEGER NOT NULL,
    stale_tbl    INTEGER NOT NULL,
    stale_idx    INTEGER NOT NULL,
    stale_cpu    INTEGER NOT NULL,
    stale_memory INTEGER NOT NULL
);
INSERT INTO accesses_v10 (id, call, iova, is_write, outcome, pa, tlb_hit, stale_read, stale_tlb, stale_tbl, stale_idx, stale_cpu, stale_memory)
SELECT (run << 40) | seq, call, iova, is_write, outcome, pa, tlb_hit, stale_read, stale_tlb, stale_tbl, stale_idx, stale_cpu, stale_memory FROM accesses;
DROP TABLE accesses;
ALTER TABLE accesses_v10 RENAME TO accesses;

CREATE TABLE warnings_v10 (
    id   INTEGER PRIMARY KEY,
    run  INTEGER AS (id >> 40) VIRTUAL,
    seq  INTEGER AS (id & 1099511627775) VIRTUAL,
    call INTEGER NOT NULL,
    code INTEGER NOT NULL
);
INSERT INTO warnings_v10 (id, call, code) SELECT (run << 40) | seq, call, code FROM warnings;
DROP TABLE warnings;
ALTER TABLE warnings_v10 RENAME TO warnings;

PRAGMA legacy_alter_table = OFF;

-- The findings views look for stale accesses of one run: the few rows that
-- are stale are indexed (a partial index costs nothing for the others).
CREATE INDEX accesses_stale_reads ON accesses(run) WHERE stale_read = 1;
CREATE INDEX accesses_stale_tlb ON accesses(run) WHERE stale_tlb = 1;

-- A condition on run no longer narrows cleans by its key, so the planner
-- could put line_offsets outside and scan cleans for each of its rows:
-- CROSS JOIN keeps cleans outside, one pass over them.
DROP VIEW clean_lines;
CREATE VIEW clean_lines AS
SELECT c.run, c.seq, c.call, c.tbl, c.first_line + o.n AS line, c.reason
FROM cleans c CROSS JOIN line_offsets o ON o.n < c.lines;

-- An exposure names its call by seq: the call is found by its id.
DROP VIEW findings;
DROP VIEW stale_descriptors;
CREATE VIEW stale_descriptors AS
SELECT x.run, c.end_seq AS seq, x.call, k.name AS call_kind, x.tbl, x.idx, x.level,
       printf('0x%016x', x.iova) AS iova, printf('0x%016x', x.cpu) AS cpu, printf('0x%016x', x.memory) AS memory
FROM exposures x JOIN calls c ON c.id = (x.run << 40) | x.call JOIN call_kinds k ON k.code = c.kind;

CREATE VIEW findings AS
SELECT f.*, EXISTS (SELECT 1 FROM trace_gaps g WHERE g.run = f.run AND g.seq < f.seq) AS after_lost_events
FROM (
    SELECT run, seq, call, 'stale descriptor' AS kind, iova, tbl, idx, cpu, memory FROM stale_descriptors
    UNION ALL
    SELECT run, seq, call, 'stale read', iova, tbl, idx, cpu, memory FROM stale_reads
    UNION ALL
    SELECT run, seq, call, 'stale TLB hit', iova, NULL, NULL, NULL, NULL FROM stale_tlb_hits
) f;

-- Each run's figures read only that run's rows: a range of the key.
DROP VIEW strategy_summary;
CREATE VIEW strategy_summary AS
WITH k AS (SELECT r.*, r.id << 40 AS lo, ((r.id + 1) << 40) - 1 AS hi FROM runs r)
SELECT r.id AS run, r.strategy,
       (SELECT count(*) FROM calls c WHERE c.id BETWEEN r.lo AND r.hi AND c.depth = 0) AS calls,
       (SELECT count(*) FROM writes w WHERE w.id BETWEEN r.lo AND r.hi) AS descriptor_writes,
       (SELECT count(*) FROM cleans c WHERE c.id BETWEEN r.lo AND r.hi AND c.reason = 0) AS clean_calls,
       (SELECT coalesce(sum(lines), 0) FROM cleans c WHERE c.id BETWEEN r.lo AND r.hi AND c.reason = 0) AS lines_cleaned,
       (SELECT coalesce(sum(lines), 0) FROM cleans c WHERE c.id BETWEEN r.lo AND r.hi AND c.reason = 0)
         - (SELECT count(*) FROM (SELECT DISTINCT c.tbl, c.first_line + o.n FROM cleans c CROSS JOIN line_offsets o ON o.n < c.lines
                                  WHERE c.id BETWEEN r.lo AND r.hi AND c.reason = 0)) AS redundant_lines,
       (SELECT coalesce(max(times), 0) FROM (SELECT count(*) AS times FROM cleans c CROSS JOIN line_offsets o ON o.n < c.lines
            WHERE c.id BETWEEN r.lo AND r.hi AND c.reason = 0 GROUP BY c.tbl, c.first_line + o.n)) AS max_cleans_per_line,
       (SELECT coalesce(sum(value), 0) FROM calls c WHERE c.id BETWEEN r.lo AND r.hi AND c.depth = 0 AND c.kind IN (1, 6, 7) AND c.ret = 0) / r.granule AS mapped_pages,
       round(CAST((SELECT coalesce(sum(lines), 0) FROM cleans c WHERE c.id BETWEEN r.lo AND r.hi AND c.reason = 0) AS REAL)
             / max(1, (SELECT coalesce(sum(value), 0) FROM calls c WHERE c.id BETWEEN r.lo AND r.hi AND c.depth = 0 AND c.kind IN (1, 6, 7) AND c.ret = 0) / r.granule), 4)
         AS lines_per_mapped_page,
       (SELECT count(*) FROM tlb_ops t WHERE t.id BETWEEN r.lo AND r.hi AND t.op = 0) AS tlb_flush_all,
       (SELECT count(*) FROM tlb_ops t WHERE t.id BETWEEN r.lo AND r.hi AND t.op = 1) AS tlb_flush_walk,
       (SELECT count(*) FROM tlb_ops t WHERE t.id BETWEEN r.lo AND r.hi AND t.op = 2) AS tlb_inv_range,
       (SELECT count(*) FROM tlb_ops t WHERE t.id BETWEEN r.lo AND r.hi AND t.op = 3) AS tlb_add_page,
       (SELECT count(*) FROM exposures x WHERE x.run = r.id) AS stale_descriptors,
       (SELECT count(*) FROM accesses a WHERE a.id BETWEEN r.lo AND r.hi AND a.stale_read = 1) AS stale_reads,
       (SELECT count(*) FROM accesses a WHERE a.id BETWEEN r.lo AND r.hi AND a.stale_tlb = 1) AS stale_tlb_hits
FROM k r;
