"""Requests per second for the case page under load, against gunicorn with two workers.

gunicorn runs as in production (`gunicorn -w 2 web.wsgi:app`, DATABASE_URL, a fixed
VASTBAS_SECRET_KEY, VASTBAS_EMBEDDED_SCHEDULER=0) on a port the kernel picks. The load
comes from a second process: wrk when it is installed, else bench.load_client (threads
with one keep-alive connection each). Both log in as koordinatorer through the login
form first and then ask for their open cases' pages at random. Afterwards the RSS of
each worker is read (psutil); the larger one is `rss_mb`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psutil
import requests

from bench.common import Figures, Scale, say
from bench.databases import Database
from bench.web import CSRF_FIELD, koordinator_cases
from vastbas.demo import DEMO_PASSWORD

TARGET_RSS_MB = 150
ROOT = Path(__file__).resolve().parents[1]
LISTENING = re.compile(r"Listening at: (http://[\d.]+:\d+)")
WRK_SCRIPT = """
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function request()
  local k = math.random(#paths)
  return wrk.format("GET", paths[k], {["Cookie"] = cookies[k]})
end
function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BAD %%d\\n", total))
end
"""


@contextmanager
def gunicorn(database: Database) -> Iterator[tuple[str, psutil.Process]]:
    """gunicorn with two sync workers on a free port; its base URL and master process."""
    env = dict(
        os.environ,
        DATABASE_URL=database.url,
        VASTBAS_SECRET_KEY="bench-http-secret",
        VASTBAS_EMBEDDED_SCHEDULER="0",
    )
    log_path = database.folder / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:0"]
    # The control socket is one fixed path in $HOME: two runs at once would fight over it.
    command += ["--no-control-socket", "web.wsgi:app"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log, stdout=log)
    try:
        base = _wait_until_up(process, log_path)
        yield base, psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped:\n{log_path.read_text()[-2000:]}")
        found = LISTENING.search(log_path.read_text())
        if found:
            try:
                if requests.get(f"{found[1]}/health", timeout=10).status_code == 200:
                    return found[1]
            except requests.RequestException:
                pass  # the socket is open before the workers have loaded the app
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not come up:\n{log_path.read_text()[-2000:]}")


def session_cookie(base: str, username: str) -> str:
    """Log in through the form; the session cookie as a Cookie header value."""
    with requests.Session() as http:
        page = http.get(f"{base}/login", timeout=30).text
        match = CSRF_FIELD.search(page)
        assert match, "no CSRF token on /login"
        form = {"csrf_token": match[1], "username": username, "password": DEMO_PASSWORD}
        answer = http.post(f"{base}/login", data=form, allow_redirects=False, timeout=30)
        if answer.status_code != 302:
            raise RuntimeError(f"logging in as {username} failed: {answer.status_code}")
        return f"session={http.cookies['session']}"


def run(database: Database, scale: Scale, figures: Figures, tool: str = "auto") -> None:
    """Load the case page for `scale.http_seconds`; `tool`: wrk, python or auto."""
    users = koordinator_cases(database.engine, scale.users)
    with gunicorn(database) as (base, master):
        cookies = {name: session_cookie(base, name) for name in users}
        pairs = [(f"/cases/{ref}", cookies[name]) for name, refs in users.items() for ref in refs]
        check = requests.get(base + pairs[0][0], headers={"Cookie": pairs[0][1]}, timeout=30)
        if check.status_code != 200:
            raise RuntimeError(f"the case page answers {check.status_code} to a logged-in user")
        if tool == "auto":
            tool = "wrk" if shutil.which("wrk") else "python"
        say(f"  http: {tool}, {scale.http_connections} connections, {scale.http_seconds:g} s")
        load = _wrk if tool == "wrk" else _python_client
        # Warm both workers first (imports, templates, the connection pool), unmeasured.
        load(base, pairs, replace(scale, http_seconds=1), database.folder)
        workers = master.children()
        cpu = sum(_cpu_s(worker) for worker in workers)
        done, bad, seconds = load(base, pairs, scale, database.folder)
        cpu = sum(_cpu_s(worker) for worker in workers) - cpu
        if bad:
            raise RuntimeError(f"{bad} of {done} requests did not answer 200")
        rss = max(worker.memory_info().rss for worker in workers) / 2**20
    figures.emit("http_rps", round(done / seconds, 1), "1/s", tool=tool)
    figures.emit("http_requests", done, "requests")
    # The workers' own CPU per request: steadier than requests/s on a shared machine.
    figures.emit("http_server_cpu_ms_per_request", round(cpu / max(done, 1) * 1000, 2), "ms")
    figures.emit("rss_mb", round(rss, 1), "MB", TARGET_RSS_MB, workers=len(workers))


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _wrk(
    base: str, pairs: list[tuple[str, str]], scale: Scale, folder: Path
) -> tuple[int, int, float]:
    script = folder / "case_pages.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "paths": ", ".join(json.dumps(path) for path, _ in pairs),
            "cookies": ", ".join(json.dumps(cookie) for _, cookie in pairs),
        }
    )
    seconds = max(1, round(scale.http_seconds))
    threads = min(2, scale.http_connections)
    command = ["wrk", f"-t{threads}", f"-c{scale.http_connections}", f"-d{seconds}s"]
    output = subprocess.run(
        [*command, "-s", str(script), base], capture_output=True, text=True, check=True
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    bad = re.search(r"BAD (\d+)", output)
    if not done or not bad:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    took = float(done[2]) / (1000 if done[3] == "ms" else 1)
    return int(done[1]), int(bad[1]), took


def _python_client(
    base: str, pairs: list[tuple[str, str]], scale: Scale, folder: Path
) -> tuple[int, int, float]:
    plan = folder / "case_pages.json"
    plan.write_text(json.dumps({"base": base, "pairs": pairs}))
    command = [sys.executable, "-m", "bench.load_client", str(plan)]
    command += ["--seconds", str(scale.http_seconds), "--connections", str(scale.http_connections)]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    result = json.loads(output)
    return result["requests"], result["bad"], result["seconds"]
