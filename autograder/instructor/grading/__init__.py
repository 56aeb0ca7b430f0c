"""Grading one notebook and a class: the code policy, the sandbox, the worker, the coordinator,
the gradebook and feedback."""
