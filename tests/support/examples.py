"""A bundled box's `examples.jsonl`, every case called in a real worker pool (as `mcp-box check`)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

from mcp_box_server.box import mismatch, read_examples, read_manifest
from mcp_box_server.runtime import BoxPool, BoxRuntimeError


@contextlib.asynccontextmanager
async def started_pool(box: Path, trust: str) -> AsyncIterator[BoxPool]:
    """The box's pool under `trust`, every module loaded; closed after."""
    pool = BoxPool(dataclasses.replace(read_manifest(box), trust=trust))
    try:
        await pool.start()
        assert pool.failures == []
        yield pool
    finally:
        await pool.close()


async def failed_examples(pool: BoxPool, box: Path) -> list[str]:
    """One line per case that did not come out as written (an unreadable line is one too)."""
    examples, unreadable = read_examples(box)
    failures = [str(failure) for failure in unreadable]
    for example in examples:
        try:
            got = await pool.call(example.tool, example.arguments)
        except BoxRuntimeError as exc:
            if example.expect_error is None or example.expect_error not in str(exc):
                failures.append(f"line {example.line} ({example.tool}): {exc}")
            continue
        if example.expect_error is not None:
            failures.append(f"line {example.line} ({example.tool}): expected an error, got {got!r:.100}")
        elif problem := mismatch(example.expect, got):
            failures.append(f"line {example.line} ({example.tool}): {problem}")
    return failures
