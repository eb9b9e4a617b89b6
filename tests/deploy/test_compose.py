"""docker-compose.yml without an engine: exposure, ports, settings names, start order, limits, volumes."""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from services.common.settings import CommonSettings
from services.explainer.settings import ExplainerSettings
from services.features.settings import FeaturesSettings
from services.gateway.settings import GatewaySettings
from services.monitoring.settings import MonitoringSettings
from services.scoring.settings import ScoringSettings
from services.training.settings import TrainingSettings
from tests.deploy.stack import COMPOSE, REPO, built_services, compose_config, env_file, services

PUBLISHED = {"gateway", "grafana", "mlflow"}
STATEFUL = {"postgres": "postgres-data", "redis": "redis-data", "mlflow": "mlflow-artifacts"}
# The settings class each of the project's containers reads its environment into; the key names the
# package its command runs (the bootstrap runs `credit bootstrap`, whose commands read CommonSettings).
SETTINGS: dict[str, tuple[str, type[CommonSettings]]] = {
    "gateway": ("services.gateway.", GatewaySettings),
    "features": ("services.features.", FeaturesSettings),
    "scoring": ("services.scoring.", ScoringSettings),
    "monitoring": ("services.monitoring.", MonitoringSettings),
    "scheduler": ("services.monitoring.", MonitoringSettings),
    "explainer": ("services.explainer.", ExplainerSettings),
    "trainer": ("services.training.", TrainingSettings),
    "bootstrap": ("bootstrap", CommonSettings),
}
MLFLOW_SERVER = REPO / "infra" / "mlflow" / "server.py"


def command_port(spec: dict) -> int | None:
    """The port a service's command listens on (`--port N`), None for workers."""
    command = spec.get("command") or []
    return int(command[command.index("--port") + 1]) if "--port" in command else None


def listening_ports() -> dict[str, int]:
    ports = {name: command_port(spec) for name, spec in services().items()}
    return {name: port for name, port in ports.items() if port is not None}


def metrics_ports() -> dict[str, int]:
    """Where Prometheus finds each service: its HTTP port, or a worker's own metrics server."""
    workers = {
        name: int(spec["environment"]["EXPLAINER_METRICS_PORT"])
        for name, spec in services().items()
        if "EXPLAINER_METRICS_PORT" in (spec.get("environment") or {})
    }
    return listening_ports() | workers


def urls_in(spec: dict) -> list[str]:
    """Every http(s)/postgresql/redis URL in a service's environment."""
    values = (spec.get("environment") or {}).values()
    return [v for v in values if isinstance(v, str) and re.match(r"^(https?|postgresql|redis)://", v)]


def test_docker_compose_validates_the_file() -> None:
    assert compose_config()["services"], "docker-compose config returned no services"


def test_only_gateway_grafana_and_mlflow_are_published_on_loopback() -> None:
    published = {name for name, spec in services().items() if spec.get("ports")}
    assert published == PUBLISHED
    for name in PUBLISHED:
        for port in services()[name]["ports"]:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_the_backend_network_is_internal_and_only_published_services_reach_out() -> None:
    networks = compose_config()["networks"]
    assert networks["backend"].get("internal") is True
    for name, spec in services().items():
        assert "backend" in spec["networks"], name
        assert ("edge" in spec["networks"]) == (name in PUBLISHED), name


def test_published_ports_are_the_ports_the_services_listen_on() -> None:
    listening = listening_ports() | {"grafana": 3000}
    for name in PUBLISHED:
        for port in services()[name]["ports"]:
            container_port = int(str(port).split(":")[-1].split("/")[0])
            assert container_port == listening[name], f"{name} publishes {port}, listens on {listening[name]}"


def test_every_url_between_services_points_at_a_listening_port() -> None:
    listening = listening_ports() | {"postgres": 5432, "redis": 6379, "prometheus": 9090}
    for name, spec in services().items():
        for url in urls_in(spec):
            parts = urlsplit(url)
            assert parts.hostname in listening, f"{name}: {url} names no service"
            assert parts.port == listening[parts.hostname], (
                f"{name}: {url} vs port {listening[parts.hostname]}"
            )


def test_compose_ports_are_the_settings_and_local_defaults() -> None:
    """The same port per service everywhere: Compose, the settings defaults and the Procfile."""
    listening = listening_ports()
    defaults = [  # the declared defaults, not the environment (an MLflow client in this process sets it)
        GatewaySettings.model_fields["features_url"].default,
        GatewaySettings.model_fields["scoring_url"].default,
        GatewaySettings.model_fields["monitoring_url"].default,
        ScoringSettings.model_fields["features_url"].default,
        CommonSettings.model_fields["mlflow_tracking_uri"].default,
    ]
    assert {urlsplit(url).port for url in defaults} == {
        listening[n] for n in ("features", "scoring", "monitoring", "mlflow")
    }
    procfile = (REPO / "Procfile").read_text()
    for name in ("gateway", "features", "scoring", "monitoring"):
        assert re.search(rf"^{name}: .*:-{listening[name]}}}", procfile, flags=re.MULTILINE), name


