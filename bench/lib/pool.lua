-- One request per pre-minted item (authorization codes): BENCH_POOL_FILE has one item a line,
-- BENCH_BODY has "{}" where the item goes, the request is a form POST to the URL's path.
-- Each item is used once; when they run out the thread stops and bench.py ends wrk early.
-- Throughput is timed in Lua (see common.lua).
package.path = (os.getenv("BENCH_LIB") or "bench/lib") .. "/?.lua;" .. package.path
local c = require("common")

local items, next_item = nil, 0
local tmpl = c.env("BENCH_BODY", "{}")
local expect = c.env("BENCH_EXPECT", nil)   -- substring a good answer contains
local exhausted = false

function init(args)
  items = c.lines(c.env("BENCH_POOL_FILE"))
end

function request()
  next_item = next_item + 1
  if next_item > #items then
    if not exhausted then
      exhausted = true
      c.signal_done()
      wrk.thread:stop()
    end
    -- Something must be returned; the thread is stopping, so this harmless GET is never counted.
    return wrk.format("GET", c.env("BENCH_IDLE_PATH", "/.well-known/openid-configuration"), c.headers(), nil)
  end
  local body = tmpl:gsub("{}", function() return items[next_item] end)
  local h = c.headers({ ["Content-Type"] = "application/x-www-form-urlencoded" })
  return wrk.format("POST", wrk.path, h, body)
end

function response(status, headers, body)
  if exhausted then return end
  if status >= 200 and status < 300 and (expect == nil or body:find(expect, 1, true)) then
    c.success()
  else
    c.failure("POST " .. wrk.path, status, body)
  end
end

c.install()
