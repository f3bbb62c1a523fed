-- Version 4: documented views over the history (see docs/SCHEMA.md). They use
-- only core SQLite (window functions, recursive CTEs, printf), so the stock
-- sqlite3 shell reads them with no extension.

-- Reconstruction reads the top-level calls that end within a range of events.
-- (Few other indexes: each costs recording speed and file size on every
-- insert. Per-descriptor history is a search of the run's writes.)
CREATE INDEX calls_by_end ON calls(run, end_seq) WHERE depth = 0;

-- Descriptor writes, decoded: addresses in hex, the IOVA range the entry
-- translates, the descriptor's type, output address and attributes.
CREATE VIEW descriptor_writes AS
SELECT w.run, w.seq, w.call, w.tbl, w.idx, w.level,
       printf('0x%016x', w.iova) AS iova,
       printf('0x%016x', w.iova + (1 << ((4 - w.level) * (CASE r.granule WHEN 4096 THEN 9 WHEN 16384 THEN 11 ELSE 13 END) + 3)) - 1) AS iova_end,
       printf('0x%016x', w.old) AS old,
       printf('0x%016x', w.new) AS new,
       CASE WHEN w.new & 1 = 0 THEN 'invalid'
            WHEN w.level < 3 AND w.new & 3 = 3 THEN 'table'
            WHEN w.level = 3 AND w.new & 3 = 3 THEN 'page'
            WHEN w.level < 3 AND w.new & 3 = 1 THEN 'block'
            ELSE 'reserved' END AS type,
       CASE WHEN w.new & 1 = 0 THEN NULL
            WHEN r.granule = 65536 THEN printf('0x%x', ((w.new & 0x0000FFFFFFFFF000) | ((w.new & 0x0000FFFFFFFFF000) << 36)) & 0x000FFFFFFFFFF0000)
            ELSE printf('0x%x', w.new & 0x0000FFFFFFFFF000) END AS output,
       CASE WHEN w.new & 1 = 0 THEN ''
            WHEN w.level < 3 AND w.new & 3 = 3 THEN
                trim(CASE WHEN w.new & (1 << 55) THEN 'SYNCED ' ELSE '' END || CASE WHEN w.new < 0 THEN 'NSTABLE' ELSE '' END)
            WHEN r.stage = 1 THEN trim(
                CASE WHEN w.new & 0x80 THEN 'ro' ELSE 'RW' END
                || CASE WHEN w.new & 0x40 THEN ' USR' ELSE '' END
                || CASE WHEN w.new & (3 << 53) THEN ' NX' ELSE '' END
                || CASE (w.new >> 8) & 3 WHEN 3 THEN ' SHD' WHEN 2 THEN ' OSH' ELSE '' END
                || CASE WHEN w.new & 0x400 THEN ' AF' ELSE '' END
                || CASE WHEN w.new & 0x800 THEN ' NG' ELSE '' END
                || CASE WHEN w.new & 0x20 THEN ' NS' ELSE '' END
                || CASE (w.new >> 2) & 7 WHEN 2 THEN ' DEVICE/nGnRE' WHEN 1 THEN ' MEM/NORMAL' ELSE ' MEM/NORMAL-NC' END)
            ELSE trim(
                CASE (w.new >> 6) & 3 WHEN 3 THEN 'RW' WHEN 1 THEN 'ro' WHEN 2 THEN 'wo' ELSE 'none' END
                || CASE WHEN w.new & (3 << 53) THEN ' NX' ELSE '' END
                || CASE (w.new >> 8) & 3 WHEN 3 THEN ' SHD' WHEN 2 THEN ' OSH' ELSE '' END
                || CASE WHEN w.new & 0x400 THEN ' AF' ELSE '' END
                || CASE (w.new >> 2) & 15 WHEN 1 THEN ' DEVICE/nGnRE' WHEN 15 THEN ' MEM/NORMAL' WHEN 5 THEN ' MEM/NORMAL-NC' ELSE ' MEMATTR' END)
       END AS attributes
FROM writes w JOIN runs r ON r.id = w.run;

-- 0, 1, 2, ... 65535: enough for the lines of any table page (64 KiB of 8-byte lines).
CREATE TABLE line_offsets (n INTEGER PRIMARY KEY);
WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < 65535)
INSERT INTO line_offsets SELECT n FROM k;

-- One row per cache line each clean touched (lines numbered from the table's
-- start). A plain join, so a condition on run reaches the cleans' primary key.
CREATE VIEW clean_lines AS
SELECT c.run, c.seq, c.call, c.tbl, c.first_line + o.n AS line, c.reason
FROM cleans c JOIN line_offsets o ON o.n < c.lines;

-- Per cache line: how often the descriptor cleans cleaned it, and how often it
-- was clean already (no descriptor written on it since its last clean).
CREATE VIEW line_cleans AS
WITH events AS (
    SELECT w.run, w.seq, w.tbl, (w.idx * 8) / r.line_size AS line, 'write' AS what
    FROM writes w JOIN runs r ON r.id = w.run
    UNION ALL
    SELECT run, seq, tbl, line, CASE reason WHEN 0 THEN 'clean' ELSE 'allocation' END FROM clean_lines
), ordered AS (
    SELECT run, seq, tbl, line, what, lag(what) OVER (PARTITION BY run, tbl, line ORDER BY seq) AS previous FROM events
)
SELECT run, tbl, line,
       count(*) FILTER (WHERE what = 'clean') AS cleans,
       count(*) FILTER (WHERE what = 'clean' AND previous IN ('clean', 'allocation')) AS already_clean,
       count(*) FILTER (WHERE what = 'write') AS writes
