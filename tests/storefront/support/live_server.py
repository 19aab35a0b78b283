"""A real gunicorn serving the shop on a free loopback port (not a test module; no fixtures).

Used by the concurrent-ingestion test and ``bench/concurrent_ingestion.py``::

    prepare_database(env)                      # flask db upgrade + a small seeded shop
    with LiveServer(env, workers=3) as server:
        requests.get(server.url + "/")
    server.log_text()                          # everything gunicorn and the app wrote on stderr

``server_env`` builds the environment: production settings (real CSRF, secure-cookie flag off
because this is plain http, SQLite allowed) against the given ``DATABASE_URL`` and
``MODEL_DIR``. The CLI commands run as subprocesses with the same environment, exactly as an
operator would run them.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent

#: A small shop: enough products that concurrent clients rarely view the same one twice in a
#: row, few events so seeding takes a couple of seconds.
LOAD_SHOP = [
    "--products", "300", "--categories", "8", "--customers", "40", "--anonymous", "20",
    "--events", "2000", "--days", "20", "--end-date", "2026-01-01", "--b2b-visitors", "0",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, model_dir: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    """The environment of the server and of the CLI commands run against the same database."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"TEST_DATABASE_URL", "FLASK_ENV", "STOREFRONT_CONFIG"}}
    env.update({
        "FLASK_APP": "wsgi.py",
        "STOREFRONT_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "MODEL_DIR": str(model_dir),
        "ALLOW_SQLITE_IN_PRODUCTION": "1",
        "SESSION_COOKIE_SECURE": "0",
        "PROXY_FIX_X_FOR": "0", "PROXY_FIX_X_PROTO": "0", "PROXY_FIX_X_HOST": "0",
        "LOG_LEVEL": "WARNING",  # 5xx and every traceback still land in the log
        "TRAINING_DEEP_MODELS": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


def flask(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``flask <args>`` in the project root; raise with its output if it fails."""
    result = subprocess.run([str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def prepare_database(env: dict[str, str], shop: list[str] | None = None) -> None:
    """Migrate the database (``flask db upgrade``) and seed a small shop into it."""
    flask(env, "db", "upgrade")
    flask(env, "shop", "seed", *(LOAD_SHOP if shop is None else shop))


class LiveServer:
    """``gunicorn wsgi:app`` with ``workers`` sync workers on 127.0.0.1:<free port>."""

    def __init__(self, env: dict[str, str], workers: int = 3, log_path: str | os.PathLike[str] | None = None,
                 start_timeout: float = 60.0, extra_args: tuple[str, ...] = ()) -> None:
        self.env = dict(env)
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path) if log_path else Path(env["MODEL_DIR"]).parent / f"gunicorn-{self.port}.log"
        self.start_timeout = start_timeout
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None

    def start(self) -> "LiveServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        command = [str(VENV_BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
                   "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), *self.extra_args, "wsgi:app"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {self.start_timeout:.0f} s:\n"
                           f"{self.log_text()[-4000:]}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the master (its workers finish their requests and exit with it)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # our own session: the master and its workers
            process.wait(10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
