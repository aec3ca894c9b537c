"""gunicorn settings for the portal, from the environment (see README: Deployment)."""

import multiprocessing
import os

bind = "%s:%s" % (os.environ.get("HOST", "0.0.0.0"), os.environ.get("PORT", "8000"))  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
# Threads let a worker keep serving while slow (2G) clients trickle their requests in.
worker_class = "gthread"
threads = int(os.environ.get("PORTAL_THREADS", "8"))
timeout = 60
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# Never log query strings: they may carry one-time tokens.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
