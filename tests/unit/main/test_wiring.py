"""create_app refuses to start when a route asks the container for an id it does not have."""

from __future__ import annotations

import types
from typing import Annotated

import pytest
from dependency_injector import containers, providers
from fastapi import Depends

from gatehouse.main.container import UnresolvedProvider, check_wiring
from gatehouse.shared.http.di import Provide


class Accounts(containers.DeclarativeContainer):
    register_user = providers.Object("handler")


class Root(containers.DeclarativeContainer):
    accounts = providers.Container(Accounts)
    step_up = providers.Object("gate")


def _routes(provider_id: str) -> types.ModuleType:
    module = types.ModuleType("example_routes")

    async def as_default(handler: str = Depends(Provide[provider_id])) -> str:
        return handler

    async def as_annotated(handler: Annotated[str, Depends(Provide[provider_id])]) -> str:
        return handler

    module.as_default = as_default  # type: ignore[attr-defined]
    module.as_annotated = as_annotated  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize("provider_id", ["accounts.register_user", "step_up"])
def test_ids_that_resolve_pass(provider_id: str) -> None:
    check_wiring(Root(), [_routes(provider_id)])


@pytest.mark.parametrize("provider_id", ["accounts.register", "nowhere", "step_up.x.y"])
def test_an_id_that_does_not_resolve_is_named(provider_id: str) -> None:
    with pytest.raises(UnresolvedProvider, match=rf'Provide\["{provider_id}"\] in example_routes'):
        check_wiring(Root(), [_routes(provider_id)])
