-- GET the URL given to wrk (headers such as If-None-Match come from -H).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
