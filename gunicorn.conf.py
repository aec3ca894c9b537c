"""gunicorn settings for the portal, from the environment (see README: Deployment)."""

import ctypes
import gc
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
# A worker is replaced after this many requests (a guard against slow leaks). A new worker
# loads the app and compiles its templates again, and its first requests wait for that: at a
# few hundred requests a second, 5,000 replaced every worker every minute.
max_requests = 50000
max_requests_jitter = 5000
accesslog = "-"
errorlog = "-"
# Never log query strings: they may carry one-time tokens.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No control socket: its fixed path in the home folder is shared by every gunicorn on a host.
control_socket_disable = True


def post_fork(server, worker):
    """glibc's allocator in each worker: blocks of 1 MiB or more (argon2's 19 MiB for a sign-in)
    straight from the system and back to it when freed, and two arenas rather than eight per
    core for the threads, so a worker's memory falls back after a burst of sign-ins."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    m_mmap_threshold, m_arena_max = -3, -8
    libc.mallopt(m_mmap_threshold, 1024 * 1024)
    libc.mallopt(m_arena_max, 2)


def post_worker_init(worker):
    """Once the app is loaded, set every object it holds aside from the garbage collector
    (``gc.freeze``): a full collection then visits only what requests create. It visited some
    60,000 objects (30 ms, every worker's threads stopped) about once every hundred requests,
    which was most of the 99th-percentile latency."""
    gc.freeze()
