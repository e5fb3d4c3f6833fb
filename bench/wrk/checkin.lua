-- POST /api/v1/checkins of distinct tickets. BENCH_TOKENS names a file of ticket tokens,
-- one a line; thread n takes tokens n, n+T, n+2T ... so no two requests share a ticket.
-- BENCH_EVENT_ID is the event; BENCH_THREADS the number of wrk threads (T).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local tokens = {}
local next_index = nil
local event_id = os.getenv("BENCH_EVENT_ID")
local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
wrapped = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if line ~= "" then table.insert(tokens, line) end
  end
  next_index = id + 1
end

function request()
  if next_index > #tokens then
    next_index = id + 1
    wrapped = wrapped + 1
  end
  local token = tokens[next_index]
  next_index = next_index + stride
  local body = string.format(
    '{"token": "%s", "event_id": %s, "nonce": "bench-%s-%d"}',
    token, event_id, token, wrapped)
  wrk.headers["Content-Type"] = "application/json"  -- keeps the -H headers too
  return wrk.format("POST", nil, nil, body)
end
