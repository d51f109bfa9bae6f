"""runtime.temporal.connect_config: every Temporal setting comes from envconfig (env vars, temporal.toml profiles).

Nothing here connects: these are the keyword arguments ``Client.connect`` would get.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from runtime.config import ConfigError, metrics_bind_address
from runtime.temporal import connect_config, describe

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("TEMPORAL_", "FANOUT_METRICS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/temporalio/temporal.toml of the developer's


def test_nothing_set_is_a_local_server() -> None:
    assert connect_config() == {"target_host": "localhost:7233"}


def test_address_namespace_and_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "my-ns.a1b2c.tmprl.cloud:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "my-ns.a1b2c")
    monkeypatch.setenv("TEMPORAL_API_KEY", "secret-key")
    config = connect_config()
    assert config["target_host"] == "my-ns.a1b2c.tmprl.cloud:7233"
    assert config["namespace"] == "my-ns.a1b2c"
    assert config["api_key"] == "secret-key"
    assert config["tls"] is True  # an API key turns TLS on
    assert describe(config) == "my-ns.a1b2c.tmprl.cloud:7233 (namespace my-ns.a1b2c, API key)"
    assert "secret-key" not in describe(config)


def test_empty_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_PROFILE"):
        monkeypatch.setenv(name, "")  # as a copied .env or docker-compose's ${VAR:-} leaves them
    assert connect_config() == {"target_host": "localhost:7233"}


def test_profile_from_a_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("CERT")
    key.write_text("KEY")
    toml = tmp_path / "temporal.toml"
    toml.write_text(f"""
[profile.default]
address = "localhost:7233"

[profile.cloud]
address = "my-ns.a1b2c.tmprl.cloud:7233"
namespace = "my-ns.a1b2c"
api_key = "from-the-file"

[profile.mtls]
address = "my-ns.a1b2c.tmprl.cloud:7233"
namespace = "my-ns.a1b2c"
[profile.mtls.tls]
client_cert_path = "{cert}"
client_key_path = "{key}"
""")
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(toml))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    cloud = connect_config()
    assert (cloud["target_host"], cloud["namespace"], cloud["api_key"], cloud["tls"]) == (
        "my-ns.a1b2c.tmprl.cloud:7233", "my-ns.a1b2c", "from-the-file", True)

    monkeypatch.setenv("TEMPORAL_PROFILE", "mtls")
    mtls = connect_config()
    assert mtls["tls"].client_cert == b"CERT" and mtls["tls"].client_private_key == b"KEY"
    assert "api_key" not in mtls
    assert describe(mtls).endswith("(namespace my-ns.a1b2c, mTLS)")

    monkeypatch.setenv("TEMPORAL_NAMESPACE", "override")  # the environment wins over the file
    assert connect_config()["namespace"] == "override"


def test_bad_settings_are_config_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"TEMPORAL_CONFIG_FILE=.*missing.toml does not exist"):
        connect_config()
    toml = tmp_path / "temporal.toml"
    toml.write_text('[profile.default]\naddress = "localhost:7233"\n')
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(toml))
    monkeypatch.setenv("TEMPORAL_PROFILE", "nope")
    with pytest.raises(ConfigError, match="profile 'nope'"):
        connect_config()


def test_metrics_address(monkeypatch: pytest.MonkeyPatch) -> None:
    assert metrics_bind_address() is None
    monkeypatch.setenv("FANOUT_METRICS_PORT", "9464")
    assert metrics_bind_address() == "127.0.0.1:9464"
    monkeypatch.setenv("FANOUT_METRICS_HOST", "0.0.0.0")
    assert metrics_bind_address() == "0.0.0.0:9464"
    monkeypatch.setenv("FANOUT_METRICS_HOST", "::")
    assert metrics_bind_address() == "[::]:9464"
    monkeypatch.setenv("FANOUT_METRICS_PORT", "70000")
    with pytest.raises(ConfigError, match="at most 65535"):
        metrics_bind_address()


def test_nothing_else_assumes_localhost() -> None:
    """Only runtime.temporal's default and the Web UI link default may name localhost (dev tooling aside)."""
    files = subprocess.run(["grep", "-rln", "--include=*.py", "localhost", "bot", "runtime", "workflows", "worker.py"],
                           cwd=ROOT, capture_output=True, text=True).stdout.split()
    allowed = {"runtime/temporal.py", "bot/settings.py"}
    assert set(files) <= allowed, set(files) - allowed
    config = (ROOT / "bot" / "settings.py").read_text()
    assert re.findall(r"localhost[:\w]*", config) == ["localhost:8233"]  # DEFAULT_UI_URL only (links)
