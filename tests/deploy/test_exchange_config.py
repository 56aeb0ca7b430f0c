"""The deploy's JupyterHub configuration without a hub. The exchange's own (chapter names, the students'
config): tests/instructor/classroom/test_hub.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.configs import load

REPO = Path(__file__).resolve().parents[2]


def test_class_mode_needs_the_students_own_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("BACKPROP_HUB_EXCHANGE", str(tmp_path / "exchange"))
    monkeypatch.delenv("BACKPROP_HUB_SINGLEUSER", raising=False)
    monkeypatch.setenv("BACKPROP_HUB_MODE", "class")
    with pytest.raises(SystemExit, match="BACKPROP_HUB_SINGLEUSER"):
        load(REPO / "deploy" / "jupyterhub_config.py")
    monkeypatch.setenv("BACKPROP_HUB_SINGLEUSER", "/opt/backprop-lab/bin/jupyterhub-singleuser")
    config = load(REPO / "deploy" / "jupyterhub_config.py")
    assert config.JupyterHub.authenticator_class == "jupyterhub.auth.PAMAuthenticator"
    assert config.Spawner.cmd == ["/opt/backprop-lab/bin/jupyterhub-singleuser"]
    monkeypatch.setenv("BACKPROP_HUB_MODE", "test")
    config = load(REPO / "deploy" / "jupyterhub_config.py")
    assert config.JupyterHub.authenticator_class == "jupyterhub.auth.DummyAuthenticator"
    assert config.JupyterHub.spawner_class == "jupyterhub.spawner.SimpleLocalProcessSpawner"
    assert "configurable-http-proxy" in config.ConfigurableHTTPProxy.command[0]
    student = load(tmp_path / "state" / "student-config" / "nbgrader_config.py")
    assert student.Exchange.root == str(tmp_path / "exchange")
