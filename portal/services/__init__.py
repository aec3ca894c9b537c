"""The shared core: every state change of the portal happens here, in one transaction, with an
audit row. Views (``auth``, ``delegation``, ``secretariat``) parse, call, and render.

Services never answer HTTP themselves: they raise a ``DomainError`` whose ``status`` says what a
view answers (422: something to put right; 409: the object is not in a state for it, or changed
meanwhile; 404: not there, or not the caller's to see).
"""


class DomainError(Exception):
    """An action that is not allowed now; ``message`` is translated for the user."""

    status = 422

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class Conflict(DomainError):
    """The object is not in a state for this, or changed since the screen was drawn."""

    status = 409


class NotFound(DomainError):
    """The object does not exist, or is not the caller's to see (the same answer for both)."""

    status = 404

    def __init__(self, message="not found", field=None):
        super().__init__(message, field)
