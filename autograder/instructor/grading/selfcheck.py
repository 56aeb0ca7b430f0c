"""The learner's `make check`: the grader's verdict on your own notebook, at home.

    python -m autograder.instructor.grading.selfcheck 01                # chapters/01_*/01_*.ipynb
    python -m autograder.instructor.grading.selfcheck path/to/notebook.ipynb

It runs ``worker.grade_task``, the very function ``make grade`` runs for a class,
on your notebook as saved: the same merge (your answers into the instructor's
cells, hidden tests included), the same code policy, the same sandbox and time
limits. It prints, per exercise, pass or fail and the check's message (never a
hidden test's code), and beside each written answer the model answer (self-paced
mode; ``--no-model-answers`` turns that off). It exits 0 when every test passes,
1 otherwise, and never writes to your notebook.

The chapter's grading release is built from ``solutions/`` once and cached in
``build/selfcheck/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.instructor.course import Course, course_for_cli
from autograder.instructor.grading.worker import GradingRelease, grade_task, is_answer, nbgrader_meta


def resolve_chapter(course: Course, what: str, edition: str = "") -> tuple[str, Path]:
    """``(chapter id, notebook path)`` from '01', '01_neural_network_basics' or a path; ``edition``
    ('zh') picks the translated edition's notebook, chapters/<edition>/ (docs/TRANSLATING.md)."""
    path = Path(what)
    if path.suffix == ".ipynb":
        chapter = path.stem
        if chapter not in course.chapter_ids():
            raise SystemExit(f"error: {path.name} is not a chapter notebook of this course "
                             f"(chapters: {', '.join(course.chapter_ids())}).")
        return chapter, path
    matches = [c for c in course.chapter_ids() if c == what or c.split("_")[0] == what.zfill(2)]
    if len(matches) != 1:
        raise SystemExit(f"error: no chapter {what!r}; use a number (01..{len(course.chapter_ids()):02d}) "
                         f"or one of: {', '.join(course.chapter_ids())}.")
    folder = course.chapters / edition if edition else course.chapters
    return matches[0], folder / matches[0] / f"{matches[0]}.ipynb"


def release_for(course: Course, chapter: str, sandbox: bool, isolation: str | None = None) -> GradingRelease:
    """The chapter's grading release, built with nbgrader and cached by the source's hash.

    isolation: "two-process" or "kernel"; None takes GradingRelease's default, as ``make grade``
    does, so that a learner sees the verdict the class gets.
    """
    from autograder.instructor.authoring.release import make_course
    from autograder.instructor.grading.coordinator import chapter_number, grading_template
    from autograder.instructor.grading.policy import facts_from_source

    source_path = course.solutions / chapter / f"{chapter}.ipynb"
    # The cache is keyed by the source and by the code that turns it into a release.
    from autograder.instructor.authoring import release as release_module
    from autograder.instructor.grading import coordinator, policy

    # policy is a package: every file of it counts
    makers = [*sorted(Path(policy.__file__).parent.glob("*.py")), Path(coordinator.__file__),
              Path(release_module.__file__)]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in [source_path, *makers])).hexdigest()[:16]
    cache = course.root / "build" / "selfcheck" / f"{chapter}-{digest}.json"
    if cache.is_file():
        data = json.loads(cache.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="backprop-selfcheck-") as scratch:
            root = Path(scratch)
            make_course(root, [chapter], course.solutions)
            source = nbformat.read(str(root / "source" / chapter / f"{chapter}.ipynb"), as_version=4)
            student = nbformat.read(str(root / "release" / chapter / f"{chapter}.ipynb"), as_version=4)
            data = {"chapter": chapter, "template": nbformat.writes(grading_template(source, student)),
                    "policy": facts_from_source(source, chapter_number(chapter)).to_dict()}
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(data))
    if isolation is not None:
        data["isolation"] = isolation
    return GradingRelease(**data, sandbox=sandbox)


def model_answers(course: Course, chapter: str) -> dict[str, str]:
    source = nbformat.read(str(course.solutions / chapter / f"{chapter}.ipynb"), as_version=4)
    return {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if is_answer(c)}


def exercise_of(test_id: str) -> str:
    return test_id.split("__")[0]


