"""The one dependency list: pyproject.toml for pip, environment.yml for conda and Binder."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def pip_section_of_environment_yml() -> list[str]:
    """The entries under `- pip:` in environment.yml (a plain-text read; no YAML library needed)."""
    lines = (REPO / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\s*-\s*pip:\s*$", line))
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    entries = []
    for line in lines[start + 1:]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) - len(line.lstrip()) < indent:
            break
        entries.append(line.strip().removeprefix("-").strip())
    return entries


def normalise(requirement: str) -> str:
    name, rest = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", requirement.replace(" ", "")).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + rest


def test_environment_yml_installs_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_deps = sorted(normalise(r) for r in project["dependencies"])
    conda_pip = pip_section_of_environment_yml()
    assert "-e ." in conda_pip, "environment.yml must install the project itself (`- -e .`)"
    conda_deps = sorted(normalise(r) for r in conda_pip if r != "-e .")
    only_pip = sorted(set(pip_deps) - set(conda_deps))
    only_conda = sorted(set(conda_deps) - set(pip_deps))
    assert not only_pip and not only_conda, (
        f"pyproject.toml and environment.yml disagree: only in pyproject: {only_pip}; "
        f"only in environment.yml: {only_conda}"
    )


def test_torch_is_pinned_to_the_cpu_build_on_disk():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"], (
        "pin torch==2.13.0: a looser pin pulls a multi-GB CUDA build"
    )


def test_environment_yml_uses_python_311():
    text = (REPO / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M)


def test_notebooks_never_edit_sys_path():
    for notebook in sorted((REPO / "solutions").glob("*/*.ipynb")):
        text = notebook.read_text()
        assert "sys.path" not in text, f"{notebook}: import autograder as an installed package"
