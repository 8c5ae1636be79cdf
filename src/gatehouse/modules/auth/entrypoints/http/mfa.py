"""MFA endpoints: the second half of a sign-in (``/auth/mfa``) and the signed-in user's
factors (``/me/mfa``). Changes that weaken or replace a factor take a step-up."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from gatehouse.modules.auth.application.email_codes import SendEmailCode, SendEmailCodeHandler
from gatehouse.modules.auth.application.factor_management import (
    BeginTotpHandler,
    Caller,
    ConfirmTotp,
    ConfirmTotpHandler,
    DisableFactorHandler,
    EnableEmailFactorHandler,
    GetMfaStatus,
    GetMfaStatusHandler,
    MfaChange,
    RegenerateBackupCodesHandler,
)
from gatehouse.modules.auth.application.mfa_sign_in import VerifyMfa, VerifyMfaHandler
from gatehouse.modules.auth.domain.mfa import MfaMethod
from gatehouse.modules.auth.entrypoints.http.cookies import check_origin
from gatehouse.modules.auth.entrypoints.http.router import pair_out
from gatehouse.modules.auth.entrypoints.http.schemas import (
    BackupCodesOut,
    ConfirmTotpIn,
    MfaStatusOut,
    MfaTokenIn,
    TokenPairOut,
    TotpEnrolmentOut,
    VerifyMfaIn,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.http.rate_limits import rate_limited
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.schemas import Accepted, StepUpIn
from gatehouse.shared.http.security import (
    Client,
    ClientInfo,
    CurrentPrincipal,
    StepUpCheck,
    StepUpRequired,
)

auth_mfa_router = APIRouter(prefix="/api/v1/auth/mfa", tags=["auth"], route_class=JsonRoute)
me_mfa_router = APIRouter(prefix="/api/v1/me/mfa", tags=["me", "mfa"], route_class=JsonRoute)

CODE_SENT = Accepted(detail="A code is on its way to the account's address (valid 10 minutes).")
STEP_UP_ERRORS = (401, 403, 413, 415, 422, 429, 503)


def _caller(client: ClientInfo, locale: str) -> Caller:
    return Caller(ip=client.ip, user_agent=client.user_agent, locale=locale)


async def _proven(
    body: StepUpIn, step_up: StepUpCheck, client: ClientInfo, locale: str
) -> MfaChange:
    """The change the caller asked for, once the body's password or code proved it is them."""
    proof = await step_up(password=body.password, code=body.code)
    return MfaChange(proof, _caller(client, locale))


