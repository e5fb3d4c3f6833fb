-- POST /api/v1/events/{id}/registrations: parties of two racing for the same seats.
-- The URL given to wrk is the registrations URL; every request has its own idempotency key
-- and is another family (its own phone number): the same party signing up twice is refused.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local counter = 0
local run = tostring(os.time())

function request()
  counter = counter + 1
  local body = string.format(
    '{"contact": {"family_name": "山田", "given_name": "花子", ' ..
    '"family_name_kana": "ヤマダ", "given_name_kana": "ハナコ", ' ..
    '"phone": "080%08d", "email": ""}, ' ..
    '"attendees": [{"category": "child", "name": "", "allergens": ["egg"], "diets": [], ' ..
    '"note": ""}, {"category": "adult", "name": "", "allergens": [], "diets": [], ' ..
    '"note": ""}], "consent": true, "message": "", ' ..
    '"idempotency_key": "bench-%s-%d-%d"}', (id * 10000000 + counter) % 100000000,
    run, id, counter)
  wrk.headers["Content-Type"] = "application/json"  -- keeps the -H headers too
  return wrk.format("POST", nil, nil, body)
end
