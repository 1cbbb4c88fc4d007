#!/usr/bin/env python3
"""Load benchmark of Portcullis against the reference OpenID Provider (bench/run calls this).

Starts Portcullis (SQLite, and PostgreSQL when a URL is given) and the peer on loopback ports,
prepares users, clients, codes and tokens, drives every flow with wrk (Lua scripts next to this
file) against each side in turn, and writes report.md and report.json. Standard library only.
"""

import argparse
import atexit
import base64
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

LIB = os.path.dirname(os.path.abspath(__file__))
FORM = "application/x-www-form-urlencoded"
REDIRECT_URI = "http://127.0.0.1:9/cb"  # never followed: codes are read from the Location header
EMAIL = "bench@example.com"
PASSWORD = "bench-password-123"

# (id, label, target ratio Portcullis/peer or None)
FLOWS = [
    ("discovery", "discovery", 10.0),
    ("jwks", "JWKS", 10.0),
    ("cc_rs256", "client_credentials RS256", 2.0),
    ("cc_es256", "client_credentials ES256", 15.0),
    ("userinfo", "userinfo", 5.0),
    ("introspection", "introspection", None),
    ("refresh", "refresh (rotating chain)", 5.0),
    ("code", "authorization code exchange", 3.0),
    # The same two with a client whose access tokens are ES256 (ID tokens stay RS256): the peer's
    # `idp` client gets opaque access tokens, so it signs one RSA ID token per exchange too.
    ("refresh_es", "refresh, ES256 access tokens", 5.0),
    ("code_es", "code exchange, ES256 access tokens", 3.0),
    ("login_flow", "full login → code → token (flows/s)", None),
]
LOGIN_TARGET = 0.85
HEALTHZ_P99_TARGET_MS = 20.0
RSS_IDLE_TARGET_MIB = 20.0
RSS_LOAD_TARGET_MIB = 64.0
READY_TARGET_MS = 200.0


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- HTTP (mint/probe)


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def cookies(self):
        jar = {}
        for k, v in self.headers:
            if k.lower() == "set-cookie":
                pair = v.split(";", 1)[0]
                if "=" in pair:
                    n, val = pair.split("=", 1)
                    jar[n.strip()] = val.strip()
        return jar

    def describe(self):
        return f"HTTP {self.status}: {self.body[:300]!r}"


class Http:
    """One keep-alive connection to a loopback server; never follows redirects."""

    def __init__(self, base, timeout=30):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.conn = None

    def request(self, method, path, headers=None, body=None):
        headers = dict(headers or {})
        if body is not None and "Content-Type" not in headers:
            headers["Content-Type"] = FORM
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read().decode("utf-8", "replace")
                return Resp(r.status, r.getheaders(), data)
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def basic(client_id, secret):
    q = lambda s: urllib.parse.quote_plus(s, safe="")  # RFC 6749 §2.3.1
    return "Basic " + base64.b64encode(f"{q(client_id)}:{q(secret)}".encode()).decode()


def code_from(resp):
    loc = resp.header("location") or ""
    qs = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    if resp.status not in (302, 303) or "code" not in qs:
        raise RuntimeError(f"expected a redirect with a code, got {resp.describe()} Location={loc!r}")
    return qs["code"][0]


