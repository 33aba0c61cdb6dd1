"""gunicorn for the web tier: `gunicorn -c gunicorn.conf.py` (`make prod` runs it).

The web processes never import torch: generations, print files and emails run in the django-q2
clusters (`manage.py run_gpu_worker`, `manage.py qcluster`). A request only reads and writes rows and
files, so the timeouts are short and the processes small. Every knob is an environment variable,
read here (and from .env, as config/settings.py does) and documented in .env.example and README.md.
"""

import os
from pathlib import Path

import environ

env = environ.Env()
environ.Env.read_env(Path(__file__).resolve().parent / ".env", overwrite=False)

wsgi_app = "config.wsgi:application"
proc_name = "shop-web"

# Loopback by default: the site sits behind a TLS-terminating proxy (nginx, a load balancer) that
# sets X-Forwarded-Proto, which Django believes (SECURE_PROXY_SSL_HEADER), so nothing else may reach
# gunicorn directly. In a container, where the proxy is outside: GUNICORN_BIND=0.0.0.0:8000.
bind = [env("GUNICORN_BIND", default=f"127.0.0.1:{env.int('PORT', default=8000)}")]

# Processes: WEB_CONCURRENCY, else 2 x CPUs + 1 capped at 8 (a request waits on the database or
# storage more than on the CPU; each process holds Django and the app, about 100-150 MB). CPUs are
# those this process may run on (a container's cpuset), not the whole machine's.
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
workers = env.int("WEB_CONCURRENCY", default=min(2 * _cpus + 1, 8))
# Threads per process (gthread): a slow upload or a private file streamed by Django (the simple
# sendfile backend) does not hold a whole process. Django is thread-safe; each thread has its own
# database connection, so workers x threads must stay under the database's connection limit.
worker_class = "gthread"
threads = env.int("GUNICORN_THREADS", default=4)

# No request runs a model: 30 s is ample for the slowest (a 12 MB reference upload, the schema). A
# request still running then is stuck and its process is replaced.
timeout = env.int("GUNICORN_TIMEOUT", default=30)
# On SIGTERM, requests in flight get as long as any request may take; give the process manager a
# little more (systemd's default 90 s does; `docker stop -t 35`, terminationGracePeriodSeconds: 35).
graceful_timeout = timeout
# Idle keep-alive connections: short for browsers talking to gunicorn through nginx; behind a load
# balancer that reuses connections, set it above the balancer's idle timeout (AWS ALB: 60 -> 65).
keepalive = env.int("GUNICORN_KEEPALIVE", default=5)

# Recycle a process after about 1000 requests (jitter: not all at once), which bounds slow memory
# growth (image decoding, fragmentation) in a long-lived process.
max_requests = 1000
max_requests_jitter = 100

# Load the app once in the master, then fork: settings errors (the DJANGO_ENV=production refusals)
# stop the master at once with one message, and the processes share the loaded code's memory. Nothing
# opens a connection at import time (Django connects per request), so nothing is shared by accident.
# A code change therefore needs a restart, not a HUP.
preload_app = True

# Logs: access lines to stdout, errors to stderr (the process manager collects both), with the
# request's duration in milliseconds.
accesslog = "-"
errorlog = "-"
loglevel = env("LOG_LEVEL", default="INFO").lower()  # the level config/settings.py logs at
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

# The heartbeat file on a memory filesystem: on a container's overlay disk it can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No control socket: its default path ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl) is one per user,
# shared by every gunicorn that user runs; signals (HUP, TTIN/TTOU, TERM) manage the processes.
control_socket_disable = True
