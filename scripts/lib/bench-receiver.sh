# Receiver benchmark, sourced by scripts/bench (needs BIN, WORK, PIDS, start_sim).
bench_receiver() {
  echo "== receiver (usersync serve, release build; the load generator shares the same cores)"
  start_sim 10
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  cat >"$WORK/serve.json" <<JSON
{"listen": "127.0.0.1:$port", "data_dir": "serve-data", "tenants": [{"id": "bench", "features": ["integrations"], "licence_limit": 100,
  "zendesk": {"enabled": true, "subdomain": "bench", "api_base_url": "$SIM_URL",
    "auth": {"type": "api_token", "email": "bench@example.com", "token_env": "BENCH_ZENDESK_TOKEN"},
    "webhook_secret_env": "BENCH_WEBHOOK_SECRET", "roles": ["agent", "admin"]}}]}
JSON
  export BENCH_ZENDESK_TOKEN=bench-token BENCH_WEBHOOK_SECRET=bench-webhook-secret
  "$BIN/usersync" --config "$WORK/serve.json" serve 2>"$WORK/serve.log" &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 1
  echo "signed ~1 KB user events (each verified, stored with fsync before 200), 64 keep-alive connections, webhook-load:"
  "$BIN/webhook-load" --port "$port" --path /webhooks/zendesk/bench --secret "$BENCH_WEBHOOK_SECRET" --connections 64 --threads 2 --seconds 10 || true
  echo "the same, events of a type usersync ignores (stored as ignored; no apply work behind them):"
  LOAD_EVENT_TYPE=ticket.updated "$BIN/webhook-load" --port "$port" --path /webhooks/zendesk/bench --secret "$BENCH_WEBHOOK_SECRET" --connections 64 --threads 2 --seconds 10 || true
  echo "bare 200 route (GET /healthz), 64 keep-alive connections:"
  if command -v wrk >/dev/null 2>&1; then
    wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$port/healthz" | awk '/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} END {printf "%8.0f req/s   p50 %s   p99 %s   (wrk -t2 -c64 -d10s)\n", rps, p50, p99}'
  else
    "$BIN/webhook-load" --port "$port" --path /healthz --connections 64 --threads 2 --seconds 10 || true
  fi
  kill "${PIDS[-1]}" 2>/dev/null || true
}
