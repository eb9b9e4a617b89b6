-- The benchmarks' wrk script (driven by bench/_wrk.py): cycles through pre-built requests read from the
-- Lua file named by the first script argument, counts every answer outside 2xx, and prints one line
-- "WRK_JSON {...}" with the run's counts and latency percentiles (microseconds) when wrk is done.

local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  local spec = dofile(args[1])
  prepared = {}
  for i, r in ipairs(spec.requests) do
    prepared[i] = wrk.format(r.method, r.path, spec.headers, r.body)
  end
  position = offset % #prepared -- threads start at different requests
  non_2xx = 0
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non_2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d, "p50_us": %.1f, "p90_us": %.1f, "p99_us": %.1f, "max_us": %.1f}\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
