#ifndef USERSYNC_CSQLITE_SHIM_H
#define USERSYNC_CSQLITE_SHIM_H
#include <sqlite3.h>

/* sqlite3_db_config is variadic; turn off double-quoted string literals
   (https://www.sqlite.org/quirks.html#dblquote). */
static inline int csqlite_disable_dqs(sqlite3 *db) {
    int rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (void *)0);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (void *)0);
}

/* sqlite3_config is variadic. Memory statistics take a global mutex on every allocation
   (https://www.sqlite.org/c3ref/c_config_covering_index_scan.html#sqliteconfigmemstatus);
   nothing reads them. Only effective before SQLite initialises. */
static inline int csqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
