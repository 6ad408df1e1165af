-- wrk script of soaks (b) and (c) of issue 18: tallies statuses, and
-- counts 503/429 answers without Retry-After.
-- usage: wrk -t2 -c200 -d60s -s tools/soak/tally.lua 'http://127.0.0.1:PORT/logs?...'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  missing_retry_after = 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status == 503 or status == 429) and headers["Retry-After"] == nil and headers["retry-after"] == nil then
    missing_retry_after = missing_retry_after + 1
  end
end

function done(summary, latency, requests)
  local total, missing = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
    missing = missing + thread:get("missing_retry_after")
  end
  local line = "statuses:"
  for status, n in pairs(total) do
    line = line .. " " .. status .. "=" .. n
  end
  print(line)
  print("503/429 without Retry-After: " .. missing)
  print(string.format("latency p50 %.1f ms, p99 %.1f ms", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
