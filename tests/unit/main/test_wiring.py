"""create_app refuses to start when a route asks the container for an id it does not have."""

from __future__ import annotations

import types

import pytest
from dependency_injector import containers, providers

from gatehouse.main.container import UnresolvedProvider, check_wiring


class Accounts(containers.DeclarativeContainer):
    register_user = providers.Object("handler")


class Root(containers.DeclarativeContainer):
    accounts = providers.Container(Accounts)
    step_up = providers.Object("gate")


def _routes(provider_id: str, *, annotated: bool) -> types.ModuleType:
    """A router module, as the app's are written (postponed annotations included)."""
    parameter = (
        f'handler: Annotated[str, Depends(Provide["{provider_id}"])]'
        if annotated
        else f'handler: str = Depends(Provide["{provider_id}"])'
    )
    source = (
        "from __future__ import annotations\n"
        "from typing import Annotated\n"
        "from fastapi import Depends\n"
        "from gatehouse.shared.http.di import Provide\n"
        f"async def route({parameter}) -> str:\n"
        "    return handler\n"
    )
    module = types.ModuleType("example_routes")
    exec(source, module.__dict__)
    return module


@pytest.mark.parametrize("annotated", [False, True])
@pytest.mark.parametrize("provider_id", ["accounts.register_user", "step_up"])
def test_ids_that_resolve_pass(provider_id: str, annotated: bool) -> None:
    check_wiring(Root(), [_routes(provider_id, annotated=annotated)])


@pytest.mark.parametrize("annotated", [False, True])
@pytest.mark.parametrize("provider_id", ["accounts.register", "nowhere", "step_up.x.y"])
def test_an_id_that_does_not_resolve_is_named(provider_id: str, annotated: bool) -> None:
    with pytest.raises(
        UnresolvedProvider, match=rf'Provide\["{provider_id}"\] in example_routes.route'
    ):
        check_wiring(Root(), [_routes(provider_id, annotated=annotated)])
