"""Accounts endpoints: registration, email verification, the signed-in user's profile."""

from __future__ import annotations

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, status

from gatehouse.modules.accounts.application.profile import (
    GetProfileHandler,
    UpdateProfile,
    UpdateProfileHandler,
)
from gatehouse.modules.accounts.application.register import RegisterUser, RegisterUserHandler
from gatehouse.modules.accounts.application.verify_email import VerifyEmail, VerifyEmailHandler
from gatehouse.modules.accounts.entrypoints.http.schemas import (
    RegisterIn,
    UpdateProfileIn,
    UserOut,
    VerifyEmailIn,
)
from gatehouse.shared.http.di import Provide
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.schemas import Accepted
from gatehouse.shared.http.security import CurrentPrincipal

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=JsonRoute)
me_router = APIRouter(prefix="/api/v1/me", tags=["me"], route_class=JsonRoute)

REGISTER_ACCEPTED = Accepted(
    detail="If the address can be used, a mail with the next step is on its way."
)


@auth_router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="auth_register",
    summary="Create an account",
    responses=problems(413, 415, 422, 503),
)
@inject
async def register(
    body: RegisterIn,
    handler: RegisterUserHandler = Depends(Provide["accounts.register_user"]),  # noqa: B008
) -> Accepted:
    """Always 202 with the same body: the address's owner gets a verification mail, or a notice
    that the address already has an account."""
    await handler(RegisterUser(body.email, body.password, body.display_name))
    return REGISTER_ACCEPTED


@auth_router.post(
    "/verify-email",
    operation_id="auth_verify_email",
    summary="Confirm an email address with the mailed token",
    responses=problems(400, 413, 415, 422),
)
@inject
async def verify_email(
    body: VerifyEmailIn,
    handler: VerifyEmailHandler = Depends(Provide["accounts.verify_email"]),  # noqa: B008
) -> UserOut:
    """Single use. Invalid, expired and used tokens all answer 400 ``token_invalid``."""
    return UserOut.of(await handler(VerifyEmail(body.token)))


@me_router.get(
    "",
    operation_id="me_get",
    summary="The signed-in user",
    responses=problems(401, 503),
)
@inject
async def get_me(
    principal: CurrentPrincipal,
    handler: GetProfileHandler = Depends(Provide["accounts.get_profile"]),  # noqa: B008
) -> UserOut:
    return UserOut.of(await handler(principal.user_id))


@me_router.patch(
    "",
    operation_id="me_update",
    summary="Change the signed-in user's profile",
    responses=problems(401, 413, 415, 422, 503),
)
@inject
async def update_me(
    body: UpdateProfileIn,
    principal: CurrentPrincipal,
    handler: UpdateProfileHandler = Depends(Provide["accounts.update_profile"]),  # noqa: B008
) -> UserOut:
    return UserOut.of(await handler(UpdateProfile(principal.user_id, body.display_name)))
