"""gunicorn settings for casework (docs/deployment.md). Every value can be set from the environment
so one file serves every app server; the systemd unit sets them in /etc/casework/casework.env.

    gunicorn --config deploy/gunicorn.conf.py          # serves deploy/wsgi.py's app
"""

import multiprocessing
import os

# The app, with the reverse proxy's headers believed for exactly one hop (deploy/wsgi.py).
pythonpath = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "wsgi:app"

# nginx in front terminates TLS and talks to this address only (never expose it to the network).
bind = os.environ.get("CASEWORK_BIND", "127.0.0.1:8000")

# Sync work (encryption, templates) is CPU-bound; threads cover the waits on PostgreSQL. Each
# worker holds its own database pool (CASEWORK_SQLALCHEMY_ENGINE_OPTIONS): workers × threads
# connections at most, to be kept under pgbouncer's default_pool_size.
# On SQLite, requests that only read run side by side without the write lock and writers take
# turns (a request's audit events are a short write at its end): one process per CPU, whose
# threads queue at the in-process gate for the write lock (docs/deployment.md §11 has the
# measurements).
_sqlite = os.environ.get("CASEWORK_DATABASE_URL", "sqlite").startswith("sqlite")
_cpus = multiprocessing.cpu_count()
_default_workers = _cpus if _sqlite else _cpus * 2 + 1
workers = int(os.environ.get("CASEWORK_WORKERS", _default_workers))
worker_class = "gthread"
threads = int(os.environ.get("CASEWORK_THREADS", "8" if _sqlite else "4"))

# A request slower than this is killed (an export of a whole province takes a few seconds).
timeout = int(os.environ.get("CASEWORK_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then (bounded memory over months of uptime), staggered by the jitter.
max_requests = 5000
max_requests_jitter = 500

# Import the app in each worker, after the fork: every worker opens its own database connections
# and runs the startup checks (master key present, known-answer value decrypts) itself.
preload_app = False

# gunicorn itself trusts forwarded headers from nginx's address only (ProxyFix in deploy/wsgi.py
# reads them for the app).
forwarded_allow_ips = os.environ.get("CASEWORK_FORWARDED_ALLOW_IPS", "127.0.0.1")

# No access log here: URLs carry random ids only, but the client address and timings of case
# workers are personal data; nginx keeps a minimal access log (deploy/nginx/casework.conf).
# Errors go to stderr → journald, without request bodies.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("CASEWORK_LOG_LEVEL", "info")
# Request lines never reach the error log (gunicorn logs them only when a worker times out).
proc_name = "casework"
