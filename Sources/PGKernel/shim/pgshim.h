/*
 * The harness and the kernel translation unit talk through these calls.
 * Plain C types only: harness.c never sees a kernel header.
 */
#ifndef PGSHIM_H
#define PGSHIM_H

#include <stdbool.h>
#include <stdint.h>

/* What one `alloc` step asks of alloc_io_pgtable_ops. */
struct pgshim_config {
	int stage;			/* 1 or 2 */
	uint64_t pgsize_bitmap;
	unsigned int ias;
	unsigned int oas;
	bool coherent_walk;
	bool quirk_ns;			/* IO_PGTABLE_QUIRK_ARM_NS */
	bool quirk_no_warn;		/* IO_PGTABLE_QUIRK_NO_WARN */
	bool defer_sync_pte;		/* the seed patch's cfg member */
};

/* The kernel's geometry and configuration after a successful alloc. */
struct pgshim_geometry {
	int start_level;
	int bits_per_level;
	int pgd_bits;
	uint64_t pgsize_bitmap;
	unsigned int ias;
	unsigned int oas;
};

/* How unmap_pages gets its gather. */
enum pgshim_gather {
	PGSHIM_GATHER_NONE,		/* NULL, as the kernel's selftest */
	PGSHIM_GATHER_NORMAL,
	PGSHIM_GATHER_QUEUED,		/* lazy mode: io-pgtable adds nothing */
};

/* Kernel side (kernel-glue.c, compiled with the tree's files). */
const char *pgshim_kernel_features(void);
int pgshim_kernel_alloc(const struct pgshim_config *config,
			struct pgshim_geometry *geometry);
int pgshim_kernel_map(uint64_t iova, uint64_t paddr, uint64_t pgsize,
		      uint64_t pgcount, int prot, uint64_t *mapped);
uint64_t pgshim_kernel_unmap(uint64_t iova, uint64_t pgsize, uint64_t pgcount,
			     enum pgshim_gather gather);
uint64_t pgshim_kernel_iova_to_phys(uint64_t iova);
int pgshim_kernel_sync_map(uint64_t iova, uint64_t size);
void pgshim_kernel_free(void);

/* Harness side: the flush ops the SMMU driver would implement. */
void pgshim_tlb_flush_all(void);
void pgshim_tlb_flush_walk(uint64_t iova, uint64_t size, uint64_t granule);
void pgshim_tlb_add_page(uint64_t iova, uint64_t granule);

/* Harness side: a store the compiler instrumented is about to happen. */
void pgshim_store(void *addr, unsigned int size);

/* Table memory (tables.c). */
bool pgshim_in_tables(const void *addr);
int pgshim_table_of(uint64_t phys, uint64_t *table_phys);
void pgshim_tables_init(uint64_t base, uint64_t limit);

/* Events (harness.c). */
void pgshim_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pgshim_flush_store(void);

#endif /* PGSHIM_H */
