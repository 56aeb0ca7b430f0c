"""The instructor's tools: nbgrader configuration, release and batch grading.

Notebooks never import this subpackage; the Makefile and tests/ do.
"""