def test_healthchecks_probe_the_service_itself() -> None:
    for name, port in listening_ports().items():
        probe = " ".join(services()[name]["healthcheck"]["test"])
        path = "/health" if name == "mlflow" else "/readyz"
        assert f"http://127.0.0.1:{port}{path}" in probe, name


def test_environment_names_are_fields_of_the_settings_the_service_reads() -> None:
    assert set(built_services()) == {*SETTINGS, "mlflow"}
    for name, (package, settings) in SETTINGS.items():
        spec = services()[name]
        assert any(package in part for part in spec["command"]), f"{name} does not run {package}"
        unknown = set(spec.get("environment") or {}) - settings.variables()
        assert not unknown, f"{name} sets {unknown}, not fields of {settings.__name__}"


def test_mlflow_environment_names_are_read_by_the_launcher_or_mlflow() -> None:
    mlflow_variables = (Path(mlflow_package()) / "environment_variables.py").read_text()
    for variable in services()["mlflow"]["environment"]:
        read_by_launcher = f'os.environ.get("{variable}"' in MLFLOW_SERVER.read_text()
        assert read_by_launcher or f'"{variable}"' in mlflow_variables, variable


def mlflow_package() -> str:
    """MLflow's folder, found without importing it (its import takes seconds)."""
    spec = importlib.util.find_spec("mlflow")
    assert spec is not None and spec.submodule_search_locations
    return spec.submodule_search_locations[0]


def test_database_urls_use_the_postgres_service_credentials() -> None:
    postgres = env_file("postgres.env")
    created = re.findall(r"CREATE DATABASE (\w+)", (REPO / "infra/postgres/init.sql").read_text())
    assert postgres["POSTGRES_DB"] not in created, "the image would create it first and init.sql would fail"
    urls = [env_file("stack.env")["DATABASE_URL"], env_file("mlflow.env")["MLFLOW_DATABASE_URL"]]
    for url in map(make_url, urls):
        assert (url.host, url.port) == ("postgres", 5432)
        assert (url.username, url.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
        assert url.database in created


def test_services_wait_for_the_healthy_backends_their_urls_name() -> None:
    for name, spec in services().items():
        depends = spec.get("depends_on") or {}
        for url in urls_in(spec):
            backend = urlsplit(url).hostname
            assert depends.get(backend, {}).get("condition") == "service_healthy", f"{name} -> {backend}"
            assert "healthcheck" in services()[backend], backend


def test_the_platform_waits_for_the_bootstrap_and_the_bootstrap_for_its_backends() -> None:
    waiting = set(built_services()) - {"bootstrap", "mlflow"}
    for name in waiting:
        condition = services()[name]["depends_on"].get("bootstrap", {}).get("condition")
        assert condition == "service_completed_successfully", name
    bootstrap = services()["bootstrap"]
    assert bootstrap["restart"] == "no"
    assert {"postgres", "mlflow"} <= set(bootstrap["depends_on"])


def test_every_service_has_resource_limits_and_a_restart_policy() -> None:
    for name, spec in services().items():
        limits = spec.get("deploy", {}).get("resources", {}).get("limits", {})
        assert {"cpus", "memory"} <= set(limits), name
        if name != "bootstrap":
            assert spec.get("restart") == "unless-stopped", name


def test_state_lives_in_named_volumes() -> None:
    declared = set(compose_config()["volumes"])
    for name, volume in {**STATEFUL, "prometheus": "prometheus-data", "grafana": "grafana-data"}.items():
        sources = {str(mount).split(":")[0] for mount in services()[name]["volumes"]}
        assert volume in sources and volume in declared, name


def test_grafana_provisioning_variables_are_set_in_its_environment() -> None:
    """Grafana expands $VAR and ${VAR} only, so each one must be set (a ${VAR:-default} expands to '')."""
    environment = services()["grafana"]["environment"]
    for path in (REPO / "infra/grafana/provisioning").rglob("*.yml"):
        values = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        for braced, bare in re.findall(r"\$(?:\{([^}]*)\}|(\w+))", values):
            variable = braced or bare
            assert re.fullmatch(r"\w+", variable), f"{path.name}: ${{{variable}}} is not a plain name"
            assert variable in environment, f"{path.name}: {variable} is not set for grafana"


def test_prometheus_scrapes_the_local_jobs_by_service_name() -> None:
    local = yaml.safe_load((REPO / "infra/prometheus/prometheus.yml").read_text())
    compose = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    assert [job["job_name"] for job in compose["scrape_configs"]] == [
        job["job_name"] for job in local["scrape_configs"]
    ]
    listening = metrics_ports()
    for job in compose["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            assert host == "localhost" or int(port) == listening[host], target


def test_promtool_accepts_the_compose_prometheus_config_with_the_rules(tmp_path: Path) -> None:
    """Laid out as the container mounts it: the config with the rules folder beside it."""
    if shutil.which("promtool") is None:
        pytest.fail("promtool not found: run scripts/install-system-deps.sh")
    shutil.copy(COMPOSE / "prometheus.yml", tmp_path / "prometheus.yml")
    (tmp_path / "rules").symlink_to(REPO / "infra/prometheus/rules")
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
