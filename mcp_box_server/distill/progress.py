"""Progress per stage on stderr (rich), or nothing at all for tests and pipes.

`note()` prints a line above the bars as something happens (the first teacher failure
of each kind): the cause is on the terminal while the run goes on, not only in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Stages:
    """`with stages.stage("generate", total) as advance: ... advance()`; silent by default."""

    def __init__(self, progress: Progress | None = None, console: Console | None = None) -> None:
        self._progress = progress
        self._console = progress.console if progress is not None else console

    @classmethod
    def on_stderr(cls, *, bars: bool = True) -> Stages:
        """Bars and notes on stderr; notes alone without `bars` (`--quiet`)."""
        console = Console(stderr=True)
        if not bars:
            return cls(console=console)
        return cls(
            Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )
        )

    def note(self, line: str) -> None:
        """One line for the user now, above the bars; nothing when silent."""
        if self._console is not None:
            self._console.print(line, markup=False, highlight=False, soft_wrap=True)

    def __enter__(self) -> Stages:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[Callable[[], None]]:
        progress = self._progress
        if progress is None:
            yield lambda: None
            return
        task = progress.add_task(name, total=max(total, 0))
        try:
            yield lambda: progress.advance(task)
        except BaseException:  # the run stopped here: the bar stays where it was
            progress.update(task, description=f"{name} (stopped)")
            raise
        progress.update(task, completed=total)
