"""gunicorn settings; every value can be overridden from the environment.

Sizing: sync workers are processes, one request at a time each. (2 x cores) + 1 keeps the CPU
busy while some workers wait on the database. Each worker holds its own copy of the active
model version: measured 175 MB RSS per worker on a small demo shop (300 products; Python,
numpy, scipy, pandas and the model), and a training run (the scheduler's, or the admin button's)
peaked at 730 MB with the torch models. Workers x 175 MB + the training peak + PostgreSQL must
fit in RAM: on a 2 GB VM set WEB_CONCURRENCY=3 or 4 rather than the formula's 5.

Under systemd (deploy/storefront-web.service, ``Type=notify``) gunicorn tells systemd when it is
ready; ``systemctl reload storefront-web`` sends HUP: gunicorn re-reads this file, starts new
workers on the new code and stops the old ones once they finish their requests (no dropped
requests, no downtime). A new Python or gunicorn version needs a restart instead.
"""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request running longer than this gets its worker killed and replaced (nginx waits 60 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On stop or reload, workers get this long to finish the requests they are serving.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5  # nginx keeps upstream connections open (keepalive in deploy/nginx/storefront.conf)
# Recycle workers now and then so slow leaks cannot grow; jitter keeps them from restarting together.
# A new worker costs ~2.3 s of CPU (imports, create_app, the model): at 2000 requests that was a
# sixth of two cores under 300 requests/s (concurrent ingestion on PostgreSQL 182 -> 212 actions/s
# at 10000). A warm worker holds its RSS (bench/worker_memory.py: 208 MiB after every page kind, 209
# after 3,000 more pages; its caches are bounded).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
# Worker heartbeat files on tmpfs: a slow disk must not make healthy workers look dead.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# The app writes one structured line per request (storefront.web.hardening, with its request id,
# latency and client address after ProxyFix), so gunicorn's own access log is off unless
# GUNICORN_ACCESS_LOG names a file or "-" (stderr). Its format then carries the same request id.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Only nginx on this host may set X-Forwarded-* for gunicorn itself (the app uses ProxyFix).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def on_starting(server):
    """Refuse a configuration that only fails under several workers, before any worker starts:
    per-process rate-limit counts (``memory://``) would give every client ``workers`` times
    each limit."""
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)  # what storefront.config checks
    from storefront.config import check_production, config_class, environment_overrides

    base = config_class()
    settings = {key: getattr(base, key) for key in dir(base) if key.isupper()}
    check_production({**settings, **environment_overrides()})


def post_worker_init(worker):
    """Load the active model version before the worker takes requests.

    Otherwise the first visitor served by each worker waits for the load (~0.25 s on the demo).
    A missing or broken version is not an error here: the shop serves its fallbacks.
    """
    app = worker.wsgi
    try:
        with app.app_context():
            app.extensions["recommender"].get()
    except Exception:  # noqa: BLE001 - a warm-up must never stop a worker from starting
        worker.log.exception("model warm-up failed; serving fallbacks until a version loads")
