"""The files this command has read, so that no output is ever written onto one of them.

Every place that opens an input notes it here before reading (`loader.read_text`: a spec, a
bundled spec, an `extends` base, a spec that `imports` reads, a `conv` matrix file;
`source.read`: standard input; `loader.read_json`: a `--baseline` report, a `--calibrate` run), and
`writers.write_file` refuses a target that is any of them: by identity (device and inode, so a
symlink, a hard link or another spelling of the path is the same file) and by resolved path (a
file that could not be read, or is not there yet, is still an input). The CLI forgets them at
the start of each command.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field


@dataclass(slots=True)
class Inputs:
    """The inputs read so far: resolved paths and (device, inode) identities."""

    paths: set[str] = field(default_factory=set)
    identities: set[tuple[int, int]] = field(default_factory=set)

    def has(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path` (following symlinks) is one of the inputs."""
        if os.path.realpath(path) in self.paths:
            return True
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return False
        return (info.st_dev, info.st_ino) in self.identities


READ = Inputs()


def note(path: str | os.PathLike[str]) -> None:
    """Record a file as an input of this command (before it is opened). A terminal, pipe or
    device (`/dev/stdin`) is not a file that an output could replace: not recorded."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        return
    try:
        READ.paths.add(os.path.realpath(path))
    except (OSError, ValueError):
        pass
    if info is not None:
        READ.identities.add((info.st_dev, info.st_ino))


def note_stdin() -> None:
    """Record the file behind standard input when it is a file (`cnncalc show - < spec.yaml`)."""
    try:
        info = os.fstat(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        return  # no descriptor (a test's stand-in for stdin): nothing on disk to protect
    if stat.S_ISREG(info.st_mode):
        READ.identities.add((info.st_dev, info.st_ino))


def forget() -> None:
    """Start a new command: nothing has been read yet."""
    READ.paths.clear()
    READ.identities.clear()
