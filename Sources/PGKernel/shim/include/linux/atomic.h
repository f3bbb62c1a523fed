/*
 * cmpxchg64 goes to the harness, which reports the store (when it succeeds)
 * in program order with the instrumented plain stores around it.
 */
#ifndef _LINUX_ATOMIC_H
#define _LINUX_ATOMIC_H

#include <linux/types.h>
#include <pgshim-hooks.h>

#define cmpxchg64_relaxed(ptr, old, new)				\
	pgshim_cmpxchg64((u64 *)(ptr), (u64)(old), (u64)(new))
#define cmpxchg64(ptr, old, new)	cmpxchg64_relaxed(ptr, old, new)
#define cmpxchg_relaxed(ptr, old, new)	cmpxchg64_relaxed(ptr, old, new)

#endif /* _LINUX_ATOMIC_H */