def local_path(location):
    u = urllib.parse.urlsplit(location)
    return u.path + (f"?{u.query}" if u.query else "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    """User + system CPU seconds of a process (all its threads), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def machine_cpu_s():
    """(process time, interrupt time) CPU seconds of the whole machine, from /proc/stat:
    user + nice + system + steal (steal: taken by the hypervisor for other guests), and
    irq + softirq (mostly loopback networking, charged to no process)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]] + [0] * 8
    return (v[0] + v[1] + v[2] + v[7]) / TICK, (v[5] + v[6]) / TICK


class CpuWindow:
    """CPU used during a run by the server, by wrk, and by everything else on the machine."""

    def __init__(self, server_pid):
        self.server_pid = server_pid
        self.t0 = time.perf_counter()
        self.m0 = machine_cpu_s()
        self.s0 = proc_cpu_s(server_pid) if server_pid else None
        self.wrk = {}

    def sample_wrk(self, pid):
        v = proc_cpu_s(pid)
        if v is not None:
            self.wrk[pid] = v

    def result(self):
        wall = time.perf_counter() - self.t0
        m1 = machine_cpu_s()
        busy = (m1[0] - self.m0[0]) / wall
        irq = (m1[1] - self.m0[1]) / wall
        server = None
        if self.s0 is not None:
            s1 = proc_cpu_s(self.server_pid)
            server = (s1 - self.s0) / wall if s1 is not None else None
        wrk = sum(self.wrk.values()) / wall
        others = busy - wrk - (server or 0)
        return {"machine_busy_cores": round(busy, 2), "irq_cores": round(irq, 2),
                "server_cores": None if server is None else round(server, 2),
                "wrk_cores": round(wrk, 2), "other_cores": round(max(others, 0.0), 2)}


# --------------------------------------------------------------------------- processes


class Procs:
    """Every process this run starts; all are ended on exit (bench/run's trap is the backstop)."""

    def __init__(self, pidfile):
        self.pidfile, self.live = pidfile, []

    def spawn(self, argv, env, logpath, cwd=None):
        logf = open(logpath, "ab")
        p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        self.live.append(p)
        with open(self.pidfile, "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def stop(self, p, timeout=15):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(self.live):
            try:
                self.stop(p, timeout=5)
            except Exception:
                pass


class RssSampler(threading.Thread):
    """Samples VmRSS of watched processes every 50 ms and keeps the maximum per key."""

    def __init__(self):
        super().__init__(daemon=True)
        self.watching, self.peaks, self.lock = {}, {}, threading.Lock()
        self.stopped = False

    def run(self):
        while not self.stopped:
            with self.lock:
                items = list(self.watching.items())
            for key, pid in items:
                kib = rss_kib(pid)
                if kib is not None:
                    with self.lock:
                        self.peaks[key] = max(self.peaks.get(key, 0), kib)
            time.sleep(0.05)

    def watch(self, key, pid):
        kib = rss_kib(pid)
        with self.lock:
            self.watching[key] = pid
            if kib is not None:
                self.peaks[key] = max(self.peaks.get(key, 0), kib)

    def unwatch(self, key):
        with self.lock:
            self.watching.pop(key, None)

    def peak_mib(self, key):
        v = self.peaks.get(key)
        return None if v is None else v / 1024


# --------------------------------------------------------------------------- wrk


class Wrk:
    def __init__(self, outdir, host_env):
        self.outdir, self.base_env = outdir, host_env
        os.makedirs(outdir, exist_ok=True)

    def run(self, label, script, url, *, threads=1, conns=16, duration=10, timeout="10s", env=None,
            kind="static", server_pid=None, profile=None):
        done_file = os.path.join(self.outdir, f"{label}.done")
        if os.path.exists(done_file):
            os.remove(done_file)
        e = dict(self.base_env)
        e.update(env or {})
        e["BENCH_LIB"] = LIB
        e["BENCH_DONE_FILE"] = done_file
        u = urllib.parse.urlsplit(url)
        e.setdefault("BENCH_HOST", u.netloc)
        argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", timeout,
                "-s", os.path.join(LIB, script), url]
        cpu = CpuWindow(server_pid)
        perf = Perf.start(profile, server_pid) if profile and server_pid else None
        p = subprocess.Popen(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        deadline = time.time() + duration + 30
        interrupted = False
        while p.poll() is None:
            cpu.sample_wrk(p.pid)
            if not interrupted and os.path.exists(done_file):
                time.sleep(0.05)
                p.send_signal(signal.SIGINT)  # wrk prints its summary and runs done() on SIGINT
                interrupted = True
            if time.time() > deadline:
                p.kill()
            time.sleep(0.05)
        out = p.stdout.read().decode("utf-8", "replace")
        if perf:
            perf.finish(label)
        if os.path.exists(done_file):
            os.remove(done_file)
        with open(os.path.join(self.outdir, f"{label}.txt"), "w") as f:
            f.write("$ " + " ".join(argv) + "\n" + out)
        m = re.search(r"^BENCH_JSON (.*)$", out, re.M)
        if not m:
            raise RuntimeError(f"wrk gave no result for {label}: {out[-800:]}")
        data = json.loads(m.group(1))
        r = summarize(data, kind, argv)
        r["cpu"] = cpu.result()
        return r


class Perf:
    """`perf record` on the server while wrk drives it (`--profile`): a flat CPU profile by
    symbol (cpu-clock sampling: hardware counters are not available in these VMs), summed into
    the categories that explain a flow's cost, written to bench/profiles/<label>.txt."""

    # (category, test on (dso, symbol)); the first match wins.
    CATEGORIES = [
        # aws-lc's assembly (Montgomery multiplication, P-256, SHA) has unprefixed symbols.
        ("RSA / ECDSA / EdDSA / SHA (aws-lc)", lambda d, s: "aws_lc" in s or "aws-lc" in d or re.match(
            r"_*(bn_|mulx4x|sqrx8x|mul4x|sqr8x|mul_4x|bn_power|ecp_nistz256|p256_|beeu_|sha256_block|sha512_block|x25519|ed25519|ChaCha20)", s)),
        ("SQLite", lambda d, s: s.startswith("sqlite3") or "sqlite" in d),
        ("PostgreSQL client (libpq)", lambda d, s: "libpq" in d or s.startswith("pq")),
        ("kernel: network, scheduling, syscalls", lambda d, s: "kernel" in d or d.startswith("[")),
        ("allocator (glibc malloc/free)", lambda d, s: "libc" in d and re.search(r"malloc|free|_int_|realloc|calloc|tcache|arena", s)),
        ("glibc other (memcpy, locks, futex)", lambda d, s: "libc" in d or "ld-linux" in d),
        ("scrypt", lambda d, s: re.search(r"salsa|scrypt|pbkdf2", s)),
        ("JSON and serde", lambda d, s: "serde" in s),
        ("diesel and r2d2 (query building, pool)", lambda d, s: re.search(r"diesel|r2d2", s)),
        ("HTTP, async runtime and the rest of Portcullis", lambda d, s: True),
    ]

    def __init__(self, data, out, proc):
        self.data, self.out, self.proc = data, out, proc

    @classmethod
    def start(cls, out, pid):
        if not shutil.which("perf"):
            log("  --profile: perf is not installed (apt-get install linux-perf); no profile")
            return None
        data = out + ".data"
        extra = os.environ.get("PERF_RECORD_ARGS", "").split()  # e.g. "--call-graph dwarf" to dig deeper
        proc = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999", *extra, "-p", str(pid), "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # attached before the first request
        return cls(data, out, proc)

    def finish(self, label):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        r = subprocess.run(["perf", "report", "-i", self.data, "--stdio", "--no-children", "--sort", "dso,sym",
                            "--percent-limit", "0"], capture_output=True, text=True)
        rows = []
        for line in r.stdout.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)$", line)
            if m:
                rows.append((float(m.group(1)), m.group(2), m.group(3).strip()))
        samples = re.search(r"# Samples: (\S+)", r.stdout)
        totals = {}
        for pct, dso, sym in rows:
            cat = next(name for name, test in self.CATEGORIES if test(dso, sym))
            totals[cat] = totals.get(cat, 0.0) + pct
        with open(self.out + ".txt", "w") as f:
            f.write(f"# {label}: where the server's CPU time went while wrk ran\n")
            f.write(f"# perf record -e cpu-clock -F 1999 -p <portcullis>; {samples.group(1) if samples else '?'} samples\n")
            f.write(f"# taken {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()['nproc']} cores ({machine()['cpu']})\n\n")
            f.write("## By category\n\n")
            for cat, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
                f.write(f"{pct:6.1f}%  {cat}\n")
            f.write("\n## Top symbols\n\n")
            for pct, dso, sym in rows[:40]:
                f.write(f"{pct:6.2f}%  {dso:<20.20}  {sym[:110]}\n")
        if os.environ.get("PERF_KEEP_DATA"):
            log(f"  perf data kept: {self.data}")
        else:
            os.remove(self.data)
        log(f"  profile: {self.out}.txt")


def summarize(d, kind, argv):
    secs = d["duration_us"] / 1e6
    errs = d["errors"]
    lua = d.get("lua") or {}
    lat = d["latency_us"]
    r = {
        "kind": kind,
        "wrk": " ".join(os.path.basename(a) if a.endswith(".lua") else a for a in argv),
        "requests": d["requests"],
        "duration_s": round(secs, 3),
        "socket_errors": {k: errs[k] for k in ("connect", "read", "write", "timeout")},
        "non_2xx_3xx": errs["status"],
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "max_ms": lat["max"] / 1000,
        "lua_failures": lua.get("bad", 0),
        "failure_samples": lua.get("bad_samples", []),
    }
    if kind == "static":
        r["ok"] = d["requests"] - errs["status"]
        r["rps"] = r["ok"] / secs if secs > 0 else 0.0
    elif kind in ("pool", "chain", "timed"):
        r["ok"] = lua.get("ok", 0)
        window = (lua.get("window_us") or 0) / 1e6
        r["window_s"] = round(window, 3)
        r["rps"] = (r["ok"] - 1) / window if window > 0 and r["ok"] > 1 else 0.0
    elif kind == "flow":
        r["ok"] = lua.get("flows", 0)
        r["rps"] = r["ok"] / secs if secs > 0 else 0.0
        fl = lua.get("flow_latency_us")
        if fl:
            r["step_p50_ms"], r["step_p99_ms"] = r["p50_ms"], r["p99_ms"]
            r["p50_ms"], r["p99_ms"] = fl["p50"] / 1000, fl["p99"] / 1000
    r["errors"] = r["non_2xx_3xx"] + r["lua_failures"] + sum(r["socket_errors"].values())
    return r


# --------------------------------------------------------------------------- Portcullis


class Portcullis:
    def __init__(self, ctx, backend, db_url):
        self.ctx, self.backend, self.db_url = ctx, backend, db_url
        self.name = f"portcullis-{backend}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = os.path.join(ctx.work, self.name)
        os.makedirs(self.data_dir, exist_ok=True)
        self.proc = None
        self.clients = {}

    def env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("PORTCULLIS_") and not k.startswith("BENCH_")}
        e.update({
            "PORTCULLIS_LISTEN": f"127.0.0.1:{self.port}",
            "PORTCULLIS_ISSUER": self.base,
            "PORTCULLIS_DATA_DIR": self.data_dir,
            "PORTCULLIS_LOG__FILTER": "warn",
            "PORTCULLIS_DATABASE__URL": self.db_url,
            "PORTCULLIS_OIDC__CODE_TTL_SECS": "600",
        })
        e.pop("RUST_LOG", None)
        return e

    def cli(self, *args, stdin=None):
        r = subprocess.run([self.ctx.binary, *args], env=self.env(), input=stdin, capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"portcullis {' '.join(args)} failed: {r.stderr.strip()}")
        return r.stdout

    def provision(self):
        self.cli("user", "create", "--email", EMAIL, "--name", "Bench", "--password-stdin", "--verified",
                 stdin=PASSWORD + "\n")
        specs = {
            "cc": ["--name", "cc", "--grant", "client_credentials"],
            "cc_es": ["--name", "cc-es", "--grant", "client_credentials", "--access-token-alg", "ES256"],
            "web": ["--name", "web", "--redirect-uri", REDIRECT_URI, "--skip-consent", "--always-refresh"],
            "web_es": ["--name", "web-es", "--redirect-uri", REDIRECT_URI, "--skip-consent", "--always-refresh",
                       "--access-token-alg", "ES256"],
        }
        for key, args in specs.items():
            out = json.loads(self.cli("client", "create", *args, "--json"))
            self.clients[key] = (out["client_id"], out["client_secret"])

    def start(self):
        t0 = time.perf_counter()
        self.proc = self.ctx.procs.spawn([self.ctx.binary, "serve"], self.env(),
                                         os.path.join(self.ctx.work, f"{self.name}.log"))
        ms = wait_ready(self.base, "/readyz", self.proc, t0)
        return ms

    def stop(self):
        if self.proc:
            self.ctx.procs.stop(self.proc)
            self.proc = None

    # ---- minting

    def sign_in(self, h=None):
        h = h or Http(self.base)
        r = h.request("GET", "/login")
        csrf = r.cookies().get("portcullis_csrf")
        if r.status != 200 or not csrf:
            raise RuntimeError(f"GET /login: {r.describe()}")
        body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": csrf,
                                       "return_to": "/account"})
        r = h.request("POST", "/login", {"Cookie": f"portcullis_csrf={csrf}"}, body)
        session = r.cookies().get("portcullis_session")
        if r.status != 303 or not session:
            raise RuntimeError(f"POST /login: {r.describe()}")
        return csrf, f"portcullis_csrf={csrf}; portcullis_session={session}"

    def authorize_path(self, scope, client="web"):
        cid = self.clients[client][0]
        return "/authorize?" + urllib.parse.urlencode({"client_id": cid, "redirect_uri": REDIRECT_URI,
                                                       "response_type": "code", "scope": scope,
                                                       "state": "bench"})

    def exchange(self, h, code, client="web"):
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": REDIRECT_URI})
        r = h.request("POST", "/token", {"Authorization": basic(*self.clients[client])}, body)
        if r.status != 200:
            raise RuntimeError(f"POST /token (authorization_code): {r.describe()}")
        return json.loads(r.body)

    def mint_codes(self, n, scope="openid", client="web"):
        if not getattr(self, "_cookie", None):
            self._cookie = self.sign_in()[1]
        cookie = self._cookie
        path = self.authorize_path(scope, client)
        return parallel_mint(self.base, n, lambda h: code_from(h.request("GET", path, {"Cookie": cookie})))

    def mint_tokens(self, n, client="web"):
        _, cookie = self.sign_in()
        path = self.authorize_path("openid profile email", client)

        def one(h):
            return self.exchange(h, code_from(h.request("GET", path, {"Cookie": cookie})), client)
        return parallel_mint(self.base, n, one)

    # ---- flows

    def spec(self, flow):
        web = basic(*self.clients["web"])
        if flow == "discovery":
            return dict(script="static.lua", path="/.well-known/openid-configuration")
        if flow == "jwks":
            return dict(script="static.lua", path="/jwks")
        if flow in ("cc_rs256", "cc_es256"):
            c = self.clients["cc" if flow == "cc_rs256" else "cc_es"]
            return dict(script="static.lua", path="/token", env={
                "BENCH_METHOD": "POST", "BENCH_BODY": "grant_type=client_credentials&scope=api",
                "BENCH_HEADERS": f"Authorization: {basic(*c)}"})
        if flow == "userinfo":
            at = self.mint_tokens(1)[0]["access_token"]
            return dict(script="static.lua", path="/userinfo", env={"BENCH_HEADERS": f"Authorization: Bearer {at}"})
        if flow == "introspection":
            at = self.mint_tokens(1)[0]["access_token"]
            return dict(script="static.lua", path="/introspect", env={
                "BENCH_METHOD": "POST", "BENCH_BODY": "token=" + urllib.parse.quote(at, safe=""),
                "BENCH_HEADERS": f"Authorization: {web}"})
        if flow in ("refresh", "refresh_es"):
            client = "web" if flow == "refresh" else "web_es"
            seeds = [t["refresh_token"] for t in self.mint_tokens(self.ctx.conns * 2, client)]
            return dict(script="chain.lua", path="/token", kind="chain", pool=seeds, env={
                "BENCH_BODY": "grant_type=refresh_token&refresh_token={}",
                "BENCH_HEADERS": f"Authorization: {basic(*self.clients[client])}"})
        if flow in ("code", "code_es"):
            client = "web" if flow == "code" else "web_es"
            return dict(script="pool.lua", path="/token", kind="pool",
                        mint=lambda n: self.mint_codes(n, client=client), env={
                "BENCH_BODY": "grant_type=authorization_code&code={}&redirect_uri=" + urllib.parse.quote(REDIRECT_URI, safe=""),
                "BENCH_HEADERS": f"Authorization: {basic(*self.clients[client])}", "BENCH_EXPECT": '"access_token"'})
        if flow == "login_flow":
            return dict(script="login_portcullis.lua", path="/", kind="flow", threads=self.ctx.conns,
                        timeout="60s", env={
                            "BENCH_EMAIL": EMAIL, "BENCH_PASSWORD": PASSWORD,
                            "BENCH_CLIENT_ID": self.clients["web"][0], "BENCH_REDIRECT_URI": REDIRECT_URI,
                            "BENCH_BASIC": web})
        raise KeyError(flow)


