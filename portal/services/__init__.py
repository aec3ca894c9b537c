"""The shared core: every state change of the portal happens here, in one transaction, with an
audit row. Views (``auth``, ``delegation``, ``secretariat``) parse, call, and render."""


class DomainError(Exception):
    """An action that is not allowed now; ``message`` is translated for the user."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field
