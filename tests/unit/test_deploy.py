"""The Kubernetes manifests and compose.yaml say only what Gatehouse understands, and the
secrets deploy/kubernetes/generate_secrets.py makes are ones a production process accepts.

The schemas themselves are checked by `make validate-deploy` (.ci/validate_deploy.py); these
tests check what no schema knows: setting names (an unknown GATEHOUSE_ variable is silently
ignored), commands, probe paths, and that the generated secrets and keys load.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate.utils import validate

from gatehouse.main.cli import build_parser
from gatehouse.main.http import health
from gatehouse.main.secrets import load_mfa_keys, load_peppers, load_refresh_token_key
from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import generate_key, load_key_ring, read_keys

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "deploy" / "kubernetes"
GENERATE = MANIFESTS / "generate_secrets.py"
VALIDATE = REPO / ".ci" / "validate_deploy.py"
# Written by the operator (docs/deployment.md), not generated: connection URLs with passwords.
CONNECTIONS = ("GATEHOUSE_DATABASE_URL", "GATEHOUSE_REDIS_URL", "GATEHOUSE_SMTP_URL")


def resources() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    return [
        resource
        for name in kustomization["resources"]
        for resource in yaml.safe_load_all((MANIFESTS / name).read_text())
    ]


def containers() -> list[dict[str, Any]]:
    return [
        container
        for resource in resources()
        if resource["kind"] in {"Deployment", "Job"}
        for container in resource["spec"]["template"]["spec"]["containers"]
    ]


def configmap() -> dict[str, str]:
    (found,) = [r for r in resources() if r["kind"] == "ConfigMap"]
    data: dict[str, str] = found["data"]
    return data


def run(*args: str, stdin: str | None = None) -> Any:
    result = subprocess.run(
        [sys.executable, str(GENERATE), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def decoded(secret: dict[str, Any]) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def variable_names() -> set[str]:
    names = set(configmap())
    for container in containers():
        for variable in container.get("env", []):
            names.add(variable["name"])
            if ref := variable.get("valueFrom", {}).get("secretKeyRef"):
                names.add(ref["key"])
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    names.update(compose["x-app"]["environment"])
    return names


def test_every_gatehouse_variable_deployed_is_a_setting() -> None:
    secrets = decoded(run("new")["items"][0])
    names = variable_names() | set(secrets) | set(CONNECTIONS)
    unknown = {
        name
        for name in names
        if name.startswith("GATEHOUSE_")
        and name.removeprefix("GATEHOUSE_").lower() not in Settings.model_fields
    }
    assert len(names) > 15
    assert not unknown


def test_containers_run_real_commands_and_probe_real_routes() -> None:
    routes = {route.path for route in health.router.routes}  # type: ignore[attr-defined]
    commands = set()
    for container in containers():
        program, *args = container["command"]
        assert program == "gatehouse"
        build_parser().parse_args(args)  # exits (SystemExit) on an unknown command
        commands.add(args[0])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["path"] in routes
    assert commands == {"serve", "worker", "migrate"}


def test_generated_secrets_load_in_production_and_differ_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = run("new")["items"], run("new")["items"]
    for secret in first:  # what `kubectl create -f -` receives is a valid Secret
        validate(secret, "1.35.0", strict=True)
    for key, value in decoded(first[0]).items():
        monkeypatch.setenv(key, value.decode())
    settings = Settings(_env_file=None, env="production")
    assert len(load_peppers(settings)[1]) >= 32
    assert len(load_refresh_token_key(settings)) >= 32
    assert len(load_mfa_keys(settings)[1]) >= 32
    assert decoded(second[0]) != decoded(first[0])
    for name, pem in decoded(first[1]).items():
        (tmp_path / name).write_bytes(pem)
    ring = load_key_ring(
        tmp_path, create_if_missing=False, policy=settings.key_rotation, now=datetime.now(UTC)
    )
    assert len(ring.keys) == 1


def test_the_configmap_loads_as_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in configmap().items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.env == "production"
    assert not settings.dispatch_in_serve
    assert settings.trusted_proxies == ()


def test_rotation_adds_a_key_and_drops_only_the_retirable_one(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = generate_key(tmp_path, now - timedelta(days=2))
    current = generate_key(tmp_path, now - timedelta(days=1))
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "gatehouse-signing-keys", "namespace": "ns", "resourceVersion": "7"},
        "data": {
            path.name: base64.b64encode(path.read_bytes()).decode() for path in (old, current)
        },
    }
    rotated = run("rotate-signing-key", stdin=json.dumps(secret))
    assert rotated["metadata"] == secret["metadata"]  # kubectl replace checks resourceVersion
    names = sorted(rotated["data"])
    assert old.name not in names
    assert current.name in names
    assert len(names) == 2
    keys = tmp_path / "after"
    keys.mkdir()
    for name, pem in decoded(rotated).items():
        (keys / name).write_bytes(pem)
    assert {key.path.name for key in read_keys(keys)} == set(names)


def test_rotation_defaults_match_the_configmap() -> None:
    spec = importlib.util.spec_from_file_location("generate_secrets", GENERATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (rotate,) = [
        action.choices["rotate-signing-key"]
        for action in module.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    defaults = {
        "GATEHOUSE_KEYS_RELOAD_SECONDS": rotate.get_default("keys_reload_seconds"),
        "GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS": rotate.get_default("access_token_ttl_seconds"),
    }
    assert {key: str(value) for key, value in defaults.items()} == {
        key: configmap()[key] for key in defaults
    }


def test_the_validator_rejects_an_unknown_field_and_an_unlisted_manifest(tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(MANIFESTS, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))

    def validate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(VALIDATE), str(copy)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert validate().returncode == 0
    deployment = copy / "api-deployment.yaml"
    deployment.write_text(deployment.read_text().replace("readinessProbe:", "readynessProbe:"))
    broken = validate()
    assert broken.returncode == 1
    assert "readynessProbe" in broken.stderr
    deployment.write_text(deployment.read_text().replace("readynessProbe:", "readinessProbe:"))
    (copy / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    unlisted = validate()
    assert unlisted.returncode != 0
    assert "extra.yaml" in unlisted.stderr
