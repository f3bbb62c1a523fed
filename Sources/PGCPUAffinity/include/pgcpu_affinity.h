#ifndef PGCPU_AFFINITY_H
#define PGCPU_AFFINITY_H

#include <stdint.h>
#include <sys/types.h>

/* The CPUs a thread may run on, as a bit set (bit n: CPU n). */
typedef struct {
	uint64_t bits[16];
} pgcpu_set;

/*
 * Puts process `pid` and the calling thread on the CPU the thread is running
 * on, and stores the thread's previous set in `saved`. Returns 0 when both
 * were placed; -1, with nothing changed, where the thread may run on one CPU
 * only, the CPU is unknown, or the kernel refuses.
 */
int pgcpu_place_with_caller(pid_t pid, pgcpu_set *saved);

/* Gives the calling thread the set `saved`. Returns 0, or -1 on refusal. */
int pgcpu_restore_caller(const pgcpu_set *saved);

#endif
