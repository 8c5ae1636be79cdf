"""Gatehouse's Kubernetes Secrets, generated once, straight into the cluster (never into git).

    # once: the pepper, the refresh-token key, the MFA key and the first signing key
    .venv/bin/python deploy/kubernetes/generate_secrets.py new | kubectl create -f -

    # a signing-key rotation: adds a key, drops the ones no valid token can need
    kubectl -n gatehouse get secret gatehouse-signing-keys -o json \\
      | .venv/bin/python deploy/kubernetes/generate_secrets.py rotate-signing-key \\
      | kubectl replace -f -

``new`` prints a list of two Secrets, ``gatehouse-secrets`` (environment variables) and
``gatehouse-signing-keys`` (Ed25519 PEM files, mounted on /keys); ``kubectl create`` refuses to
overwrite either, so a second run cannot replace the pepper by accident. The values are the ones
docs/configuration.md generates for ``.env``, and the key is written by Gatehouse's own
``generate_key``, as ``gatehouse keys rotate`` does. ``rotate-signing-key`` keeps the Secret's
``resourceVersion``, so ``kubectl replace`` refuses if someone changed it meanwhile. The output is
JSON, which kubectl reads as YAML; it is never printed to a terminal.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import generate_key, read_keys, retire_keys

SECRETS = "gatehouse-secrets"
SIGNING_KEYS = "gatehouse-signing-keys"
LABELS = {"app.kubernetes.io/name": "gatehouse", "app.kubernetes.io/part-of": "gatehouse"}


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _random() -> str:
    """As docs/configuration.md makes them: 64 URL-safe characters, no ``$``."""
    return secrets.token_urlsafe(48)


def _secret(name: str, namespace: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": LABELS},
        "data": {key: _b64(value) for key, value in sorted(data.items())},
    }


def _pem_files(directory: Path) -> dict[str, bytes]:
    return {key.path.name: key.path.read_bytes() for key in read_keys(directory)}


def new(namespace: str) -> dict[str, Any]:
    environment = {
        "GATEHOUSE_PASSWORD_PEPPERS": f"1:{_random()}".encode(),
        "GATEHOUSE_REFRESH_TOKEN_KEY": _random().encode(),
        "GATEHOUSE_MFA_ENCRYPTION_KEYS": f"1:{_random()}".encode(),
    }
    with tempfile.TemporaryDirectory() as scratch:
        keys = Path(scratch)
        generate_key(keys)
        signing = _pem_files(keys)
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            _secret(SECRETS, namespace, environment),
            _secret(SIGNING_KEYS, namespace, signing),
        ],
    }


def rotate(current: dict[str, Any], settings: Settings, now: datetime) -> dict[str, Any]:
    """The Secret with a new key added and the retirable ones dropped; says which on stderr."""
    if current.get("kind") != "Secret" or current["metadata"]["name"] != SIGNING_KEYS:
        msg = f"expected the Secret {SIGNING_KEYS} on standard input (kubectl get ... -o json)"
        raise SystemExit(msg)
    data: dict[str, str] = dict(current.get("data") or {})
    policy = settings.key_rotation
    with tempfile.TemporaryDirectory() as scratch:
        keys = Path(scratch)
        for name in [name for name in data if name.endswith(".pem")]:
            (keys / name).write_bytes(base64.b64decode(data.pop(name)))
            (keys / name).chmod(0o600)
        added = generate_key(keys, now)
        retired = retire_keys(keys, policy, now)
        active = policy.active(read_keys(keys), now)
        data.update({name: _b64(pem) for name, pem in _pem_files(keys).items()})
    when = "now" if active.path == added else f"{now + policy.activation_delay:%H:%M:%S} UTC"
    print(f"new signing key {added.name}: it signs from {when}", file=sys.stderr)
    for path in retired:
        print(f"dropped {path.name}: every token it signed has expired", file=sys.stderr)
    metadata = {
        key: current["metadata"][key]
        for key in ("name", "namespace", "labels", "annotations", "resourceVersion")
        if key in current["metadata"]
    }
    return {**current, "metadata": metadata, "data": dict(sorted(data.items()))}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("new", help="the Secrets, once: pipe to `kubectl create -f -`")
    made.add_argument("--namespace", default="gatehouse")
    turn = sub.add_parser("rotate-signing-key", help="read the keys' Secret (JSON) on stdin")
    # As in deploy/kubernetes/configmap.yaml: they decide when a key signs and when it retires.
    turn.add_argument("--keys-reload-seconds", type=int, default=120)
    turn.add_argument("--access-token-ttl-seconds", type=int, default=900)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if sys.stdout.isatty():
        parser.error("this prints secrets: pipe it to kubectl (see --help)")
    if args.command == "new":
        output = new(args.namespace)
    else:
        settings = Settings(
            _env_file=None,
            keys_reload_seconds=args.keys_reload_seconds,
            access_token_ttl_seconds=args.access_token_ttl_seconds,
        )
        output = rotate(json.load(sys.stdin), settings, datetime.now(UTC))
    json.dump(output, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
