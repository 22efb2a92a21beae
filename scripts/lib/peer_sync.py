#!/usr/bin/env python3
"""The script a team would write in an afternoon instead of usersync: the peer that
scripts/bench measures usersync against.

Lists every agent and admin from a Zendesk-compatible API over one keep-alive
connection (http.client), json.loads per page, and upserts them into SQLite (WAL,
synchronous=FULL) one transaction per 100-user page: select by source id, then insert
or update, in one table with one unique index; at the end one UPDATE deactivates the
users the listing did not return.

Usage: peer_sync.py BASE_URL EMAIL TOKEN DB_PATH
"""
import base64, http.client, json, sqlite3, sys, time, urllib.parse

base, email, token, path = sys.argv[1:5]
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port or 80)
auth = "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()

db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("""CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, source_id TEXT NOT NULL, name TEXT,
              email TEXT, role TEXT, active INTEGER, seen_run INTEGER)""")
db.execute("CREATE UNIQUE INDEX IF NOT EXISTS users_source_id ON users (source_id)")
run = int(time.time() * 1000)

target = "/api/v2/users?role%5B%5D=admin&role%5B%5D=agent&page%5Bsize%5D=100"
while target:
    conn.request("GET", target, headers={"Authorization": auth, "Accept": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        sys.exit(f"HTTP {resp.status}: {body[:200]!r}")
    page = json.loads(body)
    db.execute("BEGIN")
    for u in page["users"]:
        sid = str(u["id"])
        active = 1 if u.get("active", True) and not u.get("suspended", False) else 0
        row = db.execute("SELECT id FROM users WHERE source_id = ?", (sid,)).fetchone()
        if row is None:
            db.execute("INSERT INTO users (source_id, name, email, role, active, seen_run) VALUES (?, ?, ?, ?, ?, ?)",
                       (sid, u.get("name"), u.get("email"), u.get("role"), active, run))
        else:
            db.execute("UPDATE users SET name = ?, email = ?, role = ?, active = ?, seen_run = ? WHERE id = ?",
                       (u.get("name"), u.get("email"), u.get("role"), active, run, row[0]))
    db.execute("COMMIT")
    nxt = page.get("links", {}).get("next") if page.get("meta", {}).get("has_more") else None
    target = None
    if nxt:
        parts = urllib.parse.urlsplit(nxt)
        target = parts.path + ("?" + parts.query if parts.query else "")

db.execute("UPDATE users SET active = 0 WHERE seen_run != ?", (run,))
db.close()
