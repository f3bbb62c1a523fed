#include <sqlite3.h>

#include "pgsqlite_config.h"

int pgsqlite_disable_memstatus(void)
{
	return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
