#ifndef PGSQLITE_CONFIG_H
#define PGSQLITE_CONFIG_H

/*
 * Process-wide SQLite settings that Swift cannot make itself: sqlite3_config()
 * is variadic, and Swift does not call variadic C functions.
 *
 * Turns off SQLite's memory statistics (SQLITE_CONFIG_MEMSTATUS), which take
 * a mutex on every allocation and free: about 5% of a recording's time
 * (docs/PERFORMANCE.md). Only possible before SQLite initialises, that is,
 * before the process opens its first database; later it changes nothing.
 * Returns SQLite's result code (SQLITE_MISUSE when it came too late).
 */
int pgsqlite_disable_memstatus(void);

#endif
