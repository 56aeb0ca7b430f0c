"""course.py's command-line helpers, shared by the release, translation and classroom commands."""

from __future__ import annotations

import argparse

from autograder.instructor.course import course_and_chapters, parse_grading_args


def a_course(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    for chapter in ("01_one", "02_two"):
        (tmp_path / "solutions" / chapter).mkdir(parents=True)
        (tmp_path / "solutions" / chapter / f"{chapter}.ipynb").write_text("{}")
    return tmp_path


def test_an_unknown_chapter_is_refused_with_the_chapters_there_are(tmp_path):
    root, said = a_course(tmp_path), []
    assert course_and_chapters(root, ["01_one"], out=said.append).root == root.resolve()
    assert course_and_chapters(root, ["03_three", "01_one"], out=said.append) is None
    assert said == ["error: no such chapter: 03_three (chapters: 01_one, 02_two)"], said


def test_the_grading_folder_is_the_out_option_or_the_courses_own(tmp_path, monkeypatch):
    root = a_course(tmp_path)
    args, rest = parse_grading_args(argparse.ArgumentParser(), ["--out", "elsewhere"])
    assert (str(args.out), rest) == ("elsewhere", [])
    monkeypatch.chdir(root)
    args, rest = parse_grading_args(argparse.ArgumentParser(), ["--lab-flag"], known=True)
    assert (args.out, rest) == (root.resolve() / "grading", ["--lab-flag"])
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.delenv("BACKPROP_LAB_COURSE", raising=False)
    said: list[str] = []
    args, _ = parse_grading_args(argparse.ArgumentParser(), [], out=said.append)
    assert args is None and said and said[0].startswith("error: No course folder"), said