def report(record: dict, answers: dict[str, str], out=print) -> bool:
    """Print the verdict; True when every test passed."""
    by_exercise: dict[str, list[tuple[str, dict]]] = {}
    for test_id, test in record["tests"].items():
        by_exercise.setdefault(exercise_of(test_id), []).append((test_id, test))
    score = sum(t["score"] for t in record["tests"].values())
    total = sum(t["points"] for t in record["tests"].values())
    out(f"Self-check of {record['chapter']}: {score:g} / {total:g} test points "
        "(the hidden tests included, as at grading)")
    if record["status"] != "graded":
        out(f"\n{record['status'].upper()}: {record['reason']}")
    for violation in record.get("policy", []):
        out(f"\nNOT RUN: {violation['cell']}, line {violation['line']}: {violation['construct']}: "
            f"{violation['message']}")
    for advice in record.get("advice", []):  # two-process grading: advice, never a zero
        out(f"\nADVICE: {advice['cell']}, line {advice['line']}: {advice['construct']}: {advice['message']}")
    out("")
    width = max((len(name) for name in by_exercise), default=8)
    for name, tests in by_exercise.items():
        got = sum(t["score"] for _, t in tests)
        points = sum(t["points"] for _, t in tests)
        passed = got >= points
        out(f"  {'passed' if passed else 'failed':6}  {name:{width}}  {got:g}/{points:g}")
        for test_id, test in tests:
            if test["score"] < test["points"] and test.get("message"):
                out(f"          {test_id}: {test['message'][:600]}")
    if record["answers"] and answers:
        out("\nWritten answers (graded by a person; compare yours with the model answer, in Markdown "
            "with LaTeX maths as in the notebook):")
        for grade_id, answer in record["answers"].items():
            out(f"\n  {grade_id} ({answer['points']:g} points)")
            if grade_id in answers:
                out("    model answer: " + answers[grade_id].strip().replace("\n", "\n    "))
    elif record["answers"]:
        out(f"\nWritten answers: {len(record['answers'])}, graded by a person (model answers not shown).")
    all_passed = record["status"] == "graded" and score >= total
    out("\n" + ("Every test passes." if all_passed else "Some tests fail: the messages above say where."))
    return all_passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade your own chapter notebook, hidden tests included.")
    parser.add_argument("chapter", help="a chapter number (01), its id, or a notebook path")
    parser.add_argument("--course", default=None, help="the course folder (default: found from here)")
    parser.add_argument("--no-model-answers", action="store_true",
                        help="do not show the model answers of the written questions")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run without bubblewrap (where it cannot run, e.g. macOS)")
    parser.add_argument("--answers-file", type=Path, default=None,
                        help="write the model answers there as JSON (grade id -> Markdown) instead of "
                             "printing them: the 'Check my work' button renders them with their maths")
    parser.add_argument("--edition", default="", help="a translated edition, e.g. zh (chapters/zh/)")
    parser.add_argument("--quiet-start", action="store_true",
                        help="do not print the 'Checking ...' line (the button prints its own)")
    parser.add_argument("--isolation", choices=("two-process", "kernel"), default=None,
                        help="two-process: your code in a process of its own; default: as make grade")
    args = parser.parse_args(argv)
    course = course_for_cli(args.course)
    if course is None:
        return 2
    chapter, path = resolve_chapter(course, args.chapter, args.edition)
    if not path.is_file():
        print(f"error: {path} does not exist. Open the chapter with `make lab`, save it, and try again.")
        return 2
    sandbox = not args.no_sandbox
    from autograder.instructor.grading.sandbox import refuse_without_sandbox

    if refuse_without_sandbox(sandbox):
        return 2
    data = path.read_bytes()
    task = {"student": os.environ.get("USER", "you"), "chapter": chapter, "notebook": data,
            "submission_sha256": hashlib.sha256(data).hexdigest()}
    if not args.quiet_start:
        print(f"Checking {path} as saved (save it first if you changed it) ...", flush=True)
    # The report is a table: the grading kernel draws no figure (GradingRelease.figures).
    release = dataclasses.replace(release_for(course, chapter, sandbox, args.isolation), figures=False)
    result = grade_task(task, release)
    show_models = not args.no_model_answers and os.environ.get("BACKPROP_LAB_MODEL_ANSWERS", "1") != "0"
    answers = model_answers(course, chapter) if show_models else {}
    if args.answers_file is not None:
        args.answers_file.write_text(json.dumps(answers))
        answers = {}
    return 0 if report(result["record"], answers) else 1


if __name__ == "__main__":
    sys.exit(main())
