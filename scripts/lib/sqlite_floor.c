// The floor under a first import: what SQLite alone spends writing the rows, with no
// HTTP, JSON, rules or Swift in the way. scripts/bench counts `insert_rows` under
// callgrind (--toggle-collect), so the strings made up front are not counted.
//
//   sqlite_floor usersync DB N   N users into a directory usersync created and migrated
//                                (the users, links and "created" audit rows of
//                                Directory/Creations.swift, 250 a transaction, multi-row
//                                statements, synchronous=NORMAL as a run's batches)
//   sqlite_floor peer DB N       N users as scripts/lib/peer_sync.py writes them (a select
//                                by source id, then one INSERT, 100 a transaction, FULL)
//
// The statements mirror the Swift code's; the schema is whatever usersync migrated.
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 50, PER_TXN = 250, PEER_PER_TXN = 100 };

static sqlite3 *db;
static int n;
static char (*names)[32], (*emails)[48], (*ids)[16], (*afters)[256];
static int *afterLengths;
static const char *now = "2026-12-08T00:31:01.22Z";

static void check(int rc, const char *what) {
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
    fprintf(stderr, "sqlite_floor: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(const char *sql) { check(sqlite3_exec(db, sql, 0, 0, 0), sql); }

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *s;
    check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, 0), sql);
    return s;
}

static void run(sqlite3_stmt *s) { check(sqlite3_step(s), sqlite3_sql(s)); sqlite3_reset(s); }

// ROWS copies of `row` after `head`, comma-separated.
static sqlite3_stmt *multiRow(const char *head, const char *row) {
    static char sql[1 << 16];
    strcpy(sql, head);
    for (int r = 0; r < ROWS; r++) { strcat(sql, r ? ", " : " "); strcat(sql, row); }
    return prepare(sql);
}

static long long firstID;

void insert_rows(int usersync) {
    sqlite3_stmt *begin = prepare("BEGIN IMMEDIATE"), *commit = prepare("COMMIT");
    if (usersync) {
        sqlite3_stmt *users = multiRow(
            "INSERT INTO users (id, name, email, username, external_id, status, origin, created_at, updated_at) VALUES",
            "(?, ?, ?, NULL, NULL, 'pending', 'zendesk', ?, ?)");
        sqlite3_stmt *links = multiRow(
            "INSERT INTO links (source, source_user_id, user_id, name, email, role, custom_role, active, suspended, "
            "source_updated_at, linked_at, custom_role_name, touched_ns, applied) VALUES",
            "('zendesk', ?, ?, ?, ?, 'agent', NULL, 1, 0, 1700000000000000000, ?, NULL, ?, ?)");
        sqlite3_stmt *audit = multiRow(
            "INSERT INTO audit (user_id, at, action, cause_kind, cause, before, after) VALUES",
            "(?, ?, 'created', 'run', '1', NULL, ?)");
        for (int base = 0; base < n; base += PER_TXN) {
            run(begin);
            for (int chunk = base; chunk < base + PER_TXN && chunk + ROWS <= n; chunk += ROWS) {
                int p = 1, q = 1, a = 1;
                for (int i = chunk; i < chunk + ROWS; i++) {
                    long long id = firstID + i;
                    sqlite3_bind_int64(users, p++, id);
                    sqlite3_bind_text(users, p++, names[i], -1, SQLITE_STATIC);
                    sqlite3_bind_text(users, p++, emails[i], -1, SQLITE_STATIC);
                    sqlite3_bind_text(users, p++, now, -1, SQLITE_STATIC);
                    sqlite3_bind_text(users, p++, now, -1, SQLITE_STATIC);
                    sqlite3_bind_text(links, q++, ids[i], -1, SQLITE_STATIC);
                    sqlite3_bind_int64(links, q++, id);
                    sqlite3_bind_text(links, q++, names[i], -1, SQLITE_STATIC);
                    sqlite3_bind_text(links, q++, emails[i], -1, SQLITE_STATIC);
                    sqlite3_bind_text(links, q++, now, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(links, q++, 1796689861220056631LL + i);
                    sqlite3_bind_int64(links, q++, 7325014090074476165LL ^ i);
                    sqlite3_bind_int64(audit, a++, id);
                    sqlite3_bind_text(audit, a++, now, -1, SQLITE_STATIC);
                    sqlite3_bind_text(audit, a++, afters[i], afterLengths[i], SQLITE_STATIC);
                }
                run(users);
                run(links);
                run(audit);
            }
            run(commit);
        }
    } else {
        sqlite3_stmt *find = prepare("SELECT id FROM users WHERE source_id = ?");
        sqlite3_stmt *insert = prepare(
            "INSERT INTO users (source_id, name, email, role, active, seen_run) VALUES (?, ?, ?, 'agent', 1, 1)");
        for (int base = 0; base < n; base += PEER_PER_TXN) {
            run(begin);
            for (int i = base; i < base + PEER_PER_TXN && i < n; i++) {
                sqlite3_bind_text(find, 1, ids[i], -1, SQLITE_STATIC);
                run(find);
                sqlite3_bind_text(insert, 1, ids[i], -1, SQLITE_STATIC);
                sqlite3_bind_text(insert, 2, names[i], -1, SQLITE_STATIC);
                sqlite3_bind_text(insert, 3, emails[i], -1, SQLITE_STATIC);
                run(insert);
            }
            run(commit);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "usersync") && strcmp(argv[1], "peer"))) {
        fprintf(stderr, "usage: sqlite_floor usersync|peer DB N\n");
        return 2;
    }
    int usersync = !strcmp(argv[1], "usersync");
    n = atoi(argv[3]) / ROWS * ROWS;
    names = malloc(sizeof *names * n); emails = malloc(sizeof *emails * n);
    ids = malloc(sizeof *ids * n); afters = malloc(sizeof *afters * n);
    afterLengths = malloc(sizeof *afterLengths * n);
    check(sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, 0), "open");
    exec("PRAGMA journal_mode = WAL");
    if (usersync) {
        exec("PRAGMA foreign_keys = ON; PRAGMA cache_size = -512; PRAGMA temp_store = MEMORY;"
             "PRAGMA synchronous = NORMAL");
        sqlite3_stmt *max = prepare("SELECT coalesce(max(id), 0) + 1 FROM users");
        check(sqlite3_step(max), "max id");
        firstID = sqlite3_column_int64(max, 0);
        sqlite3_finalize(max);
    } else {
        exec("PRAGMA synchronous = FULL;"
             "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, source_id TEXT NOT NULL, name TEXT,"
             " email TEXT, role TEXT, active INTEGER, seen_run INTEGER);"
             "CREATE UNIQUE INDEX IF NOT EXISTS users_source_id ON users (source_id)");
    }
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "Agent %d", i);
        snprintf(emails[i], sizeof emails[i], "agent%d@sim.example", i);
        snprintf(ids[i], sizeof ids[i], "%d", 1000000 + i);
        afterLengths[i] = snprintf(afters[i], sizeof afters[i],
            "{\"id\":%lld,\"name\":\"Agent %d\",\"email\":\"agent%d@sim.example\",\"username\":null,"
            "\"external_id\":null,\"status\":\"pending\",\"deactivated_by\":null,\"reason\":null,\"origin\":\"zendesk\"}",
            firstID + i, i, i);
    }
    insert_rows(usersync);
    check(sqlite3_close_v2(db), "close");
    return 0;
}
