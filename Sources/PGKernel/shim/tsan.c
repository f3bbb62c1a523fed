/*
 * The compiler's thread-sanitizer instrumentation, answered without the TSan
 * runtime (the kernel's KCSAN works from the same calls). gcc and clang call
 * __tsan_writeN(addr) just before every N-byte store in the kernel
 * translation unit; the harness notes the address and reads the stored value
 * at its next hook, which is how every descriptor write is seen in program
 * order without editing the kernel's file. Loads and function entry/exit are
 * of no interest and return at once.
 */
#include <stddef.h>

#include "pgshim.h"

#define PGSHIM_TSAN_STORE(n)						\
	void __tsan_write##n(void *addr) { pgshim_store(addr, n); }	\
	void __tsan_unaligned_write##n(void *addr) { pgshim_store(addr, n); } \
	void __tsan_volatile_write##n(void *addr) { pgshim_store(addr, n); }

#define PGSHIM_TSAN_LOAD(n)						\
	void __tsan_read##n(void *addr) { }				\
	void __tsan_unaligned_read##n(void *addr) { }			\
	void __tsan_volatile_read##n(void *addr) { }

PGSHIM_TSAN_STORE(1)
PGSHIM_TSAN_STORE(2)
PGSHIM_TSAN_STORE(4)
PGSHIM_TSAN_STORE(8)
PGSHIM_TSAN_STORE(16)

PGSHIM_TSAN_LOAD(1)
PGSHIM_TSAN_LOAD(2)
PGSHIM_TSAN_LOAD(4)
PGSHIM_TSAN_LOAD(8)
PGSHIM_TSAN_LOAD(16)

void __tsan_write_range(void *addr, size_t size)
{
	size_t done;

	for (done = 0; done < size; done += 8)
		pgshim_store((char *)addr + done, size - done < 8 ? size - done : 8);
}

void __tsan_read_range(void *addr, size_t size) { }
void __tsan_func_entry(void *caller) { }
void __tsan_func_exit(void) { }
void __tsan_init(void) { }
