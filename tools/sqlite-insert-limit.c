/*
 * The physical limit of pgstore's store on this machine: insert rows of the
 * same shapes as a recorded run into the same schema with the raw SQLite C
 * API (prepared statements, one transaction per batch, WAL, synchronous=NORMAL),
 * interleaved in the same proportions, and report rows per second.
 *
 * usage: sqlite-insert-limit DB BATCH CALLS SEGMENTS WRITES CLEANS TLB_OPS ALLOCS FREES
 * DB must already hold the pgstore schema (pgstore migrate DB) and no rows.
 *
 *        sqlite-insert-limit --simplest DB BATCH ROWS
 * The limit of SQLite itself here: ROWS rows of six integer columns into one
 * INTEGER PRIMARY KEY table of a fresh DB, same pragmas, BATCH rows a
 * transaction. No schema can be faster to fill, so it bounds any schema's.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check(int rc, sqlite3 *db, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	check(sqlite3_prepare_v2(db, sql, -1, &s, NULL), db, sql);
	return s;
}

static void run(sqlite3 *db, sqlite3_stmt *s, const int64_t *v, int n)
{
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(s, i + 1, v[i]);
	check(sqlite3_step(s), db, "step");
	sqlite3_reset(s);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int simplest(const char *path, int64_t batch, int64_t rows)
{
	sqlite3 *db;
	check(sqlite3_open(path, &db), db, "open");
	check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
			   "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER, d INTEGER, e INTEGER)", 0, 0, 0),
	      db, "schema");
	sqlite3_stmt *st = prepare(db, "INSERT INTO t (id,a,b,c,d,e) VALUES (?,?,?,?,?,?)");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check(sqlite3_exec(db, "BEGIN", 0, 0, 0), db, "begin");
	for (int64_t n = 1; n <= rows; n++) {
		int64_t v[] = {n, 1, n - 1, 0x100000000LL + n * 4096, (n * 2654435761LL) & 0xffffffff, n % 512};
		run(db, st, v, 6);
		if (n % batch == 0)
			check(sqlite3_exec(db, "COMMIT; BEGIN", 0, 0, 0), db, "commit");
	}
	check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
	double s = seconds_since(&t0);
	printf("%lld rows in %.3f s: %.0f rows/s\n", (long long)rows, s, rows / s);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--simplest") == 0)
		return simplest(argv[2], atoll(argv[3]), atoll(argv[4]));
	if (argc != 10) {
		fprintf(stderr, "usage: %s DB BATCH CALLS SEGMENTS WRITES CLEANS TLB_OPS ALLOCS FREES\n"
				"       %s --simplest DB BATCH ROWS\n", argv[0], argv[0]);
		return 2;
	}
	sqlite3 *db;
	check(sqlite3_open(argv[1], &db), db, "open");
	int64_t batch = atoll(argv[2]);
	int64_t want[7], done[7] = {0}, total = 0;
	for (int i = 0; i < 7; i++) {
		want[i] = atoll(argv[3 + i]);
		total += want[i];
	}
	check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;", 0, 0, 0), db, "pragma");
	sqlite3_stmt *st[7] = {
		prepare(db, "INSERT INTO calls (id,end_seq,parent,depth,kind,iova,paddr,size,count,prot,ret,value,source_line) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"),
		prepare(db, "INSERT INTO sg_segments (run,call,position,paddr,length) VALUES (?,?,?,?,?)"),
		prepare(db, "INSERT INTO writes (id,call,tbl,idx,level,iova,old,new) VALUES (?,?,?,?,?,?,?,?)"),
		prepare(db, "INSERT INTO cleans (id,call,tbl,idx,count,first_line,lines,already_clean,reason) VALUES (?,?,?,?,?,?,?,?,?)"),
		prepare(db, "INSERT INTO tlb_ops (id,call,op,iova,size,granule) VALUES (?,?,?,?,?,?)"),
		prepare(db, "INSERT INTO table_allocs (id,call,tbl,pa,bytes,alloc_bytes,level,parent,parent_index,iova_base) VALUES (?,?,?,?,?,?,?,?,?,?)"),
		prepare(db, "INSERT INTO table_frees (id,call,tbl) VALUES (?,?,?)"),
	};
	check(sqlite3_exec(db, "INSERT INTO runs (id,strategy,stage,granule,ias,oas,coherent_walk,line_size,no_warn,non_secure,source_kind,source,source_sha256,pgstore_version,started_at,status) VALUES (1,'eager',1,4096,48,48,0,64,0,0,'generator','bench','0','c','now','running')", 0, 0, 0), db, "run");

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check(sqlite3_exec(db, "BEGIN", 0, 0, 0), db, "begin");
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
		case 0: { int64_t v[] = {key + seq, seq + 3, 0, 1, 1, iova, pa, 4096, 1, 3, 0, 4096, 0}; run(db, st[0], v, 13); break; }
		case 1: { int64_t v[] = {1, 1, d, pa, 4096}; run(db, st[1], v, 5); break; }
		case 2: { int64_t v[] = {key + seq, seq - 1, 3 + d / 512, d % 512, 3, iova, 0, pa | 0xe43}; run(db, st[2], v, 8); break; }
		case 3: { int64_t v[] = {key + seq, seq - 2, 3 + d / 512, d % 512, 1, (d % 512) / 8, 1, 0, 0}; run(db, st[3], v, 9); break; }
		case 4: { int64_t v[] = {key + seq, seq - 1, 2, iova, 4096, 4096}; run(db, st[4], v, 6); break; }
		case 5: { int64_t v[] = {key + seq, seq - 1, d, 0x40000000LL + d * 4096, 4096, 4096, 3, 2, d % 512, iova}; run(db, st[5], v, 10); break; }
		case 6: { int64_t v[] = {key + seq, seq - 1, d}; run(db, st[6], v, 3); break; }
		}
		if (++in_batch >= batch) {
			check(sqlite3_exec(db, "COMMIT; BEGIN", 0, 0, 0), db, "commit");
			in_batch = 0;
		}
	}
	check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%lld rows in %.3f s: %.0f rows/s\n", (long long)total, s, total / s);
	for (int i = 0; i < 7; i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(db);
	return 0;
}
