"""``RequireRole``'s rule: the role, and for roles that need it a sign-in with a second factor."""

from __future__ import annotations

import uuid

import pytest

from gatehouse.main.container import _roles_needing_mfa
from gatehouse.main.settings import Settings
from gatehouse.shared.http.security import MfaSignInRequired, RoleRequired, require_role
from gatehouse.shared.principal import Principal

ADMIN_MFA = frozenset({"admin"})


def principal(roles: tuple[str, ...], amr: tuple[str, ...]) -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), roles, amr, "jti")


def test_a_user_without_the_role_is_refused() -> None:
    with pytest.raises(RoleRequired):
        require_role(principal(("user",), ("pwd", "otp", "mfa")), "admin", ADMIN_MFA)


def test_an_admin_signed_in_with_a_password_only_is_refused() -> None:
    with pytest.raises(MfaSignInRequired):
        require_role(principal(("user", "admin"), ("pwd",)), "admin", ADMIN_MFA)


def test_an_admin_signed_in_with_a_second_factor_passes() -> None:
    admin = principal(("user", "admin"), ("pwd", "otp", "mfa"))
    assert require_role(admin, "admin", ADMIN_MFA) is admin


def test_a_role_that_does_not_need_mfa_passes_with_a_password() -> None:
    auditor = principal(("user", "auditor"), ("pwd",))
    assert require_role(auditor, "auditor", ADMIN_MFA) is auditor


def test_the_setting_decides_whether_admins_need_mfa() -> None:
    assert _roles_needing_mfa(Settings(_env_file=None)) == ADMIN_MFA  # on by default
    off = Settings(admin_requires_mfa=False, _env_file=None)
    assert _roles_needing_mfa(off) == frozenset()
