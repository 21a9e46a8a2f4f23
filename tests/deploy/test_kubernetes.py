"""deploy/k8s, checked offline: the overlays rendered by kustomize (`kubectl kustomize`), every
object validated against the Kubernetes schemas bundled by kubernetes-validate (strict: unknown
fields are errors), and the manifests agree with the code (entrypoint roles, Celery queues,
settings, probes on the any-Host health paths)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy import kustomize
from tests.deploy.conftest import DEPLOY, READ_BY_LIBRARIES, entrypoint_roles, settings_env_names

K8S = DEPLOY / "k8s"
KUBECTL = shutil.which("kubectl")
KUBERNETES_VERSION = "1.32"
SECRET = "whatsapp-saas-secrets"
WORKERS = {
    "worker-inbound": "inbound",
    "worker-outbound": "outbound",
    "worker-media": "media",
    "worker-campaigns": "campaigns",
    "worker-default": "celery",
}


def kubectl_render(overlay: str) -> list[dict]:
    """The objects kustomize (built into kubectl) renders from deploy/k8s/overlays/<overlay>."""
    result = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render(overlay: str) -> list[dict]:
    """kustomize's build of the overlay: kubectl's where it is installed, else ours (whose
    agreement with kubectl's is tested below wherever kubectl exists)."""
    if KUBECTL:
        return kubectl_render(overlay)
    return kustomize.build(K8S / "overlays" / overlay)


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return render("production")


def test_every_object_is_valid_for_kubernetes(production) -> None:
    assert len(production) > 15
    for obj in production:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validator_is_not_vacuous(production) -> None:
    web = by_kind(production, "Deployment")["web"]
    broken = yaml.safe_load(yaml.safe_dump(web))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_a_deployment_per_process_kind_in_one_namespace(production) -> None:
    deployments = by_kind(production, "Deployment")
    assert set(deployments) == {"web", "webhook-worker", "beat", *WORKERS}
    assert {o["metadata"].get("namespace") for o in production if o["kind"] != "Namespace"} == {
        "whatsapp-saas"
    }
    roles = entrypoint_roles()
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][0] in roles, name
        assert container["image"] == "registry.example.com/whatsapp-saas:1.0.0", name
    beat = deployments["beat"]["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"]["type"] == "Recreate"
    job = by_kind(production, "Job")["migrate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["migrate"]
    assert job["restartPolicy"] == "Never"


def test_workers_consume_every_declared_queue_once(production, declared_queues) -> None:
    deployments = by_kind(production, "Deployment")
    consumed = {}
    for name, queue in WORKERS.items():
        args = deployments[name]["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[:2] == ["worker", queue], name
        consumed[queue] = name
    assert set(consumed) == declared_queues


def test_pods_are_hardened_and_bounded(production, settings) -> None:
    pods = {
        name: obj["spec"]["template"]["spec"]
        for kind in ("Deployment", "Job")
        for name, obj in by_kind(production, kind).items()
    }
    for name, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        assert {"secretRef": {"name": SECRET}} in container["envFrom"], name
        tmp = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 (the pod's own emptyDir)
        assert container["volumeMounts"] == [tmp], name
    for name in WORKERS:
        grace = pods[name]["terminationGracePeriodSeconds"]
        assert grace > settings.CELERY_TASK_TIME_LIMIT, name


def test_web_probes_and_graceful_stop(production) -> None:
    from saas_platform import gunicorn_conf

    pod = by_kind(production, "Deployment")["web"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] in {"/healthz", "/readyz"}, probe
        assert container[probe]["httpGet"]["port"] == "http", probe
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + gunicorn_conf.graceful_timeout


def test_service_ingress_hpa_and_budgets_point_at_real_objects(production) -> None:
    deployments = by_kind(production, "Deployment")
    service = by_kind(production, "Service")["web"]
    web_labels = deployments["web"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= web_labels.items()
    ingress = by_kind(production, "Ingress")["web"]["spec"]
    assert [rule["host"] for rule in ingress["rules"]] == ["wa.example.net", "*.wa.example.net"]
    for rule in ingress["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend["name"] == "web"
        assert backend["port"]["name"] == service["spec"]["ports"][0]["name"]
    hpa = by_kind(production, "HorizontalPodAutoscaler")["web"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "web"
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    budgets = by_kind(production, "PodDisruptionBudget")
    assert "beat" not in budgets  # one replica: a budget would block every node drain
    for name, budget in budgets.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items(), name


def test_the_configmap_holds_only_settings_the_code_reads(production) -> None:
    config = by_kind(production, "ConfigMap")["whatsapp-saas-config"]["data"]
    assert set(config) <= settings_env_names() | READ_BY_LIBRARIES
    assert config["DJANGO_SETTINGS_MODULE"] == "saas_platform.settings.production"
    assert config["BASE_DOMAIN"] == "wa.example.net"


def test_keda_overlay_scales_each_worker_on_its_own_queue() -> None:
    objects = render("production-keda")
    scaled = by_kind(objects, "ScaledObject")
    deployments = by_kind(objects, "Deployment")
    assert set(scaled) == set(WORKERS)
    for name, obj in scaled.items():
        assert obj["metadata"]["namespace"] == "whatsapp-saas"
        assert obj["spec"]["scaleTargetRef"]["name"] in deployments
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["listName"] == WORKERS[name]
    for obj in objects:
        if obj["kind"] != "ScaledObject":  # a CRD: not in the Kubernetes schemas
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_manifest_file_is_used() -> None:
    """A YAML file under deploy/k8s that no kustomization lists would silently not apply."""
    listed: set[Path] = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text())
        for entry in [*spec.get("resources", []), *spec.get("components", [])]:
            listed.add((kustomization.parent / entry).resolve())
        for patch in spec.get("patches", []):
            if "path" in patch:
                listed.add((kustomization.parent / patch["path"]).resolve())
    for manifest in K8S.rglob("*.yaml"):
        if manifest.name != "kustomization.yaml":
            assert manifest.resolve() in listed, manifest


@pytest.mark.parametrize("overlay", ["production", "production-keda"])
def test_our_renderer_builds_what_kustomize_builds(overlay: str) -> None:
    if not KUBECTL:
        pytest.skip("kubectl is not installed: nothing to compare tests/deploy/kustomize.py with")
    key = lambda obj: (obj["kind"], obj["metadata"]["name"])  # noqa: E731
    ours = sorted(kustomize.build(K8S / "overlays" / overlay), key=key)
    theirs = sorted(kubectl_render(overlay), key=key)
    assert [key(o) for o in ours] == [key(o) for o in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine == reference, key(mine)
