-- wrk script: cycles through pre-signed requests (scripts/lib/signed_requests.py) so each
-- request is a distinct event; thread k of n takes records k, k+n, ... (no thread repeats
-- another's events). REQUESTS_FILE names the file. done() prints the rate of 2xx answers.
local threads = {}
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(os.getenv("WRK_THREADS") or "2")
  reqs, pos = {}, 0
  local f = assert(io.open(os.getenv("REQUESTS_FILE"), "rb"))
  local i = 0
  while true do
    local line = f:read("*l")
    if not line then break end
    local r = f:read(tonumber(line))
    if i % count == index then reqs[#reqs + 1] = r end
    i = i + 1
  end
  f:close()
end

function request()
  pos = pos % #reqs + 1
  return reqs[pos]
end

function done(summary, latency, requests)
  local ok = summary.requests - summary.errors.status
  io.write(string.format("OK_PER_SEC %.0f\nP50_MS %.2f\nP99_MS %.2f\nNON2XX %d\n", ok / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
