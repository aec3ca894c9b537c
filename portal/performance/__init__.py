"""What keeps pages cheap, in one place: ``init_app`` wires all of it.

- ``responses``: compression (error pages too), the compressed-page cache, ETags and 304s,
  reuse of the signed CSRF token;
- ``cache``: the fragment cache and its ``{% cache %}`` tag (whole pages through
  ``templating.render_page(cache_key=...)``), and the ``LRUCache`` every store here uses;
- ``prepared``: queries run on every request, with their SQL built once.

Each module says what its tricks gained when measured (``bench/inprocess.py --compare``).
"""

from . import cache, responses


def init_app(app):
    """Register the fragment cache, compression, ETags and token reuse, in this order.

    Call it after the hooks that check the session and the access (their ``before_request``
    hooks must run first: a token is reused only for a session that survived them) and before
    those that add headers to a response (Flask runs ``after_request`` hooks in the reverse order
    of registration, so ``finish_response`` then runs after them: it must see the final body
    and headers).
    """
    cache.init_app(app)
    responses.init_compression(app)
    responses.init_token_reuse(app)
    app.before_request(responses.reuse_token)
    app.after_request(finish_response)


def finish_response(response):
    """Give a page its ETag (or a 304), remember its token, then compress it. In this order:

    1. the ETag is the hash of the body as rendered, before compression (one ETag for brotli,
       gzip and identity; a 304 has no body left to compress);
    2. the token signed during the request is kept whatever the answer;
    3. compression last, on the final body: it also drops the policy headers a 304 or an HTMX
       fragment need not repeat, which the app's header hook added before it.
    """
    response = responses.html_validators(response)
    response = responses.keep_token(response)
    return responses.compress_response(response)
