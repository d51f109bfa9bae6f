"""docker-compose.yml is valid for Debian's docker-compose 1.29 (no Docker engine needed) and has the stack,
in each of its profiles (dev, persistent, none)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        reason = "docker-compose is not installed (apt-get install docker-compose; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # An empty env file: the result must not depend on (or print) a developer's .env secrets.
    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")
    return [exe, "--env-file", str(empty), "-f", "docker-compose.yml"]


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEMPORAL_", "FANOUT_"))}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_compose_file_validates(compose: list[str]) -> None:
    result = run([*compose, "config", "-q"])
    assert result.returncode == 0, result.stderr


def test_compose_has_temporal_worker_and_bot(compose: list[str]) -> None:
    result = run([*compose, "config"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("services:\n") or "\nservices:\n" in out, out
    for name in ("temporal", "worker", "bot"):
        assert f"\n  {name}:\n" in out, f"service {name!r} missing:\n{out}"  # two spaces: a top-level service
    for port in (7233, 8233, 3000):
        assert f"published: {port}\n" in out, f"port {port} is not published:\n{out}"
    assert "TEMPORAL_ADDRESS: temporal:7233" in out
    assert "image: temporalio/admin-tools:latest" in out
    assert "- worker.py" in out and "- bot\n" in out


# --- profiles: where Temporal runs ------------------------------------------------------------------------

PROFILE_SERVICES = {
    (): {"worker", "bot"},  # Temporal Cloud / any cluster: no Temporal container
    ("dev",): {"temporal", "worker", "bot"},
    ("persistent",): {"postgresql", "temporal-postgres", "temporal-setup", "temporal-ui", "worker", "bot"},
}


@pytest.fixture(scope="module")
def config(compose: list[str]) -> dict[str, Any]:
    result = run([*compose, "config"])
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert isinstance(data, dict)
    return data


def enabled(services: dict[str, Any], profiles: tuple[str, ...]) -> set[str]:
    """The services `docker-compose --profile P up` starts (compose: no profiles = always)."""
    return {name for name, svc in services.items() if not svc.get("profiles") or set(svc["profiles"]) & set(profiles)}


def test_persistent_profile_validates(compose: list[str]) -> None:
    result = run([compose[0], "--profile", "persistent", *compose[1:], "config", "-q"])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("profiles", list(PROFILE_SERVICES), ids=lambda p: "+".join(p) or "no-profile")
def test_each_profile_starts_a_consistent_stack(config: dict[str, Any], profiles: tuple[str, ...]) -> None:
    services = config["services"]
    up = enabled(services, profiles)
    assert up == PROFILE_SERVICES[profiles]
    for name in up:  # docker-compose refuses to start a service whose dependency is not enabled
        deps = services[name].get("depends_on") or {}
        assert set(deps) <= up, f"{name} depends on {set(deps) - up}, not enabled with profiles {profiles}"
    # Exactly one Temporal answers as `temporal` inside the stack (service name or network alias) ...
    answering = {n for n in up if n == "temporal" or "temporal" in
                 ((services[n].get("networks") or {}).get("default") or {}).get("aliases", [])}
    assert len(answering) == (1 if profiles else 0), answering
    # ... and its Web UI is on 8233.
    if profiles:
        published = {p["published"] for n in up for p in services[n].get("ports", [])}
        assert {7233, 8233} <= published


def test_persistent_profile_uses_temporals_own_images(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["temporal-postgres"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert services["postgresql"]["image"].startswith("postgres:")
    assert services["temporal-postgres"]["environment"]["DB"] == "postgres12"
    assert "temporal-postgres:/var/lib/postgresql/data" in services["postgresql"]["volumes"][0]
    assert "temporal-postgres" in config.get("volumes", {})


def test_worker_scales_and_serves_metrics(config: dict[str, Any]) -> None:
    worker = config["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker, "fixed names or host ports break --scale"
    env = worker["environment"]
    assert env["FANOUT_METRICS_HOST"] == "0.0.0.0"
    assert f"127.0.0.1:{env['FANOUT_METRICS_PORT']}/metrics" in " ".join(worker["healthcheck"]["test"])
    assert "depends_on" not in worker, "the worker waits for Temporal itself; any backend (or Cloud) works"


def test_healthchecks(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("temporal", "temporal-postgres", "postgresql", "worker", "bot"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert "cluster" in services["temporal"]["healthcheck"]["test"]
    assert "health" in services["temporal"]["healthcheck"]["test"]
    bot = services["bot"]
    assert "127.0.0.1:3000/healthz" in " ".join(bot["healthcheck"]["test"])
    assert bot["environment"]["HOST"] == "0.0.0.0", "the bot must listen beyond the container's loopback"


def test_every_compose_variable_is_documented_in_env_example() -> None:
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", "\n".join(x for x in lines if not x.lstrip().startswith("#"))))
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert not used - documented, f"add to .env.example: {sorted(used - documented)}"
    assert re.search(r"^COMPOSE_PROFILES=dev$", (ROOT / ".env.example").read_text(), re.M)


def test_the_dev_profiles_server_has_the_flags_of_make_dev(config: dict[str, Any]) -> None:
    from devkit import temporal_server as dev_server

    command = config["services"]["temporal"]["command"]
    flags = dev_server.args()
    assert any(command[i:i + len(flags)] == flags for i in range(len(command))), command


def test_the_persistent_profile_registers_every_search_attribute(config: dict[str, Any]) -> None:
    from runtime import search_attributes

    setup = " ".join(config["services"]["temporal-setup"]["command"])
    for key in search_attributes.ALL:
        assert key.name in setup, setup
    assert "DYNAMIC_CONFIG_FILE_PATH" in config["services"]["temporal-postgres"]["environment"]
