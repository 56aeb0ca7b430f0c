"""What the class got wrong: an item-analysis report built from ``grading/records/`` only.

    python -m autograder.instructor.grading.report --out grading [--small-class | --no-small-class]

writes ``<out>/report/index.html`` (self-contained: tables, and plots as PNG data URIs; no
script, no external URL) and the same tables as CSV beside it:

- ``exercises.csv``: per exercise, its pass rate, mean score and discrimination (the
  point-biserial correlation between passing it and the rest of the chapter's score), hardest
  first; the grader's time per exercise when the records hold it;
- ``mistakes.csv``: failing tests grouped by the checks' hint code (``autograder.hints``), with
  how many students and one example message (a check's words, never test code);
- ``chapter_scores.csv`` (the histogram), ``progress.csv`` (the students x exercises heatmap),
  ``statuses.csv``, ``policy.csv`` (refusals by rule), ``answers.csv`` (written answers still to
  grade: from the gradebook when there is one, else answered questions from the records),
  ``timing.csv`` (the grader's seconds per notebook).

Item statistics count the notebooks that ran ("graded"); the others scored zero and are
counted under statuses. In a small class (fewer than ``SMALL_CLASS`` students, or
``--small-class``) the report names no student and lists no mistake seen in one student only,
and shows no example message. It reads records and writes files: no notebook runs, and
running it twice writes the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.hints import HINT_CODES
from autograder.instructor.grading.boundary import load_record
from autograder.instructor.grading.records import STATUSES
from autograder.instructor.grading.report_page import page
from autograder.instructor.grading.report_plots import (
    chapter_score_histograms,
    pass_rate_bars,
    progress_heatmap,
    status_bars,
)

SMALL_CLASS = 5  # fewer students than this: no student named, no one-student mistake listed
HARD = 0.5  # a pass rate below this flags an exercise as hard
LOW_DISCRIMINATION = 0.2  # a point-biserial correlation below this flags it as not telling apart
EXAMPLE_CHARS = 300
NO_CODE = "(no code)"


# -- reading records --------------------------------------------------------------------------

@dataclass
class Test:
    points: float
    score: float
    message: str
    hint: str | None
    seconds: float | None


@dataclass
class Notebook:
    student: str
    chapter: str
    status: str
    tests: dict[str, Test]
    answers: dict[str, str]  # grade_id -> text_sha256 ("" when unanswered)
    policy: list[str]  # one rule (the construct) per refusal
    seconds: float

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests.values())

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests.values())


def read_notebooks(grading_root: Path) -> list[Notebook]:
    """Every readable record under ``grading_root/records``, sorted by chapter and student."""
    notebooks = []
    for path in sorted((Path(grading_root) / "records").glob("*/*.json")):
        record = load_record(path)  # typed as a worker's record is; None for a torn write
        if record is None:
            continue  # the next `make grade` grades it again
        tests = {grade_id: Test(test["points"], test["score"], test["message"], test.get("hint"),
                                test.get("seconds"))
                 for grade_id, test in record.tests.items()}
        answers = {grade_id: answer["text_sha256"] for grade_id, answer in record.answers.items()}
        policy = [v["construct"] or "(unnamed)" for v in record.policy]
        notebooks.append(Notebook(record.student or path.stem, record.chapter or path.parent.name,
                                  record.status, tests, answers, policy, record.seconds))
    return sorted(notebooks, key=lambda n: (n.chapter, n.student))


def exercise_of(grade_id: str) -> str:
    """``relu__tests`` and ``relu__torch`` are both tests of the exercise ``relu``."""
    return grade_id.split("__")[0]


# -- the tables -------------------------------------------------------------------------------

@dataclass
class Item:
    chapter: str
    exercise: str
    points: float
    students: int
    passed: int
    mean_score: float  # mean fraction of the exercise's points
    discrimination: float | None
    seconds: float | None  # mean grader seconds per notebook, when records hold per-test times

    @property
    def pass_rate(self) -> float:
        return self.passed / self.students if self.students else 0.0

    @property
    def flags(self) -> str:
        flags = []
        if self.pass_rate < HARD:
            flags.append("hard")
        if self.discrimination is not None and self.discrimination < LOW_DISCRIMINATION:
            flags.append("low discrimination")
        return "; ".join(flags)


def point_biserial(passed: list[float], rest: list[float]) -> float | None:
    """Pearson's correlation of a 0/1 variable with a score; None when either does not vary."""
    n = len(passed)
    if n < 3:
        return None
    mean_x, mean_y = sum(passed) / n, sum(rest) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(passed, rest))
    var_x = sum((x - mean_x) ** 2 for x in passed)
    var_y = sum((y - mean_y) ** 2 for y in rest)
    if var_x <= 0 or var_y <= 1e-12 * max(1.0, mean_y ** 2):
        return None
    return cov / math.sqrt(var_x * var_y)


