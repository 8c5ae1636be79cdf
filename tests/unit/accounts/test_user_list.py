"""The user list's prefix ranges and its search normalisation, without a database."""

from __future__ import annotations

import pytest

from gatehouse.modules.accounts.adapters.views import prefix_successor
from gatehouse.modules.accounts.application.user_list import UserSearch


@pytest.mark.parametrize(
    ("prefix", "successor"),
    [
        ("ann", "ano"),
        ("a%", "a&"),
        ("z", "{"),
        ("\ud7ff", "\ue000"),  # over the surrogates, which UTF-8 cannot encode
        ("a\U0010ffff", "b"),
        ("\U0010ffff", None),
    ],
)
def test_a_prefix_range_ends_at_the_least_string_above_every_extension(
    prefix: str, successor: str | None
) -> None:
    assert prefix_successor(prefix) == successor


def test_the_search_compares_emails_normalised_and_names_trimmed() -> None:
    search = UserSearch.of("  ＡNN ")
    assert search == UserSearch(email_prefix="ann", name_prefix="ＡNN")
    assert UserSearch.of("   ") is None
    assert UserSearch.of(None) is None
