/*
 * CPU placement for the kernel helper (HelperPlacement.swift). The affinity
 * calls and CPU_SET are GNU extensions that Swift's Glibc module does not
 * export, hence this file: plain C99 with _GNU_SOURCE.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>

#include "pgcpu_affinity.h"

static void to_set(const pgcpu_set *from, cpu_set_t *to)
{
	CPU_ZERO(to);
	for (int cpu = 0; cpu < (int)(sizeof(from->bits) * 8) && cpu < CPU_SETSIZE; cpu++)
		if (from->bits[cpu / 64] & ((uint64_t)1 << (cpu % 64)))
			CPU_SET(cpu, to);
}

static void from_set(const cpu_set_t *from, pgcpu_set *to)
{
	memset(to, 0, sizeof(*to));
	for (int cpu = 0; cpu < (int)(sizeof(to->bits) * 8) && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, from))
			to->bits[cpu / 64] |= (uint64_t)1 << (cpu % 64);
}

int pgcpu_place_with_caller(pid_t pid, pgcpu_set *saved)
{
	cpu_set_t mine, one;
	int cpu;

	if (sched_getaffinity(0, sizeof(mine), &mine) != 0 || CPU_COUNT(&mine) < 2)
		return -1;
	cpu = sched_getcpu();
	if (cpu < 0 || cpu >= (int)(sizeof(saved->bits) * 8) || !CPU_ISSET(cpu, &mine))
		return -1;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(pid, sizeof(one), &one) != 0)
		return -1;
	if (sched_setaffinity(0, sizeof(one), &one) != 0) {
		sched_setaffinity(pid, sizeof(mine), &mine);
		return -1;
	}
	from_set(&mine, saved);
	return 0;
}

int pgcpu_restore_caller(const pgcpu_set *saved)
{
	cpu_set_t set;

	to_set(saved, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -1;
}