def exercise_scores(notebook: Notebook) -> dict[str, tuple[float, float]]:
    """exercise -> (score, points), over its test cells."""
    totals: dict[str, list[float]] = {}
    for grade_id, test in notebook.tests.items():
        entry = totals.setdefault(exercise_of(grade_id), [0.0, 0.0])
        entry[0] += test.score
        entry[1] += test.points
    return {name: (score, points) for name, (score, points) in totals.items()}


def items(notebooks: list[Notebook]) -> list[Item]:
    """Per exercise of each chapter, over the notebooks that ran; hardest first."""
    found = []
    for chapter in sorted({n.chapter for n in notebooks}):
        graded = [n for n in notebooks if n.chapter == chapter and n.status == "graded"]
        scores = [exercise_scores(n) for n in graded]
        names = sorted({name for s in scores for name in s})
        for name in names:
            rows = [(s[name], n) for s, n in zip(scores, graded) if name in s]
            points = max(p for (_, p), _ in rows)
            passed = [1.0 if p > 0 and sc >= p else 0.0 for (sc, p), _ in rows]
            rest = [n.score - sc for (sc, _), n in rows]
            fractions = [sc / p if p else 0.0 for (sc, p), _ in rows]
            times = [sum(t.seconds for i, t in n.tests.items() if exercise_of(i) == name and t.seconds)
                     for _, n in rows if any(t.seconds is not None for t in n.tests.values())]
            found.append(Item(chapter, name, points, len(rows), int(sum(passed)),
                              sum(fractions) / len(rows), point_biserial(passed, rest),
                              sum(times) / len(times) if times else None))
    return sorted(found, key=lambda i: (i.pass_rate, -2.0 if i.discrimination is None else i.discrimination,
                                        i.chapter, i.exercise))


@dataclass
class Mistake:
    chapter: str
    exercise: str
    hint: str  # a code, or NO_CODE
    students: set[str] = field(default_factory=set)
    failing_tests: int = 0
    messages: Counter = field(default_factory=Counter)

    @property
    def label(self) -> str:
        return HINT_CODES.get(self.hint, "no recognisable shape" if self.hint == NO_CODE else "")

    @property
    def example(self) -> str:
        if not self.messages:
            return ""
        top = max(self.messages.values())
        text = min(m for m, c in self.messages.items() if c == top)
        return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"


def mistakes(notebooks: list[Notebook]) -> list[Mistake]:
    """Failing tests of the notebooks that ran, by (chapter, exercise, hint); most students first."""
    groups: dict[tuple[str, str, str], Mistake] = {}
    for notebook in notebooks:
        if notebook.status != "graded":
            continue
        for grade_id, test in notebook.tests.items():
            if test.score >= test.points:
                continue
            key = (notebook.chapter, exercise_of(grade_id), test.hint or NO_CODE)
            group = groups.setdefault(key, Mistake(*key))
            group.students.add(notebook.student)
            group.failing_tests += 1
            if test.message:
                group.messages[test.message] += 1
    return sorted(groups.values(), key=lambda m: (-len(m.students), m.chapter, m.exercise, m.hint))


def statuses(notebooks: list[Notebook]) -> list[tuple[str, str, int]]:
    counts = Counter((n.chapter, n.status) for n in notebooks)
    chapters = sorted({n.chapter for n in notebooks})
    known = list(STATUSES) + sorted({s for _, s in counts} - set(STATUSES))
    return [(c, s, counts[(c, s)]) for c in chapters for s in known]


