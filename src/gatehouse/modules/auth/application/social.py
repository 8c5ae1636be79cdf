"""Social login: the OpenID Connect authorization code flow with PKCE, for a browser.

1. ``BeginSocialSignIn`` (``GET /oauth/{provider}/authorize``, or ``POST /me/identities/
   {provider}`` to link): a fresh ``state``, ``nonce`` and PKCE verifier kept server-side for
   ten minutes with ``redirect_to`` (exactly on the allow-list) and a hash of the browser's
   binding cookie; the browser goes to the provider.
2. ``FinishSocialSignIn`` (``GET /oauth/{provider}/callback``): the state is taken once and
   must come back to the browser that started it (else ``state_invalid``, never a redirect);
   the provider's code is exchanged with the verifier and its ID token verified (the
   ``IdentityProvider`` port); accounts decides which account that identity signs in to (or
   links it to the signed-in user). The browser goes back to ``redirect_to`` with a one-time
   login code (``?code=``) or an error (``?error=``), never a token.
3. ``ExchangeLoginCode`` (``POST /oauth/exchange``): the code, once and within 60 s, for a
   token pair, or the MFA step when the account has a second factor.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountExists,
    ExternalIdentities,
    IdentityEmailUnverified,
    Requester,
    SignInRefused,
)
from gatehouse.modules.auth.application.ports import (
    AuthorizationRequest,
    AuthUnitOfWork,
    IdentityProviders,
    LoginGrant,
    PendingSignIn,
    SocialSignInStore,
)
from gatehouse.modules.auth.application.signing_in import (
    FEDERATED_AMR,
    MfaRequired,
    SessionStart,
    SignInCompletion,
    TokenPair,
)
from gatehouse.modules.auth.domain.errors import (
    LoginCodeInvalid,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
    RedirectNotAllowed,
    StateInvalid,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.errors import GatehouseError

ATTEMPT_TTL_SECONDS = 600  # state, nonce and verifier: ten minutes
LOGIN_CODE_TTL_SECONDS = 60
MAX_STATE_LENGTH = 256  # ours are 43 characters; anything longer is not ours
MAX_BROWSER_TOKEN_LENGTH = 256


def browser_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_browser_token() -> str:
    """The value of the binding cookie: a browser keeps one for all its attempts."""
    return secrets.token_urlsafe(32)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SocialSettings:
    public_url: str  # GATEHOUSE_PUBLIC_URL
    redirect_urls: frozenset[str]  # GATEHOUSE_OAUTH_REDIRECT_URLS, compared exactly

    def callback_url(self, provider: str) -> str:
        """Our redirect URI, as registered at the provider."""
        return f"{self.public_url}/api/v1/auth/oauth/{provider}/callback"


@dataclass(frozen=True, slots=True)
class BeginSocialSignIn:
    provider: str
    redirect_to: str
    browser_token: str  # the binding cookie's value (a new one when the browser had none)
    link_user_id: uuid.UUID | None = None  # linking from settings: the signed-in user


class BeginSocialSignInHandler:
    def __init__(
        self,
        *,
        providers: IdentityProviders,
        store: SocialSignInStore,
        settings: SocialSettings,
    ) -> None:
        self._providers = providers
        self._store = store
        self._settings = settings

    async def __call__(self, cmd: BeginSocialSignIn) -> str:
        """The provider's authorization URL to send the browser to. Raises
        ``ProviderNotFound``, ``RedirectNotAllowed`` and ``ProviderUnavailable``."""
        provider = self._providers.get(cmd.provider)
        if provider is None:
            raise ProviderNotFound(f"no sign-in provider is named {cmd.provider!r}")
        if cmd.redirect_to not in self._settings.redirect_urls:
            raise RedirectNotAllowed(
                "redirect_to must be one of GATEHOUSE_OAUTH_REDIRECT_URLS, exactly"
            )
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters of the 43..128 allowed
        pending = PendingSignIn(
            provider=provider.name,
            nonce=secrets.token_urlsafe(32),
            code_verifier=verifier,
            redirect_to=cmd.redirect_to,
            browser=browser_hash(cmd.browser_token),
            link_user_id=cmd.link_user_id,
        )
        url = await provider.authorization_url(
            AuthorizationRequest(
                state=state,
                nonce=pending.nonce,
                code_challenge=_s256(verifier),
                redirect_uri=self._settings.callback_url(provider.name),
            )
        )
        await self._store.put_pending(state, pending, ATTEMPT_TTL_SECONDS)
        return url


@dataclass(frozen=True, slots=True)
class FinishSocialSignIn:
    provider: str
    state: str
    code: str | None  # the provider's authorization code
    error: str | None  # the provider's error (the user declined: ``access_denied``)
    issuer: str | None  # RFC 9207's ``iss``, when the provider sends it
    browser_token: str | None  # the binding cookie, as the browser sent it back
    requester: Requester


@dataclass(frozen=True, slots=True)
class CallbackRedirect:
    """Where the browser goes now: ``redirect_to`` with these query parameters."""

    redirect_to: str
    params: dict[str, str]


# What each refusal tells the client, in ``redirect_to?error=``.
_CALLBACK_ERRORS: tuple[tuple[type[GatehouseError], str], ...] = (
    (AccountExists, "account_exists"),
    (IdentityEmailUnverified, "email_not_verified"),
    (SignInRefused, "access_denied"),
    (ProviderRejected, "provider_error"),
    (ProviderUnavailable, "provider_error"),
)


class FinishSocialSignInHandler:
    def __init__(
        self,
        *,
        providers: IdentityProviders,
        store: SocialSignInStore,
        identities: ExternalIdentities,
        settings: SocialSettings,
    ) -> None:
        self._providers = providers
        self._store = store
        self._identities = identities
        self._settings = settings

    async def __call__(self, cmd: FinishSocialSignIn) -> CallbackRedirect:
        """Raises ``StateInvalid`` (and answers no redirect) unless the state is this
        browser's, for this provider, and not spent or expired; every later failure is a
        redirect with ``error`` and changes nothing."""
        pending = await self._take(cmd)
        try:
            params = await self._finish(cmd, pending)
        except GatehouseError as error:
            code = next((c for kind, c in _CALLBACK_ERRORS if isinstance(error, kind)), None)
            if code is None:
                raise
            params = {"error": code}
        return CallbackRedirect(pending.redirect_to, params)

    async def _take(self, cmd: FinishSocialSignIn) -> PendingSignIn:
        if not cmd.state or len(cmd.state) > MAX_STATE_LENGTH:
            raise StateInvalid
        pending = await self._store.take_pending(cmd.state)
        if pending is None or pending.provider != cmd.provider:
            raise StateInvalid
        token = cmd.browser_token
        if not token or len(token) > MAX_BROWSER_TOKEN_LENGTH:
            raise StateInvalid("the sign-in was started in another browser")
        if not secrets.compare_digest(browser_hash(token), pending.browser):
            raise StateInvalid("the sign-in was started in another browser")
        return pending

    async def _finish(self, cmd: FinishSocialSignIn, pending: PendingSignIn) -> dict[str, str]:
        if cmd.error is not None:
            return {"error": "access_denied" if cmd.error == "access_denied" else "provider_error"}
        provider = self._providers.get(pending.provider)
        if provider is None or not cmd.code:
            return {"error": "provider_error"}
        if cmd.issuer is not None and cmd.issuer != provider.issuer:
            return {"error": "provider_error"}  # a mix-up: the answer of another provider
        identity = await provider.identify(
            code=cmd.code,
            code_verifier=pending.code_verifier,
            redirect_uri=self._settings.callback_url(provider.name),
            nonce=pending.nonce,
        )
        if pending.link_user_id is not None:
            await self._identities.link(pending.link_user_id, identity, cmd.requester)
            return {"linked": provider.name}
        account = await self._identities.sign_in(identity, cmd.requester)
        code = secrets.token_urlsafe(32)  # 256 bits
        grant = LoginGrant(user_id=account.user_id, provider=provider.name)
        await self._store.put_grant(code, grant, LOGIN_CODE_TTL_SECONDS)
        return {"code": code}


@dataclass(frozen=True, slots=True)
class ExchangeLoginCode:
    code: str
    user_agent: str | None = None
    ip: str | None = None
    locale: str = "en"


class ExchangeLoginCodeHandler:
    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        store: SocialSignInStore,
        uow: Callable[[], AuthUnitOfWork],
        completion: SignInCompletion,
        clock: Clock,
    ) -> None:
        self._accounts = accounts
        self._store = store
        self._uow = uow
        self._completion = completion
        self._clock = clock

    async def __call__(self, cmd: ExchangeLoginCode) -> TokenPair | MfaRequired:
        """Raises ``LoginCodeInvalid`` for a code that is unknown, spent or expired, or whose
        account was disabled or deleted since."""
        if not cmd.code or len(cmd.code) > MAX_STATE_LENGTH:
            raise LoginCodeInvalid
        grant = await self._store.take_grant(cmd.code)
        if grant is None:
            raise LoginCodeInvalid
        account = await self._accounts.get(grant.user_id)
        if account is None or not account.is_active:
            raise LoginCodeInvalid
        start = SessionStart(
            amr=(FEDERATED_AMR,),
            method=f"social:{grant.provider}",
            user_agent=cmd.user_agent,
            ip=cmd.ip,
            locale=cmd.locale,
        )
        async with self._uow() as uow:
            return await self._completion(uow, account, start, self._clock.now())
