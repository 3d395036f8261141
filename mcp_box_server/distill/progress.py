"""Progress per stage on stderr (rich), or nothing at all for tests and pipes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Stages:
    """`with stages.stage("generate", total) as advance: ... advance()`; silent by default."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress

    @classmethod
    def on_stderr(cls) -> Stages:
        console = Console(stderr=True)
        return cls(
            Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )
        )

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
        finally:
            progress.update(task, completed=total)
