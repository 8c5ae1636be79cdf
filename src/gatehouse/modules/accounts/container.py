"""Wiring of the accounts module: its inputs are declared, main provides them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from dependency_injector import containers, providers

from gatehouse.modules.accounts.adapters.common_passwords import load_common_passwords
from gatehouse.modules.accounts.adapters.password_hasher import BcryptPasswordHasher
from gatehouse.modules.accounts.adapters.repositories import (
    SqlAlchemyAccountsUnitOfWork,
    SqlAlchemyMfaSummaryRecorder,
)
from gatehouse.modules.accounts.adapters.views import AsyncpgUserViews
from gatehouse.modules.accounts.application.admin import CreateAdminHandler
from gatehouse.modules.accounts.application.delete_account import DeleteAccountHandler
from gatehouse.modules.accounts.application.directory import AccountsDirectory
from gatehouse.modules.accounts.application.email_change import (
    ConfirmEmailChangeHandler,
    RequestEmailChangeHandler,
)
from gatehouse.modules.accounts.application.mail_requests import (
    AccountMailResolver,
    RequestMailHandler,
)
from gatehouse.modules.accounts.application.mails import LinkSettings
from gatehouse.modules.accounts.application.password_change import ChangePasswordHandler
from gatehouse.modules.accounts.application.password_reset import ResetPasswordHandler
from gatehouse.modules.accounts.application.profile import GetProfileHandler, UpdateProfileHandler
from gatehouse.modules.accounts.application.register import RegisterUserHandler
from gatehouse.modules.accounts.application.verify_email import VerifyEmailHandler
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy


class AccountsContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    session_factory: providers.Dependency[Any] = providers.Dependency()
    read_pool: providers.Dependency[Any] = providers.Dependency()
    outbox_factory: providers.Dependency[Any] = providers.Dependency()
    audit_factory: providers.Dependency[Any] = providers.Dependency()
    sessions_factory: providers.Dependency[Any] = providers.Dependency()  # auth's terminator
    session_denylist: providers.Dependency[Any] = providers.Dependency()  # auth's denylist
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

    hasher = providers.Singleton(
        BcryptPasswordHasher,
        peppers,
        rounds=bcrypt_rounds,
        concurrency=hash_concurrency,
        queue_limit=hash_queue_limit,
    )
    policy = providers.Singleton(PasswordPolicy, providers.Callable(load_common_passwords))
    uow = providers.Factory(
        SqlAlchemyAccountsUnitOfWork,
        session_factory=session_factory,
        outbox_factory=outbox_factory,
        audit_factory=audit_factory,
        sessions_factory=sessions_factory,
    )
    views = providers.Singleton(AsyncpgUserViews, read_pool)
    # For auth: keeps the account's MFA summary current, in auth's transaction.
    mfa_summary_factory = providers.Factory(SqlAlchemyMfaSummaryRecorder).provider
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
    # Changing and resetting the password are built from the same parts (PasswordHandler).
    _password_parts: ClassVar[dict[str, Any]] = {
        "uow": uow.provider,
        "hasher": hasher,
        "policy": policy,
        "denylist": session_denylist,
        "clock": clock,
        "links": links,
    }
    change_password = providers.Singleton(ChangePasswordHandler, **_password_parts)
    request_email_change = providers.Singleton(
        RequestEmailChangeHandler,
        uow=uow.provider,
        caps=mail_caps,
        clock=clock,
        links=links,
    )
    confirm_email_change = providers.Singleton(
        ConfirmEmailChangeHandler, uow=uow.provider, clock=clock, links=links
    )
    delete_account = providers.Singleton(
        DeleteAccountHandler, uow=uow.provider, denylist=session_denylist
    )
    reset_password = providers.Singleton(ResetPasswordHandler, **_password_parts)

    register_user = providers.Singleton(
        RegisterUserHandler,
        uow=uow.provider,
        hasher=hasher,
        policy=policy,
        clock=clock,
        links=links,
    )
    verify_email = providers.Singleton(VerifyEmailHandler, uow=uow.provider, clock=clock)
    get_profile = providers.Singleton(GetProfileHandler, views)
    update_profile = providers.Singleton(
        UpdateProfileHandler, uow=uow.provider, clock=clock, locales=locales
    )
    directory = providers.Singleton(
        AccountsDirectory,
        uow=uow.provider,
        hasher=hasher,
        clock=clock,
        require_verified_email=require_verified_email,
    )
    create_admin = providers.Singleton(
        CreateAdminHandler, uow=uow.provider, hasher=hasher, policy=policy, clock=clock
    )
