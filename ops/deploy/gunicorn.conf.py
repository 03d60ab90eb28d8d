"""gunicorn settings for Relais' web processes (production).

Why gunicorn: Python runs one thread at a time per process, so a single waitress process
(`relais serve`, the embedded default) uses one core however many threads it has. gunicorn
pre-forks independent processes, each with its own database pool, and restarts one that
dies; `gthread` workers keep a few threads per process for requests waiting on the database.

Settings (environment, as in /etc/relais/relais.env):
- RELAIS_WEB_WORKERS: processes (default: 2 × cores + 1);
- RELAIS_WEB_THREADS: threads per process (default 4);
- RELAIS_BIND: where nginx reaches it (default 127.0.0.1:8000, never a public address).
"""

import multiprocessing
import os

bind = os.environ.get("RELAIS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("RELAIS_WEB_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
worker_class = "gthread"
threads = int(os.environ.get("RELAIS_WEB_THREADS") or 4)
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle processes now and then: bounded memory over months
max_requests_jitter = 500
# nginx on the same machine is the only proxy whose X-Forwarded-* headers are believed.
forwarded_allow_ips = "127.0.0.1,::1"
# Request lines carry ids, never personal data; bodies are never logged.
accesslog = "-"
errorlog = "-"
limit_request_line = 8190
