"""Writes bench/report.json (everything bench.py measured) and bench/report.md (the summary)."""

import json
import os

NOTES = [
    "Each flow runs against one server at a time with the same wrk shape and the same Lua script "
    "on both sides; servers not under load sit idle. Fixed-request flows get a warm-up run first "
    "(not counted). req/s counts only 2xx/3xx answers.",
    "Code exchange: codes are minted in advance (GET /authorize with a signed-in session on Portcullis, "
    "GET /auth with a session on the peer) and each is redeemed once; throughput is timed in Lua from "
    "the first to the last successful answer, and the run ends when the codes run out. Portcullis' "
    "`web` client (`--always-refresh`) also issues a refresh token and signs a JWT access token per "
    "exchange; the peer's `idp` client with scope `openid` returns an opaque access token and no "
    "refresh token.",
    "The rows 'refresh, ES256 access tokens' and 'code exchange, ES256 access tokens' use the client "
    "`web-es` (`--access-token-alg ES256`; its ID tokens stay RS256), so Portcullis signs one RSA "
    "signature per exchange, as the peer does (its access tokens are opaque). Their peer column is "
    "the peer's run of the plain row.",
    "Refresh: each connection chains its refresh tokens (every answer's refresh_token is used next), "
    "so Portcullis sees each rotating token exactly once. The peer does not rotate refresh tokens of "
    "confidential clients (oidc-provider's default rotates only near expiry), so it returns and reuses "
    "the same token.",
    "Userinfo and introspection use one access token for the whole run (a JWT on Portcullis, an opaque "
    "token on the peer).",
    "Full login: one state machine per connection (`wrk -t16 -c16`). Portcullis: GET /login, POST /login "
    "(scrypt), GET /authorize (consent skipped), POST /token = 4 requests. Peer: devInteractions login "
    "and consent pages (accepts any password, hashes nothing) and POST /token = 8 requests. p50/p99 in "
    "this row are for the whole flow. The ratio mostly shows the cost of a real password hash.",
    "Credential logins: one hash time = median of sequential POST /login round trips at concurrency 1, "
    "taken before and after the storm, minus the median /healthz round trip; ceiling = cores ÷ that time. The storm posts the login form "
    "(CSRF cookie + field) with wrk; logins/s is timed from the first to the last completed login; /healthz is probed meanwhile by a second wrk on one connection, one "
    "request every few milliseconds (a paced probe, so the probe does not take CPU from the hashes).",
    "Memory: VmRSS from /proc, in MiB (targets read as MiB). Idle = 1.5 s after the first start; under "
    "load = the maximum sampled every 50 ms while wrk drives the token/discovery flows (not while codes "
    "and tokens are minted, which signs in); the login phase (full logins and the storm) is shown "
    "separately, because password hashing needs its own memory.",
    "Ready time: the server is stopped and started again on the database it has just used; time from "
    "spawning the process to the first 200 from /readyz, polled every 5 ms; best of 3.",
    "wrk's raw output for every run is in bench/out/.",
]


def fmt(x, digits=1):
    if x is None:
        return "—"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}"
    return str(x)


def shortfall_ratio(got, target):
    return f"no — {got:.2f}× vs ≥{target:g}×: short by {(1 - got / target) * 100:.0f} % (needs {target / got:.1f}× the current throughput)"


def flow_row(entry, backend):
    r = entry["portcullis"].get(backend, {})
    p = entry["peer"]
    target = entry["target_ratio"]
    cells = [entry["label"]]
    if "error" in r:
        cells += ["failed", "—", "—"]
    else:
        cells += [fmt(r["rps"]), fmt(r["p50_ms"], 2) + " ms", fmt(r["p99_ms"], 2) + " ms"]
    cells.append("n/a" if "error" in p else fmt(p["rps"]))
    ratio = r.get("ratio")
    cells.append(f"{ratio:.2f}×" if ratio is not None else "n/a")
    cells.append(f"≥ {target:g}×" if target is not None else "—")
    if target is None:
        met = "—"
    elif ratio is None:
        met = "not measured (peer n/a)" if p.get("na") else "not measured"
    elif ratio >= target:
        met = "yes"
    else:
        met = shortfall_ratio(ratio, target)
    cells.append(met)
    errs = f"{r.get('errors', '—')} / {p.get('errors', '—')}"
    cells.append(errs)
    return "| " + " | ".join(cells) + " |"


