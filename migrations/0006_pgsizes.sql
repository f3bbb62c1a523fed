-- Version 6: the page sizes of a run whose driver offered other sizes than
-- arm-smmu-v3 does (pgsizes= in a script's config line, --pgsizes).
--
-- The value is cfg->pgsize_bitmap after alloc_io_pgtable_ops restricted it to
-- the granule, as ias and oas are stored after the kernel's clamping. NULL
-- means what arm-smmu-v3 passes for the run's granule and OAS (the granule's
-- page and block sizes, and 4T with the 64K granule and a 52-bit OAS), which
-- every run recorded before this column existed used.
ALTER TABLE runs ADD COLUMN pgsize_bitmap INTEGER;
