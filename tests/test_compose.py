"""Static checks of docker-compose.yml (the production deployment).

No Docker needed: the file is parsed with PyYAML (which resolves the `<<`
merge keys and anchors the file uses) and the resulting structure checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from marac import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"

DATA_SERVICES = ("postgres", "redis")
APP_SERVICES = ("migrate", "web", "worker")
LONG_RUNNING_APP_SERVICES = ("web", "worker")


@pytest.fixture(scope="module")
def services() -> dict:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return compose["services"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def _depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short syntax only waits for "started"
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _published_container_ports(service: dict) -> list[int]:
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append(int(entry["target"]))
        else:
            target = str(entry).split("/")[0].rsplit(":", 1)[-1]
            ports.append(int(target.split("-")[0]))
    return ports


def test_stack_defines_database_cache_migration_web_and_worker_services(services):
    assert set(DATA_SERVICES + APP_SERVICES) <= set(services)


@pytest.mark.parametrize("name, official_image", [("postgres", "postgres"), ("redis", "redis")])
def test_data_services_use_official_images(services, name, official_image):
    image = services[name]["image"]
    repository = image.split(":")[0]
    assert repository in (official_image, f"library/{official_image}", f"docker.io/library/{official_image}")


@pytest.mark.parametrize("name", DATA_SERVICES)
def test_data_services_have_healthchecks_so_dependants_wait_for_readiness(services, name):
    test = services[name].get("healthcheck", {}).get("test")
    assert test, f"{name} has no healthcheck"
    joined = " ".join(test) if isinstance(test, list) else test
    expected = "pg_isready" if name == "postgres" else "ping"
    assert expected in joined


def test_postgres_credentials_come_from_variables_not_literals(services):
    env = _env(services["postgres"])
    for key in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert env.get(key, "").startswith("${"), key
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]*\}", env["POSTGRES_PASSWORD"])


def test_redis_persists_jobs_with_append_only_file_and_requires_password(services):
    command = _command(services["redis"])
    assert "--appendonly" in command and command[command.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in command
    assert command[command.index("--requirepass") + 1].startswith("${REDIS_PASSWORD")


def test_redis_healthcheck_authenticates(services):
    test = services["redis"]["healthcheck"]["test"]
    joined = " ".join(test) if isinstance(test, list) else test
    assert "redis-cli" in joined and "-a" in joined.split()


@pytest.mark.parametrize("name", DATA_SERVICES)
def test_data_services_store_data_in_volumes(services, name):
    assert services[name].get("volumes"), f"{name} would lose its data on re-creation"


@pytest.mark.parametrize("name", LONG_RUNNING_APP_SERVICES)
def test_web_and_worker_restart_unless_stopped(services, name):
    assert services[name].get("restart") == "unless-stopped"


def test_migrate_runs_marac_migrate_once_after_postgres_is_healthy(services):
    migrate = services["migrate"]
    assert _command(migrate)[:2] == ["marac", "migrate"]
    assert str(migrate.get("restart", "no")) == "no"
    assert _depends_on(migrate).get("postgres") == "service_healthy"


@pytest.mark.parametrize("name", LONG_RUNNING_APP_SERVICES)
def test_web_and_worker_start_only_after_migrations_succeeded_and_redis_is_healthy(services, name):
    deps = _depends_on(services[name])
    assert deps.get("migrate") == "service_completed_successfully"
    assert deps.get("redis") == "service_healthy"


def test_web_and_worker_run_the_right_commands(services):
    assert _command(services["web"])[:2] == ["marac", "serve"]
    assert "0.0.0.0" in _command(services["web"])
    assert _command(services["worker"])[:2] == ["marac", "worker"]


def test_web_healthcheck_probes_readiness_endpoint(services):
    test = services["web"].get("healthcheck", {}).get("test")
    joined = " ".join(test) if isinstance(test, list) else str(test)
    assert "/readyz" in joined


def test_nginx_alone_publishes_the_http_port_and_spreads_requests_over_the_web_containers(services):
    assert 8000 in _published_container_ports(services["proxy"])
    assert not services["web"].get("ports")  # several replicas: one host port cannot be theirs
    assert _depends_on(services["proxy"]).get("web") == "service_healthy"
    conf_mount = next(v for v in services["proxy"]["volumes"] if v.endswith("/etc/nginx/nginx.conf:ro"))
    conf = (ROOT / conf_mount.split(":")[0]).read_text()
    assert re.search(r"server\s+web:8000\s+resolve;", conf) and "listen 8000;" in conf
    assert "X-Forwarded-For $remote_addr" in conf  # overwritten, so a client cannot choose its address


def test_several_web_processes_and_several_workers(services):
    assert services["web"]["deploy"]["replicas"].startswith("${WEB_REPLICAS:-")
    assert int(services["web"]["deploy"]["replicas"].split(":-")[1].rstrip("}")) >= 2
    assert int(services["worker"]["deploy"]["replicas"].split(":-")[1].rstrip("}")) >= 2
    assert "--workers" in _command(services["web"])


def test_web_believes_forwarded_addresses_from_the_stacks_own_network_only():
    """nginx names each client; the web service trusts that from the compose network alone (never
    "*"), so the address-wide sign-in limit counts clients, not the proxy every request comes from."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    web = _env(compose["services"]["web"])
    assert web["MARAC_TRUSTED_PROXIES"] == subnet and "FORWARDED_ALLOW_IPS" not in web
    default = subnet.split(":-")[1].rstrip("}")
    assert settings.load({"MARAC_TRUSTED_PROXIES": default}).trusted_proxies == (default,)
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"^\s*real_ip_header X-Forwarded-For;", conf, re.M)
    assert re.search(r"^\s*set_real_ip_from ", conf, re.M)


