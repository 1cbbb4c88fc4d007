-- One fixed request, repeated: GET or POST with optional body and headers from the environment.
--   BENCH_METHOD (GET), BENCH_BODY, BENCH_HEADERS ("Name: value" lines), BENCH_HOST,
--   BENCH_DELAY_MS (pause before each request: a paced probe instead of a closed loop).
-- Normally no response() is defined, so wrk does not hand bodies to Lua and stays fast; non-2xx/3xx
-- answers are counted by wrk itself (errors.status).
package.path = (os.getenv("BENCH_LIB") or "bench/lib") .. "/?.lua;" .. package.path
local c = require("common")

wrk.method = c.env("BENCH_METHOD", "GET")
wrk.body = c.env("BENCH_BODY", nil)
wrk.headers = c.headers()
if wrk.body then wrk.headers["Content-Type"] = "application/x-www-form-urlencoded" end

-- BENCH_TIMED=1: also count answers in Lua and time them (first to last success), for slow
-- requests where a few completions more or less at the edges of the run would matter.
if c.env("BENCH_TIMED", nil) then
  function response(status, headers, body)
    if status >= 200 and status < 400 then c.success() else c.failure(wrk.method .. " " .. wrk.path, status, body) end
  end
end

local pause = tonumber(c.env("BENCH_DELAY_MS", "0"))
if pause and pause > 0 then
  function delay() return pause end
end

c.install()
