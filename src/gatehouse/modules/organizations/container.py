"""Wiring of the organizations module: its inputs are declared, main provides them (see its
``Module`` record in ``gatehouse/main/modules.py``). It exports ``subscriptions`` (its handler of
accounts' ``AccountDeleted``) and ``MAIL_TEMPLATES``, its mails' templates directory, which
main registers into notifications; no module depends on organizations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from gatehouse.modules.organizations.adapters.events import organizations_subscriptions
from gatehouse.modules.organizations.adapters.repositories import (
    SqlAlchemyOrganizationsUnitOfWork,
)
from gatehouse.modules.organizations.application.invitations import (
    AcceptInvitationHandler,
    InviteMemberHandler,
)
from gatehouse.modules.organizations.application.organizations import (
    CreateOrganizationHandler,
    ListMembersHandler,
    ListMyOrganizationsHandler,
    ListOrganizationsHandler,
    RemoveMemberHandler,
)

# <locale>/organization_invitation.{subject,txt,html}, rendered by notifications.
MAIL_TEMPLATES = Path(__file__).parent / "templates"


class OrganizationsContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    session_factory: providers.Dependency[Any] = providers.Dependency()
    events: providers.Dependency[Any] = providers.Dependency()  # EventHandlers, from main
    accounts: providers.Dependency[Any] = providers.Dependency()  # accounts' AccountDirectory
    accept_url: providers.Dependency[str] = providers.Dependency(instance_of=str)

    subscriptions = providers.Singleton(organizations_subscriptions)
    uow = providers.Factory(SqlAlchemyOrganizationsUnitOfWork, session_factory, events)

    create = providers.Singleton(CreateOrganizationHandler, uow=uow.provider, clock=clock)
    list_mine = providers.Singleton(ListMyOrganizationsHandler, uow=uow.provider)
    list_members = providers.Singleton(ListMembersHandler, uow=uow.provider, accounts=accounts)
    remove_member = providers.Singleton(RemoveMemberHandler, uow=uow.provider)
    invite = providers.Singleton(
        InviteMemberHandler,
        uow=uow.provider,
        accounts=accounts,
        clock=clock,
        accept_url=accept_url,
    )
    accept = providers.Singleton(
        AcceptInvitationHandler, uow=uow.provider, accounts=accounts, clock=clock
    )
    list_all = providers.Singleton(ListOrganizationsHandler, uow=uow.provider)
