"""Accounts endpoints: registration, email verification, the signed-in user's profile."""

from __future__ import annotations

from fastapi import APIRouter, status

from gatehouse.modules.accounts.application.delete_account import (
    DeleteAccount,
    DeleteAccountHandler,
)
from gatehouse.modules.accounts.application.email_change import (
    ConfirmEmailChange,
    ConfirmEmailChangeHandler,
    RequestEmailChange,
    RequestEmailChangeHandler,
)
from gatehouse.modules.accounts.application.mail_requests import (
    MailRequestKind,
    RequestMail,
    RequestMailHandler,
)
from gatehouse.modules.accounts.application.password_change import (
    ChangePassword,
    ChangePasswordHandler,
)
from gatehouse.modules.accounts.application.password_reset import (
    ResetPassword,
    ResetPasswordHandler,
)
from gatehouse.modules.accounts.application.profile import (
    KEEP,
    GetProfile,
    GetProfileHandler,
    UpdateProfile,
    UpdateProfileHandler,
)
from gatehouse.modules.accounts.application.register import RegisterUser, RegisterUserHandler
from gatehouse.modules.accounts.application.verify_email import VerifyEmail, VerifyEmailHandler
from gatehouse.modules.accounts.entrypoints.http.schemas import (
    ChangeEmailIn,
    ChangePasswordIn,
    DeleteAccountIn,
    EmailIn,
    RegisterIn,
    ResetPasswordIn,
    UpdateProfileIn,
    UserOut,
    VerifyEmailCodeIn,
    VerifyEmailIn,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.http.rate_limits import rate_limited
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.schemas import Accepted
from gatehouse.shared.http.security import Client, CurrentPrincipal, StepUpRequired

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
    dependencies=[rate_limited("register")],
    responses=problems(413, 415, 422, 429, 503),
)
@inject
async def register(
    body: RegisterIn,
    locale: RequestLocale,
    handler: RegisterUserHandler = Provide["accounts.register_user"],
) -> Accepted:
    """Always 202 with the same body: the address's owner gets a verification mail, or a notice
    that the address already has an account."""
    await handler(RegisterUser(body.email, body.password, body.display_name, locale))
    return REGISTER_ACCEPTED


@auth_router.post(
    "/verify-email",
    operation_id="auth_verify_email",
    summary="Confirm an email address with the mailed token",
    dependencies=[rate_limited("token_check")],
    responses=problems(400, 413, 415, 422, 429),
)
@inject
async def verify_email(
    body: VerifyEmailIn | VerifyEmailCodeIn,
    handler: VerifyEmailHandler = Provide["accounts.verify_email"],
) -> UserOut:
    """``{token}`` from the link, or ``{email, code}`` with the mail's six-digit code. Single
    use. Invalid, expired and used tokens, wrong codes and unknown addresses all answer 400
    ``token_invalid``; five wrong codes end the mailed link and code (ask for a new mail)."""
    if isinstance(body, VerifyEmailCodeIn):
        return UserOut.of(await handler(VerifyEmail(email=body.email, code=body.code)))
    return UserOut.of(await handler(VerifyEmail(body.token)))


EMAIL_CHANGE_ACCEPTED = Accepted(
    detail="If the new address can be used, a confirmation link is on its way to it."
)
MAIL_ACCEPTED = Accepted(detail="If the address has an account, a mail is on its way.")


@auth_router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="auth_verify_email_resend",
    summary="Send the verification mail again",
    dependencies=[rate_limited("mail_request")],
    responses=problems(413, 415, 422, 429, 503),
)
@inject
async def resend_verification(
    body: EmailIn,
    locale: RequestLocale,
    handler: RequestMailHandler = Provide["accounts.request_mail"],
) -> Accepted:
    """Always 202 with the same body, in the same time, whether or not the address has an
    unverified account. At most one mail a minute and five an hour per address; earlier links
    stop working."""
    await handler(RequestMail(MailRequestKind.RESEND_VERIFICATION, body.email, locale))
    return MAIL_ACCEPTED


@auth_router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="auth_password_forgot",
    summary="Mail a password-reset link",
    dependencies=[rate_limited("mail_request")],
    responses=problems(413, 415, 422, 429, 503),
)
@inject
async def forgot_password(
    body: EmailIn,
    locale: RequestLocale,
    handler: RequestMailHandler = Provide["accounts.request_mail"],
) -> Accepted:
    """Always 202 with the same body, in the same time, whether or not the address has an
    account. The link is valid for 30 minutes, once; a newer one voids it. At most one mail a
    minute and five an hour per address."""
    await handler(RequestMail(MailRequestKind.PASSWORD_RESET, body.email, locale))
    return MAIL_ACCEPTED


