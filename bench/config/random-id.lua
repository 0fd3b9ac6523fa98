-- One random six-digit id per request (as the assignment's clients send), and a machine-readable summary line.
math.randomseed(os.time())

request = function()
  return wrk.format("GET", "/home?id=" .. math.random(100000, 999999))
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH rps=%.1f requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests / (summary.duration / 1e6), summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