@auth_mfa_router.post(
    "/verify",
    operation_id="auth_mfa_verify",
    summary="Finish a sign-in with a second factor",
    dependencies=[rate_limited("mfa")],
    responses=problems(401, 403, 413, 415, 422, 429, 503),
    response_model_exclude_none=True,
)
@inject
async def verify(
    body: VerifyMfaIn,
    request: Request,
    response: Response,
    *,
    client: Client,
    locale: RequestLocale,
    handler: VerifyMfaHandler = Provide["auth.verify_mfa"],
    allowed_origins: frozenset[str] = Provide["auth.allowed_origins"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> TokenPairOut:
    """The ``mfa_token`` from login and a code: ``totp`` (the authenticator app), ``email``
    (after ``POST /auth/mfa/email``) or ``backup_code``. A wrong code is 401
    ``mfa_code_invalid`` with the tries left; the fifth voids the ``mfa_token`` (401
    ``mfa_token_invalid``, sign in again). Each code works once. ``cookie`` as in login."""
    if body.cookie:
        check_origin(request, allowed_origins)
    pair = await handler(
        VerifyMfa(
            body.mfa_token,
            MfaMethod(body.method),
            body.code,
            user_agent=client.user_agent,
            ip=client.ip,
            locale=locale,
        )
    )
    return pair_out(response, pair, cookie=body.cookie, secure=cookie_secure)


@auth_mfa_router.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="auth_mfa_email",
    summary="Mail a sign-in code for an MFA challenge",
    dependencies=[rate_limited("mfa")],
    responses=problems(401, 413, 415, 422, 429, 503),
)
@inject
async def send_sign_in_code(
    body: MfaTokenIn,
    locale: RequestLocale,
    handler: SendEmailCodeHandler = Provide["auth.send_email_code"],
) -> Accepted:
    """Six digits, valid 10 minutes for five tries; a new code voids the previous one. The
    address's mail caps apply (one a minute, five an hour): 429 ``too_many_mails`` over them."""
    await handler(SendEmailCode(mfa_token=body.mfa_token, locale=locale))
    return CODE_SENT


@me_mfa_router.get(
    "",
    operation_id="me_mfa_get",
    summary="The signed-in user's second factors",
    responses=problems(401, 503),
)
@inject
async def get_mfa(
    principal: CurrentPrincipal,
    handler: GetMfaStatusHandler = Provide["auth.mfa_status"],
) -> MfaStatusOut:
    return MfaStatusOut.of(await handler(GetMfaStatus(principal.user_id)))


@me_mfa_router.post(
    "/totp",
    operation_id="me_mfa_totp_begin",
    summary="Start setting up an authenticator app",
    responses=problems(*STEP_UP_ERRORS),
)
@inject
async def begin_totp(
    body: StepUpIn,
    step_up: StepUpRequired,
    client: Client,
    locale: RequestLocale,
    handler: BeginTotpHandler = Provide["auth.begin_totp"],
) -> TotpEnrolmentOut:
    """Show ``qr_svg`` (or ``secret`` to type in) and ask for the first code, then confirm it
    within 15 minutes. An authenticator already set up keeps working until then."""
    return TotpEnrolmentOut.of(await handler(await _proven(body, step_up, client, locale)))


@me_mfa_router.post(
    "/totp/confirm",
    operation_id="me_mfa_totp_confirm",
    summary="Turn the authenticator app on with its first code",
    responses=problems(401, 409, 413, 415, 422, 503),
)
@inject
async def confirm_totp(
    body: ConfirmTotpIn,
    principal: CurrentPrincipal,
    client: Client,
    locale: RequestLocale,
    handler: ConfirmTotpHandler = Provide["auth.confirm_totp"],
) -> BackupCodesOut:
    """Returns 10 new backup codes (older ones stop working): show them once. A code that does
    not match is 422 ``totp_code_invalid``; no setup pending is 409 ``totp_enrolment_missing``."""
    codes = await handler(ConfirmTotp(principal.user_id, body.code, _caller(client, locale)))
    return BackupCodesOut(backup_codes=codes)


@me_mfa_router.delete(
    "/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="me_mfa_totp_delete",
    summary="Turn the authenticator app off",
    responses=problems(409, *STEP_UP_ERRORS),
)
@inject
async def delete_totp(
    body: StepUpIn,
    step_up: StepUpRequired,
    client: Client,
    locale: RequestLocale,
    handler: DisableFactorHandler = Provide["auth.disable_totp"],
) -> None:
    """With no factor left, the backup codes go too."""
    await handler(await _proven(body, step_up, client, locale))


@me_mfa_router.post(
    "/email",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="me_mfa_email_enable",
    summary="Turn sign-in codes by email on",
    responses=problems(*STEP_UP_ERRORS),
)
@inject
async def enable_email(
    body: StepUpIn,
    step_up: StepUpRequired,
    client: Client,
    locale: RequestLocale,
    handler: EnableEmailFactorHandler = Provide["auth.enable_email_factor"],
) -> None:
    """The address must be verified (403 ``email_not_verified``). Make backup codes next
    (``POST /me/mfa/backup-codes``) so a lost mailbox does not lock the account."""
    await handler(await _proven(body, step_up, client, locale))


@me_mfa_router.delete(
    "/email",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="me_mfa_email_disable",
    summary="Turn sign-in codes by email off",
    responses=problems(409, *STEP_UP_ERRORS),
)
@inject
async def disable_email(
    body: StepUpIn,
    step_up: StepUpRequired,
    client: Client,
    locale: RequestLocale,
    handler: DisableFactorHandler = Provide["auth.disable_email_factor"],
) -> None:
    await handler(await _proven(body, step_up, client, locale))


@me_mfa_router.post(
    "/email/code",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="me_mfa_email_code",
    summary="Mail a code to prove a sensitive change (step-up)",
    responses=problems(401, 422, 429, 503),
)
@inject
async def send_step_up_code(
    principal: CurrentPrincipal,
    locale: RequestLocale,
    handler: SendEmailCodeHandler = Provide["auth.send_email_code"],
) -> Accepted:
    """For accounts with sign-in codes by email: send the mailed code as ``code`` in the body of
    the sensitive request. Same code rules and mail caps as at sign-in."""
    await handler(SendEmailCode(user_id=principal.user_id, locale=locale))
    return CODE_SENT


@me_mfa_router.post(
    "/backup-codes",
    operation_id="me_mfa_backup_codes",
    summary="Make a new set of backup codes (the old set stops working)",
    responses=problems(409, *STEP_UP_ERRORS),
)
@inject
async def regenerate_backup_codes(
    body: StepUpIn,
    step_up: StepUpRequired,
    client: Client,
    locale: RequestLocale,
    handler: RegenerateBackupCodesHandler = Provide["auth.regenerate_backup_codes"],
) -> BackupCodesOut:
    """Needs a factor turned on (409 ``mfa_not_enabled``)."""
    codes = await handler(await _proven(body, step_up, client, locale))
    return BackupCodesOut(backup_codes=codes)
