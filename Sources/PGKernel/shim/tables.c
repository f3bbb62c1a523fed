/*
 * Table memory: one reserved range of host memory standing for simulated
 * physical memory from `base`, handed out as pgstore's engine hands it out
 * (Sources/PGEngine/Memory/TableAllocator.swift): a bump pointer from the
 * base, each block aligned to its own size, and freed blocks reused
 * most-recently-freed first, per size. The same calls therefore get the same
 * addresses, and descriptor values match the engine's bit for bit.
 *
 * Tables are numbered by allocation (T#n); a frame map finds the table that
 * holds any address, for the write, clean and free events.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pgshim.h"
#include "include/pgshim-hooks.h"

#define FRAME_SHIFT	12
#define MAX_SIZES	16	/* 4 KiB << 0..15 */

struct free_list {
	uint64_t *phys;
	size_t count;
	size_t room;
};

static struct {
	unsigned char *host;
	uint64_t base;
	uint64_t limit;
	uint64_t next;
	int *frame_table;		/* table id per 4 KiB frame, or -1 */
	uint64_t *table_phys;		/* by table id */
	uint64_t *table_bytes;
	size_t tables;
	size_t table_room;
	struct free_list free[MAX_SIZES];
} mem;

void pgshim_tables_init(uint64_t base, uint64_t limit)
{
	size_t frames = limit >> FRAME_SHIFT;

	mem.base = base;
	mem.limit = limit;
	mem.next = base;
	mem.host = mmap(NULL, limit, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem.host == MAP_FAILED)
		pgshim_bug(__FILE__, __LINE__, "mmap of table memory failed");
	mem.frame_table = malloc(frames * sizeof(int));
	if (!mem.frame_table)
		pgshim_bug(__FILE__, __LINE__, "no memory for the frame map");
	memset(mem.frame_table, 0xff, frames * sizeof(int));
}

static uint64_t alloc_bytes(size_t size)
{
	uint64_t bytes = 1ULL << FRAME_SHIFT;

	if (size < 64)
		size = 64;
	while (bytes < size)
		bytes <<= 1;
	return bytes;
}

static int size_class(uint64_t bytes)
{
	return __builtin_ctzll(bytes) - FRAME_SHIFT;
}

static void push_free(struct free_list *list, uint64_t phys)
{
	if (list->count == list->room) {
		list->room = list->room ? list->room * 2 : 64;
		list->phys = realloc(list->phys, list->room * sizeof(uint64_t));
		if (!list->phys)
			pgshim_bug(__FILE__, __LINE__, "no memory for a free list");
	}
	list->phys[list->count++] = phys;
}

static uint64_t take_block(uint64_t bytes)
{
	struct free_list *list = &mem.free[size_class(bytes)];
	uint64_t phys;

	if (list->count)
		return list->phys[--list->count];
	phys = (mem.next + bytes - 1) & ~(bytes - 1);
	if (phys + bytes > mem.base + mem.limit)
		return 0;
	mem.next = phys + bytes;
	return phys;
}

static int new_table_id(uint64_t phys, uint64_t bytes)
{
	if (mem.tables == mem.table_room) {
		mem.table_room = mem.table_room ? mem.table_room * 2 : 256;
		mem.table_phys = realloc(mem.table_phys,
					 mem.table_room * sizeof(uint64_t));
		mem.table_bytes = realloc(mem.table_bytes,
					  mem.table_room * sizeof(uint64_t));
		if (!mem.table_phys || !mem.table_bytes)
			pgshim_bug(__FILE__, __LINE__, "no memory for tables");
	}
	mem.table_phys[mem.tables] = phys;
	mem.table_bytes[mem.tables] = bytes;
	return mem.tables++;
}

static void map_frames(uint64_t phys, uint64_t bytes, int id)
{
	uint64_t frame = (phys - mem.base) >> FRAME_SHIFT;
	uint64_t n = bytes >> FRAME_SHIFT;

	while (n--)
		mem.frame_table[frame++] = id;
}

void *pgshim_table_alloc(size_t size)
{
	uint64_t bytes = alloc_bytes(size);
	uint64_t phys;
	void *virt;
	int id;

	pgshim_flush_store();
	phys = take_block(bytes);
	if (!phys)
		return NULL;
	id = new_table_id(phys, bytes);
	map_frames(phys, bytes, id);
	virt = pgshim_phys_to_virt(phys);
	memset(virt, 0, bytes);
	pgshim_emit("A %d 0x%llx 0x%llx\n", id, (unsigned long long)phys,
		    (unsigned long long)bytes);
	return virt;
}

void pgshim_table_free(void *virt)
{
	uint64_t phys = pgshim_virt_to_phys(virt);
	uint64_t table_phys;
	int id;

	pgshim_flush_store();
	id = pgshim_table_of(phys, &table_phys);
	if (id < 0 || table_phys != phys)
		pgshim_bug(__FILE__, __LINE__, "free of memory that is no table");
	map_frames(phys, mem.table_bytes[id], -1);
	push_free(&mem.free[size_class(mem.table_bytes[id])], phys);
	pgshim_emit("F %d\n", id);
}

bool pgshim_in_tables(const void *addr)
{
	const unsigned char *p = addr;

	return p >= mem.host && p < mem.host + (mem.next - mem.base);
}

int pgshim_table_of(uint64_t phys, uint64_t *table_phys)
{
	int id;

	if (phys < mem.base || phys >= mem.next)
		return -1;
	id = mem.frame_table[(phys - mem.base) >> FRAME_SHIFT];
	if (id >= 0)
		*table_phys = mem.table_phys[id];
	return id;
}

uint64_t pgshim_virt_to_phys(const void *virt)
{
	return mem.base + (uint64_t)((const unsigned char *)virt - mem.host);
}

void *pgshim_phys_to_virt(uint64_t phys)
{
	return mem.host + (phys - mem.base);
}
