-- Shared helpers for the wrk scripts of bench/run.
--
-- Every script ends its run by printing one line "BENCH_JSON {...}" from done(): wrk's own
-- summary (requests, errors, latency percentiles in microseconds) plus the counters that the
-- per-thread Lua states kept (successes, failures, a failing sample, timing of the first request
-- and the last success, completed multi-step flows and their durations).
--
-- Counters live in globals of each thread's Lua state, because wrk's thread:get() reads globals.

local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]])
local ts = ffi.new("bench_timespec_t")

local M = {}

-- Monotonic clock in microseconds (CLOCK_MONOTONIC = 1), comparable across wrk's threads.
function M.now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

-- "Name: value" lines (BENCH_HEADERS) into a fresh table; wrk.format mutates the table it gets.
function M.headers(extra)
  local h = {}
  local spec = M.env("BENCH_HEADERS", "")
  for line in spec:gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then h[k] = v end
  end
  local host = M.env("BENCH_HOST", nil)
  if host then h["Host"] = host end
  if extra then for k, v in pairs(extra) do h[k] = v end end
  return h
end

function M.urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- Case-insensitive header lookup (actix sends lower case names, node sends "Set-Cookie").
-- wrk keeps only the last of repeated header names.
function M.header(headers, name)
  name = name:lower()
  for k, v in pairs(headers) do
    if k:lower() == name then return v end
  end
  return nil
end

-- "name=value; Path=/; ..." -> name, value
function M.cookie_pair(set_cookie)
  if not set_cookie then return nil end
  return set_cookie:match("^%s*([^=;%s]+)=([^;]*)")
end

function M.path_of(location)
  if not location then return nil end
  return (location:gsub("^https?://[^/]+", ""))
end

function M.lines(path)
  local items = {}
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    if line ~= "" then items[#items + 1] = line end
  end
  f:close()
  return items
end

-- Tells bench.py that this run has used up its pre-minted items (it then stops wrk early).
function M.signal_done()
  local p = M.env("BENCH_DONE_FILE", nil)
  if p then
    local f = io.open(p, "w")
    if f then f:write("done\n"); f:close() end
  end
end

-- Per-thread counters (globals, so that done() can read them with thread:get).
ok, bad, flows = 0, 0, 0
t_first, t_last = nil, nil
bad_sample = nil
flow_lat = ""

-- The timing window runs from the first success to the last one, so throughput is
-- (ok - 1) / window: the connection ramp-up and the thread's stop are left out.
function M.success()
  ok = ok + 1
  t_last = M.now_us()
  if t_first == nil then t_first = t_last end
end

function M.failure(what, status, body)
  bad = bad + 1
  if bad_sample == nil then
    local excerpt = (body or ""):sub(1, 400):gsub("%s+", " ")
    bad_sample = string.format("%s -> HTTP %s: %s", what, tostring(status), excerpt)
  end
end

function M.flow_done(started_us)
  flows = flows + 1
  local now = M.now_us()
  t_last = now
  if t_first == nil then t_first = now end
  if #flow_lat < 60000 then
    flow_lat = flow_lat .. string.format("%.0f,", now - started_us)
  end
end

-- Minimal JSON encoder for numbers, strings, booleans, arrays and objects.
local function encode(v)
  local t = type(v)
  if t == "nil" then return "null"
  elseif t == "boolean" then return v and "true" or "false"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
    return string.format("%.3f", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
      return string.format("\\u%04x", string.byte(c))
    end) .. '"'
  elseif t == "table" then
    if #v > 0 or next(v) == nil then
      local parts = {}
      for i = 1, #v do parts[i] = encode(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(x) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return encode(tostring(v))
end
M.json = encode

-- setup()/done() run in wrk's main Lua state.
local threads = {}
function M.setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_no", #threads)
end

function M.done(summary, latency, requests)
  local out = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = {
      connect = summary.errors.connect, read = summary.errors.read, write = summary.errors.write,
      status = summary.errors.status, timeout = summary.errors.timeout,
    },
    latency_us = {
      mean = latency.mean, stdev = latency.stdev, max = latency.max, min = latency.min,
      p50 = latency:percentile(50), p90 = latency:percentile(90),
      p99 = latency:percentile(99), p999 = latency:percentile(99.9),
    },
  }
  local tok, tbad, tflows, first, last = 0, 0, 0, nil, nil
  local samples, lats = {}, {}
  for _, t in ipairs(threads) do
    tok = tok + (t:get("ok") or 0)
    tbad = tbad + (t:get("bad") or 0)
    tflows = tflows + (t:get("flows") or 0)
    local a, b = t:get("t_first"), t:get("t_last")
    if a and (first == nil or a < first) then first = a end
    if b and (last == nil or b > last) then last = b end
    local s = t:get("bad_sample")
    if s and #samples < 3 then samples[#samples + 1] = s end
    local fl = t:get("flow_lat") or ""
    for n in fl:gmatch("([%d%.]+),") do lats[#lats + 1] = tonumber(n) end
  end
  out.lua = { ok = tok, bad = tbad, flows = tflows, bad_samples = samples }
  if first and last and last > first then out.lua.window_us = last - first end
  if #lats > 0 then
    table.sort(lats)
    local function pct(p) return lats[math.max(1, math.ceil(#lats * p / 100))] end
    out.lua.flow_latency_us = { p50 = pct(50), p99 = pct(99), max = lats[#lats], n = #lats }
  end
  io.write("BENCH_JSON " .. encode(out) .. "\n")
end

-- Makes this module's setup/done the script's.
function M.install()
  setup = M.setup
  done = M.done
end

return M