def parallel_mint(base, n, one, workers=4):
    local = threading.local()

    def task(_):
        if not hasattr(local, "h"):
            local.h = Http(base)
        return one(local.h)
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(task, range(n)))


def wait_ready(base, path, proc, t0, timeout=60, poll=0.005):
    """Milliseconds from t0 until GET path answers 200, polling every 5 ms."""
    u = urllib.parse.urlsplit(base)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before it was ready")
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return (time.perf_counter() - t0) * 1000
        except OSError:
            pass
        time.sleep(poll)
    raise RuntimeError(f"{base}{path} not ready after {timeout} s")


# --------------------------------------------------------------------------- peer


class Peer:
    def __init__(self, ctx, alg="RS256"):
        self.ctx, self.alg = ctx, alg
        self.name = f"peer-{alg.lower()}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTCULLIS_") and not k.startswith("BENCH_")}
        env.update({"PEER_ALG": self.alg, "PEER_REDIRECTS": REDIRECT_URI, "NODE_ENV": "production"})
        script = "peer-op.mjs" if self.alg == "RS256" else self.with_keystore(env)
        t0 = time.perf_counter()
        self.proc = self.ctx.procs.spawn(["node", script, str(self.port)], env,
                                         os.path.join(self.ctx.work, f"{self.name}.log"), cwd=self.ctx.peer_dir)
        return wait_ready(self.base, "/.well-known/openid-configuration", self.proc, t0, poll=0.02)

    def stop(self):
        if self.proc:
            self.ctx.procs.stop(self.proc)
            self.proc = None

    def with_keystore(self, env):
        """peer-op.mjs runs oidc-provider on its development keystore, which holds one RSA key only,
        so with PEER_ALG=ES256 it answers 500. This writes a copy beside it whose one change is a
        `jwks` option (a fresh RSA key for ID tokens and a P-256 key), passed in PEER_JWKS; the
        provider, clients and features are the reference peer's own. Returns the copy's name."""
        src = open(os.path.join(self.ctx.peer_dir, "peer-op.mjs")).read()
        anchor = "new Provider(issuer, {"
        if src.count(anchor) != 1:
            return "peer-op.mjs"  # the peer changed shape; cannot_sign() then reports why
        gen = ("const {generateKeyPairSync:g}=require('crypto');"
               "const rsa=g('rsa',{modulusLength:2048}).privateKey.export({format:'jwk'});"
               "const ec=g('ec',{namedCurve:'P-256'}).privateKey.export({format:'jwk'});"
               "console.log(JSON.stringify({keys:[{...rsa,alg:'RS256',use:'sig',kid:'bench-rs'},"
               "{...ec,alg:'ES256',use:'sig',kid:'bench-es'}]}))")
        env["PEER_JWKS"] = subprocess.run(["node", "-e", gen], check=True, capture_output=True, text=True).stdout.strip()
        name = "peer-op-keystore.mjs"
        with open(os.path.join(self.ctx.peer_dir, name), "w") as f:
            f.write(src.replace(anchor, anchor + " jwks: JSON.parse(process.env.PEER_JWKS),", 1))
        return name

    def login_consent(self, scope, prompt_consent=True):
        """devInteractions: login form, then consent form; returns (_session cookie, code)."""
        h = Http(self.base)
        q = {"client_id": "idp", "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": scope,
             "state": "bench"}
        if prompt_consent:
            q["prompt"] = "consent"
        jar = {}

        def go(method, path, body=None):
            cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
            r = h.request(method, path, {"Cookie": cookie} if cookie else {}, body)
            jar.update({k: v for k, v in r.cookies().items() if v})
            return r

        r = go("GET", "/auth?" + urllib.parse.urlencode(q))
        for _ in range(6):
            loc = r.header("location")
            if r.status in (302, 303) and loc and "code=" in loc and loc.startswith(REDIRECT_URI):
                return jar.get("_session"), code_from(r)
            if r.status not in (302, 303) or not loc:
                raise RuntimeError(f"peer interaction: {r.describe()}")
            path = local_path(loc)
            page = go("GET", path)
            if page.status != 200:
                raise RuntimeError(f"peer GET {path}: {page.describe()}")
            prompt = re.search(r'name="prompt" value="([^"]+)"', page.body)
            if not prompt:
                raise RuntimeError(f"peer page without a prompt form at {path}: {page.body[:300]!r}")
            form = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                form.update({"login": "alice", "password": "x"})
            r = go("POST", path, urllib.parse.urlencode(form))
            if r.status not in (302, 303):
                raise RuntimeError(f"peer POST {path}: {r.describe()}")
            r = go("GET", local_path(r.header("location")))
        raise RuntimeError("peer interaction did not end in a code")

    def cannot_sign(self):
        """Why this peer cannot issue client_credentials tokens, or None when one request works."""
        h = Http(self.base)
        r = h.request("POST", "/token", {"Authorization": basic("bench", "bench-secret")},
                      "grant_type=client_credentials&scope=api")
        if r.status == 200:
            return None
        algs = sorted({k.get("alg", "?") for k in json.loads(h.request("GET", "/jwks").body).get("keys", [])})
        return (f"with PEER_ALG={self.alg} the peer answers POST /token (client_credentials) with {r.describe()}; "
                f"its development keystore (/jwks) holds only {', '.join(algs)} keys, so it cannot sign "
                f"{self.alg} tokens, and the keystore could not be given to it")

    def exchange(self, h, code):
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
        r = h.request("POST", "/token", {"Authorization": basic("idp", "idp-secret")}, body)
        if r.status != 200:
            raise RuntimeError(f"peer POST /token: {r.describe()}")
        return json.loads(r.body)

    def tokens(self):
        """A fresh sign-in for each flow: the peer keeps everything in an in-memory LRU of about
        1000 to 2000 entries, so sessions and tokens from earlier flows are gone by now."""
        _, code = self.login_consent("openid profile email offline_access")
        return self.exchange(Http(self.base), code)

    def mint_codes(self, n):
        session, _ = self.login_consent("openid")
        path = "/auth?" + urllib.parse.urlencode({"client_id": "idp", "redirect_uri": REDIRECT_URI,
                                                  "response_type": "code", "scope": "openid", "state": "bench"})
        return parallel_mint(self.base, n, lambda h: code_from(h.request("GET", path, {"Cookie": f"_session={session}"})))

    def spec(self, flow):
        idp = basic("idp", "idp-secret")
        flow = {"refresh_es": "refresh", "code_es": "code"}.get(flow, flow)  # its access tokens are opaque
        if flow == "discovery":
            return dict(script="static.lua", path="/.well-known/openid-configuration")
        if flow == "jwks":
            return dict(script="static.lua", path="/jwks")
        if flow in ("cc_rs256", "cc_es256"):
            return dict(script="static.lua", path="/token", env={
                "BENCH_METHOD": "POST", "BENCH_BODY": "grant_type=client_credentials&scope=api",
                "BENCH_HEADERS": f"Authorization: {basic('bench', 'bench-secret')}"})
        if flow == "userinfo":
            return dict(script="static.lua", path="/me",
                        env={"BENCH_HEADERS": f"Authorization: Bearer {self.tokens()['access_token']}"})
        if flow == "introspection":
            return dict(script="static.lua", path="/token/introspection", env={
                "BENCH_METHOD": "POST", "BENCH_BODY": "token=" + urllib.parse.quote(self.tokens()["access_token"], safe=""),
                "BENCH_HEADERS": f"Authorization: {idp}"})
        if flow == "refresh":
            # The peer rotates refresh tokens of confidential clients only near expiry, so its answer
            # carries the same token back; the chain script then just reuses it.
            rt = self.tokens()["refresh_token"]
            return dict(script="chain.lua", path="/token", kind="chain", pool=[rt] * (self.ctx.conns * 2), env={
                "BENCH_BODY": "grant_type=refresh_token&refresh_token={}", "BENCH_HEADERS": f"Authorization: {idp}"})
        if flow == "code":
            return dict(script="pool.lua", path="/token", kind="pool", mint=self.mint_codes, env={
                "BENCH_BODY": "grant_type=authorization_code&code={}&redirect_uri=" + urllib.parse.quote(REDIRECT_URI, safe=""),
                "BENCH_HEADERS": f"Authorization: {idp}", "BENCH_EXPECT": '"access_token"'})
        if flow == "login_flow":
            return dict(script="login_peer.lua", path="/", kind="flow", threads=self.ctx.conns, timeout="60s",
                        env={"BENCH_CLIENT_ID": "idp", "BENCH_REDIRECT_URI": REDIRECT_URI, "BENCH_BASIC": idp})
        raise KeyError(flow)