def test_web_and_worker_log_in_as_the_app_role_and_only_migrate_as_the_owner(services):
    app_role = _env(services["migrate"])["MARAC_DATABASE_APP_ROLE"]
    assert _env(services["migrate"])["MARAC_DATABASE_URL"].startswith(
        "postgres://${POSTGRES_USER:-marac}:${POSTGRES_PASSWORD:?"
    )
    for name in LONG_RUNNING_APP_SERVICES:
        url = _env(services[name])["MARAC_DATABASE_URL"]
        assert url.startswith(f"postgres://{app_role}:") and "POSTGRES_PASSWORD" not in url, name
    script = next(v for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v).split(":")[0]
    assert f"CREATE ROLE {app_role} LOGIN" in (ROOT / script).read_text()
    assert _env(services["postgres"])["POSTGRES_APP_PASSWORD"].startswith("${POSTGRES_APP_PASSWORD:?")


@pytest.mark.skipif(
    not os.environ.get("MARAC_TEST_PG_ADMIN_URL"), reason="MARAC_TEST_PG_ADMIN_URL not set (scripts/test sets it)"
)
async def test_the_init_script_creates_a_role_that_logs_in_with_its_password():
    import asyncpg

    admin_url = os.environ["MARAC_TEST_PG_ADMIN_URL"]
    parts = urlsplit(admin_url)
    password = uuid.uuid4().hex
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute("DROP ROLE IF EXISTS marac_app")  # both test runs share one server
        env = {
            **os.environ,
            "PGHOST": parts.hostname,
            "PGPORT": str(parts.port),
            "PGPASSWORD": parts.password or "",
            "POSTGRES_USER": parts.username,
            "POSTGRES_DB": parts.path.lstrip("/"),
            "POSTGRES_APP_PASSWORD": password,
        }
        subprocess.run(["sh", str(ROOT / "deploy/postgres-app-role.sh")], env=env, check=True, capture_output=True)
        as_app = await asyncpg.connect(
            admin_url.replace(f"{parts.username}:{parts.password}@", f"marac_app:{password}@")
        )
        assert await as_app.fetchval("SELECT current_user") == "marac_app"
        await as_app.close()
    finally:
        await admin.execute("DROP ROLE IF EXISTS marac_app")
        await admin.close()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_in_production_mode_against_postgres_and_redis(services, name):
    env = _env(services[name])
    assert env.get("MARAC_ENV") == "production"
    assert env.get("MARAC_DATABASE_URL", "").startswith("postgres://")
    assert "@postgres:" in env["MARAC_DATABASE_URL"]
    assert env.get("MARAC_REDIS_URL", "").startswith("redis://")
    assert "@redis:" in env["MARAC_REDIS_URL"]
    assert env.get("MARAC_DOCUMENT_STORE")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_refuse_to_start_without_a_secret_key(services, name):
    # `${VAR:?msg}` makes `docker compose` fail when VAR is unset or empty,
    # so a literal or defaulted key can never reach production.
    secret = _env(services[name]).get("MARAC_SECRET_KEY", "")
    assert re.fullmatch(r"\$\{MARAC_SECRET_KEY:\?[^}]*\}", secret), secret


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_need_the_public_https_address_set(services, name):
    # Production refuses an http base URL, so a default of http://localhost would never start.
    base = _env(services[name]).get("MARAC_BASE_URL", "")
    assert re.fullmatch(r"\$\{MARAC_BASE_URL:\?[^}]*\}", base), base


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_keep_documents_on_a_volume(services, name):
    store = _env(services[name])["MARAC_DOCUMENT_STORE"]
    targets = [str(v).split(":")[1] if isinstance(v, str) else v["target"] for v in services[name].get("volumes", [])]
    assert store in targets


def test_postgres_and_redis_ports_are_not_published_to_the_host(services):
    assert not services["postgres"].get("ports")
    assert not services["redis"].get("ports")
    for name, service in services.items():
        published = _published_container_ports(service)
        assert 5432 not in published and 6379 not in published, name