def profile_section(outdir):
    """The category tables of the latest `bench/run --profile` (bench/profiles/), when there is one."""
    d = os.path.join(outdir, "profiles")
    files = sorted(f for f in os.listdir(d) if f.endswith(".txt")) if os.path.isdir(d) else []
    if not files:
        return []
    L = ["## Where Portcullis' CPU time goes (profiles)", "",
         "From `bench/run --profile` (perf, cpu-clock sampling of the server while wrk drives one flow; "
         "taken separately from the run above, so the table's numbers are not slowed by it). Full "
         "symbol lists: `bench/profiles/`.", ""]
    for name in files:
        with open(os.path.join(d, name)) as f:
            text = f.read()
        head = text.splitlines()[:3]
        cats = text.split("## By category", 1)[-1].split("##", 1)[0].strip().splitlines()
        taken = next((h[len("# taken "):] for h in head if h.startswith("# taken ")), "")
        L.append(f"- **{name[:-4]}**{' (' + taken + ')' if taken else ''}: " +
                 "; ".join(c.strip().replace("%  ", " % ", 1) for c in cats[:4]))
    L.append("")
    return L


def write(report, outdir):
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump(report, f, indent=2, default=str)
        f.write("\n")

    m = report["machine"]
    t = report["targets"]
    L = []
    L.append("# Portcullis load benchmark")
    L.append("")
    L.append(f"- Date: {report['generated']}")
    L.append(f"- Machine: {m['nproc']} cores ({m['cpu']}), {m['memory']} memory, Linux {m['kernel']}, "
             f"load average {' '.join(m['loadavg_at_start'])} at start, {' '.join(m.get('loadavg_at_end', []))} at the end; "
             f"other processes used {m.get('busy_cores_before', 0):.2f} cores just before the run")
    tools = report["tools"]
    L.append(f"- Tools: {tools['portcullis']} (release build), peer = oidc-provider on node {tools['node']}, {tools['wrk']}")
    L.append(f"- Command: `{report['command']}` ({report['elapsed_s']:.0f} s)")
    L.append(f"- Load shape: `wrk {report['settings']['wrk_shape']}` against 127.0.0.1, the same on both sides")
    L.append("")

    for backend in report["backends"]:
        L.append(f"## Throughput — Portcullis on {backend} vs the peer")
        L.append("")
        L.append("| flow | Portcullis req/s | p50 | p99 | peer req/s | ratio | target | met? | errors (P / peer) |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
        for entry in report["flows"]:
            L.append(flow_row(entry, backend))
        L.append("")
        busy = []
        for entry in report["flows"]:
            for who, r in (("Portcullis", entry["portcullis"].get(backend, {})), ("peer", entry["peer"])):
                c = r.get("cpu") or {}
                if (c.get("other_cores") or 0) >= 0.25:
                    busy.append(f"{entry['label']} ({who}) {c['other_cores']:.2f}")
        if busy:
            L.append("Other processes on the machine (or the hypervisor) took CPU during some runs, in average "
                     "cores: " + "; ".join(busy) + ". Those runs had less than the whole machine.")
            L.append("")
        problems = []
        for entry in report["flows"]:
            for who, r in (("Portcullis", entry["portcullis"].get(backend, {})), ("peer", entry["peer"])):
                if r.get("na"):
                    problems.append(f"- {entry['label']} on {who}: n/a — {r['error']}")
                elif "error" in r:
                    problems.append(f"- {entry['label']} on {who}: failed — {r['error']}")
                elif r.get("errors"):
                    line = f"- {entry['label']} on {who}: {r['errors']} errors"
                    if r.get("failing_request"):
                        line += f"; request: `{r['failing_request']}`"
                    if r.get("failure_samples"):
                        line += f"; answer: `{r['failure_samples'][0][:300]}`"
                    problems.append(line)
        if problems:
            L.append("Failures and n/a:")
            L.append("")
            L.extend(problems)
            L.append("")

        L.append(f"### Credential logins, /healthz, memory, readiness — {backend}")
        L.append("")
        lg = report["logins"].get(backend, {})
        if "error" in lg:
            L.append(f"- Credential logins: failed: {lg['error']}")
        else:
            frac = lg["fraction"]
            met = "yes" if frac >= t["login_fraction"] else (
                f"no — short by {(t['login_fraction'] - frac) * 100:.0f} percentage points "
                f"({lg['logins_per_s']:.2f}/s; {t['login_fraction'] * lg['ceiling_per_s']:.2f}/s needed)")
            L.append(f"- Credential logins: **{lg['logins_per_s']:.2f}/s** = **{frac * 100:.0f} %** of the scrypt ceiling "
                     f"({lg['cores']} cores ÷ {lg['hash_s'] * 1000:.0f} ms per hash = {lg['ceiling_per_s']:.2f}/s); "
                     f"target ≥ {t['login_fraction'] * 100:.0f} %: {met}. "
                     f"Storm: {lg['storm']['requests']} answers, p50 {lg['storm']['p50_ms']:.0f} ms, "
                     f"{lg['storm']['errors']} errors.")
            c = lg["storm"].get("cpu", {})
            if c.get("server_cores") is not None:
                extra = ""
                if lg.get("fraction_of_cpu_received") is not None:
                    extra = (f" Against the CPU it actually received, Portcullis turned "
                             f"{lg['fraction_of_cpu_received'] * 100:.0f} % of it into hashes.")
                L.append(f"  During the storm Portcullis used {c['server_cores']:.2f} of {lg['cores']} cores; "
                         f"other processes on the machine used {c['other_cores']:.2f} cores.{extra}")
            hz = lg.get("healthz", {})
            if "p99_ms" in hz:
                p99 = hz["p99_ms"]
                met = "yes" if p99 < t["healthz_p99_ms"] else f"no — over by {p99 - t['healthz_p99_ms']:.1f} ms ({p99 / t['healthz_p99_ms']:.1f}× the limit)"
                L.append(f"- /healthz during the login storm: p50 {hz['p50_ms']:.2f} ms, **p99 {p99:.2f} ms**, max "
                         f"{hz['max_ms']:.1f} ms over {hz['requests']} probes ({hz['errors']} errors); "
                         f"target p99 < {t['healthz_p99_ms']:g} ms: {met}")
            else:
                L.append(f"- /healthz during the login storm: not measured ({hz.get('error')})")
        mem = report["memory"].get(f"portcullis-{backend}", {})
        idle, load, login = mem.get("idle_mib"), mem.get("load_peak_mib"), mem.get("login_peak_mib")
        if idle is not None:
            met = "yes" if idle <= t["rss_idle_mib"] else f"no — over by {idle - t['rss_idle_mib']:.1f} MiB ({(idle / t['rss_idle_mib'] - 1) * 100:.0f} %)"
            L.append(f"- Resident memory idle: **{idle:.1f} MiB**; target ≤ {t['rss_idle_mib']:g} MiB: {met}")
        if load is not None:
            met = "yes" if load <= t["rss_load_mib"] else f"no — over by {load - t['rss_load_mib']:.1f} MiB ({(load / t['rss_load_mib'] - 1) * 100:.0f} %)"
            per = [(e["portcullis"][backend].get("rss_peak_mib"), e["label"]) for e in report["flows"]
                   if e["id"] != "login_flow" and e["portcullis"].get(backend, {}).get("rss_peak_mib") is not None]
            detail = ", ".join(f"{lbl} {v:.0f}" for v, lbl in per)
            L.append(f"- Resident memory under load (peak during the token/discovery flows): **{load:.1f} MiB**; "
                     f"target ≤ {t['rss_load_mib']:g} MiB: {met}. Peak per flow, MiB: {detail}")
        if login is not None:
            met = "within" if login <= t["rss_load_mib"] else f"over by {login - t['rss_load_mib']:.1f} MiB"
            sc = report.get("scrypt", {})
            per = (f"; scrypt N=2^{sc['log_n']}, r={sc['r']}, p={sc['p']} needs {sc['mib_per_hash']:g} MiB per running hash"
                   if "log_n" in sc else "")
            L.append(f"- Resident memory peak during full logins and the login storm: {login:.1f} MiB "
                     f"({met} the {t['rss_load_mib']:g} MiB load target{per})")
        rd = report["ready"].get(backend, {})
        if "best_ms" in rd:
            b = rd["best_ms"]
            met = "yes" if b < t["ready_ms"] else f"no — over by {b - t['ready_ms']:.0f} ms ({b / t['ready_ms']:.1f}× the limit)"
            L.append(f"- Start to ready on an existing database: **{b:.0f} ms** best of "
                     f"{len(rd['tries_ms'])} ({', '.join(f'{x:.0f}' for x in rd['tries_ms'])} ms); "
                     f"target < {t['ready_ms']:g} ms: {met}")
        else:
            L.append(f"- Start to ready: failed: {rd.get('error')}")
        L.append("")

    sc = report.get("scrypt", {})
    if "log_n" in sc:
        L.append(f"Password hashing as built (config/default.toml): scrypt N=2^{sc['log_n']}, r={sc['r']}, p={sc['p']} "
                 f"({sc['mib_per_hash']:g} MiB per hash), max_concurrent_hashes = {sc['max_concurrent_hashes']} "
                 f"(0 = one per core).")
        L.append("")
    L.append("## The peer")
    L.append("")
    for name, mem in report["memory"].items():
        if not name.startswith("peer"):
            continue
        parts = [f"{k.replace('_mib', '')} {v:.1f} MiB" for k, v in mem.items() if v is not None]
        L.append(f"- {name} resident memory: {', '.join(parts)}")
    L.append("- Credential logins, /healthz under a login storm and ready time: n/a for the peer "
             "(its development login hashes no password, and it keeps no database).")
    L.append("")
    L.extend(profile_section(outdir))
    L.append("## How it was measured")
    L.append("")
    L.extend(f"- {n}" for n in NOTES)
    L.append("")
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(L))
