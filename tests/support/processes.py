"""The processes a test started, read from /proc: to kill a trainer's ranks like a crash would."""

import os
from pathlib import Path

PROC = Path("/proc")


def _parents() -> dict[int, int]:
    parents = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                # The command name, in parentheses, may hold spaces: the fields after it are fixed.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants_running(module: str, root: int | None = None) -> list[int]:
    """The processes under `root` (this one) whose command line runs `python -m module`."""
    root = os.getpid() if root is None else root
    parents = _parents()
    found = []
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, root):
            ancestor = parents.get(ancestor)
        if ancestor != root:
            continue
        try:
            arguments = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-m" in arguments and arguments[arguments.index(b"-m") + 1] == module.encode():
            found.append(pid)
    return sorted(found)
