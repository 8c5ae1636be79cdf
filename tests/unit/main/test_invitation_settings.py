"""GATEHOUSE_INVITATION_URL: the client's page an invitation mail links to."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gatehouse.main.settings import Settings


def test_invitations_link_to_a_page_under_the_public_url_by_default() -> None:
    settings = Settings(public_url="https://id.example.com/", _env_file=None)
    assert settings.resolved_invitation_url == "https://id.example.com/accept-invitation"


def test_the_invitation_page_is_the_one_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_INVITATION_URL", "https://app.example.com/join")
    assert Settings(_env_file=None).resolved_invitation_url == "https://app.example.com/join"


@pytest.mark.parametrize("url", ["/join", "ftp://app.example.com/join", "https://app/x#frag"])
def test_an_invitation_url_that_is_no_absolute_web_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("GATEHOUSE_INVITATION_URL", url)
    with pytest.raises(ValidationError, match="GATEHOUSE_INVITATION_URL"):
        Settings(_env_file=None)
