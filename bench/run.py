"""`make bench` / `make bench-pg`: the app and a bare Flask route under the same gunicorn,
driven by wrk, reported as one table of ratios to the bare route.

What it does, in order:

1. A fresh database: a SQLite file (WAL) in a temporary directory, or with DATABASE_URL a
   fresh schema in that PostgreSQL database (dropped at the end).
2. `flask db upgrade`, `flask seed-scale` (scale data), a volunteer with `create-user` and a
   bearer token with `create-token`, and the benchmark's own events (bench/fixtures.py).
3. gunicorn with BENCH_WORKERS sync workers, APP_ENV=production and rate limits off,
   serving bench/bare_app.py (its bare route, and its bare write: the database's own cost),
   then the app, then bench/bare_app.py again; wrk with BENCH_CONNECTIONS connections for
   BENCH_DURATION seconds a row.
4. One table: requests/s, p50/p95/p99, errors, the ratio to the bare route (the faster of
   its two runs) and the target.

Settings (environment): BENCH_DURATION (s a row, default 10), BENCH_CONNECTIONS (8),
BENCH_THREADS (2), BENCH_WORKERS (2), BENCH_EVENTS (10000), BENCH_REGISTRATIONS (100000),
BENCH_FEED_EVENTS (1000), BENCH_TICKETS (20000), BENCH_KEEP=1 keeps the temporary
directory (logs, database). Targets are reported, never asserted.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
BIN = Path(sys.executable).parent


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


DURATION = _env_int("BENCH_DURATION", 10)
CONNECTIONS = _env_int("BENCH_CONNECTIONS", 8)
THREADS = _env_int("BENCH_THREADS", 2)
WORKERS = _env_int("BENCH_WORKERS", 2)
EVENTS = _env_int("BENCH_EVENTS", 10_000)
REGISTRATIONS = _env_int("BENCH_REGISTRATIONS", 100_000)
FEED_EVENTS = _env_int("BENCH_FEED_EVENTS", 1000)
TICKETS = _env_int("BENCH_TICKETS", 20_000)


@dataclass
class Row:
    name: str
    kind: str = "page"  # page, signup or checkin: which target applies
    result: dict | None = None
    missing: str = ""  # why the row could not be measured
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        r = self.result
        return r["requests"] / (r["duration_us"] / 1e6) if r and r["duration_us"] else 0.0

    def ms(self, key: str) -> float:
        return self.result[key] / 1000 if self.result else 0.0

    @property
    def errors(self) -> int:
        r = self.result or {}
        return r.get("s4", 0) + r.get("s5", 0) + r.get("socket_errors", 0) + r.get("timeouts", 0)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------
# Database and data


def _pg_schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    plain = plain.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(sql)


def flask(env: dict, *args: str) -> str:
    proc = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def python_module(env: dict, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"python -m {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# Servers and load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict, target: str, logdir: Path, ready_path: str):
    port = free_port()
    logfile = (logdir / f"gunicorn-{target.split(':')[0]}.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--timeout", "60", target],
        cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + ready_path, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                logfile.flush()
                sys.exit(f"gunicorn {target} did not start; see {logfile.name}")
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        logfile.close()


def wrk(url: str, script: str = "get.lua", *, headers: dict | None = None,
        connections: int = CONNECTIONS, threads: int = THREADS, duration: int = DURATION,
        env: dict | None = None) -> dict:
    threads = max(1, min(threads, connections))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
           "-s", str(WRK_DIR / script)]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    cmd.append(url)
    run_env = dict(os.environ, BENCH_THREADS=str(threads), **(env or {}))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"wrk gave no result:\n{proc.stdout}\n{proc.stderr}")


def fetch(url: str, *, method: str = "GET", headers: dict | None = None,
          body: bytes | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    log("wrk is missing; trying `apt-get install -y wrk`")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")


# ---------------------------------------------------------------------------------------
# The run


def measure_bare(env: dict, tmp: Path, write_url: str | None = None) -> tuple[Row, Row | None]:
    """The bare route; with ``write_url``, also the bare write on that database (see
    bench/bare_app.py), returned second (else None)."""
    if write_url:
        from bench.bare_app import create_tables

        create_tables(write_url)
        env = dict(env, BENCH_WRITE_DATABASE_URL=write_url)
    with gunicorn(env, "bench.bare_app:app", tmp, "/") as base:
        wrk(base + "/", duration=min(2, DURATION))  # warm-up
        bare = Row("GET bare Flask 'hello'")
        bare.result = wrk(base + "/")
        written = None
        if write_url:
            written = Row("POST bare write (yardstick)", "yardstick")
            written.result = wrk(base + "/write", "write.lua")
            written.notes.append("Flask + SQLAlchemy Core, UPDATE and INSERT in one "
                                 "transaction: what the database alone allows")
    return bare, written


def measure(base: str, fx: dict, token: str, tokens_file: Path) -> list[Row]:
    rows: list[Row] = []
    auth = {"Authorization": f"Bearer {token}"}

    def page(name: str, path: str, target: str = "≥60% of bare",
             headers: dict | None = None) -> Row:
        row = Row(name, target=target)
        status, _h, _b = fetch(base + path, headers=headers)
        if status != 200:
            row.missing = f"GET {path} → {status}"
        else:
            wrk(base + path, duration=min(2, DURATION), headers=headers)  # warm-up
            row.result = wrk(base + path, headers=headers)
        rows.append(row)
        return row

    page("GET / (upcoming events)", "/")
    event_path = f"/events/{fx['page_event']}"
    page("GET /events/<id> (with sign-up form)", event_path)
    # the same page for a visitor who has been before: their session cookie comes along
    _s, first_headers, _b = fetch(base + event_path)
    cookie = {k.lower(): v for k, v in first_headers.items()}.get("set-cookie", "")
    returning = page("  same, returning visitor", event_path,
                     headers={"Cookie": cookie.split(";", 1)[0]})
    if not cookie:
        returning.missing = "the event page set no session cookie"
        returning.result = None

    # calendar apps (Google's, Apple's) send Accept-Encoding: gzip, and so do these rows
    gz = {"Accept-Encoding": "gzip"}
    feed_path = f"/calendar/branches/{fx['branch']}.ics"
    full = page(f"GET {fx['branch']}.ics (full, gzip)", feed_path, headers=gz)
    _s, _h, plain = fetch(base + feed_path)
    status, headers, body = fetch(base + feed_path, headers=gz)
    if status == 200:
        full.notes.append(f"{plain.count(b'BEGIN:VEVENT')} VEVENTs, {len(plain) // 1024} KB, "
                          f"{len(body) // 1024} KB gzipped")
        alone = Row("  same, 1 client", target="p50 < 100 ms")
        alone.result = wrk(base + feed_path, connections=1, threads=1, headers=gz)
        alone.met = bool(alone.result["requests"]) and alone.ms("p50_us") < 100
        rows.append(alone)
    etag = {k.lower(): v for k, v in headers.items()}.get("etag")
    not_modified = Row(f"GET {fx['branch']}.ics (304)", target="≥60% of bare")
    if status != 200:
        not_modified.missing = f"GET {feed_path} → {status}"
    elif not etag:
        not_modified.missing = "no ETag on the feed"
    else:
        cond = {"If-None-Match": etag, **gz}
        s304, _h, _b = fetch(base + feed_path, headers=cond)
        if s304 != 304:
            not_modified.missing = f"If-None-Match → {s304}, not 304"
        else:
            not_modified.result = wrk(base + feed_path, headers=cond)
    rows.append(not_modified)
    if not_modified.result:
        alone = Row("  same, 1 client", target="p50 < 5 ms")
        alone.result = wrk(base + feed_path, headers=cond, connections=1, threads=1)
        alone.met = bool(alone.result["requests"]) and alone.ms("p50_us") < 5
        rows.append(alone)

    signup_path = f"/api/v1/events/{fx['signup_event']}/registrations"
    signup = Row("POST sign-up (100 seats, racing)", "signup",
                 target="≥30% of bare, 0 overbooked")
    status, _h, body = fetch(base + signup_path, method="POST",
                             headers={"Content-Type": "application/json"},
                             body=json.dumps({"contact": {}, "attendees": []}).encode())
    if status in (404, 405):
        signup.missing = f"POST {signup_path} → {status}"
    else:
        signup.result = wrk(base + signup_path, "signup.lua")
    rows.append(signup)

    checkin = Row("POST check-in (distinct tickets)", "checkin",
                  target="≥30% of bare, p95 < 20 ms, no 5xx")
    status, _h, body = fetch(base + "/api/v1/checkins", method="POST",
                             headers={"Content-Type": "application/json", **auth},
                             body=json.dumps({"token": "x" * 22, "event_id": fx[
                                 "checkin_event"], "nonce": "probe"}).encode())
    if status == 405 or (status == 404 and b"unknown_token" not in body):
        checkin.missing = f"POST /api/v1/checkins → {status}"
    elif status in (401, 403):
        checkin.missing = f"the volunteer's token was refused ({status})"
    else:
        checkin.result = wrk(base + "/api/v1/checkins", "checkin.lua", headers=auth,
                             env={"BENCH_TOKENS": str(tokens_file),
                                  "BENCH_EVENT_ID": str(fx["checkin_event"])})
        if checkin.result["requests"] > fx["tickets"]:
            checkin.notes.append(f"only {fx['tickets']} tickets: raise BENCH_TICKETS")
    rows.append(checkin)
    return rows


def judge(rows: list[Row], bare_rps: float, verified: dict | None) -> None:
    for row in rows:
        if not row.result or row.met is not None:
            continue
        ratio = row.rps / bare_rps if bare_rps else 0
        no_5xx = row.result["s5"] == 0 and row.result["socket_errors"] == 0
        if not row.result["requests"]:
            row.met = False
        elif row.kind == "page":
            row.met = ratio >= 0.60 and row.errors == 0
        elif row.kind == "signup":
            row.met = ratio >= 0.30 and no_5xx and verified is not None and (
                verified["confirmed_people"] <= verified["capacity"]
                and verified["seats_taken"] == verified["confirmed_people"])
        elif row.kind == "checkin":
            row.met = ratio >= 0.30 and row.ms("p95_us") < 20 and no_5xx


def table(rows: list[Row], bare_rps: float) -> str:
    head = f"{'':38} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} " \
           f"{'errors':>7} {'5xx':>5} {'× bare':>7}  target"
    lines = [head, "-" * len(head)]
    for row in rows:
        if not row.result:
            lines.append(f"{row.name:38} {'missing':>8}   ({row.missing})")
            continue
        ratio = row.rps / bare_rps if bare_rps else 0
        verdict = "" if row.met is None else ("  ok" if row.met else "  MISSED")
        lines.append(
            f"{row.name:38} {row.rps:8.0f} {row.ms('p50_us'):8.1f} {row.ms('p95_us'):8.1f} "
            f"{row.ms('p99_us'):8.1f} {row.errors:7d} {row.result['s5']:5d} {ratio:7.0%}  "
            f"{row.target}{verdict}")
        for note in row.notes:
            lines.append(f"{'':40}{note}")
        if row.result.get("first_error") and row.errors:
            lines.append(f"{'':40}first error: {row.result['first_error'][:100]}")
    return "\n".join(lines)


def main() -> None:
    ensure_wrk()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="tsudoi-bench-"))
    raw_url = os.environ.get("DATABASE_URL", "").strip()
    schema = None
    if raw_url:
        schema = f"bench_{os.getpid()}"
        _pg_admin(raw_url, f"CREATE SCHEMA {schema}")
        db_url = _pg_schema_url(raw_url, schema)
        db_label = "PostgreSQL"
    else:
        db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        db_label = "SQLite (WAL)"
    env = dict(os.environ, APP_ENV="production", SECRET_KEY=secrets.token_hex(32),
               PUBLIC_BASE_URL="https://bench.tsudoi.invalid",
               DATABASE_URL=db_url, RATELIMIT_ENABLED="false", FLASK_APP="wsgi",
               PYTHONDONTWRITEBYTECODE="1")
    try:
        log(f"database: {db_label}; scratch: {tmp}")
        flask(env, "db", "upgrade")
        t0 = time.monotonic()
        log(f"seed-scale: {EVENTS} events, {REGISTRATIONS} registrations")
        out = flask(env, "seed-scale", "--events", str(EVENTS), "--registrations",
                    str(REGISTRATIONS), "--feed-events", str(FEED_EVENTS))
        seeded = out.strip().splitlines()[-1]
        log(f"seeded in {time.monotonic() - t0:.0f} s: {seeded}")
        tokens_file = tmp / "tickets.txt"
        fx = python_module(env, "bench.fixtures", "prepare", "--tickets", str(TICKETS),
                           "--tokens-file", str(tokens_file))
        flask(env, "create-user", "bench-door@tsudoi.example", "--role", "volunteer",
              "--branch", fx["branch"], "--password", secrets.token_urlsafe(12))
        token = flask(env, "create-token", "bench-door@tsudoi.example").strip().splitlines()[-1]

        log(f"bare Flask route: {WORKERS} sync workers, {CONNECTIONS} connections, "
            f"{DURATION} s a row")
        # SQLite: a file of its own, so the app's database is left as seeded
        write_url = db_url if schema else f"sqlite:///{tmp / 'yardstick.sqlite3'}"
        before, written = measure_bare(env, tmp, write_url)
        log(f"bare: {before.rps:.0f} req/s, bare write {written.rps:.0f} req/s; now the app")
        with gunicorn(env, "wsgi:app", tmp, "/healthz") as base:
            rows = measure(base, fx, token, tokens_file)
        after, _ = measure_bare(env, tmp)
        log(f"bare again: {after.rps:.0f} req/s")
        # A hiccup of the machine during one bare run would flatter every ratio: they are
        # taken against the faster of the two runs, one before the app and one after it.
        bare = max(before, after, key=lambda row: row.rps)
        bare.notes.append(f"before the app {before.rps:.0f} req/s, after it {after.rps:.0f}; "
                          f"ratios against the faster")
        verified = python_module(env, "bench.fixtures", "verify", "--signup-event",
                                 str(fx["signup_event"]), "--checkin-event",
                                 str(fx["checkin_event"]))
        for row in rows:
            if row.kind == "signup" and row.result:
                over = max(verified["confirmed_people"] - verified["capacity"], 0)
                row.notes.append(
                    f"confirmed {verified['confirmed_people']}/{verified['capacity']} seats "
                    f"(counter {verified['seats_taken']}), {verified['waitlisted']} waitlisted, "
                    f"overbooked {over}")
            if row.kind == "checkin" and row.result:
                row.notes.append(f"{verified['checked_in']} people admitted, "
                                 f"{verified['checkin_rows']} log rows")
            if row.kind in ("signup", "checkin") and row.result and written.rps:
                row.notes.append(f"{row.rps / written.rps:.0%} of the bare write")
        judge(rows, bare.rps, verified)
        print()
        print(f"Tsudoi benchmark — {db_label}; {platform.node()}: {os.cpu_count()} cores, "
              f"{platform.platform(terse=True)}, Python {platform.python_version()}")
        print(f"gunicorn {WORKERS} sync workers; wrk {THREADS} threads, {CONNECTIONS} "
              f"connections, {DURATION} s a row; data: {seeded}")
        print(f"load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
              f"(above the number of cores, other work shared the machine: trust the ratios "
              f"more than the absolute numbers)")
        print()
        print(table([bare, written, *rows], bare.rps))
        print()
        log(f"done in {time.monotonic() - started:.0f} s")
    finally:
        if schema:
            _pg_admin(raw_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if os.environ.get("BENCH_KEEP"):
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
