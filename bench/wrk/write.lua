-- POST the yardstick write (bench/bare_app.py /write) with a distinct nonce a request.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local n = 0

function request()
  n = n + 1
  local body = string.format('{"nonce": "yardstick-%d-%d"}', id, n)
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", nil, nil, body)
end
