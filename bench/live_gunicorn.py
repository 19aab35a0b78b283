"""A live shop for the benchmarks: build a throw-away demo shop, serve it with gunicorn, read
a worker's memory.

- :func:`build_demo_shop`: ``flask db upgrade``, ``flask shop seed`` and ``flask ml train`` in
  subprocesses against a database URL and a model directory, exactly as an operator would (so
  the benchmark driver itself never imports the training libraries).
- :class:`LiveGunicorn`: ``gunicorn --config gunicorn.conf.py wsgi:app`` on a free loopback port
  with N workers and an environment; :meth:`LiveGunicorn.start` waits for ``/healthz``,
  :meth:`LiveGunicorn.stop` sends SIGTERM (graceful) and waits. Usable as a context manager.
- :func:`memory_kib`, :func:`mapped_packages`: VmRSS/VmHWM of a process from
  ``/proc/<pid>/status``, and which site-packages ship a native library mapped into it (what a
  worker has imported, as far as it can be seen from outside: pure-Python packages are not
  listed, but torch, implicit, gensim, scikit-learn, scipy and numpy all map ``.so`` files).

Runnable by itself to poke at a shop: ``PYTHONPATH=. .venv/bin/python bench/live_gunicorn.py
--workers 2`` builds one in a temporary folder and serves it until Ctrl-C.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def default_workers() -> int:
    """gunicorn.conf.py's formula: 2 x cores + 1."""
    return (os.cpu_count() or 1) * 2 + 1


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shop_env(database_url: str, model_dir: Path, **extra: object) -> dict[str, str]:
    """The environment of every command of one throw-away shop (development config, 1 BLAS thread)."""
    env = dict(os.environ)
    env.update({
        "FLASK_APP": "wsgi.py", "DATABASE_URL": database_url, "MODEL_DIR": str(model_dir),
        "OPENBLAS_NUM_THREADS": env.get("OPENBLAS_NUM_THREADS", "1"), "PYTHONPATH": str(ROOT),
    })
    env.update({key: str(value) for key, value in extra.items()})
    return env


def flask(args: list[str], env: dict[str, str], log: Path | None = None, check: bool = True) -> float:
    """Run ``flask <args>``; returns its wall time in seconds. Output goes to ``log`` (appended)."""
    started = time.perf_counter()
    with open(log or os.devnull, "ab") as out:
        completed = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    if check and completed.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed (exit {completed.returncode}); see {log}")
    return time.perf_counter() - started


def reset_postgres(url: str) -> None:
    """Drop and re-create the database ``url`` names (only a throw-away one: its name must
    contain "bench")."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: use a throw-away one whose name contains 'bench'")
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def build_demo_shop(folder: Path, database_url: str | None = None, *, seed_args: list[str] = (),
                    deep_models: bool = False, train: bool = True, log: Path | None = None,
                    **train_env: object) -> dict:
    """A migrated, seeded (and, with ``train``, trained) shop in ``folder``; returns its
    settings and timings. SQLite in ``folder`` unless ``database_url`` names a PostgreSQL
    database (which is dropped and re-created first)."""
    folder.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{folder / 'shop.db'}"
    if url.startswith("postgresql"):
        reset_postgres(url)
    model_dir = folder / "models"
    log = log or folder / "build.log"
    env = shop_env(url, model_dir)
    timings = {"migrate": flask(["db", "upgrade"], env, log),
               "seed": flask(["shop", "seed", *seed_args], env, log)}
    if train:
        train_env = {"TRAINING_DEEP_MODELS": int(deep_models), **train_env}
        timings["train"] = flask(["ml", "train"], shop_env(url, model_dir, **train_env), log)
    return {"url": url, "model_dir": model_dir, "env": env, "timings": timings, "log": log}


def active_manifest(model_dir: Path) -> dict:
    import json

    version = (Path(model_dir) / "ACTIVE").read_text().strip()
    return json.loads((Path(model_dir) / version / "manifest.json").read_text())


class LiveGunicorn:
    """gunicorn serving ``wsgi:app`` with ``gunicorn.conf.py`` on a free loopback port."""

    def __init__(self, env: dict[str, str], workers: int | None = None, log: Path | None = None,
                 port: int | None = None) -> None:
        self.workers = workers or default_workers()
        self.port = port or free_port()
        self.env = dict(env, WEB_CONCURRENCY=str(self.workers), BIND=f"127.0.0.1:{self.port}")
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> "LiveGunicorn":
        out = open(self.log or os.devnull, "ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=self.env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            if self._healthy() and len(self.worker_pids()) >= self.workers:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {self.log}")

    def _healthy(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/healthz", headers={"User-Agent": UA})
            ok = connection.getresponse().status == 200
            connection.close()
            return ok
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> "LiveGunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS), RssAnon, RssFile of ``pid`` in KiB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            values[key] = int(rest.split()[0])
    return values


_PACKAGE = re.compile(r"/(?:site|dist)-packages/([A-Za-z0-9_]+)")


def mapped_packages(pid: int) -> list[str]:
    """Top-level site-packages whose files (native libraries) are mapped into ``pid``."""
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        match = _PACKAGE.search(line)
        if match:
            name = match.group(1)
            found.add(name.split(".libs")[0] if name.endswith(".libs") else name)
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--database-url", help="PostgreSQL database to (re)create; default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sf-live-") as folder:
        shop = build_demo_shop(Path(folder), args.database_url)
        with LiveGunicorn(shop["env"], args.workers, Path(folder) / "gunicorn.log") as server:
            print(f"serving {server.base_url} ({server.workers} workers); Ctrl-C to stop", flush=True)
            try:
                server.process.wait()
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
