"""What the three benchmarks share: a fresh database with the demo data, gunicorn started as
production runs it, and a small HTTP client that counts the bytes on the wire.

Only the standard library and the portal's own dependencies: ``http.client`` does not decode
``Content-Encoding``, so what it reads is exactly what crossed the wire (less the headers).
"""

import base64
import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable

#: The coordinators of the journey, one per language (the demo accounts).
COORDINATORS = {
    "fr": ("unesco.dfp", "Tunis2005!"),
    "en": ("wipo-focal", "Geneva#WSIS"),
    "ar": ("las.coord", "Qahira2005"),
}
ACCEPT_ENCODING = "br, gzip"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(database_url, secret_key=None, **extra):
    """The environment production runs with (plain HTTP on loopback: no secure cookies)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PORTAL_")
        and key not in ("DATABASE_URL", "SECRET_KEY", "WEB_CONCURRENCY", "HOST", "PORT")
    }
    env.update(
        PORTAL_ENV="production",
        SECRET_KEY=secret_key or secrets.token_hex(32),
        PORTAL_DATA_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        PORTAL_SECURE_COOKIES="false",
        DATABASE_URL=database_url,
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def flask(env, *args, check=True):
    """Run a ``flask --app portal`` command (db upgrade, demo load...)."""
    result = subprocess.run(
        [PYTHON, "-m", "flask", "--app", "portal", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            "flask %s failed:\n%s%s" % (" ".join(args), result.stdout, result.stderr)
        )
    return result.stdout


def fresh_sqlite(workdir):
    """Return the URL of a new SQLite database in ``workdir``."""
    return "sqlite:///" + os.path.join(workdir, "bench.sqlite3")


def prepare_database(env):
    """Create the schema and load the demo data into the database named in ``env``."""
    flask(env, "db", "upgrade")
    flask(env, "demo", "load")


class Gunicorn:
    """gunicorn with the portal's ``gunicorn.conf.py``, in its own process group."""

    def __init__(self, env, app="wsgi:app", workers=None, threads=None, log_path=None, cwd=ROOT):
        """``workers``/``threads`` None: gunicorn.conf.py's production defaults."""
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        if workers:
            self.env["WEB_CONCURRENCY"] = str(workers)
        if threads:
            self.env["PORTAL_THREADS"] = str(threads)
        self.app = app
        self.cwd = cwd
        self.log_path = log_path or os.path.join(tempfile.gettempdir(), "bench-%d.log" % self.port)
        self.process = None

    def start(self, health="/healthz", timeout=60):
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", os.path.join(ROOT, "gunicorn.conf.py"), self.app],
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log())
            try:
                with urllib.request.urlopen(self.url + health, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start:\n" + self.log())

    def worker_pids(self):
        """Return the pids of gunicorn's workers (the master's children)."""
        path = "/proc/%d/task/%d/children" % (self.process.pid, self.process.pid)
        with open(path) as fh:
            return [int(pid) for pid in fh.read().split()]

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def stop(self):
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def rss_kib(pid):
    """Return the resident memory of process ``pid`` in KiB (VmRSS)."""
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body  # as it came over the wire (compressed)

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def wire_bytes(self):
        return len(self.body)

    def text(self):
        import gzip

        import brotli

        encoding = self.header("content-encoding")
        data = self.body
        if encoding == "br":
            data = brotli.decompress(data)
        elif encoding == "gzip":
            data = gzip.decompress(data)
        return data.decode("utf-8")


class Client:
    """A browser-like HTTP client: a cookie jar, compressed responses, no redirects followed."""

    def __init__(self, base_url, accept_encoding=ACCEPT_ENCODING, language=None):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies = {}
        self.accept_encoding = accept_encoding
        self.language = language

    def request(self, method, path, data=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        sent = {"Accept-Encoding": self.accept_encoding, "Accept": "text/html,*/*"}
        if self.language:
            sent["Accept-Language"] = self.language
        if self.cookies:
            sent["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            payload = raw.read()
            response_headers = {}
            for name, value in raw.getheaders():
                key = name.lower()
                if key == "set-cookie":
                    self._store_cookie(value)
                response_headers[key] = (
                    response_headers[key] + ", " + value if key in response_headers else value
                )
            return Response(raw.status, response_headers, payload)
        finally:
            conn.close()

    def _store_cookie(self, value):
        cookie = SimpleCookie()
        cookie.load(value)
        for name, morsel in cookie.items():
            if morsel["expires"] and "1970" in morsel["expires"] or morsel.value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def get(self, path, **headers):
        return self.request("GET", path, headers=headers)

    def post(self, path, data, **headers):
        return self.request("POST", path, data=data, headers=headers)

    def csrf(self, path):
        response = self.get(path)
        match = CSRF_RE.search(response.text())
        if not match:
            raise RuntimeError("no CSRF token on %s (%s)" % (path, response.status))
        return match.group(1)

    def sign_in(self, username, password):
        token = self.csrf("/login")
        response = self.post(
            "/login", {"csrf_token": token, "username": username, "password": password}
        )
        if response.status != 303:
            raise RuntimeError("sign-in as %s failed: %s" % (username, response.status))
        return response

    def cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())
