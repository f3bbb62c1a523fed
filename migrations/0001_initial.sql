-- pgstore history schema, version 1: runs and their event log.
--
-- Every event of a run has a sequence number (seq, from 1, unique within the
-- run) and names the innermost call in progress when it happened (call: that
-- call's seq; 0 outside any call). Each kind of event has its own table, keyed
-- by (run, seq) and appended in key order. Addresses and descriptor values are
-- 64-bit integers (a value with bit 63 set reads as negative in SQL; the views
-- of later migrations print them in hex).

PRAGMA application_id = 1885827956; -- 'pgst'

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    strategy        TEXT    NOT NULL,
    stage           INTEGER NOT NULL,            -- 1 or 2
    granule         INTEGER NOT NULL,            -- bytes: 4096, 16384, 65536
    ias             INTEGER NOT NULL,            -- after the kernel's clamping
    oas             INTEGER NOT NULL,
    coherent_walk   INTEGER NOT NULL,            -- 0 or 1
    line_size       INTEGER NOT NULL,            -- CPU cache line, bytes
    no_warn         INTEGER NOT NULL,            -- IO_PGTABLE_QUIRK_NO_WARN
    non_secure      INTEGER NOT NULL,            -- IO_PGTABLE_QUIRK_ARM_NS
    source_kind     TEXT    NOT NULL CHECK (source_kind IN ('script', 'ftrace', 'generator', 'restore')),
    source          TEXT    NOT NULL,            -- path, or generator spec
    source_sha256   TEXT    NOT NULL,            -- of the workload's bytes (or spec)
    pgstore_version TEXT    NOT NULL,
    started_at      TEXT    NOT NULL,            -- UTC, ISO 8601
    ended_at        TEXT,
    status          TEXT    NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'incomplete')),
    message         TEXT,                        -- why a run failed or stopped
    recorder_pid    INTEGER,                     -- the process recording it, while running
    parent_run      INTEGER REFERENCES runs(id), -- a restored run: where its initial state came from
    parent_seq      INTEGER,
    events          INTEGER NOT NULL DEFAULT 0,  -- events committed so far
    calls           INTEGER NOT NULL DEFAULT 0   -- top-level calls committed so far
);