# --------------------------------------------------------------------------- run


class Ctx:
    pass


def run_flow(ctx, side, flow, label):
    """Prepares and drives one flow on one side; returns the summarized result or an error record."""
    try:
        spec = side.spec(flow)
    except Exception as e:  # noqa: BLE001 - a failed preparation is reported, the run goes on
        log(f"  {label}: preparation failed: {e}")
        return {"error": f"preparation failed: {e}"}
    kind = spec.get("kind", "static")
    env = dict(spec.get("env", {}))
    if "pool" in spec:
        pf = os.path.join(ctx.work, f"{label}.pool")
        with open(pf, "w") as f:
            f.write("\n".join(spec["pool"]) + "\n")
        env["BENCH_POOL_FILE"] = pf
    url = side.base + spec["path"]
    threads = spec.get("threads", 1)
    timeout = spec.get("timeout", "10s")
    if kind == "static" and ctx.warmup > 0:
        ctx.wrk.run(label + ".warmup", spec["script"], url, threads=threads, conns=ctx.conns,
                    duration=ctx.warmup, timeout=timeout, env=env, kind=kind)
    own = (side.name, label)
    watched = Watched(ctx, side, own)
    try:
        if "mint" in spec:
            r = run_batches(ctx, spec, label, url, env, timeout, watched)
        else:
            with watched:
                r = ctx.wrk.run(label, spec["script"], url, threads=threads, conns=ctx.conns,
                                duration=ctx.duration, timeout=timeout, env=env, kind=kind,
                                server_pid=side.proc.pid, profile=profile_path(ctx, side, label))
    except Exception as e:  # noqa: BLE001
        log(f"  {label}: failed: {e}")
        return {"error": str(e)}
    r["rss_peak_mib"] = ctx.rss.peak_mib(own)
    if kind == "static" and r["non_2xx_3xx"] > 0:
        r["failing_request"], r["failure_samples"] = replay(side.base, spec)
    elif r["lua_failures"] > 0:
        r["failing_request"] = f"{spec['script']} against {url}"
    log(f"  {label}: {r['rps']:.1f}/s p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms errors {r['errors']}, "
        f"RSS peak {r['rss_peak_mib']:.1f} MiB")
    return r


