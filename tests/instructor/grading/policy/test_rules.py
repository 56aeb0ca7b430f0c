"""The policy's rule tables and messages (autograder/instructor/grading/policy/rules.py)."""

from __future__ import annotations

import re

from autograder.instructor.grading.policy.rules import (
    ALLOWED_CLASS_DUNDER_NAMES,
    ALLOWED_DUNDER_METHODS,
    FORBIDDEN_BUILTINS,
    HARNESS_PACKAGES,
    MESSAGES,
    NUMPY_IMPORTS,
    STDLIB_IMPORTS,
)

from .checks import check


def test_messages_say_what_to_do():
    (violation,) = check("import os")
    assert "numpy" in violation.message and "import" in violation.message


def test_every_message_is_a_sentence_with_only_the_placeholders_the_visitor_fills():
    for kind, message in MESSAGES.items():
        assert message.endswith("."), (kind, message)
        assert set(re.findall(r"{(\w*)}", message)) <= {"detail", "reason"}, (kind, message)


def test_the_tables_never_allow_what_they_forbid():
    assert not {m.split(".")[0] for m in STDLIB_IMPORTS | NUMPY_IMPORTS} & HARNESS_PACKAGES
    assert {"exec", "eval", "compile", "open", "__import__", "getattr"} <= FORBIDDEN_BUILTINS
    assert ALLOWED_DUNDER_METHODS <= ALLOWED_CLASS_DUNDER_NAMES
