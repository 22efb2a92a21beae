#!/usr/bin/env python3
"""Writes N distinct signed Zendesk webhook requests for wrk (scripts/lib/wrk_signed.lua).

Usage: signed_requests.py OUT N PATH SECRET
Event ids are `wrk-RUN-I` (near-sequential); with BENCH_EVENT_IDS=uuid they are random
UUIDs as Zendesk sends them, which makes every stored event dirty a page of the inbox's
unique index somewhere in the file. BENCH_EVENT_USER=ID makes them about that user (default
6596848315901, whom the bench's simulator does not hold, so each event asks for a fetch).
Each request is a ~1 KB user event, signed as Zendesk signs (SPEC §webhooks:
base64(HMAC-SHA256(secret, timestamp + body)) in X-Zendesk-Webhook-Signature). Records are
`LENGTH\\n` then the raw request bytes, so the Lua side reads them without parsing HTTP.
"""
import base64, hashlib, hmac, os, sys, time, uuid

out, n, path, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
run = os.urandom(4).hex()
filler = "x" * 600
uuids = os.environ.get("BENCH_EVENT_IDS") == "uuid"
user = os.environ.get("BENCH_EVENT_USER", "6596848315901")
with open(out, "wb") as f:
    for i in range(n):
        event_id = str(uuid.uuid4()) if uuids else "wrk-%s-%d" % (run, i)
        body = ('{"type":"zen:event-type:user.name_changed","account_id":12514403,"id":"%s",'
                '"zendesk_event_version":"2022-06-20","subject":"zen:user:%s","detail":{'
                '"created_at":"2026-01-01T00:00:00Z","email":"agent@abc-energy.example","external_id":"",'
                '"default_group_id":"0","id":"%s","organization_id":"0","role":"agent"},'
                '"event":{"current":"Agent %s","previous":"Agent"}}' % (event_id, user, user, filler)).encode()
        sig = base64.b64encode(hmac.new(secret, stamp.encode() + body, hashlib.sha256).digest()).decode()
        head = ("POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                "X-Zendesk-Webhook-Signature: %s\r\nX-Zendesk-Webhook-Signature-Timestamp: %s\r\n\r\n"
                % (path, len(body), sig, stamp)).encode()
        req = head + body
        f.write(b"%d\n" % len(req))
        f.write(req)
