/*
 * What the fake kernel headers call: the harness's side of table memory,
 * the DMA API, atomics and the WARN/BUG reports. Plain C types only, so that
 * both the kernel translation unit and the harness can include it.
 */
#ifndef PGSHIM_HOOKS_H
#define PGSHIM_HOOKS_H

#include <stddef.h>
#include <stdint.h>

void pgshim_warn(const char *file, int line, const char *cond);
void pgshim_bug(const char *file, int line, const char *cond)
	__attribute__((noreturn));
void pgshim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *pgshim_table_alloc(size_t size);
void pgshim_table_free(void *virt);
uint64_t pgshim_virt_to_phys(const void *virt);
void *pgshim_phys_to_virt(uint64_t phys);

uint64_t pgshim_dma_map(void *virt, size_t size);
void pgshim_dma_unmap(uint64_t dma, size_t size);
void pgshim_dma_sync(uint64_t dma, size_t size);

uint64_t pgshim_cmpxchg64(uint64_t *ptr, uint64_t old, uint64_t new_val);

#endif /* PGSHIM_HOOKS_H */
