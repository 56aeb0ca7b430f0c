"""Every rewrite of the gradebook is preceded by a consistent, timestamped copy (backup.py)."""

from __future__ import annotations

import sqlite3
import time

from autograder.instructor.grading.backup import backup_gradebook, backups, main


def make_db(path, rows=("a",)):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS grades (name TEXT)")
        db.executemany("INSERT INTO grades VALUES (?)", [(r,) for r in rows])
    return path


def names(path):
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT name FROM grades ORDER BY name")]


def test_a_backup_is_a_readable_copy_named_by_the_time(tmp_path):
    gradebook = make_db(tmp_path / "gradebook.db", ["ada", "bob"])
    now = time.mktime((2026, 12, 1, 1, 2, 3, 0, 0, -1))
    copy = backup_gradebook(gradebook, now=now)
    assert copy == tmp_path / "backups" / "gradebook-20261201-010203.db"
    assert names(copy) == ["ada", "bob"]
    assert not list((tmp_path / "backups").glob("*.partial")), "no half-written copy is left"


def test_two_backups_in_one_second_are_both_kept(tmp_path):
    gradebook = make_db(tmp_path / "gradebook.db")
    now = time.time()
    first, second, third = (backup_gradebook(gradebook, now=now) for _ in range(3))
    assert len({first, second, third}) == 3
    assert second.name.endswith(".1.db") and third.name.endswith(".2.db")
    assert backups(tmp_path / "backups") == [first, second, third]


def test_only_the_last_ten_are_kept(tmp_path):
    gradebook = make_db(tmp_path / "gradebook.db")
    start = time.mktime((2026, 12, 1, 1, 0, 0, 0, 0, -1))
    made = [backup_gradebook(gradebook, now=start + minute * 60) for minute in range(12)]
    kept = backups(tmp_path / "backups")
    assert kept == made[2:]
    assert backup_gradebook(gradebook, keep=3, now=start + 3600) is not None
    assert len(backups(tmp_path / "backups")) == 3


def test_the_copy_is_consistent_while_another_connection_writes(tmp_path):
    gradebook = make_db(tmp_path / "gradebook.db", ["ada"])
    writer = sqlite3.connect(gradebook)
    writer.execute("INSERT INTO grades VALUES ('half-done')")  # not committed
    try:
        copy = backup_gradebook(gradebook)
    finally:
        writer.rollback()
        writer.close()
    assert names(copy) == ["ada"], "the copy holds committed data only"


def test_no_gradebook_means_nothing_to_back_up(tmp_path, capsys):
    assert backup_gradebook(tmp_path / "gradebook.db") is None
    assert not (tmp_path / "backups").exists()
    assert main([str(tmp_path / "gradebook.db")]) == 0
    assert "nothing to back up" in capsys.readouterr().out


def test_other_files_in_the_backup_folder_are_left_alone(tmp_path):
    gradebook = make_db(tmp_path / "gradebook.db")
    (tmp_path / "backups").mkdir()
    mine = tmp_path / "backups" / "before-the-exam.db"
    mine.write_text("keep me")
    for _ in range(3):
        backup_gradebook(gradebook, keep=1)
    assert mine.read_text() == "keep me"
