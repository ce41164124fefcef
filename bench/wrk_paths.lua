-- wrk script: each thread cycles through its share of the paths in a file (one per line) for
-- the run's duration; done() prints one JSON line with throughput and latency percentiles (µs).
-- Usage: wrk -t2 -c50 -d10s -s bench/wrk_paths.lua URL -- PATHS_FILE THREADS
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  local nthreads = tonumber(args[2])
  local k = 0
  for line in io.lines(args[1]) do
    if k % nthreads == id then table.insert(paths, line) end
    k = k + 1
  end
  i = 0
  bad = 0
end

function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end

function response(status, headers, body)
  if status ~= 200 and status ~= 204 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local errors = 0
  for _, t in ipairs(threads) do errors = errors + t:get("bad") end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errors + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
