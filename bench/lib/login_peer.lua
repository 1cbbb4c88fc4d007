-- Full browser-less sign-in on the peer (oidc-provider's development interactions), one state
-- machine per connection (run with -t N -c N):
--   1 GET  /auth?...                          -> 303 /interaction/U  (cookies _interaction=U, _interaction_resume=U)
--   2 GET  /interaction/U                     -> 200 login form
--   3 POST /interaction/U prompt=login&login=alice&password=x -> 303 /auth/U
--   4 GET  /auth/U                            -> 303 /interaction/V, Set-Cookie _session (new session)
--   5 GET  /interaction/V                     -> 200 consent form (hidden prompt=consent)
--   6 POST /interaction/V prompt=consent      -> 303 /auth/V
--   7 GET  /auth/V                            -> 303 redirect_uri?code=...
--   8 POST /token (authorization_code)        -> 200 with access_token
-- wrk keeps only the last of repeated response headers, so the interaction cookies, whose value
-- is the interaction id, are rebuilt from the Location; _session is the last Set-Cookie of step 4.
package.path = (os.getenv("BENCH_LIB") or "bench/lib") .. "/?.lua;" .. package.path
local c = require("common")

local client_id = c.env("BENCH_CLIENT_ID", "idp")
local redirect_uri = c.env("BENCH_REDIRECT_URI")
local basic = c.env("BENCH_BASIC")
local auth = "/auth?client_id=" .. c.urlencode(client_id) .. "&redirect_uri=" .. c.urlencode(redirect_uri)
  .. "&response_type=code&scope=openid&state=bench"

local step, uid, session, code, flow_start = 1, nil, nil, nil, nil

local function restart() step, uid, session, code = 1, nil, nil, nil end

local function cookies()
  local parts = {}
  if uid then
    parts[#parts + 1] = "_interaction=" .. uid
    parts[#parts + 1] = "_interaction_resume=" .. uid
  end
  if session then parts[#parts + 1] = "_session=" .. session end
  return { ["Cookie"] = table.concat(parts, "; ") }
end

local function form(body)
  local h = cookies()
  h["Content-Type"] = "application/x-www-form-urlencoded"
  return h
end

function request()
  if step == 1 then
    flow_start = c.now_us()
    return wrk.format("GET", auth, c.headers(), nil)
  elseif step == 2 or step == 5 then
    return wrk.format("GET", "/interaction/" .. uid, c.headers(cookies()), nil)
  elseif step == 3 then
    return wrk.format("POST", "/interaction/" .. uid, c.headers(form()), "prompt=login&login=alice&password=x")
  elseif step == 6 then
    return wrk.format("POST", "/interaction/" .. uid, c.headers(form()), "prompt=consent")
  elseif step == 4 or step == 7 then
    return wrk.format("GET", "/auth/" .. uid, c.headers(cookies()), nil)
  else
    local body = "grant_type=authorization_code&code=" .. c.urlencode(code) .. "&redirect_uri=" .. c.urlencode(redirect_uri)
    return wrk.format("POST", "/token", c.headers({
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = basic,
    }), body)
  end
end

local names = { "GET /auth", "GET /interaction (login form)", "POST /interaction (login)", "GET /auth/:uid (resume)",
  "GET /interaction (consent form)", "POST /interaction (consent)", "GET /auth/:uid (resume)", "POST /token" }

function response(status, headers, body)
  local loc = c.path_of(c.header(headers, "location"))
  local fail = function(extra)
    c.failure(names[step], status, (extra or "") .. " " .. tostring(loc) .. " " .. body)
    restart()
  end
  if step == 1 or step == 4 then
    local u = status == 303 and loc and loc:match("^/interaction/([%w_%-]+)")
    if not u then return fail() end
    if step == 4 then
      local name, value = c.cookie_pair(c.header(headers, "set-cookie"))
      if name ~= "_session" then return fail("no _session cookie") end
      session = value
    end
    uid, step = u, step + 1
  elseif step == 2 or step == 5 then
    if status == 200 and body:find("<form", 1, true) then step = step + 1 else fail() end
  elseif step == 3 or step == 6 then
    if status == 303 and loc and loc:find("/auth/" .. uid, 1, true) then step = step + 1 else fail() end
  elseif step == 7 then
    code = status == 303 and loc and loc:match("[?&]code=([^&]+)")
    if code then step = 8 else fail() end
  else
    if status == 200 and body:find('"access_token"', 1, true) then
      c.success()
      c.flow_done(flow_start)
    else
      c.failure(names[8], status, body)
    end
    restart()
  end
end

c.install()
