# Receiver benchmark, sourced by scripts/bench (needs BIN, WORK, PIDS, start_sim, RATIOS).
# usersync serve and nginx (`return 200`, 1 worker, no access log) are driven by the same C
# load generator (wrk, 2 threads, 64 keep-alive connections) on the same cores, with the
# same distinct signed ~1 KB user events; usersync verifies each and fsyncs it into the
# inbox before its 200.
INGEST_SECONDS=${INGEST_SECONDS:-10}
INGEST_EVENTS=${INGEST_EVENTS:-500000}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wrk_signed() { # URL -> prints wrk's summary lines, sets OK_RATE
  local out; out=$(REQUESTS_FILE="$WORK/requests.bin" WRK_THREADS=2 \
    wrk -t2 -c64 -d"${INGEST_SECONDS}s" --latency -s scripts/lib/wrk_signed.lua "$1")
  OK_RATE=$(awk '/^OK_PER_SEC/ {print $2}' <<<"$out")
  local p50 p99 bad
  p50=$(awk '/^P50_MS/ {print $2}' <<<"$out"); p99=$(awk '/^P99_MS/ {print $2}' <<<"$out"); bad=$(awk '/^NON2XX/ {print $2}' <<<"$out")
  printf "%8.0f 2xx/s   p50 %s ms   p99 %s ms   non-2xx %s\n" "$OK_RATE" "$p50" "$p99" "$bad"
}

bench_receiver() {
  ensure_deps wrk || return 1
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || ensure_deps nginx-light || return 1
  local nginx_bin; nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  echo "== ingest: $(nproc) cores shared by server and load generator, release build"
  echo "   load:      wrk -t2 -c64 -d${INGEST_SECONDS}s -s scripts/lib/wrk_signed.lua ($INGEST_EVENTS distinct signed ~1 KB events, scripts/lib/signed_requests.py, ids ${BENCH_EVENT_IDS:-sequential})"
  echo "   usersync:  $BIN/usersync --config serve.json serve   (verify HMAC, inbox row fsync'd before 200)"
  echo "   peer:      $nginx_bin -c nginx.conf   (worker_processes 1, access_log off, return 200)"
  start_sim 10
  local sim=${PIDS[-1]}
  local port; port=$(free_port)
  cat >"$WORK/serve.json" <<JSON
{"listen": "127.0.0.1:$port", "data_dir": "serve-data", "tenants": [{"id": "bench", "features": ["integrations"], "licence_limit": 100,
  "zendesk": {"enabled": true, "subdomain": "bench", "api_base_url": "$SIM_URL",
    "auth": {"type": "api_token", "email": "bench@example.com", "token_env": "BENCH_ZENDESK_TOKEN"},
    "webhook_secret_env": "BENCH_WEBHOOK_SECRET", "roles": ["agent", "admin"]}}]}
JSON
  export BENCH_ZENDESK_TOKEN=bench-token BENCH_WEBHOOK_SECRET=bench-webhook-secret
  python3 scripts/lib/signed_requests.py "$WORK/requests.bin" "$INGEST_EVENTS" /webhooks/zendesk/bench "$BENCH_WEBHOOK_SECRET"
  local nport; nport=$(free_port)
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$nport; location / { return 200; } }
}
CONF
  # Each round: usersync on an empty data directory (the events are new to it), then nginx.
  for round in $(seq "$ROUNDS"); do
    [ "$ROUNDS" = 1 ] || echo "-- round $round of $ROUNDS"
    rm -rf "$WORK/serve-data"
    (cd "$WORK" && exec "$BIN/usersync" --config "$WORK/serve.json" serve 2>"$WORK/serve.log") &
    PIDS+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    printf "usersync signed events:   "
    wrk_signed "http://127.0.0.1:$port/webhooks/zendesk/bench"
    local ours=$OK_RATE
    stop "${PIDS[-1]}"
    "$nginx_bin" -c "$WORK/nginx.conf" -p "$WORK/nginx" 2>/dev/null &
    PIDS+=($!)
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nport/" 2>/dev/null && break; sleep 0.1; done
    printf "nginx return 200:         "
    wrk_signed "http://127.0.0.1:$nport/webhooks/zendesk/bench"
    local theirs=$OK_RATE
    stop "${PIDS[-1]}"
    if python3 -c "import sys; sys.exit(0 if $ours * $INGEST_SECONDS > $INGEST_EVENTS else 1)"; then
      echo "   (note: more requests than distinct events; the rest were duplicates, answered 200 as already stored)"
    fi
    printf "ingest\t%s\t%s\n" "$ours" "$theirs" >>"$RATIOS"
  done
  stop "$sim"
}