FROM ordered GROUP BY run, tbl, line HAVING cleans > 0;

-- Stale descriptors at exposure points: when an IOMMU-core map or map_sg
-- returned, a descriptor in its range the device would read differently.
CREATE VIEW stale_descriptors AS
SELECT x.run, c.end_seq AS seq, x.call, k.name AS call_kind, x.tbl, x.idx, x.level,
       printf('0x%016x', x.iova) AS iova, printf('0x%016x', x.cpu) AS cpu, printf('0x%016x', x.memory) AS memory
FROM exposures x JOIN calls c ON c.run = x.run AND c.seq = x.call JOIN call_kinds k ON k.code = c.kind;

-- Device reads that walked a descriptor whose line was dirty and whose memory value differed.
CREATE VIEW stale_reads AS
SELECT run, seq, call, printf('0x%016x', iova) AS iova, CASE is_write WHEN 1 THEN 'write' ELSE 'read' END AS access,
       o.name AS outcome, stale_tbl AS tbl, stale_idx AS idx,
       printf('0x%016x', stale_cpu) AS cpu, printf('0x%016x', stale_memory) AS memory
FROM accesses a JOIN access_outcomes o ON o.code = a.outcome WHERE stale_read = 1;

-- Accesses served by a TLB entry that no longer matches the tables.
CREATE VIEW stale_tlb_hits AS
SELECT run, seq, call, printf('0x%016x', iova) AS iova, CASE is_write WHEN 1 THEN 'write' ELSE 'read' END AS access,
       o.name AS outcome, printf('0x%x', pa) AS pa
FROM accesses a JOIN access_outcomes o ON o.code = a.outcome WHERE stale_tlb = 1;

-- Every finding, one row each.
CREATE VIEW findings AS
SELECT run, seq, call, 'stale descriptor' AS kind, iova, tbl, idx, cpu, memory FROM stale_descriptors
UNION ALL
SELECT run, seq, call, 'stale read', iova, tbl, idx, cpu, memory FROM stale_reads
UNION ALL
SELECT run, seq, call, 'stale TLB hit', iova, NULL, NULL, NULL, NULL FROM stale_tlb_hits;

-- What each run cost and what went wrong in it.
CREATE VIEW strategy_summary AS
SELECT r.id AS run, r.strategy,
       (SELECT count(*) FROM calls c WHERE c.run = r.id AND c.depth = 0) AS calls,
       (SELECT count(*) FROM writes w WHERE w.run = r.id) AS descriptor_writes,
       (SELECT count(*) FROM cleans c WHERE c.run = r.id AND c.reason = 0) AS clean_calls,
       (SELECT coalesce(sum(lines), 0) FROM cleans c WHERE c.run = r.id AND c.reason = 0) AS lines_cleaned,
       (SELECT coalesce(sum(lines), 0) FROM cleans c WHERE c.run = r.id AND c.reason = 0)
         - (SELECT count(*) FROM (SELECT DISTINCT tbl, line FROM clean_lines l WHERE l.run = r.id AND l.reason = 0)) AS redundant_lines,
       (SELECT coalesce(max(times), 0) FROM (SELECT count(*) AS times FROM clean_lines l
            WHERE l.run = r.id AND l.reason = 0 GROUP BY tbl, line)) AS max_cleans_per_line,
       (SELECT coalesce(sum(value), 0) FROM calls c WHERE c.run = r.id AND c.depth = 0 AND c.kind IN (1, 6, 7) AND c.ret = 0) / r.granule AS mapped_pages,
       round(CAST((SELECT coalesce(sum(lines), 0) FROM cleans c WHERE c.run = r.id AND c.reason = 0) AS REAL)
             / max(1, (SELECT coalesce(sum(value), 0) FROM calls c WHERE c.run = r.id AND c.depth = 0 AND c.kind IN (1, 6, 7) AND c.ret = 0) / r.granule), 4)
         AS lines_per_mapped_page,
       (SELECT count(*) FROM tlb_ops t WHERE t.run = r.id AND t.op = 0) AS tlb_flush_all,
       (SELECT count(*) FROM tlb_ops t WHERE t.run = r.id AND t.op = 1) AS tlb_flush_walk,
       (SELECT count(*) FROM tlb_ops t WHERE t.run = r.id AND t.op = 2) AS tlb_inv_range,
       (SELECT count(*) FROM tlb_ops t WHERE t.run = r.id AND t.op = 3) AS tlb_add_page,
       (SELECT count(*) FROM exposures x WHERE x.run = r.id) AS stale_descriptors,
       (SELECT count(*) FROM accesses a WHERE a.run = r.id AND a.stale_read = 1) AS stale_reads,
       (SELECT count(*) FROM accesses a WHERE a.run = r.id AND a.stale_tlb = 1) AS stale_tlb_hits
FROM runs r;