def profile_path(ctx, side, label):
    """Where `--profile` writes this flow's profile; None when not profiling or for the peer."""
    if not ctx.profile_dir or not isinstance(side, Portcullis):
        return None
    os.makedirs(ctx.profile_dir, exist_ok=True)
    return os.path.join(ctx.profile_dir, label.replace("portcullis-", ""))


class Watched:
    """Memory is sampled only while wrk runs (minting may sign in, and a hash takes 128 MiB)."""

    def __init__(self, ctx, side, own):
        self.ctx, self.pid, self.keys = ctx, side.proc.pid, [(side.name, ctx.phase), own]
        self.side = side
        self.server_pid = side.proc.pid

    def __enter__(self):
        for k in self.keys:
            self.ctx.rss.watch(k, self.pid)

    def __exit__(self, *exc):
        for k in self.keys:
            self.ctx.rss.unwatch(k)


def run_batches(ctx, spec, label, url, env, timeout, watched):
    """Codes are minted and redeemed in batches (the peer's in-memory store only keeps the last
    1000-2000 objects, so it cannot hold thousands of codes at once); the same on both sides.
    The first batch warms up and is not counted."""
    results = []
    for i in range(1 + ctx.batches):
        codes = spec["mint"](ctx.batch)
        pf = os.path.join(ctx.work, f"{label}.pool")
        with open(pf, "w") as f:
            f.write("\n".join(codes) + "\n")
        e = dict(env, BENCH_POOL_FILE=pf)
        with watched:
            r = ctx.wrk.run(f"{label}.batch{i}", spec["script"], url, threads=1, conns=ctx.conns,
                            duration=ctx.duration, timeout=timeout, env=e, kind="pool",
                            server_pid=watched.server_pid,
                            # one counted batch is profiled: minting between batches is not the flow
                            profile=profile_path(ctx, watched.side, label) if i == 1 else None)
        if i > 0:
            results.append(r)
    ok = sum(r["ok"] for r in results)
    window = sum(r["window_s"] for r in results)
    out = {
        "kind": "pool", "wrk": results[0]["wrk"], "batches": len(results), "batch_size": ctx.batch,
        "requests": sum(r["requests"] for r in results), "ok": ok, "window_s": round(window, 3),
        "rps": sum(max(r["ok"] - 1, 0) for r in results) / window if window > 0 else 0.0,
        "socket_errors": {k: sum(r["socket_errors"][k] for r in results) for k in results[0]["socket_errors"]},
        "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in results),
        "lua_failures": sum(r["lua_failures"] for r in results),
        "failure_samples": [s for r in results for s in r["failure_samples"]][:3],
        "p50_ms": statistics.median(r["p50_ms"] for r in results),
        "p90_ms": statistics.median(r["p90_ms"] for r in results),
        "p99_ms": statistics.median(r["p99_ms"] for r in results),
        "max_ms": max(r["max_ms"] for r in results),
        "batch_rps": [round(r["rps"], 1) for r in results],
        "cpu": {k: round(statistics.mean(r["cpu"][k] or 0 for r in results), 2) for k in results[0]["cpu"]},
    }
    out["errors"] = out["non_2xx_3xx"] + out["lua_failures"] + sum(out["socket_errors"].values())
    return out