def test_the_image_installs_the_locked_dependencies_and_the_scripts_system_packages():
    """The image installs what .venv does (the hashed lock) and the run-time libraries
    scripts/lib.sh installs, no more: documents bring their own font."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line.strip() for line in dockerfile.splitlines() if "pip install" in line]
    assert installs == [
        "RUN pip install --require-hashes -r requirements/base.txt",
        "RUN pip install --no-deps --no-build-isolation -e . && pip check",
    ]
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    scripts_packages = set(re.search(r"WEASYPRINT_APT_PACKAGES=\(([^)]*)\)", lib).group(1).split())
    apt = re.search(r"apt-get install -y --no-install-recommends \\\n(.*?) \\\n", dockerfile, re.DOTALL)
    assert set(apt.group(1).split()) == scripts_packages
    assert not any(package.startswith("fonts-") and package != "fonts-dejavu-core" for package in scripts_packages)


# The PostgreSQL client major version each Debian release of the image's base carries.
DEBIAN_POSTGRESQL_CLIENT = {"bookworm": 15, "trixie": 17}


def test_the_image_can_back_up_the_compose_database(services):
    """pg_dump refuses a server newer than itself: the image's client must be at least the
    compose file's server version, or `marac backup` fails in production."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"apt-get install -y --no-install-recommends postgresql-client\b", dockerfile)
    release = re.findall(r"^FROM python:[0-9.]+-slim-([a-z]+)$", dockerfile, re.MULTILINE)[-1]
    server = int(re.fullmatch(r"postgres:([0-9]+)", services["postgres"]["image"]).group(1))
    assert server <= DEBIAN_POSTGRESQL_CLIENT[release]


# --- profile "monitoring": Prometheus and Grafana -------------------------------------------------

MONITORING = ("prometheus", "grafana")
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "marac.json"


def _mounted(service: dict, target: str) -> Path:
    source = next(v.split(":")[0] for v in service["volumes"] if isinstance(v, str) and v.split(":")[1] == target)
    return ROOT / source


def test_prometheus_and_grafana_start_only_with_the_monitoring_profile(services):
    for name in MONITORING:
        assert services[name].get("profiles") == ["monitoring"], name
    for name, service in services.items():
        if name not in MONITORING:
            assert not service.get("profiles"), f"{name} would not start with a plain `docker compose up`"


def test_only_grafana_is_published_and_only_on_the_hosts_loopback(services):
    assert not services["prometheus"].get("ports")
    assert services["grafana"]["ports"] == ["127.0.0.1:${GRAFANA_PORT:-3000}:3000"]
    assert _env(services["grafana"])["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_prometheus_scrapes_web_with_the_bearer_token_and_each_worker_on_its_metrics_port(services):
    config = yaml.safe_load(_mounted(services["prometheus"], "/etc/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["marac-web"]
    assert web["metrics_path"] == "/metrics"
    assert web["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/metrics_token"}
    assert web["dns_sd_configs"] == [{"names": ["web"], "type": "A", "port": 8000}]
    # The file Prometheus reads is the value web is given as MARAC_METRICS_TOKEN.
    assert "metrics_token" in services["prometheus"]["secrets"]
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert compose["secrets"]["metrics_token"] == {"environment": "MARAC_METRICS_TOKEN"}
    assert _env(services["web"])["MARAC_METRICS_TOKEN"] == "${MARAC_METRICS_TOKEN:-}"

    worker = jobs["marac-worker"]
    command = _command(services["worker"])
    port = int(command[command.index("--metrics-port") + 1])
    assert worker["dns_sd_configs"] == [{"names": ["worker"], "type": "A", "port": port}]
    assert command[command.index("--metrics-host") + 1] == "0.0.0.0"  # reachable on the compose network
    assert port not in _published_container_ports(services["worker"])


def test_nginx_never_passes_metrics_on_from_outside():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"location = /metrics \{\s*return 404;\s*\}", conf)


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(services):
    grafana = services["grafana"]
    provisioning = _mounted(grafana, "/etc/grafana/provisioning")
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards" / "marac.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert _mounted(grafana, "/var/lib/grafana/dashboards") / "marac.json" == DASHBOARD


def test_the_dashboard_shows_latency_errors_queue_and_renders_from_metrics_the_app_exports():
    from marac import metrics

    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    titles = " ".join(panel["title"].lower() for panel in panels)
    for topic in ("latency", "errors", "queue", "renders"):
        assert topic in titles, topic
    datasource_uid = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())[
        "datasources"
    ][0]["uid"]
    named = set()
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource_uid
        for target in panel["targets"]:
            # A histogram's series are NAME_bucket, NAME_count and NAME_sum.
            for name in re.findall(r"\bmarac_[a-z_]+", target["expr"]):
                base = re.sub(r"_(bucket|count|sum)$", "", name)
                assert base in metrics.EXPORTED, f"{panel['title']}: {name} is not a metric marac exports"
                named.add(base)
    assert named == metrics.EXPORTED  # every exported metric is on the dashboard
