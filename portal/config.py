"""Configuration: defaults here, then ``PORTAL_*`` environment variables, ``DATABASE_URL``
and ``SECRET_KEY``. ``PORTAL_ENV=production`` refuses to start without a secret key or a data
key (``PORTAL_DATA_KEY``, which seals passport data: portal/crypto.py)."""

import base64
import os
import secrets


class ConfigError(RuntimeError):
    pass


DEFAULTS = {
    # "development" or "production".
    "ENV": "development",
    "DATABASE_URL": "sqlite:///portal.sqlite3",
    # Sessions: idle timeout and absolute lifetime, in minutes, enforced on the server.
    "SESSION_IDLE_MINUTES": 60,
    "SESSION_LIFETIME_MINUTES": 12 * 60,
    # None: secure cookies in production only.
    "SECURE_COOKIES": None,
    # Sign-in failures: after LOCKOUT_THRESHOLD failures the account waits LOCKOUT_MINUTES.
    "LOCKOUT_THRESHOLD": 5,
    "LOCKOUT_MINUTES": 15,
    # A browser that signed in to an account passes that account's lock-out for this long.
    "DEVICE_COOKIE_DAYS": 90,
    # argon2id cost (OWASP minimum: m=19 MiB, t=2, p=1).
    "ARGON2_TIME_COST": 2,
    "ARGON2_MEMORY_KIB": 19456,
    "ARGON2_PARALLELISM": 1,
    # Largest request body (bytes) and largest photo upload.
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    # A form's text fields, each (files apart), and a URL-encoded form whole: past this, a 413
    # before anything reads them (Werkzeug's own default for multipart text parts; less would
    # also catch its read buffer while it streams a photo).
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_PHOTO_BYTES": 5 * 1024 * 1024,
    # One-time password links: hours of validity.
    "PASSWORD_LINK_HOURS": 48,
    # Mail: without SMTP_HOST, mail is written to the log.
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": False,
    "SMTP_SSL": False,
    "MAIL_FROM": "WSIS Tunis registration <registration@wsis.example>",
    # The outbox's sender (portal/services/mail.py): a failed message is tried again after
    # MAIL_RETRY_SECONDS, doubling each time up to MAIL_RETRY_MAX_SECONDS, and given up after
    # MAIL_MAX_ATTEMPTS (six hours after the first try, with these values); a message that a
    # sender took and left unfinished for MAIL_LEASE_SECONDS is taken again.
    "MAIL_MAX_ATTEMPTS": 12,
    "MAIL_RETRY_SECONDS": 60,
    "MAIL_RETRY_MAX_SECONDS": 3600,
    "MAIL_LEASE_SECONDS": 600,
    # Messages a sender takes at once; with the 20 s SMTP timeout, well inside the lease.
    "MAIL_BATCH_SIZE": 20,
    # Document jobs (print runs, the summit's list): a job whose worker renewed its lease
    # DOCUMENTS_LEASE_SECONDS ago no longer (the worker was killed) is taken again by another
    # worker, and failed, visibly, once it was started DOCUMENTS_MAX_ATTEMPTS times.
    "DOCUMENTS_LEASE_SECONDS": 300,
    "DOCUMENTS_MAX_ATTEMPTS": 3,
    # Participants rendered at once in the summit's list: bounds the worker's memory.
    "DOCUMENTS_LIST_CHUNK": 500,
    # Processes of the documents worker that lay out chunks side by side (one per core).
    "DOCUMENTS_RENDER_PROCESSES": 2,
    # The public verification page (/verify/<token>): lookups a client address may make in a
    # window of minutes (portal/services/verification.py).
    "VERIFY_RATE_LIMIT": 30,
    "VERIFY_RATE_MINUTES": 10,
    # Public address of the portal, for links in e-mails and on printed documents.
    "BASE_URL": "http://127.0.0.1:8000",
    # Trust X-Forwarded-* from this many proxies in front of gunicorn.
    "PROXY_COUNT": 0,
    "LOG_LEVEL": "INFO",
    # Rendered parts of the delegation's pages kept by each worker (portal/performance/cache.py); 0: none.
    "FRAGMENT_CACHE_MB": 8,
    # Compressed pages kept by each worker (portal/performance/responses.py); 0: none.
    "COMPRESSED_CACHE_MB": 4,
    # Passport data at rest (portal/crypto.py): base64 of 32 bytes; the previous key(s),
    # comma-separated, only while ``privacy rotate-key`` runs.
    "DATA_KEY": "",
    "DATA_KEY_OLD": "",
}


def load_config(app, test_config=None):
    """Fill ``app.config`` from defaults, the environment, then ``test_config``."""
    app.config.update(DEFAULTS)
    app.config.update(
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        WTF_CSRF_SSL_STRICT=True,
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "translations"
        ),
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Send the session cookie only when the session changed (auth/sessions.py refreshes it
        # at most once a minute), not with every response: ~450 bytes a response on 2G.
        SESSION_REFRESH_EACH_REQUEST=False,
        REMEMBER_COOKIE_HTTPONLY=True,
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "text/plain",
            "text/csv",
            "application/javascript",
            "application/json",
            "image/svg+xml",
        ],
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_MIN_SIZE=500,
        COMPRESS_BR_LEVEL=5,
        COMPRESS_LEVEL=6,
    )
    app.config.from_prefixed_env("PORTAL")
    for name in ("DATABASE_URL", "SECRET_KEY"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if test_config:
        app.config.update(test_config)

    production = app.config["ENV"] == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production the portal needs a fixed secret shared "
                "by every worker and host, or sessions and forms break: set SECRET_KEY to a "
                "long random value (python3 -c 'import secrets; print(secrets.token_hex(32))')."
            )
        app.config["SECRET_KEY"] = _development_secret(app.instance_path)
    if not app.config.get("DATA_KEY"):
        if production:
            raise ConfigError(
                "PORTAL_DATA_KEY is not set. In production passport numbers and dates of birth "
                "are sealed with a key kept outside the database: set PORTAL_DATA_KEY to the "
                "base64 of 32 random bytes (python3 -c 'import base64, os; "
                "print(base64.b64encode(os.urandom(32)).decode())'), the same on every host, "
                "and keep a copy apart from the backups."
            )
        app.config["DATA_KEY"] = _development_secret(app.instance_path, "data_key", _new_data_key)
    if app.config["SECURE_COOKIES"] is None:
        app.config["SECURE_COOKIES"] = production
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["SECURE_COOKIES"])
    app.config["REMEMBER_COOKIE_SECURE"] = bool(app.config["SECURE_COOKIES"])


def _new_data_key():
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _development_secret(instance_path, name="secret_key", make=lambda: secrets.token_hex(32)):
    """Return the development secret ``name`` kept in the instance folder, creating it once."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, name)
    try:
        with open(path, encoding="ascii") as fh:
            secret = fh.read().strip()
        if secret:
            return secret
    except FileNotFoundError:
        pass
    secret = make()
    # O_EXCL: two workers starting at once agree on the first one written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip() or secret
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret)
    return secret
