"""Static figures the chapters draw (network sketches, computation graphs), one topic a file.

Notebooks call these so that a cell shows one line, not fifty lines of matplotlib
patches; each function takes an ``ax`` and draws on it.
"""
