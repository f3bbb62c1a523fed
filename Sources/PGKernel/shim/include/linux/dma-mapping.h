/*
 * The streaming DMA API as io-pgtable uses it for a non-coherent walker:
 * dma_map_single of a new table and dma_sync_single_for_device of written
 * descriptors are the cache cleans pgstore records.
 */
#ifndef _LINUX_DMA_MAPPING_H
#define _LINUX_DMA_MAPPING_H

#include <linux/device.h>
#include <linux/printk.h>
#include <linux/types.h>
#include <pgshim-hooks.h>

enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

static inline dma_addr_t dma_map_single(struct device *dev, void *ptr,
					size_t size,
					enum dma_data_direction dir)
{
	return pgshim_dma_map(ptr, size);
}

static inline void dma_unmap_single(struct device *dev, dma_addr_t addr,
				    size_t size, enum dma_data_direction dir)
{
	pgshim_dma_unmap(addr, size);
}

static inline void dma_sync_single_for_device(struct device *dev,
					      dma_addr_t addr, size_t size,
					      enum dma_data_direction dir)
{
	pgshim_dma_sync(addr, size);
}

static inline int dma_mapping_error(struct device *dev, dma_addr_t addr)
{
	return 0;
}

#endif /* _LINUX_DMA_MAPPING_H */
