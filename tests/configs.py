"""Loading a Jupyter/nbgrader Python config file as its application would: shared by the hub's and the
deploy's tests."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def load(path: Path) -> Config:
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
