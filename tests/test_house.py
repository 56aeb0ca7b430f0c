"""The house rules that keep the project walkable (docs/STYLE.md): small modules, no import
circles, every make target in `make help`, a short README."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "autograder"
MAX_MODULE_LINES = 500
MAX_README_LINES = 120
# Kept whole on purpose, each with its reason (issue notes say what would split them):
LONG_MODULES = {
    # The student process loads the wire format as one standard-library-only file, outside the
    # package (it must not import autograder): splitting it means shipping several files to S.
    "autograder/instructor/grading/protocol.py": "the student process loads it as one file",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str], here: str | None = None) -> set[str]:
    """Every module of the package that ``path`` imports, at the top or inside a function."""
    tree = ast.parse(path.read_text())
    here = here or module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    # A package's __init__ is imported with any of its modules: not an edge worth a cycle.
    return {name: {m for m in imported_modules(path, known) if not name.startswith(m + ".")}
            for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(nxt_ := node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[nxt_] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
            and str(p.relative_to(REPO)) not in LONG_MODULES}
    assert not long, f"split these modules by concern (at most {MAX_MODULE_LINES} lines): {long}"


def test_the_package_has_no_import_circle():
    found = cycles(import_graph())
    assert not found, "import circles: " + "; ".join(" -> ".join(c) for c in found)


def test_nothing_a_notebook_imports_reaches_into_the_instructors_tools():
    graph = import_graph()
    climbing = {name: sorted(m for m in targets if m.startswith("autograder.instructor"))
                for name, targets in graph.items() if not name.startswith("autograder.instructor")}
    climbing = {k: v for k, v in climbing.items() if v}
    assert not climbing, f"modules outside autograder.instructor import it: {climbing}"


def test_the_import_walk_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from autograder.checks import check_close\n")
    known = {"autograder", "autograder.checks"}
    assert imported_modules(module, known, here="autograder.m") == {"autograder.checks"}
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]


def make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([a-z][a-z0-9_-]*):(?!=)", text, re.M)}


def test_the_repository_tracks_no_environment_and_no_link_out_of_it():
    """A helper's worktree links `.venv` to the main one; `git add -A` once committed that link (an
    absolute path, so a fresh clone's `make` found a broken environment), and merging it replaced the
    real `.venv` with a link to itself."""
    if not (REPO / ".git").exists():
        return  # an exported tree: nothing is tracked
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True)
    entries = [line.split("\t", 1) for line in listed.stdout.splitlines()]
    environments = [path for _, path in entries if path.split("/")[0] in (".venv", "venv", "build")]
    assert environments == [], f"an environment or build is tracked: {environments[:5]}"
    links = [path for mode, path in entries if mode.startswith("120000")]
    outside = [path for path in links if (REPO / path).readlink().is_absolute()
               or not ((REPO / path).parent / (REPO / path).readlink()).resolve().is_relative_to(REPO)]
    assert outside == [], f"links to outside the repository: {outside}"


def test_every_make_target_is_in_make_help():
    listed = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout
    shown = set(re.findall(r"make ([a-z][a-z0-9_-]*)", listed))
    missing = make_targets() - shown
    assert not missing, f"add a '## what it does' comment to these targets: {sorted(missing)}"


def test_every_make_target_is_phony():
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    phony = set()
    for line in re.findall(r"^\.PHONY:(.*)$", text, re.M):
        phony |= set(line.split())
    assert text.count(".PHONY:") == 1, "one .PHONY list"
    assert make_targets() - phony == set()


def test_the_readme_is_short_and_shows_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= MAX_README_LINES
    assert "make lab" in readme and "make test" in readme
    for link in re.findall(r"\]\(((?:docs|deploy|chapters)/[^)#]+)\)", readme):
        assert (REPO / link).exists(), f"README links to {link}, which does not exist"


def test_the_docs_do_not_point_outside_the_repository():
    for page in [REPO / "README.md", *(REPO / "docs").glob("*.md")]:
        assert "../shared" not in page.read_text(), f"{page.name} points outside the repository"


def test_make_lab_edition_zh_opens_the_chinese_chapter_one():
    dry = subprocess.run(["make", "-n", "lab", "EDITION=zh"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "--ServerApp.root_dir=chapters/zh " in dry, dry
    first = re.search(r"--LabApp.default_url=/lab/tree/(\S+)", dry)[1]
    assert (REPO / "chapters" / "zh" / first).is_file(), f"no Chinese notebook at chapters/zh/{first}"
    dry_check = subprocess.run(["make", "-n", "check", "CHAPTER=01", "EDITION=zh"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout
    assert "--edition zh" in dry_check


# Modules whose tests do not live in their mirror file tests/instructor/<room>/test_<module>.py (issue 24),
# each with where it is tested and why not there (none today: the hub's end-to-end run is in
# tests/deploy/test_hub.py, its unit tests in the mirror). Add an entry only with a reason.
MIRROR_EXEMPT: dict[str, str] = {}


def mirror_test(module: Path) -> Path:
    """Where the tests of ``autograder/instructor/<room>/<name>.py`` live."""
    relative = module.relative_to(PACKAGE / "instructor")
    return REPO / "tests" / "instructor" / relative.parent / f"test_{relative.stem}.py"


def test_every_instructor_module_has_its_mirror_test_file():
    modules = sorted(p for p in (PACKAGE / "instructor").rglob("*.py") if p.name != "__init__.py")
    missing = [f"{m.relative_to(REPO)} -> {mirror_test(m).relative_to(REPO)}" for m in modules
               if str(m.relative_to(REPO)) not in MIRROR_EXEMPT and not mirror_test(m).is_file()]
    assert not missing, ("these modules have no mirror test file (add it, or an entry in MIRROR_EXEMPT "
                         "saying where they are tested):\n" + "\n".join(missing))
    stale = [path for path in MIRROR_EXEMPT
             if not (REPO / path).is_file() or mirror_test(REPO / path).is_file()]
    assert not stale, f"MIRROR_EXEMPT lists modules that are gone or now have a mirror file: {stale}"


GROUPED = '''
import os, pytest
pytestmark = pytest.mark.xdist_group("{name}")

@pytest.fixture(scope="module")
def built():
    with open({log!r}, "a") as log:
        log.write("{name} %d\\n" % os.getpid())

def test_1(built): pass
def test_2(built): pass
def test_3(built): pass
'''


def test_xdist_groups_build_a_module_fixture_once(tmp_path):
    """`make test` runs pytest-xdist's --dist loadgroup, whose xdist_group marks keep an expensive module
    fixture (a graded class, a browser) on one worker. With pytest 9.2, pytest-xdist 3.8 silently
    groups nothing (pytest-dev/pytest-xdist#1386) and each worker builds it: pyproject.toml pins pytest
    below; this fails if grouping is lost again."""
    import sys

    log = tmp_path / "setups.log"
    for name in ("alpha", "beta"):
        (tmp_path / f"test_{name}.py").write_text(GROUPED.format(name=name, log=str(log)))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                          "--dist", "loadgroup", str(tmp_path)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    setups = sorted(line.split()[0] for line in log.read_text().splitlines())
    assert setups == ["alpha", "beta"], (
        f"module fixtures built {setups}: --dist loadgroup ignored the xdist_group marks "
        "(pytest-dev/pytest-xdist#1386); keep pytest at the version pyproject.toml pins")


def test_the_longest_tests_that_conftest_hands_out_first_still_exist():
    """tests/conftest.py puts the longest tests first so two xdist workers end together; a name that
    no longer matches would silently stop doing so."""
    from tests.conftest import LONGEST_FIRST

    root = Path(__file__).resolve().parents[1]
    for prefix in LONGEST_FIRST:
        path, _, name = prefix.partition("::")
        assert (root / path).is_file(), prefix
        name = name.split("[")[0]
        assert not name or f"def {name}" in (root / path).read_text(), prefix
