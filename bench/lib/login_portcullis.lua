-- Full browser-less sign-in on Portcullis, one state machine per connection (run with
-- -t N -c N so that every wrk thread, and so every Lua state, owns exactly one connection):
--   1 GET  /login?return_to=<authorize>   -> 200, Set-Cookie portcullis_csrf (= the form's csrf_token)
--   2 POST /login (email, password, csrf_token, return_to)   -> 303 to return_to, session cookie
--   3 GET  /authorize?... with the session                   -> 302 redirect_uri?code=...
--   4 POST /token (authorization_code, client_secret_basic)  -> 200 with access_token
-- Environment: BENCH_EMAIL, BENCH_PASSWORD, BENCH_CLIENT_ID, BENCH_REDIRECT_URI, BENCH_BASIC
-- (the Authorization header value), BENCH_HOST, BENCH_SESSION_COOKIE.
package.path = (os.getenv("BENCH_LIB") or "bench/lib") .. "/?.lua;" .. package.path
local c = require("common")

local email = c.env("BENCH_EMAIL")
local password = c.env("BENCH_PASSWORD")
local client_id = c.env("BENCH_CLIENT_ID")
local redirect_uri = c.env("BENCH_REDIRECT_URI")
local basic = c.env("BENCH_BASIC")
local session_name = c.env("BENCH_SESSION_COOKIE", "portcullis_session")
local authorize = "/authorize?client_id=" .. c.urlencode(client_id) .. "&redirect_uri=" .. c.urlencode(redirect_uri)
  .. "&response_type=code&scope=openid&state=bench"

local step, csrf, session, next_path, code, flow_start = 1, nil, nil, nil, nil, nil

local function restart()
  step, csrf, session, next_path, code = 1, nil, nil, nil, nil
end

function request()
  if step == 1 then
    flow_start = c.now_us()
    return wrk.format("GET", "/login?return_to=" .. c.urlencode(authorize), c.headers(), nil)
  elseif step == 2 then
    local body = "email=" .. c.urlencode(email) .. "&password=" .. c.urlencode(password)
      .. "&csrf_token=" .. c.urlencode(csrf) .. "&return_to=" .. c.urlencode(authorize)
    return wrk.format("POST", "/login", c.headers({
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "portcullis_csrf=" .. csrf,
    }), body)
  elseif step == 3 then
    return wrk.format("GET", next_path, c.headers({
      ["Cookie"] = "portcullis_csrf=" .. csrf .. "; " .. session_name .. "=" .. session,
    }), nil)
  else
    local body = "grant_type=authorization_code&code=" .. c.urlencode(code) .. "&redirect_uri=" .. c.urlencode(redirect_uri)
    return wrk.format("POST", "/token", c.headers({
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = basic,
    }), body)
  end
end

function response(status, headers, body)
  if step == 1 then
    local name, value = c.cookie_pair(c.header(headers, "set-cookie"))
    if status == 200 and name == "portcullis_csrf" then
      csrf = value
      local field = body:match('name="csrf_token"%s+value="([^"]+)"') or body:match('value="([^"]+)"%s+name="csrf_token"')
      if field and field ~= csrf then
        c.failure("GET /login (csrf_token field differs from the cookie)", status, body)
        return restart()
      end
      step = 2
    else
      c.failure("GET /login", status, body); restart()
    end
  elseif step == 2 then
    local name, value = c.cookie_pair(c.header(headers, "set-cookie"))
    local loc = c.path_of(c.header(headers, "location"))
    if status == 303 and name == session_name and loc then
      session, next_path, step = value, loc, 3
    else
      c.failure("POST /login", status, body); restart()
    end
  elseif step == 3 then
    local loc = c.header(headers, "location") or ""
    code = (status == 302 or status == 303) and loc:match("[?&]code=([^&]+)")
    if code then step = 4 else c.failure("GET " .. tostring(next_path), status, loc .. " " .. body); restart() end
  else
    if status == 200 and body:find('"access_token"', 1, true) then
      c.success()
      c.flow_done(flow_start)
    else
      c.failure("POST /token (authorization_code)", status, body)
    end
    restart()
  end
end

c.install()
