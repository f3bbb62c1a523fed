/* One CPU and a modelled device: ordering needs only a compiler barrier. */
#ifndef _ASM_BARRIER_H
#define _ASM_BARRIER_H

#include <linux/compiler.h>

#define mb()		barrier()
#define rmb()		barrier()
#define wmb()		barrier()
#define dma_wmb()	barrier()
#define dma_rmb()	barrier()
#define smp_mb()	barrier()
#define smp_wmb()	barrier()

#endif /* _ASM_BARRIER_H */
