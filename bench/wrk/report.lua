-- Shared by every benchmark script: counts responses by status class in each thread and
-- prints one JSON line at the end for bench/run.py to read.
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

statuses = { s2 = 0, s3 = 0, s4 = 0, s5 = 0, first_error = "" }

function response(status, headers, body)
  local class = math.floor(status / 100)
  local key = "s" .. class
  statuses[key] = (statuses[key] or 0) + 1
  if class >= 4 and statuses.first_error == "" and body then
    statuses.first_error = status .. " " .. string.sub(body, 1, 200)
  end
end

local function json_string(s)
  s = string.gsub(s, "[%c\"\\]", function(c) return string.format("\\u%04x", string.byte(c)) end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local totals = { s2 = 0, s3 = 0, s4 = 0, s5 = 0 }
  local first_error = ""
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for k, _ in pairs(totals) do
      totals[k] = totals[k] + (counts[k] or 0)
    end
    if first_error == "" and counts.first_error ~= "" then
      first_error = counts.first_error
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "s2": %d, "s3": %d, "s4": %d, "s5": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "first_error": %s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, totals.s2, totals.s3, totals.s4, totals.s5,
    e.connect + e.read + e.write, e.timeout, json_string(first_error)))
end
