"""A PDF as an HTTP answer: downloaded under its own name, never cached by a shared cache."""

from flask import current_app


def pdf_response(data, filename, inline=False):
    response = current_app.response_class(bytes(data), mimetype="application/pdf")
    response.headers["Content-Disposition"] = "%s; filename=%s" % (
        "inline" if inline else "attachment",
        filename,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Length"] = str(len(data))
    return response