def policy_refusals(notebooks: list[Notebook]) -> list[tuple[str, str, int, int]]:
    """(chapter, rule, refusals, students)."""
    refusals: Counter = Counter()
    students: dict[tuple[str, str], set[str]] = defaultdict(set)
    for notebook in notebooks:
        for rule in notebook.policy:
            refusals[(notebook.chapter, rule)] += 1
            students[(notebook.chapter, rule)].add(notebook.student)
    return [(c, r, refusals[(c, r)], len(students[(c, r)])) for c, r in sorted(refusals)]


def score_bins(notebooks: list[Notebook], bins: int = 10) -> list[tuple[str, int, int, int]]:
    """(chapter, low %, high %, notebooks) of every chapter's test score, all statuses counted."""
    rows = []
    for chapter in sorted({n.chapter for n in notebooks}):
        counts = [0] * bins
        for notebook in (n for n in notebooks if n.chapter == chapter):
            fraction = notebook.score / notebook.points if notebook.points else 0.0
            counts[min(bins - 1, int(fraction * bins + 1e-9))] += 1
        rows += [(chapter, 100 * b // bins, 100 * (b + 1) // bins, counts[b]) for b in range(bins)]
    return rows


def timing(notebooks: list[Notebook]) -> list[tuple[str, int, float, float, float]]:
    """(chapter, notebooks, mean, median, max) of the grader's seconds per notebook."""
    rows = []
    for chapter in sorted({n.chapter for n in notebooks}):
        seconds = sorted(n.seconds for n in notebooks if n.chapter == chapter)
        middle = len(seconds) // 2
        median = seconds[middle] if len(seconds) % 2 else (seconds[middle - 1] + seconds[middle]) / 2
        rows.append((chapter, len(seconds), sum(seconds) / len(seconds), median, seconds[-1]))
    return rows


def answers_to_grade(grading_root: Path, notebooks: list[Notebook]) -> tuple[list[tuple[str, str, int]], str]:
    """((chapter, question, answers to grade), where the numbers come from)."""
    if (Path(grading_root) / "gradebook.db").is_file():
        try:
            return _answers_from_gradebook(grading_root), "the gradebook (answers not yet scored)"
        except Exception as error:  # a gradebook of another nbgrader version, a locked file...
            source = f"the records (the gradebook could not be read: {type(error).__name__})"
    else:
        source = "the records (no gradebook: every answered question is counted)"
    counts: Counter = Counter()
    for notebook in notebooks:
        for grade_id, text_sha256 in notebook.answers.items():
            counts[(notebook.chapter, grade_id)] += bool(text_sha256)
    return [(c, q, counts[(c, q)]) for c, q in sorted(counts)], source


def _answers_from_gradebook(grading_root: Path) -> list[tuple[str, str, int]]:
    from autograder.instructor.grading.opengradebook import open_gradebook

    counts: Counter = Counter()
    with open_gradebook(grading_root) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.cell_type == "markdown":
                            counts[(assignment.name, grade.name)] += bool(grade.needs_manual_grade)
    return [(c, q, counts[(c, q)]) for c, q in sorted(counts)]


def progress_matrix(notebooks: list[Notebook], anonymous: bool
                    ) -> tuple[list[str], list[str], list[list[float | None]]]:
    """(student labels, exercise labels, fraction of points or None where nothing was handed in)."""
    columns = sorted({(n.chapter, exercise_of(i)) for n in notebooks for i in n.tests})
    students = sorted({n.student for n in notebooks})
    by_student: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for notebook in notebooks:
        for name, (score, points) in exercise_scores(notebook).items():
            by_student[notebook.student][(notebook.chapter, name)] = score / points if points else 0.0
    if anonymous:  # ordered by total, not by name: the row says nothing about who it is
        students.sort(key=lambda s: (-sum(by_student[s].values()), s))
    rows = [[by_student[s].get(column) for column in columns] for s in students]
    labels = [f"student {i + 1}" for i in range(len(students))] if anonymous else students
    return labels, [f"{c[:2]} {e}" for c, e in columns], rows


# -- writing ----------------------------------------------------------------------------------

def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _write(path: Path, text: str) -> None:
    """Atomically, and only when the bytes change (so a rerun touches nothing)."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


Tables = dict[str, tuple[list[str], list]]


def build_tables(notebooks: list[Notebook], answers: list[tuple[str, str, int]], small: bool) -> Tables:
    """CSV name -> (header, rows): what the page shows, as data."""
    exercise_rows = [[i.chapter, i.exercise, f"{i.points:g}", i.students, i.passed, _fmt(i.pass_rate),
                      _fmt(i.mean_score), _fmt(i.discrimination), _fmt(i.seconds, 2), i.flags]
                     for i in items(notebooks)]
    shown = [m for m in mistakes(notebooks) if not small or len(m.students) >= 2]
    mistake_rows = [[m.chapter, m.exercise, m.hint, m.label, len(m.students), m.failing_tests,
                     "" if small else m.example] for m in shown]
    labels, columns, matrix = progress_matrix(notebooks, anonymous=small)
    return {
        "exercises": (["chapter", "exercise", "points", "students", "passed", "pass_rate", "mean_score",
                       "discrimination", "grader_seconds", "flags"], exercise_rows),
        "mistakes": (["chapter", "exercise", "hint", "label", "students", "failing_tests", "example"],
                     mistake_rows),
        "chapter_scores": (["chapter", "score_from_percent", "score_to_percent", "notebooks"],
                           [list(r) for r in score_bins(notebooks)]),
        "statuses": (["chapter", "status", "notebooks"], [list(r) for r in statuses(notebooks)]),
        "policy": (["chapter", "rule", "refusals", "students"],
                   [list(r) for r in policy_refusals(notebooks)]),
        "answers": (["chapter", "question", "to_grade"], [list(r) for r in answers]),
        "timing": (["chapter", "notebooks", "mean_seconds", "median_seconds", "max_seconds"],
                   [[c, n, _fmt(a, 2), _fmt(m, 2), _fmt(x, 2)] for c, n, a, m, x in timing(notebooks)]),
        "progress": (["student", *columns], [[label, *(_fmt(v) for v in row)]
                                             for label, row in zip(labels, matrix)]),
    }


def is_small_class(notebooks: list[Notebook], small_class: bool | None) -> bool:
    if small_class is not None:
        return small_class
    return len({n.student for n in notebooks}) < SMALL_CLASS


def write_report(grading_root: Path, small_class: bool | None = None) -> Path:
    """Write ``grading_root/report/`` (index.html and the CSVs) from the records; index.html's path."""
    grading_root = Path(grading_root)
    notebooks = read_notebooks(grading_root)
    small = is_small_class(notebooks, small_class)
    folder = grading_root / "report"
    folder.mkdir(parents=True, exist_ok=True)
    answers, source = answers_to_grade(grading_root, notebooks)  # the gradebook is opened once
    tables = build_tables(notebooks, answers, small)
    for name, (header, rows) in tables.items():
        _write(folder / f"{name}.csv", _csv_text(header, rows))
    labels, columns, matrix = progress_matrix(notebooks, anonymous=small)
    plots = {
        "pass_rates": pass_rate_bars(items(notebooks)),
        "scores": chapter_score_histograms(score_bins(notebooks)),
        "progress": progress_heatmap(labels, columns, matrix),
        "statuses": status_bars(statuses(notebooks)),
    } if notebooks else {}
    index = folder / "index.html"
    _write(index, page(tables, plots, notebooks_count=len(notebooks),
                       students=len({n.student for n in notebooks}), small=small,
                       answers_source=source, has_test_seconds=any(
                           t.seconds is not None for n in notebooks for t in n.tests.values())))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the class report from grading records.")
    parser.add_argument("--out", type=Path, default=Path("grading"),
                        help="the grading folder that holds records/ (default: grading)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--small-class", dest="small", action="store_true", default=None,
                      help="name no student and list no mistake seen in one student only")
    mode.add_argument("--no-small-class", dest="small", action="store_false",
                      help=f"the full report even with fewer than {SMALL_CLASS} students")
    args = parser.parse_args(argv)
    if not (args.out / "records").is_dir():
        print(f"error: no {args.out / 'records'}: grade first (make grade SUBMISSIONS=...), "
              "or pass the grading folder with --out.")
        return 2
    index = write_report(args.out, args.small)
    print(f"Report: {index.resolve()} (open it in a browser; the CSVs are beside it).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
