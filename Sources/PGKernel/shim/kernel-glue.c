/*
 * The kernel translation unit: the tree's io-pgtable.c and io-pgtable-arm.c,
 * compiled as they are against the shim's headers, plus the few calls the
 * harness makes into them. This is the only file built with
 * -fsanitize=thread, so every store in the kernel's code reaches
 * __tsan_write*() before it happens.
 *
 * Features the tree may or may not have come in as -D flags from pgstore,
 * which reads the tree's headers:
 *   PGSHIM_HAS_SYNC_MAP        struct io_pgtable_ops has .iotlb_sync_map
 *   PGSHIM_HAS_DEFER_SYNC_PTE  struct io_pgtable_cfg has .defer_sync_pte
 *   PGSHIM_IOMMU_PAGES_SZ      iommu-pages.h allocates by size
 */
#define CONFIG_IOMMU_IO_PGTABLE_LPAE 1

#include "drivers/iommu/io-pgtable.c"
#include "drivers/iommu/io-pgtable-arm.c"

#include "pgshim.h"

static struct device pgshim_walker;
static struct io_pgtable_ops *pgshim_ops;

static void pgshim_flush_all(void *cookie)
{
	pgshim_tlb_flush_all();
}

static void pgshim_flush_walk(unsigned long iova, size_t size, size_t granule,
			      void *cookie)
{
	pgshim_tlb_flush_walk(iova, size, granule);
}

static void pgshim_add_page(struct iommu_iotlb_gather *gather,
			    unsigned long iova, size_t granule, void *cookie)
{
	pgshim_tlb_add_page(iova, granule);
}

static const struct iommu_flush_ops pgshim_flush_ops = {
	.tlb_flush_all	= pgshim_flush_all,
	.tlb_flush_walk	= pgshim_flush_walk,
	.tlb_add_page	= pgshim_add_page,
};

/* The tree's features as the handshake lists them: comma-separated. */
const char *pgshim_kernel_features(void)
{
	static const char list[] = ""
#ifdef PGSHIM_HAS_SYNC_MAP
		",sync_map"
#endif
#ifdef PGSHIM_HAS_DEFER_SYNC_PTE
		",defer_sync_pte"
#endif
#ifdef IO_PGTABLE_QUIRK_NO_WARN
		",quirk_no_warn"
#endif
#ifdef PGSHIM_IOMMU_PAGES_SZ
		",iommu_pages_sz"
#endif
		;

	return list[0] ? list + 1 : "none";
}

static int pgshim_quirks(const struct pgshim_config *config,
			 unsigned long *quirks)
{
	*quirks = 0;
	if (config->quirk_ns)
		*quirks |= IO_PGTABLE_QUIRK_ARM_NS;
	if (config->quirk_no_warn) {
#ifdef IO_PGTABLE_QUIRK_NO_WARN
		*quirks |= IO_PGTABLE_QUIRK_NO_WARN;
#else
		return -EOPNOTSUPP;
#endif
	}
	return 0;
}

static int pgshim_defer(struct io_pgtable_cfg *cfg, bool defer)
{
#ifdef PGSHIM_HAS_DEFER_SYNC_PTE
	cfg->defer_sync_pte = defer;
	return 0;
#else
	return defer ? -EOPNOTSUPP : 0;
#endif
}

static void pgshim_read_geometry(struct pgshim_geometry *geometry)
{
	struct io_pgtable *iop = io_pgtable_ops_to_pgtable(pgshim_ops);
	struct arm_lpae_io_pgtable *data = io_pgtable_to_data(iop);

	geometry->start_level = data->start_level;
	geometry->bits_per_level = data->bits_per_level;
	geometry->pgd_bits = data->pgd_bits;
	geometry->pgsize_bitmap = iop->cfg.pgsize_bitmap;
	geometry->ias = iop->cfg.ias;
	geometry->oas = iop->cfg.oas;
}

int pgshim_kernel_alloc(const struct pgshim_config *config,
			struct pgshim_geometry *geometry)
{
	struct io_pgtable_cfg cfg = {
		.pgsize_bitmap	= config->pgsize_bitmap,
		.ias		= config->ias,
		.oas		= config->oas,
		.coherent_walk	= config->coherent_walk,
		.tlb		= &pgshim_flush_ops,
		.iommu_dev	= &pgshim_walker,
	};
	enum io_pgtable_fmt fmt;
	int ret;

	ret = pgshim_quirks(config, &cfg.quirks);
	if (!ret)
		ret = pgshim_defer(&cfg, config->defer_sync_pte);
	if (ret)
		return ret;

	fmt = config->stage == 2 ? ARM_64_LPAE_S2 : ARM_64_LPAE_S1;
	pgshim_ops = alloc_io_pgtable_ops(fmt, &cfg, NULL);
	if (!pgshim_ops)
		return -EINVAL;

	pgshim_read_geometry(geometry);
	return 0;
}

int pgshim_kernel_map(uint64_t iova, uint64_t paddr, uint64_t pgsize,
		      uint64_t pgcount, int prot, uint64_t *mapped)
{
	size_t done = 0;
	int ret;

	ret = pgshim_ops->map_pages(pgshim_ops, iova, paddr, pgsize, pgcount,
				    prot, GFP_KERNEL, &done);
	*mapped = done;
	return ret;
}

uint64_t pgshim_kernel_unmap(uint64_t iova, uint64_t pgsize, uint64_t pgcount,
			     enum pgshim_gather mode)
{
	struct iommu_iotlb_gather gather = {
		.queued = mode == PGSHIM_GATHER_QUEUED,
	};

	return pgshim_ops->unmap_pages(pgshim_ops, iova, pgsize, pgcount,
				       mode == PGSHIM_GATHER_NONE ? NULL : &gather);
}

uint64_t pgshim_kernel_iova_to_phys(uint64_t iova)
{
	return pgshim_ops->iova_to_phys(pgshim_ops, iova);
}

int pgshim_kernel_sync_map(uint64_t iova, uint64_t size)
{
#ifdef PGSHIM_HAS_SYNC_MAP
	if (!pgshim_ops->iotlb_sync_map)
		return 0;
	return pgshim_ops->iotlb_sync_map(pgshim_ops, iova, size);
#else
	return -EOPNOTSUPP;
#endif
}

void pgshim_kernel_free(void)
{
	free_io_pgtable_ops(pgshim_ops);
	pgshim_ops = NULL;
}
