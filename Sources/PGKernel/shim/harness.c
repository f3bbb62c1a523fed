/*
 * pgstore's kernel helper: reads steps on stdin, drives the tree's
 * io-pgtable-arm.c through kernel-glue.c, and writes what the kernel did as
 * events on stdout. The protocol (version 1) is documented in
 * docs/KERNEL-HELPER.md; every line the helper writes is built here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgshim.h"
#include "include/pgshim-hooks.h"

#define PROTOCOL_VERSION	1
#define LINE_MAX_BYTES		4096

#ifndef PGSHIM_KERNEL_VERSION
#define PGSHIM_KERNEL_VERSION	"unknown"
#endif

/* The instrumented store not yet read back: up to two descriptors. */
static struct {
	uint64_t *words;
	unsigned int count;
	uint64_t old[2];
} pending;

/* Where the helper is: ops calls need live tables. */
static enum { FRESH, LIVE, DONE } state;

void pgshim_emit(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vfprintf(stdout, fmt, args);
	va_end(args);
}

void pgshim_log(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
}

static const char *site(const char *file)
{
	return strncmp(file, "./", 2) ? file : file + 2;
}

void pgshim_warn(const char *file, int line, const char *cond)
{
	pgshim_flush_store();
	pgshim_emit("WARN %s:%d %s\n", site(file), line, cond);
}

void pgshim_bug(const char *file, int line, const char *cond)
{
	pgshim_flush_store();
	pgshim_emit("BUG %s:%d %s\n", site(file), line, cond);
	fflush(stdout);
	_exit(3);
}

static void emit_write(uint64_t *word, uint64_t old, uint64_t new_val)
{
	uint64_t phys = pgshim_virt_to_phys(word);
	uint64_t table_phys;
	int id = pgshim_table_of(phys, &table_phys);

	if (id < 0)
		pgshim_bug(__FILE__, __LINE__, "store to freed table memory");
	pgshim_emit("W %d %llu 0x%llx 0x%llx\n", id,
		    (unsigned long long)((phys - table_phys) / 8),
		    (unsigned long long)old, (unsigned long long)new_val);
}

void pgshim_flush_store(void)
{
	unsigned int i;

	for (i = 0; i < pending.count; i++)
		emit_write(&pending.words[i], pending.old[i], pending.words[i]);
	pending.count = 0;
}

void pgshim_store(void *addr, unsigned int size)
{
	uintptr_t first = (uintptr_t)addr & ~(uintptr_t)7;
	uintptr_t last = ((uintptr_t)addr + size - 1) & ~(uintptr_t)7;
	unsigned int i;

	pgshim_flush_store();
	if (!pgshim_in_tables(addr))
		return;
	pending.words = (uint64_t *)first;
	pending.count = (last - first) / 8 + 1;
	for (i = 0; i < pending.count; i++)
		pending.old[i] = pending.words[i];
}

uint64_t pgshim_cmpxchg64(uint64_t *ptr, uint64_t old, uint64_t new_val)
{
	uint64_t found;

	pgshim_flush_store();
	found = *ptr;
	if (found == old) {
		*ptr = new_val;
		emit_write(ptr, found, new_val);
	}
	return found;
}

static int table_index(uint64_t dma, uint64_t *index)
{
	uint64_t table_phys;
	int id = pgshim_table_of(dma, &table_phys);

	if (id < 0)
		pgshim_bug(__FILE__, __LINE__, "DMA API call on no table");
	*index = (dma - table_phys) / 8;
	return id;
}

uint64_t pgshim_dma_map(void *virt, size_t size)
{
	uint64_t dma = pgshim_virt_to_phys(virt);
	uint64_t index;
	int id;

	pgshim_flush_store();
	id = table_index(dma, &index);
	pgshim_emit("M %d 0x%llx\n", id, (unsigned long long)size);
	return dma;
}

void pgshim_dma_unmap(uint64_t dma, size_t size)
{
	uint64_t index;
	int id;

	pgshim_flush_store();
	id = table_index(dma, &index);
	pgshim_emit("U %d 0x%llx\n", id, (unsigned long long)size);
}

