"""Real server processes for the tests: gunicorn and `vastbas scheduler`, on free ports.

Each process starts in a session of its own, so one kill -9 reaches a gunicorn master and
all its workers at once. `Processes` keeps every process a test started and kills what is
still running when the test ends, pass or fail. Logs go to files under the test's tmp_path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
import sqlalchemy as sa
from mailserver import free_port

from vastbas.migrations import upgrade_database

REPO = Path(__file__).resolve().parents[1]
WAIT_S = 30.0


def wait_for(
    what: str,
    done: Callable[[], bool],
    timeout: float = WAIT_S,
    logs: Callable[[], str] = str,
) -> None:
    """Poll `done` until it is true; fail (never hang) after `timeout` seconds, with `logs()`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return
        time.sleep(0.1)
    pytest.fail(f"waited {timeout:.0f} s for {what}\n{logs()}")


def command(name: str, *args: str) -> list[str]:
    """A console script of this virtualenv (vastbas, gunicorn)."""
    return [str(Path(sys.executable).with_name(name)), *args]


def schema_url(postgres_url: str, engine: sa.Engine) -> str:
    """DATABASE_URL for the schema `engine` works in, as an operator would write it."""
    with engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


class Process:
    """One started command, in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                cwd=REPO,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def children(self) -> list[int]:
        try:
            return [child.pid for child in psutil.Process(self.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def wait_logged(self, text: str, timeout: float = WAIT_S) -> None:
        def logged() -> bool:
            if not self.running():
                pytest.fail(f"{self.name} ended ({self.popen.returncode}):\n{self.log_text()}")
            return text in self.log_text()

        wait_for(f"{self.name} to log {text!r}", logged, timeout, self.log_text)

    def kill9(self) -> None:
        """SIGKILL to the whole process group: no handler runs, nothing is cleaned up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=WAIT_S)

    def stop(self) -> int:
        """SIGTERM and the exit code; a process that does not stop is killed and fails."""
        self.terminate()
        return self.wait_stopped()

    def terminate(self) -> None:
        if self.running():
            self.popen.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> int:
        try:
            return self.popen.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill9()
            pytest.fail(f"{self.name} did not stop on SIGTERM:\n{self.log_text()}")


def stop_all(processes: list[Process]) -> list[int]:
    """SIGTERM to all at once, then their exit codes."""
    for process in processes:
        process.terminate()
    return [process.wait_stopped() for process in processes]


class WebServer(Process):
    """Gunicorn with web/gunicorn_conf.py on a free port."""

    def __init__(self, name: str, env: Mapping[str, str], log: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        env = {**env, "VASTBAS_BIND": f"127.0.0.1:{self.port}", "VASTBAS_WEB_WORKERS": str(workers)}
        super().__init__(name, command("gunicorn", "-c", "python:web.gunicorn_conf"), env, log)

    def health(self) -> int | None:
        try:
            return requests.get(f"{self.url}/health", timeout=5).status_code
        except requests.ConnectionError:
            return None

    def wait_ready(self) -> None:
        """Until every worker has booted and the app answers /health with 200."""

        def ready() -> bool:
            if not self.running():
                pytest.fail(f"{self.name} ended ({self.popen.returncode}):\n{self.log_text()}")
            booted = self.log_text().count("Booting worker")
            return booted >= self.workers and self.health() == 200

        wait_for(f"{self.name} to answer", ready, WAIT_S, self.log_text)


class Processes:
    """What one test started; `close` kills whatever still runs."""

    def __init__(self, tmp_path: Path, env: Mapping[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = {**os.environ, "VASTBAS_SECRET_KEY": "test-secret", **env}
        self.started: list[Process] = []

    def _log(self, name: str) -> Path:
        return self.tmp_path / f"{name}-{len(self.started)}.log"

    def web(self, name: str = "web", workers: int = 2, **env: str) -> WebServer:
        server = WebServer(name, {**self.env, **env}, self._log(name), workers)
        self.started.append(server)
        server.wait_ready()
        return server

    def scheduler(self, name: str = "scheduler", *, wait: bool = True, **env: str) -> Process:
        process = Process(
            name, command("vastbas", "scheduler"), {**self.env, **env}, self._log(name)
        )
        self.started.append(process)
        if wait:
            process.wait_logged("scheduler: started")
        return process

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """A `vastbas` command to its end; fails the test with its output if it fails."""
        done = subprocess.run(
            command("vastbas", *args),
            cwd=REPO,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=WAIT_S * 2,
        )
        assert done.returncode == 0, f"vastbas {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_text()}" for p in self.started)

    def close(self) -> None:
        for process in self.started:
            process.kill9()  # the whole group: workers outlive a master that died


@dataclass(frozen=True)
class Site:
    """A PostgreSQL schema migrated by `vastbas init-db`, and the processes that use it."""

    engine: sa.Engine
    url: str
    processes: Processes


@contextmanager
def postgres_site(
    postgres_url: str,
    schema: sa.Engine,
    tmp_path: Path,
    env: Mapping[str, str],
    *,
    init_db_command: bool = False,
) -> Iterator[Site]:
    """A Site on an empty schema; every process it started is killed when it ends.

    The schema is migrated in this process, or with `init_db_command` as an operator does.
    """
    url = schema_url(postgres_url, schema)
    processes = Processes(tmp_path, {"DATABASE_URL": url, **env})
    try:
        if init_db_command:
            processes.run("init-db")
        else:
            upgrade_database(engine=schema)
        yield Site(schema, url, processes)
    finally:
        processes.close()
