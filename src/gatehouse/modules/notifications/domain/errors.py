"""Rendering and delivery failures as the dispatcher sees them."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """The transport could not deliver; ``permanent`` means retrying will not help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class UnknownTemplate(LookupError):
    """No template of that name, in any locale."""


class TemplateFailed(ValueError):
    """The template exists but did not render (a missing parameter, a syntax error)."""


class ParamsUnreadable(ValueError):
    """Sealed mail parameters that no configured key opens (a dropped key version)."""
