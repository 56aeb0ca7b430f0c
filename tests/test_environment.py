"""The one dependency list: pyproject.toml. environment.yml (conda, Binder) installs the project from it."""

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


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


def name_of(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"^([A-Za-z0-9_.\-]+)", requirement)[1]).lower()


def test_environment_yml_installs_the_project_and_repeats_no_package():
    assert pip_section_of_environment_yml() == ["-e ."], (
        "environment.yml's pip section must be exactly `- -e .`: packages are listed once, in "
        "pyproject.toml")


def test_torch_is_pinned_to_the_cpu_build_on_disk():
    assert "torch==2.13.0" in PROJECT["dependencies"], (
        "pin torch==2.13.0: a looser pin pulls a multi-GB CUDA build")


def test_dev_tools_are_extras_not_runtime_dependencies():
    runtime = {name_of(r) for r in PROJECT["dependencies"]}
    for tool in ("nbgrader", "ruff", "pytest", "pytest-xdist", "nbval", "dask", "distributed"):
        assert tool not in runtime, f"{tool} is a tool of instructors or developers: make it an extra"


def test_environment_yml_uses_python_311():
    text = (REPO / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M)


def notebook_imports() -> set[str]:
    modules = set()
    for notebook in sorted((REPO / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(str(notebook), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            tree = ast.parse("\n".join(line for line in cell.source.splitlines()
                                       if not line.lstrip().startswith(("%", "!"))))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    return modules


def test_every_module_the_notebooks_import_is_a_declared_runtime_dependency():
    runtime = {name_of(r) for r in PROJECT["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    missing = []
    for module in sorted(notebook_imports()):
        if module in sys.stdlib_module_names or module == "autograder":
            continue
        dists = {name_of(d) for d in providers.get(module, [])}
        # jupyterlab pulls in IPython and ipywidgets' own stack; a notebook may import those.
        if not dists & runtime and not dists & {"ipython", "ipykernel"}:
            missing.append(f"{module} (from {', '.join(sorted(dists)) or 'no installed package'})")
    assert not missing, f"notebooks import modules no runtime dependency provides: {missing}"


def test_notebooks_never_edit_sys_path():
    for notebook in sorted((REPO / "solutions").glob("*/*.ipynb")):
        text = notebook.read_text()
        assert "sys.path" not in text, f"{notebook}: import autograder as an installed package"


# -- each make stamp marks only what its rule installed ---------------------------------------
# The Makefile's stamps (.venv/.installed-ROLE) say which extras are installed; a rule that
# touches a stamp it did not earn breaks the next command for good (`make site` once marked the
# learner's [grader] as installed without installing it, and `make check` then lacked bwrap).
STAMP_EXTRAS = {"learner": {"grader"}, "instructor": {"instructor"}, "site": {"site"},
                "hub": {"instructor", "hub"}, "dev": {"dev"}}


def extras_closure(extras: set[str]) -> set[str]:
    """Every extra that installing ``extras`` brings (an extra may name `backprop-lab[other]`)."""
    table = PROJECT["optional-dependencies"]
    found, todo = set(), list(extras)
    while todo:
        extra = todo.pop()
        if extra in found:
            continue
        found.add(extra)
        for requirement in table[extra]:
            if name_of(requirement) == PROJECT["name"]:
                todo += re.search(r"\[(.*)\]", requirement)[1].split(",")
    return found


def stamp_rules() -> dict[str, tuple[set[str], set[str]]]:
    """stamp -> (extras its recipe installs, stamps its recipe touches)."""
    text = (REPO / "Makefile").read_text()
    rules = {}
    for match in re.finditer(r"^\$\(VENV\)/\.installed-(\w+):.*\n((?:\t.*\n)+)", text, re.M):
        recipe = match[2]
        installs = set(re.search(r'-e "\.\[([^\]]*)\]"', recipe)[1].split(","))
        touched = {match[1]} | set(re.findall(r"\$\(VENV\)/\.installed-(\w+)", recipe))
        rules[match[1]] = (installs, touched)
    return rules


def test_every_make_stamp_marks_only_what_its_rule_installed():
    rules = stamp_rules()
    assert set(rules) == set(STAMP_EXTRAS), f"stamps in the Makefile: {sorted(rules)}"
    for stamp, (installs, touched) in rules.items():
        brought = extras_closure(installs)
        for other in touched:
            missing = STAMP_EXTRAS[other] - brought
            assert not missing, (f"the .installed-{stamp} rule installs [{','.join(sorted(installs))}] "
                                 f"but marks .installed-{other}, which needs [{','.join(sorted(missing))}]")


def test_the_site_extra_brings_what_the_site_build_imports():
    assert "grader" in extras_closure({"site"}), "make site generates a release with nbgrader"


def test_importing_nbformat_does_not_build_a_grammar():
    """jsonschema 4.25+ (through jupyter-events' format-nongpl extra) imports rfc3987-syntax, which
    builds a Lark grammar at import: 2-10 s in every process that reads a notebook. pyproject.toml
    holds jsonschema below 4.25; this proves the environment it built has no such import."""
    code = "import sys, nbformat, nbclient; print('rfc3987_syntax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", "nbformat's import pulled in rfc3987_syntax: is jsonschema >= 4.25?"
