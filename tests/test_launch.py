"""Binder, Colab and learner mode, checked without Docker, a network or a browser.

repo2docker (what Binder runs) needs Docker, which is not here, so the first tests
read the repository the way repo2docker 2024+ does (``repo2docker/buildpacks/base.py``
``binder_path``, ``conda/__init__.py`` ``environment_yaml``, ``python_version`` and
``_should_preassemble_env``); each rule is named where it is checked. The Colab cell
is run for real in a fresh virtual environment, from a local copy of the course.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from autograder.instructor.authoring.site import (
    PLACEHOLDER_REPO,
    binder_url,
    colab_cell,
    colab_requirement,
    colab_url,
)
from autograder.instructor.course import Course

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# repo2docker's conda buildpack: the Python version is read from a `python=X.Y` dependency.
PYTHON_REGEX = re.compile(r"python\s*=+\s*([\d\.]*)")
# Python versions repo2docker has a frozen base environment for (environment.py-X.Y.yml).
REPO2DOCKER_PYTHONS = {"3.10", "3.11", "3.12", "3.13"}
# Files that make repo2docker pick another buildpack before the conda one.
OTHER_BUILDPACKS = ("Dockerfile", "Project.toml", "JuliaProject.toml", "REQUIRE", "install.R", "DESCRIPTION")


def binder_dir() -> Path:
    """repo2docker's ``binder_path``: ``binder/`` or ``.binder/`` when present (both: an
    error), else the repository root. Files outside it are then ignored."""
    found = [REPO / name for name in ("binder", ".binder") if (REPO / name).is_dir()]
    assert len(found) <= 1, "repo2docker refuses a repository with both binder/ and .binder/"
    return found[0] if found else REPO


def is_local_pip_requirement(line: str) -> bool:
    """repo2docker's ``utils.is_local_pip_requirement``: a path, not a package name."""
    line = line.strip()
    if line.startswith(("-r", "-c")):
        return False
    if line.startswith(("-e", "--editable")):
        line = line.split(None, 1)[1] if " " in line else line.split("=", 1)[-1]
    return line.startswith((".", "/", "file:"))


def environment() -> dict:
    return yaml.safe_load((binder_dir() / "environment.yml").read_text())


def test_repo2docker_picks_the_conda_buildpack():
    folder = binder_dir()
    assert (folder / "environment.yml").is_file(), f"no environment.yml in {folder}"
    others = [name for name in OTHER_BUILDPACKS if (folder / name).exists()]
    assert others == [], f"repo2docker would build from {others} instead of environment.yml"
    # runtime.txt is read by the conda buildpack only for R; a python-X.Y there would be ignored.
    runtime = folder / "runtime.txt"
    assert not runtime.exists() or not runtime.read_text().startswith("python-"), runtime.read_text()


def test_environment_yml_reads_as_repo2docker_reads_it():
    env = environment()
    # "environment.yml should contain a dictionary"
    assert isinstance(env, dict), f"environment.yml holds a {type(env).__name__}, not a mapping"
    dependencies = env.get("dependencies", [])
    versions = [PYTHON_REGEX.match(dep).group(1) for dep in dependencies
                if isinstance(dep, str) and PYTHON_REGEX.match(dep)]
    assert versions, "no python=X.Y dependency: repo2docker would pick its default Python"
    major_minor = ".".join(versions[0].split(".")[:2])
    assert major_minor in REPO2DOCKER_PYTHONS, f"repo2docker has no base environment for Python {major_minor}"
    floor = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    assert tuple(map(int, major_minor.split("."))) >= tuple(map(int, floor.split("."))), \
        f"environment.yml's Python {major_minor} is below requires-python {floor}"
    assert "pip" in dependencies, "a pip: section needs pip itself among the conda dependencies"


def test_the_course_is_installed_after_the_repository_is_copied_in():
    """`-e .` is a local requirement, so repo2docker copies the whole repository before it
    installs the environment (``_should_preassemble_env`` is False) and runs from its root."""
    pip = [dep["pip"] for dep in environment()["dependencies"] if isinstance(dep, dict) and "pip" in dep]
    assert pip, "environment.yml installs nothing with pip: the course would be missing"
    local = [line for line in pip[0] if is_local_pip_requirement(line)]
    assert local, "the course itself is not among the pip requirements"
    for line in local:
        path = line.split(None, 1)[-1] if line.startswith("-e") else line
        assert (REPO / path / "pyproject.toml").is_file(), f"{line!r} does not point at this project"
    names = [dep.split("[")[0].split("=")[0].lower() for dep in PYPROJECT["project"]["dependencies"]]
    assert "jupyterlab" in names, "Binder opens JupyterLab (urlpath=lab/...): the project must install it"


def test_binder_start_scripts_are_executable():
    for name in ("postBuild", "start"):
        script = binder_dir() / name
        if script.exists():
            assert os.access(script, os.X_OK), f"repo2docker runs {name} only when it is executable"


