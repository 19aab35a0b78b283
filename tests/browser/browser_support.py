"""A live shop for the browser test: a real database prepared with the real CLI, served by gunicorn.

Nothing here imports Playwright, so the test module can be collected (and skipped with a clear
reason) on a machine without it or without Chromium.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Debian's package (apt-get install -y chromium); Playwright's own browser download is not used.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Screenshots, page HTML, console logs and the server log of a failed test land here.
ARTIFACTS_DIR = Path(os.environ.get("BROWSER_ARTIFACTS_DIR", PROJECT_ROOT / "test-artifacts"))

# tests/storefront/support/recommendations.py SMALL_SHOP, through the real `flask shop seed`, plus
# B2B visitors with form submissions: the admin's gated-content model page then has a model to chart.
SMALL_SHOP = [
    "shop", "seed", "--products", "120", "--categories", "8", "--customers", "150",
    "--anonymous", "80", "--events", "12000", "--days", "40", "--end-date", "2026-01-01", "--b2b-visitors", "150",
]
ADMIN_EMAIL = "admin@example.com"
STARTUP_TIMEOUT_S = 60
CLI_TIMEOUT_S = 300


def missing_requirement() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveShop:
    """A prepared database and model directory in ``root``, served by gunicorn on ``base_url``."""

    root: Path
    port: int = field(default_factory=free_port)
    admin_password: str = ""
    server: subprocess.Popen | None = None
    server_log: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        """SQLite in ``root``, or the suite's PostgreSQL database when ``TEST_DATABASE_URL`` names one
        (.ci/run's second pass): emptied before and after, as tests/conftest.py does."""
        return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{self.root / 'shop.db'}"

    def _execute(self, sql: str) -> list[tuple]:
        from sqlalchemy import create_engine, text

        from storefront.database import normalise_database_url

        engine = create_engine(normalise_database_url(self.database_url))
        try:
            with engine.begin() as connection:
                result = connection.execute(text(sql))
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def reset_postgres_schema(self) -> None:
        if self.database_url.startswith(("postgres://", "postgresql")):
            self._execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    def env(self) -> dict[str, str]:
        """One environment for the CLI, gunicorn and the training process the admin starts."""
        venv_bin = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if k not in {"FLASK_ENV", "SECRET_KEY"}}
        env.update({
            "PATH": os.pathsep.join([venv_bin, env.get("PATH", "/usr/bin:/bin")]),
            "FLASK_APP": "wsgi.py",
            "STOREFRONT_CONFIG": "development",
            "DATABASE_URL": self.database_url,
            "MODEL_DIR": str(self.root / "models"),
            "TRAINING_LOG_DIR": str(self.root / "training-logs"),  # not the project's instance/ folder
            "ASSET_FILES_DIR": str(self.root / "assets"),
            "TRAINING_DEEP_MODELS": "0",
            "TRAINING_TIME_BUDGET_SECONDS": "5",
            "CTR_BUDGET_SECONDS": "3",
            "OPENBLAS_NUM_THREADS": "1",
            "LOG_LEVEL": "INFO",
            # gunicorn.conf.py reads these
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_TIMEOUT": "60",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def flask(self, *args: str) -> str:
        """Run ``flask ARGS`` with the venv's Python; fail with its output when it fails."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", *args], cwd=PROJECT_ROOT, env=self.env(),
            capture_output=True, text=True, timeout=CLI_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"flask {' '.join(args)} exited with {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def prepare(self) -> None:
        """Schema by migrations, the small demo shop, an admin, and a first active model."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.reset_postgres_schema()
        self.flask("db", "upgrade")
        self.flask(*SMALL_SHOP)
        output = self.flask("shop", "create-admin", ADMIN_EMAIL, "--generate-password")
        match = re.search(r"Password \(shown once, write it down\): (\S+)", output)
        assert match, f"no generated password in the create-admin output:\n{output}"
        self.admin_password = match.group(1)
        self.flask("ml", "train")
        assert (self.root / "models" / "ACTIVE").is_file(), "flask ml train published no active model"

    def start(self) -> None:
        self.server_log = self.root / "gunicorn.log"
        with open(self.server_log, "ab") as log:
            self.server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=PROJECT_ROOT, env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.server.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {STARTUP_TIMEOUT_S} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        self.stop_training_processes()
        self.reset_postgres_schema()  # leave the suite's PostgreSQL database empty, as tests do

    def stop_training_processes(self) -> None:
        """A training process started by "Retrain now" runs in its own session and outlives
        gunicorn: end the ones still recorded as queued/running (a failed test may leave one)."""
        try:
            pids = [row[0] for row in self._execute(
                "SELECT pid FROM training_runs WHERE status IN ('queued', 'running') AND pid IS NOT NULL"
            )]
        except Exception:  # noqa: BLE001 - no database or no table: nothing was started
            return
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b" ml train --run-id " in cmdline:  # the pid is from our database: our job
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                deadline = time.monotonic() + 10
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.2)

    def log_tail(self, chars: int = 6000) -> str:
        if self.server_log is None or not self.server_log.exists():
            return ""
        return self.server_log.read_text(errors="replace")[-chars:]

    def save_logs(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.server_log and self.server_log.exists():
            shutil.copy(self.server_log, folder / "gunicorn.log")
        logs = self.root / "training-logs"
        if logs.is_dir():
            for path in logs.glob("*.log"):
                shutil.copy(path, folder / path.name)


def product_id(url: str) -> int:
    match = re.search(r"/products/(\d+)", url)
    assert match, f"not a product URL: {url}"
    return int(match.group(1))
