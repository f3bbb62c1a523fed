-- Version 9: runs whose io-pgtable calls ran in a kernel tree's own
-- io-pgtable-arm.c (`record --kernel-source DIR`), and runs of the engine
-- under a kernel profile (`--kernel-profile 6.12`).
--
-- backend: 'engine' (pgstore's model of io-pgtable-arm, every run before this
-- version) or 'kernel' (the tree's C code in pgstore's helper, with pgstore's
-- IOMMU core, cache and TLB around it). A kernel run's strategy names the
-- kernel ('kernel 6.12.118', '+defer_sync_pte' when set).
--
-- kernel_version: the tree's version from its Makefile; kernel_source: the
-- directory given; kernel_sha256: the content hash of the helper's inputs
-- (the tree's files it compiles and pgstore's shim), which names the helper
-- build; defer_sync_pte: cfg.defer_sync_pte as the run set it. NULL for
-- engine runs.
--
-- kernel_profile: for an engine run, the kernel the engine reproduced
-- ('6.12'); NULL is mainline, which every run before this version modelled.
ALTER TABLE runs ADD COLUMN backend TEXT NOT NULL DEFAULT 'engine' CHECK (backend IN ('engine', 'kernel'));
ALTER TABLE runs ADD COLUMN kernel_version TEXT;
ALTER TABLE runs ADD COLUMN kernel_source TEXT;
ALTER TABLE runs ADD COLUMN kernel_sha256 TEXT;
ALTER TABLE runs ADD COLUMN defer_sync_pte INTEGER;
ALTER TABLE runs ADD COLUMN kernel_profile TEXT;
