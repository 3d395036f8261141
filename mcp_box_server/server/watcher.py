"""Watch the box roots and hand each batch of changed paths to the registry.

watchfiles batches events with a short debounce; the registry then decides what
each path means (new box, edited box, removed box). Bytecode caches, editor swap
files and hidden files are ignored.
"""

from __future__ import annotations

import logging
from pathlib import Path

from watchfiles import DefaultFilter, awatch

from mcp_box_server.server.registry import BoxRegistry

log = logging.getLogger("mcp_box.server")

DEBOUNCE_MS = 30
STEP_MS = 10


class BoxFilter(DefaultFilter):
    """watchfiles' default ignores, plus `.pyc` and hidden files."""

    def __call__(self, change: object, path: str) -> bool:
        name = Path(path).name
        if name.startswith(".") or name.endswith((".pyc", ".tmp")):
            return False
        return super().__call__(change, path)  # type: ignore[arg-type]


async def watch(registry: BoxRegistry) -> None:
    """Reload boxes as their files change, until cancelled."""
    roots = [str(root) for root in registry.roots if root.exists()]
    if not roots:
        return
    log.info("watching %s for box changes", ", ".join(roots))
    async for changes in awatch(
        *roots, watch_filter=BoxFilter(), debounce=DEBOUNCE_MS, step=STEP_MS, recursive=True
    ):
        paths = {Path(path) for _, path in changes}
        log.info("change in %d file(s): reloading affected boxes", len(paths))
        try:
            await registry.rescan(paths)
        except Exception:  # one bad reload must not end reloading for good
            log.exception("reload failed")
