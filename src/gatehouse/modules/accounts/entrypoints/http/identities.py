"""``/me/identities``: the provider accounts (social login) linked to the signed-in user, and
unlinking one. Linking happens through social login's flow (auth's routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from gatehouse.modules.accounts.application.identity_settings import (
    ListIdentities,
    ListIdentitiesHandler,
    UnlinkIdentity,
    UnlinkIdentityHandler,
)
from gatehouse.modules.accounts.application.public import Requester
from gatehouse.modules.accounts.entrypoints.http.schemas import (
    IdentityOut,
    IdentityPageOut,
    UnlinkIdentityIn,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.http.pagination import Before, Limit, next_cursor
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import Client, CurrentPrincipal, StepUpRequired
from gatehouse.shared.step_up import StepUpProof

identities_router = APIRouter(prefix="/api/v1/me/identities", tags=["me"], route_class=JsonRoute)

Provider = Annotated[str, Path(min_length=1, max_length=64, description="the provider's name")]


@identities_router.get(
    "",
    operation_id="me_identities_list",
    summary="The social accounts linked to the signed-in user, newest first",
    responses=problems(401, 422, 503),
)
@inject
async def list_identities(
    principal: CurrentPrincipal,
    before: Before,
    limit: Limit = 20,
    handler: ListIdentitiesHandler = Provide["accounts.list_identities"],
) -> IdentityPageOut:
    page = await handler(ListIdentities(principal.user_id, limit=limit, before=before))
    return IdentityPageOut(
        items=[IdentityOut.of(view) for view in page.items],
        next_cursor=next_cursor(page.next_before),
    )


@identities_router.delete(
    "/{provider}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="me_identities_unlink",
    summary="Unlink a social account, proving the password or an MFA code",
    responses=problems(401, 403, 404, 409, 413, 415, 422, 429, 503),
)
@inject
async def unlink_identity(
    provider: Provider,
    *,
    step_up: StepUpRequired,
    client: Client,
    locale: RequestLocale,
    body: UnlinkIdentityIn | None = None,
    handler: UnlinkIdentityHandler = Provide["accounts.unlink_identity"],
) -> None:
    """``{password}`` or ``{code}``. 404 ``identity_not_found`` when no identity of that
    provider is linked; 409 ``last_sign_in_method`` when it is the account's only way left to
    sign in (no password, no other identity), decided before the proof is checked, so such an
    account gets 409 whatever it sends. Then a wrong or missing password or code is 403
    ``reauth_failed``. The account's address gets a notice."""
    proof = body or UnlinkIdentityIn()

    async def prove() -> StepUpProof:
        return await step_up(password=proof.password, code=proof.code)

    requester = Requester(ip=client.ip, user_agent=client.user_agent, locale=locale)
    await handler(UnlinkIdentity(step_up.principal.user_id, provider, prove, requester))
