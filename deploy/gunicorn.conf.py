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

# Sync work (encryption, templates) is CPU-bound and holds each process's GIL; threads cover the
# waits on the database. Each worker holds its own database pool (CASEWORK_SQLALCHEMY_ENGINE_OPTIONS):
# workers × threads connections at most, to be kept under pgbouncer's default_pool_size.
# The same shape serves SQLite: requests that only read run side by side without its write lock,
# and writers take turns for a short time each (a reader's audit events are a short write at its
# end). More processes with fewer threads each beat one process with many: its threads would
# queue for one GIL (docs/deployment.md §11 has the measurements).
workers = int(os.environ.get("CASEWORK_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("CASEWORK_THREADS", "4"))

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
