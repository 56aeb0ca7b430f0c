"""The first program inside a sandbox: set resource limits, the working folder and the environment, then exec.

    python -I -S sandbox_exec.py [--rlimit NAME=VALUE]... [--chdir DIR] [--setenv NAME=VALUE]... -- ARGV...

Run as a file (``python -I -S path/to/sandbox_exec.py``), never with ``-m``: importing the
``autograder`` package would import numpy before the kernel even starts. Standard library only.
``autograder/instructor/grading/sandbox.py`` builds this command line; nothing else should.

Each ``--rlimit`` sets soft and hard limit to VALUE, so code in the kernel cannot raise it again;
RLIMIT_CPU gets a hard limit a few seconds above the soft one, so SIGXCPU (which ends Python)
comes first and SIGKILL only if it was ignored. The environment of ARGV is exactly the
``--setenv`` pairs: nothing of the caller's environment (tokens, paths) passes through.
"""

from __future__ import annotations

import os
import resource
import sys

CPU_GRACE_S = 5


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("sandbox_exec: usage: [--rlimit NAME=VALUE]... [--chdir DIR] "
                 "[--setenv NAME=VALUE]... -- ARGV")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    if not command:
        sys.exit("sandbox_exec: nothing to run after '--'")
    env: dict[str, str] = {}
    for flag, value in zip(options[::2], options[1::2]):
        if flag == "--rlimit":
            name, _, number = value.partition("=")
            set_limit(name, int(number))
        elif flag == "--chdir":
            os.chdir(value)
        elif flag == "--setenv":
            key, _, val = value.partition("=")
            env[key] = val
        else:
            sys.exit(f"sandbox_exec: unknown option {flag!r}")
    os.execve(command[0], command, env)


def set_limit(name: str, value: int) -> None:
    """Set RLIMIT_<name> to value (soft and hard), never above the hard limit we were given."""
    which = getattr(resource, f"RLIMIT_{name}")
    _, hard_now = resource.getrlimit(which)
    hard = value + CPU_GRACE_S if name == "CPU" else value
    if hard_now != resource.RLIM_INFINITY:
        hard = min(hard, hard_now)
    resource.setrlimit(which, (min(value, hard), hard))


if __name__ == "__main__":
    main(sys.argv[1:])
