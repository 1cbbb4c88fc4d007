-- Refresh-token chains: BENCH_POOL_FILE holds seed refresh tokens (at least one per connection,
-- plus spares). Each request takes a token from the queue; each answer's refresh_token goes back
-- in. Rotating servers therefore see every token used exactly once; a server that does not
-- rotate returns the same token, which is then simply reused.
package.path = (os.getenv("BENCH_LIB") or "bench/lib") .. "/?.lua;" .. package.path
local c = require("common")

local queue, head, tail = {}, 1, 0
local tmpl = c.env("BENCH_BODY", "grant_type=refresh_token&refresh_token={}")
local exhausted = false

function init(args)
  for _, t in ipairs(c.lines(c.env("BENCH_POOL_FILE"))) do
    tail = tail + 1
    queue[tail] = t
  end
end

function request()
  if head > tail then
    if not exhausted then
      exhausted = true
      c.signal_done()
      wrk.thread:stop()
    end
    return wrk.format("GET", c.env("BENCH_IDLE_PATH", "/.well-known/openid-configuration"), c.headers(), nil)
  end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  local body = tmpl:gsub("{}", function() return c.urlencode(token) end)
  local h = c.headers({ ["Content-Type"] = "application/x-www-form-urlencoded" })
  return wrk.format("POST", wrk.path, h, body)
end

function response(status, headers, body)
  if exhausted then return end
  local rt = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if rt then
    tail = tail + 1
    queue[tail] = rt
    c.success()
  else
    c.failure("POST " .. wrk.path .. " (grant_type=refresh_token)", status, body)
  end
end

c.install()