def test_launch_links_open_each_chapter():
    repo, ref = "someone/backprop-lab", "v1"
    for chapter in Course(REPO).chapter_ids():  # chapters/zh/ is an edition, not a chapter
        notebook = f"chapters/{chapter}/{chapter}.ipynb"
        assert (REPO / notebook).is_file()
        assert binder_url(repo, ref, chapter) == \
            f"https://mybinder.org/v2/gh/{repo}/{ref}?urlpath=lab/tree/{notebook}"
        assert colab_url(repo, ref, chapter) == \
            f"https://colab.research.google.com/github/{repo}/blob/{ref}/{notebook}"
    assert PLACEHOLDER_REPO.startswith("OWNER/"), "the placeholder must read as one"


def test_colab_cell_installs_this_package_from_the_repository():
    requirement = Requirement(colab_requirement("someone/backprop-lab", "main"))
    assert requirement.name == PYPROJECT["project"]["name"]
    assert requirement.url == "git+https://github.com/someone/backprop-lab@main"
    cell = colab_cell(str(requirement))
    compile(cell, "<colab cell>", "exec")
    assert repr(str(requirement)) in cell


@pytest.mark.slow
def test_colab_cell_installs_the_course_in_a_fresh_venv(tmp_path):
    """The cell's own code, run in a new venv with a local copy of the course as the
    requirement: afterwards `autograder` imports from that venv, and a second run is a no-op.

    The venv sees this environment's packages (a .pth line) so that only the course
    itself is installed: the test needs no network and no torch download."""
    source = tmp_path / "course"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "autograder", source / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = subprocess.run([str(python), "-c", purelib], check=True,
                                   capture_output=True, text=True).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    Path(site_packages, "course-dependencies.pth").write_text("\n".join(ours) + "\n")
    cell = tmp_path / "cell.py"
    cell.write_text(colab_cell(f"backprop-lab @ {source.as_uri()}"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    find = "import importlib.util as u; print(u.find_spec('autograder'))"
    before = subprocess.run([str(python), "-c", find], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert before.stdout.strip() == "None", "the fresh venv already sees the course: the test proves nothing"
    subprocess.run([str(python), str(cell)], cwd=tmp_path, env=env, check=True, timeout=600)
    check = subprocess.run([str(python), "-c", "import autograder; from autograder import check_close; "
                            "print(autograder.__file__)"],
                           cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    assert check.stdout.strip().startswith(str(venv)), check.stdout
    again = subprocess.run([str(python), "-v", str(cell)], cwd=tmp_path, env=env, check=True,
                           capture_output=True, text=True)
    assert "pip" not in again.stdout, "the cell reinstalls the course when it is already there"


def _labextension_list(config_path: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    if config_path:
        env["JUPYTER_CONFIG_PATH"] = config_path
    jupyter = Path(sys.executable).with_name("jupyter")
    result = subprocess.run([str(jupyter), "labextension", "list"], env=env, capture_output=True, text=True)
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)


def _nbgrader_line(listing: str) -> str:
    return next((line for line in listing.splitlines() if "@jupyter/nbgrader v" in line), "")


@pytest.mark.slow
def test_learner_mode_turns_nbgrader_off_for_make_lab_only():
    pytest.importorskip("nbgrader")
    learner = REPO / "config" / "learner"
    assert "disabled" in _nbgrader_line(_labextension_list(str(learner))), "make lab shows nbgrader's UI"
    assert "enabled" in _nbgrader_line(_labextension_list(None)), "make formgrade lost nbgrader's UI"
    import json

    from jupyter_core.paths import jupyter_config_path

    learner_server = json.loads((learner / "jupyter_server_config.json").read_text())
    turned_off = learner_server["ServerApp"]["jpserver_extensions"]
    installed = set()
    for folder in jupyter_config_path():
        for config in Path(folder, "jupyter_server_config.d").glob("*.json"):
            extensions = json.loads(config.read_text()).get("ServerApp", {}).get("jpserver_extensions", {})
            installed |= {name for name in extensions if name.startswith("nbgrader")}
    assert installed, "found no nbgrader server extension to turn off"
    assert {name for name, on in turned_off.items() if on is False} >= installed, \
        f"learner mode leaves on: {installed - set(turned_off)}"
    lab = subprocess.run(["make", "-n", "--no-print-directory", "lab"], cwd=REPO,
                         capture_output=True, text=True)
    formgrade = subprocess.run(["make", "-n", "--no-print-directory", "formgrade"], cwd=REPO,
                               capture_output=True, text=True)
    assert f"JUPYTER_CONFIG_PATH={learner}" in lab.stdout, lab.stdout
    assert "JUPYTER_CONFIG_PATH" not in formgrade.stdout, formgrade.stdout
