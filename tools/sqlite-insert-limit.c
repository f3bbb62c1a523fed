/*
 * The physical limit of pgstore's store on this machine: insert rows of the
 * same shapes as a recorded run into the same schema with the raw SQLite C
 * API, the way the recorder does (prepared statements binding 32 rows each,
 * one transaction per batch, WAL, synchronous=NORMAL, a WAL checkpoint every
 * 8192 pages, no memory statistics), interleaved in the same proportions, and
 * report rows per second.
 *
 * usage: sqlite-insert-limit DB BATCH CALLS SEGMENTS WRITES CLEANS TLB_OPS ALLOCS FREES
 * DB must already hold the pgstore schema (pgstore migrate DB) and no rows.
 *
 *        sqlite-insert-limit --simplest DB BATCH ROWS [ROWS_PER_STATEMENT]
 * The limit of SQLite itself here: ROWS rows of six integer columns into one
 * INTEGER PRIMARY KEY table of a fresh DB, same pragmas, BATCH rows a
 * transaction, one row a statement unless ROWS_PER_STATEMENT says otherwise.
 * No schema can be faster to fill, so it bounds any schema's.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rows a statement binds: the recorder's RowBuffer.rowsPerStatement. */
#define ROWS_PER_STATEMENT 32
#define MAX_COLUMNS 13

static sqlite3 *db;

