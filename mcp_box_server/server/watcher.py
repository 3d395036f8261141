"""Watch the box roots and hand each batch of changed paths to the registry.

watchfiles batches events with a short debounce; the registry then decides what
each path means (new box, edited box, removed box). What is ignored is what the
snapshot leaves out (`box.ignore`): one rule, so every file a snapshot copies is a
file whose change reloads its box.

Each real folder under the roots is watched on its own, never recursively: the
notify crate follows links when it recurses, so a box holding a link to `/` would
have it walk (and watch) the whole file system, on the event loop. Folders are
found without following links, up to `MAX_FOLDERS`; when the set changes (a new
box, a new sub-folder) the watch restarts on the new set.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from watchfiles import Change, awatch

from mcp_box_server.box.ignore import ignored
from mcp_box_server.server.registry import BoxRegistry

log = logging.getLogger("mcp_box.server")

DEBOUNCE_MS = 30
STEP_MS = 10
MAX_FOLDERS = 4096


def box_filter(change: Change, path: str) -> bool:
    """Whether a change matters: it does unless the snapshot leaves its name out."""
    return not ignored(os.path.basename(path))


def folders(roots: list[Path]) -> list[str]:
    """Every real folder under the roots (links not followed, hidden ones skipped), at most MAX_FOLDERS."""
    found: list[str] = []
    for root in roots:
        if not root.is_dir():
            continue
        for top, dirs, _ in os.walk(root, followlinks=False):
            found.append(top)
            if len(found) >= MAX_FOLDERS:
                log.warning("watching only the first %d folders under the box roots", MAX_FOLDERS)
                return found
            dirs[:] = sorted(d for d in dirs if not ignored(d))
    return found


async def watch(registry: BoxRegistry) -> None:
    """Reload boxes as their files change, until cancelled."""
    log.info("watching %s for box changes", ", ".join(str(root) for root in registry.roots if root.exists()))
    watched: list[str] = []
    while True:
        now = await asyncio.to_thread(folders, registry.roots)
        if not now:
            return
        if watched:  # new folders: what was written there before this watch began
            await _rescan(registry, {Path(folder) for folder in set(now) - set(watched)})
        watched = now
        try:
            async for changes in awatch(
                *watched, watch_filter=box_filter, debounce=DEBOUNCE_MS, step=STEP_MS, recursive=False
            ):
                paths = {Path(path) for _, path in changes}
                log.info("change in %d file(s): reloading affected boxes", len(paths))
                await _rescan(registry, paths)
                if await asyncio.to_thread(folders, registry.roots) != watched:
                    break  # watch the new set of folders
            else:
                return
        except FileNotFoundError:  # a folder went away before the watch began
            continue


async def _rescan(registry: BoxRegistry, paths: set[Path]) -> None:
    try:
        await registry.rescan(paths)
    except Exception:  # one bad reload must not end reloading for good
        log.exception("reload failed")
