-- Version 12: descriptor writes are stored without what their table says.
--
-- `writes` is the largest event table (about 40% of a churn run's rows) and
-- two of its columns repeat the table's record: a descriptor's level is its
-- table's, and the IOVA it translates first is the table's IOVA base plus
-- its index times the bytes one entry at that level maps. Measured with raw C
-- inserts of a churn recording's rows (tools/sqlite-insert-limit.c, 13M rows,
-- two rounds): 7.05 and 7.73 s with them, 6.43 and 5.98 s without.
--
-- The rows go to `write_rows`; `run_tables` holds, once per table of a run,
-- the level, the IOVA base and the shift (log2 of the bytes one entry maps)
-- of every table the run allocated or inherited (a restored run's starting
-- state); and `writes` becomes a view with exactly the columns it had. A
-- condition on `id` still ranges over the key of `write_rows`, and a query
-- that reads neither `level` nor `iova` does not touch `run_tables` at all
-- (SQLite drops a LEFT JOIN on a primary key whose columns go unused), but
-- for an aggregate such as count(*), which is faster on `write_rows`.

CREATE TABLE run_tables (
    run       INTEGER NOT NULL,
    tbl       INTEGER NOT NULL,
    level     INTEGER NOT NULL,
    iova_base INTEGER NOT NULL,
    shift     INTEGER NOT NULL,   -- an entry of the table maps 1 << shift bytes
    PRIMARY KEY (run, tbl)
) WITHOUT ROWID;

-- The tables each run allocated.
INSERT OR IGNORE INTO run_tables (run, tbl, level, iova_base, shift)
SELECT a.run, a.tbl, a.level, a.iova_base,
       (4 - a.level) * (CASE r.granule WHEN 4096 THEN 9 WHEN 16384 THEN 11 ELSE 13 END) + 3
FROM table_allocs a JOIN runs r ON r.id = a.run;

-- The tables a run wrote without allocating them (inherited from the state
-- it was restored from): their records follow from any of their writes.
INSERT OR IGNORE INTO run_tables (run, tbl, level, iova_base, shift)
SELECT run, tbl, level, iova - (idx << shift), shift FROM (
    SELECT w.run, w.tbl, w.level, w.iova, w.idx,
           (4 - w.level) * (CASE r.granule WHEN 4096 THEN 9 WHEN 16384 THEN 11 ELSE 13 END) + 3 AS shift
    FROM writes w JOIN runs r ON r.id = w.run
    WHERE NOT EXISTS (SELECT 1 FROM table_allocs a WHERE a.run = w.run AND a.tbl = w.tbl)
);

CREATE TABLE write_rows (
    id   INTEGER PRIMARY KEY,   -- (run << 40) | seq
    call INTEGER NOT NULL,
    tbl  INTEGER NOT NULL,
    idx  INTEGER NOT NULL,
    old  INTEGER NOT NULL,
    new  INTEGER NOT NULL
);
INSERT INTO write_rows (id, call, tbl, idx, old, new) SELECT id, call, tbl, idx, old, new FROM writes ORDER BY id;
DROP TABLE writes;

-- The views that read `writes` (descriptor_writes, line_cleans) read it by
-- name and now read this view.
CREATE VIEW writes AS
SELECT w.id, w.id >> 40 AS run, w.id & 1099511627775 AS seq, w.call, w.tbl, w.idx,
       t.level, t.iova_base + (w.idx << t.shift) AS iova, w.old, w.new
FROM write_rows w LEFT JOIN run_tables t ON t.run = w.id >> 40 AND t.tbl = w.tbl;

-- strategy_summary counts a run's writes: from write_rows, a range of its
-- key (an aggregate over the view would look up every row's table).
DROP VIEW strategy_summary;
CREATE VIEW strategy_summary AS
WITH k AS (SELECT r.*, r.id << 40 AS lo, ((r.id + 1) << 40) - 1 AS hi FROM runs r)
SELECT r.id AS run, r.strategy,
       (SELECT count(*) FROM calls c WHERE c.id BETWEEN r.lo AND r.hi AND c.depth = 0) AS calls,
       (SELECT count(*) FROM write_rows w WHERE w.id BETWEEN r.lo AND r.hi) AS descriptor_writes,
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