def replay(base, spec):
    env = spec.get("env", {})
    method = env.get("BENCH_METHOD", "GET")
    headers = {}
    for line in env.get("BENCH_HEADERS", "").splitlines():
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    body = env.get("BENCH_BODY")
    r = Http(base).request(method, spec["path"], headers, body)
    shown = {k: (v[:24] + "…" if len(v) > 24 else v) for k, v in headers.items()}
    desc = f"{method} {base}{spec['path']} headers={shown}" + (f" body={body[:120]!r}" if body else "")
    return desc, [f"HTTP {r.status}: {r.body[:300]}"]


def measure_logins(ctx, pc):
    """Single-hash time, the scrypt ceiling, a login storm, /healthz latency meanwhile."""
    res = {"cores": ctx.cores}
    h = Http(pc.base)
    health = []
    for _ in range(50):
        t = time.perf_counter()
        r = h.request("GET", "/healthz")
        health.append(time.perf_counter() - t)
        assert r.status == 200, r.describe()
    csrf, _ = pc.sign_in()  # one warm-up sign-in; also gives a CSRF token for the form posts
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": csrf, "return_to": "/account"})

    def sequential():
        times = []
        for _ in range(ctx.hash_samples):
            t = time.perf_counter()
            r = h.request("POST", "/login", {"Cookie": f"portcullis_csrf={csrf}"}, body)
            times.append(time.perf_counter() - t)
            if r.status != 303:
                raise RuntimeError(f"POST /login: {r.describe()}")
        return times

    before = sequential()
    rtt = statistics.median(health)
    hash_s = statistics.median(before) - rtt
    log(f"  one scrypt hash ≈ {hash_s * 1000:.0f} ms (sequential sign-ins before the storm)")
    storm_env = {"BENCH_METHOD": "POST", "BENCH_BODY": body, "BENCH_HEADERS": f"Cookie: portcullis_csrf={csrf}",
                 "BENCH_TIMED": "1"}
    probe_env = {"BENCH_DELAY_MS": str(ctx.probe_ms)}
    probe = {}

    def run_probe():
        try:
            probe["r"] = ctx.wrk.run(f"{pc.name}.healthz-during-storm", "static.lua", pc.base + "/healthz",
                                     threads=1, conns=1, duration=ctx.storm, timeout="10s", env=probe_env)
        except Exception as e:  # noqa: BLE001
            probe["error"] = str(e)

    key = (pc.name, "login")
    ctx.rss.watch(key, pc.proc.pid)
    t = threading.Thread(target=run_probe)
    t.start()
    try:
        storm = ctx.wrk.run(f"{pc.name}.login-storm", "static.lua", pc.base + "/login", threads=1,
                            conns=ctx.storm_conns, duration=ctx.storm, timeout="60s", env=storm_env, kind="timed",
                            server_pid=pc.proc.pid)
    finally:
        t.join()
        ctx.rss.unwatch(key)
    # Sign-ins still queued when wrk stopped finish first; then the same sequential measurement
    # again, so that the single-hash time brackets the storm (the machine may be shared).
    time.sleep(ctx.storm_conns / max(ctx.cores, 1) * hash_s + 1.0)
    after = sequential()
    hash_s = statistics.median(before + after) - rtt
    res.update({
        "sequential_login_s": {"before": [round(x, 4) for x in before], "after": [round(x, 4) for x in after]},
        "healthz_rtt_ms": rtt * 1000,
        "hash_s": hash_s,
        "hash_s_min": min(before + after) - rtt,
        "ceiling_per_s": ctx.cores / hash_s,
    })
    log(f"  one scrypt hash ≈ {hash_s * 1000:.0f} ms (median of {len(before + after)} sign-ins before and after) "
        f"→ ceiling {res['ceiling_per_s']:.2f} logins/s on {ctx.cores} cores")
    res["storm"] = storm
    res["logins_per_s"] = storm["rps"]
    res["fraction"] = storm["rps"] / res["ceiling_per_s"]
    # The ceiling assumes every core is free for hashing. On a shared machine it is not, so also:
    # logins per second per core that Portcullis actually got, against one hash per hash time.
    got = storm["cpu"].get("server_cores") or 0
    if got > 0:
        res["fraction_of_cpu_received"] = storm["rps"] * hash_s / got
    res["healthz"] = probe.get("r", {"error": probe.get("error")})
    log(f"  storm: {storm['rps']:.2f} logins/s = {res['fraction'] * 100:.0f} % of the ceiling; "
        f"/healthz p99 {res['healthz'].get('p99_ms', float('nan')):.2f} ms")
    return res


