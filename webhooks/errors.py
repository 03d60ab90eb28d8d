"""Webhook errors: stable codes, French messages (problem documents on the API)."""

from __future__ import annotations

from engine.errors import Invalid, NotFound, RelaisError


class UrlRefused(Invalid):
    """The SSRF guard refuses the URL (at registration: 422; at send: the attempt fails)."""

    code = "webhook_url_refused"

    def __init__(self, message: str):
        super().__init__(message, [{"field": "url", "message": message}])


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"

    def __init__(self) -> None:
        super().__init__("Ce point de réception n'existe pas.")


class MessageNotFound(NotFound):
    code = "webhook_message_not_found"

    def __init__(self) -> None:
        super().__init__("Ce message n'existe pas.")


class InboundRefused(RelaisError):
    """A forged, stale or malformed inbound call: nothing is changed."""

    code = "webhook_signature_invalid"
    status = 401
