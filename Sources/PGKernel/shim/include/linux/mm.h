/*
 * Pages of simulated physical memory. A struct page pointer is the page's
 * virtual address; __pa and __va translate through the harness, which lays
 * table memory out as pgstore's engine does.
 */
#ifndef _LINUX_MM_H
#define _LINUX_MM_H

#include <linux/types.h>
#include <pgshim-hooks.h>

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define NUMA_NO_NODE	(-1)

struct page;

#define __pa(x)			((phys_addr_t)pgshim_virt_to_phys((void *)(x)))
#define __va(x)			pgshim_phys_to_virt((u64)(x))
#define virt_to_phys(x)		__pa(x)
#define phys_to_virt(x)		__va(x)
#define page_address(p)		((void *)(p))
#define virt_to_page(v)		((struct page *)(v))

static inline int get_order(unsigned long size)
{
	int order = 0;

	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

static inline struct page *alloc_pages_node(int nid, gfp_t gfp,
					    unsigned int order)
{
	return (struct page *)pgshim_table_alloc(PAGE_SIZE << order);
}

static inline void __free_pages(struct page *page, unsigned int order)
{
	pgshim_table_free(page);
}

static inline void free_pages(unsigned long addr, unsigned int order)
{
	pgshim_table_free((void *)addr);
}

#endif /* _LINUX_MM_H */