def measure_ready(ctx, pc, tries=3):
    pc.stop()
    times = []
    for _ in range(tries):
        times.append(pc.start())
        pc.stop()
        time.sleep(0.3)
    log(f"  ready on an existing database: {', '.join(f'{t:.1f}' for t in times)} ms")
    return {"tries_ms": times, "best_ms": min(times)}


def machine():
    model, mem = "?", "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            model = m.group(1).strip() if m else model
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+)", f.read(), re.M)
            mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else mem
    except OSError:
        pass
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    return {"nproc": os.cpu_count(), "cpu": model, "memory": mem, "kernel": os.uname().release,
            "loadavg_at_start": load}


def tool_versions(ctx):
    def out(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return "?"
    return {"wrk": out(["wrk", "-v"]).split(" [")[0], "node": out(["node", "--version"]),
            "portcullis": out([ctx.binary, "--version"])}


def scrypt_defaults():
    """The compiled-in scrypt parameters (config/default.toml; the bench sets no override)."""
    try:
        import tomllib
        with open(os.path.join(os.path.dirname(os.path.dirname(LIB)), "config", "default.toml"), "rb") as f:
            pw = tomllib.load(f).get("password", {})
        n, r, p = 2 ** int(pw["log_n"]), int(pw["r"]), int(pw["p"])
        return {"log_n": int(pw["log_n"]), "r": r, "p": p, "mib_per_hash": 128 * r * n / 2 ** 20,
                "max_concurrent_hashes": pw.get("max_concurrent_hashes", 0)}
    except Exception as e:  # noqa: BLE001
        return {"error": str(e)}


def psql(admin_url, sql):
    r = subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qc", sql], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()}")


