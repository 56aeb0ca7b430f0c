"""Learner mode (README.md here): load the course's own JupyterLab extension, which
shows the first failing cell after Run All. Its source is extension/index.js."""

from pathlib import Path

c.LabApp.extra_labextensions_path = [str(Path(__file__).resolve().parent / "labextensions")]  # noqa: F821