@auth_router.post(
    "/password/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_password_reset",
    summary="Choose a new password with the mailed token",
    dependencies=[rate_limited("token_check")],
    responses=problems(400, 413, 415, 422, 429, 503),
)
@inject
async def reset_password(
    body: ResetPasswordIn,
    client: Client,
    locale: RequestLocale,
    handler: ResetPasswordHandler = Provide["accounts.reset_password"],
) -> None:
    """Single use. Ends every session of the account and voids its other mailed links.
    Invalid, expired and used tokens all answer 400 ``token_invalid``; a password the policy
    refuses answers 422 ``weak_password`` and leaves the token usable."""
    await handler(
        ResetPassword(
            body.token,
            body.new_password,
            ip=client.ip,
            user_agent=client.user_agent,
            locale=locale,
        )
    )


@me_router.get(
    "",
    operation_id="me_get",
    summary="The signed-in user",
    responses=problems(401, 503),
)
@inject
async def get_me(
    principal: CurrentPrincipal,
    handler: GetProfileHandler = Provide["accounts.get_profile"],
) -> UserOut:
    return UserOut.of(await handler(GetProfile(principal.user_id)))


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
    handler: UpdateProfileHandler = Provide["accounts.update_profile"],
) -> UserOut:
    sent = body.model_fields_set
    return UserOut.of(
        await handler(
            UpdateProfile(
                principal.user_id,
                display_name=body.display_name if "display_name" in sent else KEEP,
                locale=body.locale if "locale" in sent else KEEP,
            )
        )
    )


@me_router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="me_delete",
    summary="Delete the account, proving the password or an MFA code",
    responses=problems(401, 403, 413, 415, 422, 429, 503),
)
@inject
async def delete_me(
    body: DeleteAccountIn,
    step_up: StepUpRequired,
    handler: DeleteAccountHandler = Provide["accounts.delete_account"],
) -> None:
    """Every session ends at once; the account, its one-time tokens, its MFA factors, its audit
    events and what its sessions recorded (IPs, user agents) are erased. One ``account.deleted``
    audit event remains (the account id and the time). A wrong password or code is 403
    ``reauth_failed``. The address can register again."""
    proof = await step_up(password=body.password, code=body.code)
    await handler(DeleteAccount(step_up.principal.user_id, proof))


@me_router.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="me_email_change",
    summary="Ask to change the sign-in address (confirmed from the new mailbox)",
    responses=problems(401, 403, 413, 415, 422, 429, 503),
)
@inject
async def change_email(
    body: ChangeEmailIn,
    step_up: StepUpRequired,
    locale: RequestLocale,
    handler: RequestEmailChangeHandler = Provide["accounts.request_email_change"],
) -> Accepted:
    """``{new_email, password}`` or ``{new_email, code}``. 202 whether or not the new address is
    free (a taken one gets no mail). The new address gets a confirmation link (24 h), the current
    one a notice; nothing changes until the link is used. A wrong password or code is 403
    ``reauth_failed``."""
    proof = await step_up(password=body.password, code=body.code)
    await handler(RequestEmailChange(step_up.principal.user_id, body.new_email, proof, locale))
    return EMAIL_CHANGE_ACCEPTED


@me_router.post(
    "/email/confirm",
    operation_id="me_email_confirm",
    summary="Confirm the new sign-in address with the mailed token",
    responses=problems(400, 401, 413, 415, 422, 503),
)
@inject
async def confirm_email(
    body: VerifyEmailIn,
    principal: CurrentPrincipal,
    locale: RequestLocale,
    handler: ConfirmEmailChangeHandler = Provide["accounts.confirm_email_change"],
) -> UserOut:
    """The address changes (verified); the old one gets a notice. Invalid, expired, used and
    other users' tokens all answer 400 ``token_invalid``."""
    return UserOut.of(await handler(ConfirmEmailChange(body.token, principal.user_id, locale)))


@me_router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="me_password_change",
    summary="Change the password, proving the current one or an MFA code",
    responses=problems(401, 403, 413, 415, 422, 429, 503),
)
@inject
async def change_password(
    body: ChangePasswordIn,
    step_up: StepUpRequired,
    client: Client,
    locale: RequestLocale,
    handler: ChangePasswordHandler = Provide["accounts.change_password"],
) -> None:
    """``{current_password, new_password}`` or ``{code, new_password}``. Every other session
    ends; this one stays signed in. A wrong current password or code is 403 ``reauth_failed``;
    a new password the policy refuses is 422 ``weak_password``."""
    proof = await step_up(password=body.current_password, code=body.code)
    principal = step_up.principal
    await handler(
        ChangePassword(
            principal.user_id,
            principal.session_id,
            proof,
            body.new_password,
            ip=client.ip,
            user_agent=client.user_agent,
            locale=locale,
        )
    )
