/*
 * The part of the IOMMU core io-pgtable sees: prot bits and the gather.
 * The gather's logic (add_page, sync) is pgstore's; io-pgtable only asks
 * whether it is queued and hands it to tlb_add_page.
 */
#ifndef _LINUX_IOMMU_H
#define _LINUX_IOMMU_H

#include <linux/bitops.h>
#include <linux/types.h>

#define IOMMU_READ	(1 << 0)
#define IOMMU_WRITE	(1 << 1)
#define IOMMU_CACHE	(1 << 2)
#define IOMMU_NOEXEC	(1 << 3)
#define IOMMU_MMIO	(1 << 4)
#define IOMMU_PRIV	(1 << 5)

#define IOMMU_DIRTY_NO_CLEAR	(1 << 0)

struct iommu_iotlb_gather {
	unsigned long start;
	unsigned long end;
	size_t pgsize;
	struct list_head freelist;
	bool queued;
};

static inline bool iommu_iotlb_gather_queued(struct iommu_iotlb_gather *gather)
{
	return gather && gather->queued;
}

struct iommu_dirty_bitmap {
	void *bitmap;
};

static inline void iommu_dirty_bitmap_record(struct iommu_dirty_bitmap *dirty,
					     unsigned long iova,
					     unsigned long length)
{
}

#endif /* _LINUX_IOMMU_H */
