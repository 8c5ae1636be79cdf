"""Wiring of the accounts module: its inputs are declared, main provides them.

Exports ``directory`` (auth signs users in through it), ``identities`` (``ExternalIdentities``:
auth's social login finds or links accounts through it), ``subscriptions`` (its handler of
auth's MFA summary, and the publisher of security events to webhooks) and ``mail_resolvers``
(registered into notifications' extension point).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from gatehouse.modules.accounts.adapters import imported_hashes
from gatehouse.modules.accounts.adapters.common_passwords import load_common_passwords
from gatehouse.modules.accounts.adapters.password_hasher import BcryptPasswordHasher
from gatehouse.modules.accounts.adapters.repositories import (
    SqlAlchemyAccountsUnitOfWork,
    accounts_subscriptions,
)
from gatehouse.modules.accounts.adapters.views import AsyncpgIdentityViews, AsyncpgUserViews
from gatehouse.modules.accounts.adapters.webhooks import webhook_subscriptions
from gatehouse.modules.accounts.application.admin import CreateAdminHandler
from gatehouse.modules.accounts.application.administration import UpdateUserHandler
from gatehouse.modules.accounts.application.delete_account import DeleteAccountHandler
from gatehouse.modules.accounts.application.directory import AccountsDirectory
from gatehouse.modules.accounts.application.email_change import (
    ConfirmEmailChangeHandler,
    RequestEmailChangeHandler,
)
from gatehouse.modules.accounts.application.identities import IdentityLinks
from gatehouse.modules.accounts.application.identity_settings import (
    ListIdentitiesHandler,
    UnlinkIdentityHandler,
)
from gatehouse.modules.accounts.application.import_users import ImportUsersHandler
from gatehouse.modules.accounts.application.lookup import FindUserHandler
from gatehouse.modules.accounts.application.mail_requests import (
    AccountMailResolver,
    MailRequestKind,
    RequestMailHandler,
)
from gatehouse.modules.accounts.application.mails import LinkSettings
from gatehouse.modules.accounts.application.password_change import ChangePasswordHandler
from gatehouse.modules.accounts.application.password_reset import (
    PasswordSetter,
    ResetPasswordHandler,
)
from gatehouse.modules.accounts.application.profile import GetProfileHandler, UpdateProfileHandler
from gatehouse.modules.accounts.application.register import RegisterUserHandler
from gatehouse.modules.accounts.application.user_list import ListUsersHandler
from gatehouse.modules.accounts.application.verify_email import VerifyEmailHandler
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.modules.notifications.application.public import WebhookSubscribers
from gatehouse.shared.messagebus import Subscription


def _subscriptions(webhooks: WebhookSubscribers) -> list[Subscription[Any]]:
    return [*accounts_subscriptions(), *webhook_subscriptions(webhooks)]


class AccountsContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    session_factory: providers.Dependency[Any] = providers.Dependency()
    read_pool: providers.Dependency[Any] = providers.Dependency()
    events: providers.Dependency[Any] = providers.Dependency()  # EventHandlers, from main
    mail_caps: providers.Dependency[Any] = providers.Dependency()  # notifications' MailCaps
    locales: providers.Dependency[Any] = providers.Dependency()  # those mails exist in
    reset_ttl_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    peppers: providers.Dependency[dict[int, bytes]] = providers.Dependency(instance_of=dict)
    bcrypt_rounds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    hash_concurrency: providers.Dependency[int] = providers.Dependency(instance_of=int)
    hash_queue_limit: providers.Dependency[int] = providers.Dependency(instance_of=int)
    public_url: providers.Dependency[str] = providers.Dependency(instance_of=str)
    verification_ttl_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    require_verified_email: providers.Dependency[bool] = providers.Dependency(instance_of=bool)
    # notifications' WebhookSubscribers: which security events to publish to webhooks.
    webhooks: providers.Dependency[Any] = providers.Dependency()

    subscriptions = providers.Singleton(_subscriptions, webhooks)
    hasher = providers.Singleton(
        BcryptPasswordHasher,
        peppers,
        rounds=bcrypt_rounds,
        concurrency=hash_concurrency,
        queue_limit=hash_queue_limit,
    )
    policy = providers.Singleton(PasswordPolicy, providers.Callable(load_common_passwords))
    uow = providers.Factory(SqlAlchemyAccountsUnitOfWork, session_factory, events)
    views = providers.Singleton(AsyncpgUserViews, read_pool)
    links = providers.Singleton(
        LinkSettings,
        public_url=public_url,
        verification_ttl=providers.Factory(timedelta, seconds=verification_ttl_seconds),
        reset_ttl=providers.Factory(timedelta, seconds=reset_ttl_seconds),
    )
    request_mail = providers.Singleton(RequestMailHandler, uow=uow.provider, caps=mail_caps)
    mail_resolver = providers.Singleton(
        AccountMailResolver, uow=uow.provider, clock=clock, links=links
    )
    # For notifications' extension point: the templates of accounts' mail requests.
    mail_request_templates = providers.Object(tuple(kind.value for kind in MailRequestKind))

    password_setter = providers.Singleton(PasswordSetter, hasher=hasher, policy=policy, links=links)
    change_password = providers.Singleton(
        ChangePasswordHandler, uow=uow.provider, setter=password_setter, clock=clock
    )
    reset_password = providers.Singleton(
        ResetPasswordHandler, uow=uow.provider, setter=password_setter, clock=clock
    )
    request_email_change = providers.Singleton(
        RequestEmailChangeHandler,
        uow=uow.provider,
        caps=mail_caps,
        clock=clock,
        links=links,
    )
    confirm_email_change = providers.Singleton(
        ConfirmEmailChangeHandler, uow=uow.provider, views=views, clock=clock, links=links
    )
    delete_account = providers.Singleton(DeleteAccountHandler, uow=uow.provider)

    register_user = providers.Singleton(
        RegisterUserHandler,
        uow=uow.provider,
        hasher=hasher,
        policy=policy,
        caps=mail_caps,
        clock=clock,
        links=links,
    )
    verify_email = providers.Singleton(
        VerifyEmailHandler, uow=uow.provider, views=views, clock=clock
    )
    get_profile = providers.Singleton(GetProfileHandler, views)
    update_profile = providers.Singleton(
        UpdateProfileHandler, uow=uow.provider, views=views, clock=clock, locales=locales
    )
    identity_views = providers.Singleton(AsyncpgIdentityViews, read_pool)
    directory = providers.Singleton(
        AccountsDirectory,
        uow=uow.provider,
        views=views,
        identity_views=identity_views,
        hasher=hasher,
        clock=clock,
        require_verified_email=require_verified_email,
    )
    # Social login: auth signs in and links through ``identities`` (ExternalIdentities).
    identities = providers.Singleton(IdentityLinks, uow=uow.provider, clock=clock, links=links)
    list_identities = providers.Singleton(ListIdentitiesHandler, identity_views)
    unlink_identity = providers.Singleton(
        UnlinkIdentityHandler, uow=uow.provider, clock=clock, links=links
    )
    update_user = providers.Singleton(UpdateUserHandler, uow=uow.provider, views=views, clock=clock)
    list_users = providers.Singleton(ListUsersHandler, views)
    create_admin = providers.Singleton(
        CreateAdminHandler, uow=uow.provider, hasher=hasher, policy=policy, clock=clock
    )
    # The operator's command line finds users by address (gatehouse users show|disable|...).
    find_user = providers.Singleton(FindUserHandler, uow=uow.provider, views=views)
    import_users = providers.Singleton(
        ImportUsersHandler,
        uow=uow.provider,
        hash_problem=providers.Object(imported_hashes.problem),
        clock=clock,
    )
