-- wrk script shared by the bench scripts: prints one "RESULT key=value ..."
-- line (latencies in milliseconds) that bench/lib/common.sh parses.
-- With BENCH_ID_MAX set, each request asks for BENCH_PATH_PREFIX .. a random
-- id from 1 to BENCH_ID_MAX (product detail reads spread over the catalog).

local prefix = os.getenv("BENCH_PATH_PREFIX")
local idmax = tonumber(os.getenv("BENCH_ID_MAX") or "")

if prefix and idmax then
  request = function()
    return wrk.format("GET", prefix .. math.random(1, idmax))
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "connect_err=%d read_err=%d write_err=%d timeouts=%d non2xx=%d\n",
    summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect, e.read, e.write, e.timeout, e.status))
end