void pgshim_dma_sync(uint64_t dma, size_t size)
{
	uint64_t index;
	int id;

	pgshim_flush_store();
	id = table_index(dma, &index);
	pgshim_emit("S %d %llu %llu\n", id, (unsigned long long)index,
		    (unsigned long long)(size / 8));
}

void pgshim_tlb_flush_all(void)
{
	pgshim_flush_store();
	pgshim_emit("T all\n");
}

void pgshim_tlb_flush_walk(uint64_t iova, uint64_t size, uint64_t granule)
{
	pgshim_flush_store();
	pgshim_emit("T walk 0x%llx 0x%llx 0x%llx\n", (unsigned long long)iova,
		    (unsigned long long)size, (unsigned long long)granule);
}

void pgshim_tlb_add_page(uint64_t iova, uint64_t granule)
{
	pgshim_flush_store();
	pgshim_emit("T page 0x%llx 0x%llx\n", (unsigned long long)iova,
		    (unsigned long long)granule);
}

static void end_step(long long ret, uint64_t value)
{
	pgshim_flush_store();
	pgshim_emit("R %lld 0x%llx\n", ret, (unsigned long long)value);
	fflush(stdout);
}

static void refuse(const char *why)
{
	pgshim_emit("E %s\n", why);
	fflush(stdout);
}

/* Parses NUM (decimal or 0x-hex) into *out; false when it is not one. */
static bool parse_number(const char *text, uint64_t *out)
{
	char *end;

	if (!text || !*text)
		return false;
	*out = strtoull(text, &end, 0);
	return *end == '\0';
}

static bool parse_flag(const char *text, bool *out)
{
	uint64_t n;

	if (!parse_number(text, &n) || n > 1)
		return false;
	*out = n;
	return true;
}

