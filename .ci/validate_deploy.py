"""Validate the Kubernetes manifests under deploy/kubernetes offline, as kubectl would apply them.

Reads the kustomization, applies the two things it does (the namespace, the image name and
tag), and validates every resource against the bundled schemas of one pinned Kubernetes
version with ``kubernetes-validate`` in strict mode (an unknown field is an error). Also fails
when a manifest in the directory is not listed in the kustomization, or the kustomization uses
a feature this check does not apply. Where kubectl is installed (GitHub's runners have it), its
own kustomize renders the directory too, and any difference from this rendering fails.

    python .ci/validate_deploy.py [--kubernetes-version 1.35.0] [deploy/kubernetes]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, validate

# What this check applies; anything else in a kustomization would go unvalidated.
SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "images"}
KUSTOMIZATION = "kustomization.yaml"


def _image(image: str, rules: list[dict[str, str]]) -> str:
    name, _, tag = image.partition(":")
    for rule in rules:
        if rule["name"] == name:
            name = rule.get("newName", name)
            if "digest" in rule:
                return f"{name}@{rule['digest']}"
            return f"{name}:{rule.get('newTag', tag or 'latest')}"
    return image


def _pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    spec = resource.get("spec", {})
    if resource["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        pod: dict[str, Any] = spec["template"]["spec"]
        return pod
    return None


def render(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every resource the kustomization lists, with its namespace and images set."""
    kustomization = yaml.safe_load((directory / KUSTOMIZATION).read_text())
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        msg = f"{KUSTOMIZATION} uses {sorted(unsupported)}: teach {__file__} to apply them"
        raise SystemExit(msg)
    listed = [directory / name for name in kustomization["resources"]]
    on_disk = {path for path in directory.glob("*.yaml") if path.name != KUSTOMIZATION}
    if missing := on_disk - set(listed):
        msg = f"not in {KUSTOMIZATION}: {sorted(path.name for path in missing)}"
        raise SystemExit(msg)
    for path in listed:
        for resource in yaml.safe_load_all(path.read_text()):
            if "namespace" in kustomization:
                resource["metadata"]["namespace"] = kustomization["namespace"]
            pod = _pod_spec(resource)
            for container in (pod or {}).get("containers", []):
                container["image"] = _image(container["image"], kustomization.get("images", []))
            yield path, resource


def differences(directory: Path, rendered: list[dict[str, Any]]) -> list[str] | None:
    """What `kubectl kustomize` renders differently from ``rendered``; None without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    output = subprocess.run(  # noqa: S603 - kubectl's offline renderer on our own directory
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True
    ).stdout

    def keyed(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {f"{r['kind']}/{r['metadata']['name']}": r for r in resources}

    ours, theirs = keyed(rendered), keyed(list(yaml.safe_load_all(output)))
    return sorted(key for key in ours.keys() | theirs.keys() if ours.get(key) != theirs.get(key))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=Path("deploy/kubernetes"))
    parser.add_argument("--kubernetes-version", default="1.35.0")
    args = parser.parse_args()
    failures = count = 0
    rendered = list(render(args.directory))
    differ = differences(args.directory, [resource for _, resource in rendered])
    if differ:
        print(f"INVALID: `kubectl kustomize` renders these differently: {differ}", file=sys.stderr)
        failures += 1
    for path, resource in rendered:
        count += 1
        name = f"{path.name}: {resource['kind']}/{resource['metadata']['name']}"
        try:
            validate(resource, args.kubernetes_version, strict=True)
        except (ValidationError, SchemaNotFoundError) as error:
            failures += 1
            print(f"INVALID {name}: {error}", file=sys.stderr)
    if differ is None:
        compared = "not compared with kubectl's (no kubectl here)"
    else:
        compared = "different from" if differ else "the same as"
        compared += " `kubectl kustomize`'s"
    print(
        f"{count} resources in {args.directory}: {failures} invalid (Kubernetes "
        f"{args.kubernetes_version} schemas, strict); the rendering is {compared}"
    )
    return 1 if failures or not count else 0


if __name__ == "__main__":
    raise SystemExit(main())