def pg_admin(url):
    u = urllib.parse.urlsplit(url)
    db = u.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", db or ""):
        raise SystemExit(f"--postgres: the URL must name a database (letters, digits, _): {url}")
    return urllib.parse.urlunsplit(u._replace(path="/postgres")), db


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--peer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--postgres")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=400)
    ap.add_argument("--storm", type=int, default=15)
    ap.add_argument("--storm-conns", type=int, default=8)
    ap.add_argument("--probe-ms", type=int, default=10)
    ap.add_argument("--hash-samples", type=int, default=6)
    ap.add_argument("--flows", help="comma-separated flow ids: run only these, print, write no report")
    ap.add_argument("--profile", action="store_true",
                    help="profile Portcullis with perf during each flow into <out>/profiles/; no peer, no report")
    args = ap.parse_args()
    known = [f[0] for f in FLOWS]
    selected = args.flows.split(",") if args.flows else known
    unknown = [f for f in selected if f not in known]
    if unknown:
        raise SystemExit(f"--flows: unknown {', '.join(unknown)} (known: {', '.join(known)})")

    ctx = Ctx()
    ctx.binary, ctx.peer_dir = args.binary, args.peer_dir
    ctx.duration, ctx.warmup, ctx.conns = args.duration, args.warmup, args.conns
    ctx.batches, ctx.batch = args.batches, args.batch
    ctx.storm, ctx.storm_conns, ctx.probe_ms, ctx.hash_samples = args.storm, args.storm_conns, args.probe_ms, args.hash_samples
    ctx.profile_dir = os.path.join(args.out, "profiles") if args.profile else None
    ctx.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ctx.work = tempfile.mkdtemp(prefix="portcullis-bench-")
    ctx.procs = Procs(os.environ.get("BENCH_PIDFILE", os.path.join(ctx.work, "pids")))
    ctx.rss = RssSampler()
    ctx.rss.start()
    raw_dir = os.path.join(ctx.work, "out")  # moved to <out>/out/ once the report is written
    ctx.wrk = Wrk(raw_dir, {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")})
    pg = None

    def cleanup():
        ctx.rss.stopped = True
        ctx.procs.stop_all()
        if pg:
            try:
                psql(pg[0], f'DROP DATABASE IF EXISTS "{pg[1]}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001
                log(f"could not drop the PostgreSQL database: {e}")
        shutil.rmtree(ctx.work, ignore_errors=True)
    atexit.register(cleanup)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))

    quiet = CpuWindow(None)
    time.sleep(2)
    quiet = quiet.result()["machine_busy_cores"]
    if quiet > 0.3:
        log(f"warning: other processes are using {quiet:.2f} cores of {ctx.cores}; the results will be low and noisy")
    started = time.time()
    report = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": args.command,
        "machine": dict(machine(), busy_cores_before=quiet),
        "tools": tool_versions(ctx),
        "settings": {"wrk_shape": f"-t1 -c{ctx.conns} -d{ctx.duration}s --latency (warm-up {ctx.warmup} s for fixed requests)",
                     "codes": f"{ctx.batches} batches of {ctx.batch} (+1 warm-up batch)", "storm": f"wrk -t1 -c{ctx.storm_conns} -d{ctx.storm}s POST /login",
                     "healthz_probe": f"wrk -t1 -c1 --latency, one request every {ctx.probe_ms} ms"},
    }

    sides = []
    log(f"work dir {ctx.work}")
    sqlite = Portcullis(ctx, "sqlite", os.path.join(ctx.work, "portcullis-sqlite", "portcullis.db"))
    sides.append(sqlite)
    if args.postgres:
        pg = pg_admin(args.postgres)
        psql(pg[0], f'DROP DATABASE IF EXISTS "{pg[1]}" WITH (FORCE)')
        psql(pg[0], f'CREATE DATABASE "{pg[1]}"')
        sides.append(Portcullis(ctx, "postgres", args.postgres))

    memory = {}
    for pc in sides:
        log(f"{pc.name}: provisioning user and clients")
        pc.provision()
        ms = pc.start()
        log(f"{pc.name}: ready in {ms:.0f} ms (first start, fresh database) on {pc.base}")
        time.sleep(1.5)
        memory[pc.name] = {"idle_mib": rss_kib(pc.proc.pid) / 1024}
    if args.profile or args.flows:
        ctx.phase = "load"
        for fid, label, target in FLOWS:
            if fid not in selected:
                continue
            log(f"flow {fid}")
            for pc in sides:
                run_flow(ctx, pc, fid, f"{pc.name}.{fid}")
            if not args.profile:
                peer = Peer(ctx, "ES256" if fid == "cc_es256" else "RS256")
                peer.start()
                run_flow(ctx, peer, fid, f"{peer.name}.{fid}")
                peer.stop()
        log("a partial run (--flows/--profile) writes no report")
        return
    peer = Peer(ctx)
    ms = peer.start()
    log(f"peer (RS256): ready in {ms:.0f} ms on {peer.base}")
    time.sleep(1.5)
    memory[peer.name] = {"idle_mib": rss_kib(peer.proc.pid) / 1024}
    peer_es = Peer(ctx, "ES256")

    ctx.phase = "load"
    flows_out = []
    for fid, label, target in FLOWS:
        log(f"flow {fid}")
        entry = {"id": fid, "label": label, "target_ratio": target, "portcullis": {}}
        if fid == "login_flow":
            ctx.phase = "login"
        for pc in sides:
            entry["portcullis"][pc.backend] = run_flow(ctx, pc, fid, f"{pc.name}.{fid}")
        if fid == "cc_es256":
            try:
                peer_es.start()
                why = peer_es.cannot_sign()
                if why:
                    log(f"  {peer_es.name}: n/a: {why}")
                    entry["peer"] = {"error": why, "na": True}
                else:
                    entry["peer"] = run_flow(ctx, peer_es, fid, f"{peer_es.name}.{fid}")
                    memory[peer_es.name] = {"load_peak_mib": ctx.rss.peak_mib((peer_es.name, "load"))}
            except Exception as e:  # noqa: BLE001
                entry["peer"] = {"error": str(e)}
            finally:
                peer_es.stop()
        elif fid in ("refresh_es", "code_es"):
            # The peer's side of these is the same flow as the row before: measured once.
            base = next(f for f in flows_out if f["id"] == fid.removesuffix("_es"))
            entry["peer"] = base["peer"]
        else:
            entry["peer"] = run_flow(ctx, peer, fid, f"{peer.name}.{fid}")
        for backend, r in entry["portcullis"].items():
            p = entry["peer"]
            if "rps" in r and "rps" in p and p["rps"] > 0:
                r["ratio"] = r["rps"] / p["rps"]
                if target is not None:
                    r["met"] = r["ratio"] >= target
        flows_out.append(entry)
    report["flows"] = flows_out

    logins, ready = {}, {}
    for pc in sides:
        log(f"{pc.name}: credential logins against the scrypt ceiling")
        try:
            logins[pc.backend] = measure_logins(ctx, pc)
        except Exception as e:  # noqa: BLE001
            log(f"  failed: {e}")
            logins[pc.backend] = {"error": str(e)}
        memory[pc.name]["load_peak_mib"] = ctx.rss.peak_mib((pc.name, "load"))
        memory[pc.name]["login_peak_mib"] = ctx.rss.peak_mib((pc.name, "login"))
        log(f"{pc.name}: time to ready on the existing database")
        try:
            ready[pc.backend] = measure_ready(ctx, pc)
        except Exception as e:  # noqa: BLE001
            ready[pc.backend] = {"error": str(e)}
    memory[peer.name]["load_peak_mib"] = ctx.rss.peak_mib((peer.name, "load"))
    memory[peer.name]["login_peak_mib"] = ctx.rss.peak_mib((peer.name, "login"))
    peer.stop()

    report["logins"], report["ready"], report["memory"] = logins, ready, memory
    report["backends"] = [pc.backend for pc in sides]
    report["scrypt"] = scrypt_defaults()
    report["targets"] = {"login_fraction": LOGIN_TARGET, "healthz_p99_ms": HEALTHZ_P99_TARGET_MS,
                         "rss_idle_mib": RSS_IDLE_TARGET_MIB, "rss_load_mib": RSS_LOAD_TARGET_MIB,
                         "ready_ms": READY_TARGET_MS}
    report["elapsed_s"] = round(time.time() - started, 1)
    report["machine"]["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    import report as rep  # noqa: E402 - local module next to this file
    rep.write(report, args.out)
    final_raw = os.path.join(args.out, "out")
    shutil.rmtree(final_raw, ignore_errors=True)
    shutil.copytree(raw_dir, final_raw)
    log(f"wrote {os.path.join(args.out, 'report.md')} and report.json in {report['elapsed_s']:.0f} s")


if __name__ == "__main__":
    sys.path.insert(0, LIB)
    main()