static bool parse_quirks(char *text, struct pgshim_config *config)
{
	char *name, *save;

	if (!strcmp(text, "none"))
		return true;
	for (name = strtok_r(text, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (!strcmp(name, "ns"))
			config->quirk_ns = true;
		else if (!strcmp(name, "no_warn"))
			config->quirk_no_warn = true;
		else
			return false;
	}
	return true;
}

static bool parse_setting(char *key, char *value, struct pgshim_config *config,
			  uint64_t *base, uint64_t *limit)
{
	uint64_t n;

	if (!strcmp(key, "stage"))
		return parse_number(value, &n) && (n == 1 || n == 2) &&
		       (config->stage = n, true);
	if (!strcmp(key, "pgsize_bitmap"))
		return parse_number(value, &config->pgsize_bitmap);
	if (!strcmp(key, "ias"))
		return parse_number(value, &n) && (config->ias = n, true);
	if (!strcmp(key, "oas"))
		return parse_number(value, &n) && (config->oas = n, true);
	if (!strcmp(key, "coherent_walk"))
		return parse_flag(value, &config->coherent_walk);
	if (!strcmp(key, "defer_sync_pte"))
		return parse_flag(value, &config->defer_sync_pte);
	if (!strcmp(key, "quirks"))
		return parse_quirks(value, config);
	if (!strcmp(key, "base"))
		return parse_number(value, base);
	if (!strcmp(key, "limit"))
		return parse_number(value, limit);
	return false;
}

static void step_alloc(char **args, int count)
{
	struct pgshim_config config = { .stage = 1 };
	struct pgshim_geometry g;
	uint64_t base = 0x40000000, limit = 0x40000000;
	int i, ret;

	if (state != FRESH)
		return refuse("alloc: one set of tables per helper");
	for (i = 0; i < count; i++) {
		char *value = strchr(args[i], '=');

		if (!value)
			return refuse("alloc: settings are KEY=VALUE");
		*value++ = '\0';
		if (!parse_setting(args[i], value, &config, &base, &limit))
			return refuse("alloc: bad setting");
	}
	if (base & 0xfff || limit & 0xfff || !limit)
		return refuse("alloc: base and limit must be 4 KiB aligned");
	pgshim_tables_init(base, limit);
	ret = pgshim_kernel_alloc(&config, &g);
	state = ret ? DONE : LIVE;
	if (!ret)
		pgshim_emit("G start_level=%d bits_per_level=%d pgd_bits=%d "
			    "pgsize_bitmap=0x%llx ias=%u oas=%u\n",
			    g.start_level, g.bits_per_level, g.pgd_bits,
			    (unsigned long long)g.pgsize_bitmap, g.ias, g.oas);
	end_step(ret, 0);
}

static bool numbers(char **args, int count, int want, uint64_t *out)
{
	int i;

	if (count != want)
		return false;
	for (i = 0; i < count; i++)
		if (!parse_number(args[i], &out[i]))
			return false;
	return true;
}

static void step_map(char **args, int count)
{
	uint64_t n[5], mapped;
	int ret;

	if (!numbers(args, count, 5, n))
		return refuse("map: IOVA PADDR PGSIZE PGCOUNT PROT");
	ret = pgshim_kernel_map(n[0], n[1], n[2], n[3], (int)n[4], &mapped);
	end_step(ret, mapped);
}

static bool parse_gather(const char *text, enum pgshim_gather *gather)
{
	if (!strcmp(text, "none"))
		*gather = PGSHIM_GATHER_NONE;
	else if (!strcmp(text, "normal"))
		*gather = PGSHIM_GATHER_NORMAL;
	else if (!strcmp(text, "queued"))
		*gather = PGSHIM_GATHER_QUEUED;
	else
		return false;
	return true;
}

static void step_unmap(char **args, int count)
{
	enum pgshim_gather gather;
	uint64_t n[3];

	if (count != 4 || !numbers(args, 3, 3, n) ||
	    !parse_gather(args[3], &gather))
		return refuse("unmap: IOVA PGSIZE PGCOUNT none|normal|queued");
	end_step(0, pgshim_kernel_unmap(n[0], n[1], n[2], gather));
}

static void step_iova_to_phys(char **args, int count)
{
	uint64_t iova;

	if (!numbers(args, count, 1, &iova))
		return refuse("iova_to_phys: IOVA");
	end_step(0, pgshim_kernel_iova_to_phys(iova));
}

static void step_sync_map(char **args, int count)
{
	uint64_t n[2];

	if (!numbers(args, count, 2, n))
		return refuse("sync_map: IOVA SIZE");
	end_step(pgshim_kernel_sync_map(n[0], n[1]), 0);
}

static void step_free(char **args, int count)
{
	if (count)
		return refuse("free: no arguments");
	pgshim_kernel_free();
	state = DONE;
	end_step(0, 0);
}

struct step {
	const char *name;
	void (*run)(char **args, int count);
};

static const struct step steps[] = {
	{ "map", step_map },
	{ "unmap", step_unmap },
	{ "iova_to_phys", step_iova_to_phys },
	{ "sync_map", step_sync_map },
	{ "free", step_free },
};

static void run_line(char *line)
{
	char *words[16], *save;
	int count = 0;
	size_t i;

	for (char *w = strtok_r(line, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (count == 16)
			return refuse("too many words");
		words[count++] = w;
	}
	if (!count)
		return;
	if (!strcmp(words[0], "alloc"))
		return step_alloc(words + 1, count - 1);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (strcmp(words[0], steps[i].name))
			continue;
		if (state != LIVE)
			return refuse("no live tables (alloc first; none after free)");
		return steps[i].run(words + 1, count - 1);
	}
	refuse("unknown step");
}

int main(void)
{
	static char out[1 << 16];
	char line[LINE_MAX_BYTES];

	setvbuf(stdout, out, _IOFBF, sizeof(out));
	pgshim_emit("PGSTORE-KERNEL-HELPER %d kernel=%s features=%s\n",
		    PROTOCOL_VERSION, PGSHIM_KERNEL_VERSION,
		    pgshim_kernel_features());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		run_line(line);
	return 0;
}
