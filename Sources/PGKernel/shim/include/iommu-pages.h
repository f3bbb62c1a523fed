/*
 * Stands in for drivers/iommu/iommu-pages.h, whose real version pulls in
 * much of mm (accounting, vmstat). Two APIs: by order (6.8 to 6.15) and by
 * size (iommu_alloc_pages_node_sz, since 6.16), chosen by the build from
 * what the tree's own header declares.
 */
#ifndef __IOMMU_PAGES_H
#define __IOMMU_PAGES_H

#include <linux/gfp.h>
#include <linux/mm.h>

#ifdef PGSHIM_IOMMU_PAGES_SZ
static inline void *iommu_alloc_pages_node_sz(int nid, gfp_t gfp, size_t size)
{
	return pgshim_table_alloc(size);
}

static inline void *iommu_alloc_pages_sz(gfp_t gfp, size_t size)
{
	return pgshim_table_alloc(size);
}

static inline void iommu_free_pages(void *virt)
{
	pgshim_table_free(virt);
}
#else
static inline void *iommu_alloc_pages_node(int nid, gfp_t gfp, int order)
{
	return pgshim_table_alloc(PAGE_SIZE << order);
}

static inline void *iommu_alloc_pages(gfp_t gfp, int order)
{
	return pgshim_table_alloc(PAGE_SIZE << order);
}

static inline void iommu_free_pages(void *virt, int order)
{
	pgshim_table_free(virt);
}
#endif

#endif /* __IOMMU_PAGES_H */
