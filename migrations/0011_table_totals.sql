-- Version 11: the totals of 0008 without a scan of anything that grows with
-- the run.
--
-- A run that allocates and frees tables (churn) gets a new table id for
-- every allocation, so `line_totals` grows with the run: 136M events of churn
-- had stats and compare count it (0.11 s against 0.02 s at 4.5M events) and
-- the report read all of it and all of `table_allocs` to pick its heatmap.
-- The recorder now keeps, in the transaction of every batch:
--   * per run, the distinct lines cleaned, the most cleans of one line and
--     the tables cleaned;
--   * per table, its cleans and distinct lines (`table_totals`), so the
--     report picks the most-cleaned tables from an index.
-- `table_allocs_by_table` finds a table's allocation (the report's paths and
-- heatmap bounds) without reading the run's other allocations.

ALTER TABLE run_totals ADD COLUMN distinct_lines INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_totals ADD COLUMN max_line_cleans INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_totals ADD COLUMN cleaned_tables INTEGER NOT NULL DEFAULT 0;

CREATE TABLE table_totals (
    run    INTEGER NOT NULL,
    tbl    INTEGER NOT NULL,
    cleans INTEGER NOT NULL,   -- descriptor cleans of the table's lines, counted per line
    lines  INTEGER NOT NULL,   -- distinct lines cleaned
    PRIMARY KEY (run, tbl)
) WITHOUT ROWID;
CREATE INDEX table_totals_by_cleans ON table_totals(run, cleans DESC, tbl);

CREATE INDEX table_allocs_by_table ON table_allocs(run, tbl);

-- An upgraded history gets them from the line totals it has, once.
UPDATE run_totals SET
    distinct_lines  = (SELECT count(*) FROM line_totals l WHERE l.run = run_totals.run),
    max_line_cleans = (SELECT coalesce(max(cleans), 0) FROM line_totals l WHERE l.run = run_totals.run),
    cleaned_tables  = (SELECT count(DISTINCT tbl) FROM line_totals l WHERE l.run = run_totals.run);

INSERT INTO table_totals
SELECT run, tbl, sum(cleans), count(*) FROM line_totals GROUP BY run, tbl;
