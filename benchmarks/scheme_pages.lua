-- wrk script for benchmarks/load_bench.py: every connection GETs 50-item pages of the scheme
-- list, spread over the whole list, with the bearer token from the environment; at the end
-- one JSON line with the counts and latencies (microseconds) that load_bench reads.
local pages = tonumber(os.getenv("CAPITAL_PAGES") or "1")
local headers = { ["Authorization"] = "Bearer " .. os.getenv("CAPITAL_TOKEN") }
local n = 0

request = function()
  local offset = (n % pages) * 50
  n = n + 1
  return wrk.format("GET", "/api/v1/schemes?limit=50&offset=" .. offset, headers)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
