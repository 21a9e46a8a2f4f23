"""A small kustomize, enough for deploy/k8s: what `kubectl kustomize` builds from those files,
for machines without kubectl. test_kubernetes.py renders with kubectl when it is on PATH and
checks that this renderer builds the same objects.

Supported (and all deploy/k8s uses): `resources` (files and kustomization directories),
`components`, `namespace`, `labels` (metadata only, no selectors), `images`, `replicas`, and
`patches` in JSON 6902 form (from `path` or inline `patch`) with a `target` kind/name. Anything
else raises, so a kustomization that outgrows it fails loudly instead of rendering wrongly.
https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def build(directory: Path) -> list[dict[str, Any]]:
    """The objects the kustomization in `directory` renders."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text()) or {}
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise NotImplementedError(f"{directory}: unsupported kustomization fields {unknown}")
    objects: list[dict] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects += build(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for entry in spec.get("components", []):
        objects = _apply(directory / entry, objects)
    return _transform(directory, spec, objects)


def _apply(component: Path, objects: list[dict]) -> list[dict]:
    """A component: its resources join the parent's, then its transformers run on all."""
    spec = yaml.safe_load((component / "kustomization.yaml").read_text())
    assert spec.get("kind") == "Component", component
    added = [
        doc
        for entry in spec.get("resources", [])
        for doc in yaml.safe_load_all((component / entry).read_text())
        if doc
    ]
    return _transform(component, spec, objects + added)


def _transform(directory: Path, spec: dict, objects: list[dict]) -> list[dict]:
    objects = copy.deepcopy(objects)
    for patch in spec.get("patches", []):
        operations = yaml.safe_load(
            (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
        )
        if not isinstance(operations, list):
            raise NotImplementedError("only JSON 6902 patches are supported")
        target = patch["target"]
        for obj in objects:
            if all(obj.get(k) == v for k, v in target.items() if k == "kind") and (
                "name" not in target or obj["metadata"]["name"] == target["name"]
            ):
                for operation in operations:
                    _json_patch(obj, operation)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for label in spec.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise NotImplementedError("labels on selectors/templates are not supported")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
    for replica in spec.get("replicas", []):
        for obj in objects:
            if obj["kind"] == "Deployment" and obj["metadata"]["name"] == replica["name"]:
                obj["spec"]["replicas"] = replica["count"]
    for image in spec.get("images", []):
        for obj in objects:
            if obj["kind"] in POD_TEMPLATE_KINDS:
                for container in obj["spec"]["template"]["spec"]["containers"]:
                    name, _, tag = container["image"].partition(":")
                    if name == image["name"]:
                        tag = image.get("newTag", tag)
                        name = image.get("newName", name)
                        container["image"] = f"{name}:{tag}" if tag else name
    return objects


def _json_patch(document: dict, operation: dict) -> None:
    """One RFC 6902 operation (add, replace, remove) on `document`, in place."""
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
    ]
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    op = operation["op"]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op == "add":
            node.insert(index, operation["value"])
        elif op == "replace":
            node[index] = operation["value"]
        elif op == "remove":
            del node[index]
        else:
            raise NotImplementedError(op)
    elif op in ("add", "replace"):
        if op == "replace" and last not in node:
            raise KeyError(f"replace of missing {operation['path']}")
        node[last] = operation["value"]
    elif op == "remove":
        del node[last]
    else:
        raise NotImplementedError(op)
