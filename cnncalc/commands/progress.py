"""Progress bars for the commands that work for a while (`verify`, `fit`'s sweep).

A bar is drawn with rich on standard error, only when standard error is a terminal (never into
a pipe, a file or a CI log), and only once the work has taken longer than `DELAY` seconds: a
quick run prints nothing extra. It disappears when the work ends. rich is imported only when a
bar may be drawn.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: seconds of work before a bar appears
DELAY = 1.0


def wanted() -> bool:
    """Whether a bar may be drawn: standard error is a terminal that is not dumb."""
    try:
        return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class Bar:
    """What a command advances; does nothing where no bar is drawn."""

    def __init__(self, description: str, total: int | None) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._started = False
        self._done = False
        if not wanted():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=Console(stderr=True), transient=True)
        self._task = self._progress.add_task(description, total=total)
        self._timer = threading.Timer(DELAY, self._start)
        self._timer.daemon = True
        self._timer.start()

    def _start(self) -> None:
        with self._lock:
            if not self._done:
                self._progress.start()
                self._started = True

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, steps)

    def update(self, description: str | None = None, total: int | None = None,
               completed: int | None = None) -> None:
        """A new stage: its description, its number of steps, the steps done."""
        if self._progress is None:
            return
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if total is not None:
            changes["total"] = total
        if completed is not None:
            changes["completed"] = completed
        self._progress.update(self._task, **changes)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._done = True
            if self._started:
                self._progress.stop()
                self._started = False


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Bar]:
    """A bar for a piece of work of `total` steps (None: not known yet), closed at the end."""
    bar = Bar(description, total)
    try:
        yield bar
    finally:
        bar.close()