-- Calls: io-pgtable ops, IOMMU core calls, tlb_sync, device accesses. A call
-- is two events, its begin (seq) and its end (end_seq); calls made by a call
-- name it as parent.
CREATE TABLE calls (
    run         INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    end_seq     INTEGER NOT NULL,
    parent      INTEGER NOT NULL,   -- seq of the enclosing call, 0 at top level
    depth       INTEGER NOT NULL,   -- 0 at top level
    kind        INTEGER NOT NULL,   -- call_kinds.code
    iova        INTEGER NOT NULL,
    paddr       INTEGER NOT NULL,
    size        INTEGER NOT NULL,   -- pgsize for map/unmap, size otherwise
    count       INTEGER NOT NULL,   -- pgcount for map/unmap
    prot        INTEGER NOT NULL,   -- IOMMU_* bits: 1 read, 2 write, 4 cache, 8 noexec, 16 mmio, 32 priv
    ret         INTEGER NOT NULL,   -- 0 or a negative errno
    value       INTEGER NOT NULL,   -- mapped / unmapped / phys bytes or address
    source_line INTEGER NOT NULL,   -- line of the input that made it (0: generated)
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- The list of a map_sg call.
CREATE TABLE sg_segments (
    run      INTEGER NOT NULL,
    call     INTEGER NOT NULL,
    position INTEGER NOT NULL,
    paddr    INTEGER NOT NULL,
    length   INTEGER NOT NULL,
    PRIMARY KEY (run, call, position)
) WITHOUT ROWID;

-- A CPU store of one descriptor: table tbl (allocation ordinal within the
-- run), index idx at level; iova is the first address the entry translates.
CREATE TABLE writes (
    run   INTEGER NOT NULL,
    seq   INTEGER NOT NULL,
    call  INTEGER NOT NULL,
    tbl   INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    level INTEGER NOT NULL,
    iova  INTEGER NOT NULL,
    old   INTEGER NOT NULL,
    new   INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- A clean (cache maintenance) of count descriptors from idx of table tbl:
-- lines first_line .. first_line + lines - 1, counted from the table's start,
-- of which already_clean were clean before. reason: clean_reasons.code.
CREATE TABLE cleans (
    run           INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    call          INTEGER NOT NULL,
    tbl           INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    first_line    INTEGER NOT NULL,
    lines         INTEGER NOT NULL,
    already_clean INTEGER NOT NULL,
    reason        INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- TLB maintenance: op is tlb_op_kinds.code (flush_all, flush_walk, the leaf
-- range invalidation of an iotlb_sync, and the add_page callback that gathers).
CREATE TABLE tlb_ops (
    run     INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    call    INTEGER NOT NULL,
    op      INTEGER NOT NULL,
    iova    INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    granule INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- Table pages allocated and freed.
CREATE TABLE table_allocs (
    run          INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    call         INTEGER NOT NULL,
    tbl          INTEGER NOT NULL,   -- allocation ordinal within the run (T#n)
    pa           INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,   -- descriptor bytes (PGD size for the root)
    alloc_bytes  INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    parent       INTEGER NOT NULL,   -- parent table, -1 for the root
    parent_index INTEGER NOT NULL,
    iova_base    INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

CREATE TABLE table_frees (
    run  INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    call INTEGER NOT NULL,
    tbl  INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- Device accesses. stale_read: the walk read a descriptor whose line was dirty
-- and whose memory value differed (stale_tbl/stale_idx/stale_cpu/stale_memory
-- say which); stale_tlb: a TLB entry served it that no longer matches the tables.
CREATE TABLE accesses (
    run          INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    call         INTEGER NOT NULL,
    iova         INTEGER NOT NULL,
    is_write     INTEGER NOT NULL,
    outcome      INTEGER NOT NULL,   -- access_outcomes.code
    pa           INTEGER NOT NULL,
    tlb_hit      INTEGER NOT NULL,
    stale_read   INTEGER NOT NULL,
    stale_tlb    INTEGER NOT NULL,
    stale_tbl    INTEGER NOT NULL,
    stale_idx    INTEGER NOT NULL,
    stale_cpu    INTEGER NOT NULL,
    stale_memory INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- Kernel WARNs the modelled code hit (warning_kinds.code).
CREATE TABLE warnings (
    run  INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    call INTEGER NOT NULL,
    code INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;

-- Exposure points: when an IOMMU-core map or map_sg returns, every descriptor
-- in its range (and on the way to it) that the device cannot see as written.
CREATE TABLE exposures (
    run    INTEGER NOT NULL,
    call   INTEGER NOT NULL,   -- the core call's seq; it returned at calls.end_seq
    tbl    INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    level  INTEGER NOT NULL,
    iova   INTEGER NOT NULL,
    cpu    INTEGER NOT NULL,
    memory INTEGER NOT NULL,
    PRIMARY KEY (run, call, tbl, idx)
) WITHOUT ROWID;

-- Names for the codes above.
CREATE TABLE call_kinds (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO call_kinds VALUES
    (0, 'alloc_io_pgtable_ops'), (1, 'map'), (2, 'unmap'), (3, 'iova_to_phys'), (4, 'sync_map'),
    (5, 'free_io_pgtable_ops'), (6, 'iommu_map'), (7, 'map_sg'), (8, 'iommu_unmap'), (9, 'tlb_sync'),
    (10, 'access');

CREATE TABLE tlb_op_kinds (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO tlb_op_kinds VALUES (0, 'flush_all'), (1, 'flush_walk'), (2, 'inv_range_leaf'), (3, 'add_page');

CREATE TABLE clean_reasons (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO clean_reasons VALUES (0, 'descriptors'), (1, 'table_allocation');

CREATE TABLE access_outcomes (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO access_outcomes VALUES (0, 'translated'), (1, 'translation_fault'), (2, 'permission_fault');

CREATE TABLE warning_kinds (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO warning_kinds VALUES
    (0, 'page size not in pgsize_bitmap'), (1, 'IOVA beyond IAS or paddr beyond OAS'),
    (2, 'entry already mapped'), (3, 'could not unmap the table a block replaces'),
    (4, 'unmap of an entry that is not mapped'), (5, 'unmap of a partial large IOPTE'),
    (6, 'no table at the last level'), (7, 'iotlb_sync_map walked an empty entry'),
    (8, 'iotlb_sync_map with size 0 or IOVA beyond IAS'), (9, 'unmap_pages with pgcount 0 or IOVA beyond IAS'),
    (10, 'iotlb_sync_map indexed past the end of a table page'), (11, 'BUG_ON in iommu_pgsize');