static void check(int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

/* INSERT INTO table (cols) VALUES (?,...), ... with `rows` rows. */
static sqlite3_stmt *prepare(const char *verb, const char *table, const char *cols, int ncol, int rows)
{
	static char sql[1 << 16];
	int p = snprintf(sql, sizeof sql, "%s INTO %s (%s) VALUES ", verb, table, cols);
	for (int r = 0; r < rows; r++) {
		p += snprintf(sql + p, sizeof sql - p, r ? ",(" : "(");
		for (int c = 0; c < ncol; c++)
			p += snprintf(sql + p, sizeof sql - p, c ? ",?" : "?");
		p += snprintf(sql + p, sizeof sql - p, ")");
	}
	sqlite3_stmt *s;
	check(sqlite3_prepare_v2(db, sql, -1, &s, NULL), sql);
	return s;
}

static void step(sqlite3_stmt *s, const int64_t *v, int n)
{
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(s, i + 1, v[i]);
	check(sqlite3_step(s), "step");
	sqlite3_reset(s);
}

/* One table's rows, gathered and inserted `per` at a time. */
struct buffer {
	sqlite3_stmt *one, *many;
	int ncol, per, n;
	int64_t v[ROWS_PER_STATEMENT * MAX_COLUMNS];
};

static void buffer_init(struct buffer *b, const char *table, const char *cols, int ncol, int per)
{
	b->ncol = ncol;
	b->per = per;
	b->n = 0;
	b->one = prepare("INSERT", table, cols, ncol, 1);
	b->many = per > 1 ? prepare("INSERT", table, cols, ncol, per) : NULL;
}

static void flush(struct buffer *b)
{
	for (int r = 0; r < b->n; r++)
		step(b->one, b->v + r * b->ncol, b->ncol);
	b->n = 0;
}

static void add(struct buffer *b, const int64_t *v)
{
	if (b->per == 1) {
		step(b->one, v, b->ncol);
		return;
	}
	memcpy(b->v + b->n * b->ncol, v, sizeof *v * b->ncol);
	if (++b->n == b->per) {
		step(b->many, b->v, b->n * b->ncol);
		b->n = 0;
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void pragmas(void)
{
	check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;", 0, 0, 0), "pragma");
}

static int simplest(const char *path, int64_t batch, int64_t rows, int per)
{
	check(sqlite3_open(path, &db), "open");
	pragmas();
	check(sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER, d INTEGER, e INTEGER)", 0, 0, 0),
	      "schema");
	struct buffer t;
	buffer_init(&t, "t", "id,a,b,c,d,e", 6, per);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check(sqlite3_exec(db, "BEGIN", 0, 0, 0), "begin");
	for (int64_t n = 1; n <= rows; n++) {
		int64_t v[] = {n, 1, n - 1, 0x100000000LL + n * 4096, (n * 2654435761LL) & 0xffffffff, n % 512};
		add(&t, v);
		if (n % batch == 0) {
			flush(&t);
			check(sqlite3_exec(db, "COMMIT; BEGIN", 0, 0, 0), "commit");
		}
	}
	flush(&t);
	check(sqlite3_exec(db, "COMMIT", 0, 0, 0), "commit");
	double s = seconds_since(&t0);
	printf("%lld rows in %.3f s: %.0f rows/s\n", (long long)rows, s, rows / s);
	sqlite3_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "--simplest") == 0) {
		int per = argc == 6 ? atoi(argv[5]) : 1;
		if (per < 1 || per > ROWS_PER_STATEMENT) {
			fprintf(stderr, "ROWS_PER_STATEMENT must be 1 to %d\n", ROWS_PER_STATEMENT);
			return 2;
		}
		return simplest(argv[2], atoll(argv[3]), atoll(argv[4]), per);
	}
	if (argc != 10) {
		fprintf(stderr, "usage: %s DB BATCH CALLS SEGMENTS WRITES CLEANS TLB_OPS ALLOCS FREES\n"
				"       %s --simplest DB BATCH ROWS [ROWS_PER_STATEMENT]\n", argv[0], argv[0]);
		return 2;
	}
	/* The recorder's process-wide setting and connection (Sources/PGSQLiteConfig, HistoryStore.swift). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	check(sqlite3_open(argv[1], &db), "open");
	check(sqlite3_exec(db, "PRAGMA wal_autocheckpoint=8192", 0, 0, 0), "pragma");
	int64_t batch = atoll(argv[2]);
	int64_t want[7], done[7] = {0}, total = 0;
	for (int i = 0; i < 7; i++) {
		want[i] = atoll(argv[3 + i]);
		total += want[i];
	}
	pragmas();
	/* The recorder's statements (Sources/PGStore/Recording/Recorder.swift). */
	struct buffer t[7];
	buffer_init(&t[0], "calls", "id,end_seq,parent,depth,kind,iova,paddr,size,count,prot,ret,value,source_line", 13, ROWS_PER_STATEMENT);
	buffer_init(&t[1], "sg_segments", "run,call,position,paddr,length", 5, ROWS_PER_STATEMENT);
	buffer_init(&t[2], "write_rows", "id,call,tbl,idx,old,new", 6, ROWS_PER_STATEMENT);
	buffer_init(&t[3], "cleans", "id,call,tbl,idx,count,first_line,lines,already_clean,reason", 9, ROWS_PER_STATEMENT);
	buffer_init(&t[4], "tlb_ops", "id,call,op,iova,size,granule", 6, ROWS_PER_STATEMENT);
	buffer_init(&t[5], "table_allocs", "id,call,tbl,pa,bytes,alloc_bytes,level,parent,parent_index,iova_base", 10, ROWS_PER_STATEMENT);
	buffer_init(&t[6], "table_frees", "id,call,tbl", 3, ROWS_PER_STATEMENT);
	/* A table allocation also lists the table in run_tables, one row a statement. */
	sqlite3_stmt *table = prepare("INSERT OR IGNORE", "run_tables", "run,tbl,level,iova_base,shift", 5, 1);
	check(sqlite3_exec(db, "INSERT INTO runs (id,strategy,stage,granule,ias,oas,coherent_walk,line_size,no_warn,non_secure,source_kind,source,source_sha256,pgstore_version,started_at,status) VALUES (1,'eager',1,4096,48,48,0,64,0,0,'generator','bench','0','c','now','running')", 0, 0, 0), "run");

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check(sqlite3_exec(db, "BEGIN", 0, 0, 0), "begin");
	/* Event tables are keyed by (run << 40) | seq (migrations/0010); run 1. */
	const int64_t key = (int64_t)1 << 40;
	int64_t seq = 0, in_batch = 0;
	for (int64_t n = 0; n < total; n++) {
		/* Interleave: pick the table furthest behind its share. */
		int k = 0;
		double best = 2;
		for (int i = 0; i < 7; i++) {
			if (done[i] >= want[i])
				continue;
			double share = (double)done[i] / (double)want[i];
			if (share < best) {
				best = share;
				k = i;
			}
		}
		int64_t d = done[k]++;
		seq++;
		int64_t iova = 0x100000000LL + d * 4096, pa = 0x80000000LL + ((d * 2654435761LL) & 0xfffff) * 4096;
		switch (k) {
		case 0: { int64_t v[] = {key + seq, seq + 3, 0, 1, 1, iova, pa, 4096, 1, 3, 0, 4096, 0}; add(&t[0], v); break; }
		case 1: { int64_t v[] = {1, d / 4, d % 4, pa, 4096}; add(&t[1], v); break; }
		case 2: { int64_t v[] = {key + seq, seq - 1, 3 + d / 512, d % 512, 0, pa | 0xe43}; add(&t[2], v); break; }
		case 3: { int64_t v[] = {key + seq, seq - 2, 3 + d / 512, d % 512, 1, (d % 512) / 8, 1, 0, 0}; add(&t[3], v); break; }
		case 4: { int64_t v[] = {key + seq, seq - 1, 2, iova, 4096, 4096}; add(&t[4], v); break; }
		case 5: {
			int64_t v[] = {key + seq, seq - 1, d, 0x40000000LL + d * 4096, 4096, 4096, 3, 2, d % 512, iova};
			add(&t[5], v);
			int64_t g[] = {1, d, 3, iova, 12};
			step(table, g, 5);
			break;
		}
		case 6: { int64_t v[] = {key + seq, seq - 1, d}; add(&t[6], v); break; }
		}
		if (++in_batch >= batch) {
			for (int i = 0; i < 7; i++)
				flush(&t[i]);
			check(sqlite3_exec(db, "COMMIT; BEGIN", 0, 0, 0), "commit");
			in_batch = 0;
		}
	}
	for (int i = 0; i < 7; i++)
		flush(&t[i]);
	check(sqlite3_exec(db, "COMMIT", 0, 0, 0), "commit");
	double s = seconds_since(&t0);
	printf("%lld rows in %.3f s: %.0f rows/s\n", (long long)total, s, total / s);
	sqlite3_close(db);
	return 0;
}
