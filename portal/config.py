"""Configuration: defaults here, then ``PORTAL_*`` environment variables, ``DATABASE_URL``
and ``SECRET_KEY``. ``PORTAL_ENV=production`` refuses to start without a secret key."""

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
    # Public address of the portal, for links in e-mails.
    "BASE_URL": "http://127.0.0.1:8000",
    # Trust X-Forwarded-* from this many proxies in front of gunicorn.
    "PROXY_COUNT": 0,
    "LOG_LEVEL": "INFO",
    # Rendered parts of the delegation's pages kept by each worker (portal/cache.py); 0: none.
    "FRAGMENT_CACHE_MB": 8,
    # Compressed pages kept by each worker (portal/performance.py); 0: none.
    "COMPRESSED_CACHE_MB": 4,
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
    if app.config["SECURE_COOKIES"] is None:
        app.config["SECURE_COOKIES"] = production
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["SECURE_COOKIES"])
    app.config["REMEMBER_COOKIE_SECURE"] = bool(app.config["SECURE_COOKIES"])


def _development_secret(instance_path):
    """Return the development secret kept in the instance folder, creating it once."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as fh:
            secret = fh.read().strip()
        if secret:
            return secret
    except FileNotFoundError:
        pass
    secret = secrets.token_hex(32)
    # O_EXCL: two workers starting at once agree on the first one written.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip() or secret
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret)
    return secret
