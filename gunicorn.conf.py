"""gunicorn settings; every value can be overridden from the environment."""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Workers are processes: (2 x cores) + 1 is gunicorn's rule of thumb for I/O-bound apps.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so slow leaks cannot grow; jitter keeps them from restarting together.
max_requests = 2000
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


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
