"""The list-changing hooks of the 2026-07-28 scenario server-stateless.

`test_trigger_tool_change` and `test_trigger_prompt_change` change this box's tool and
prompt lists the way a user would: by adding or removing a file in the box's own folder.
Hot reload sees the change and announces it (`notifications/tools/list_changed`,
`notifications/prompts/list_changed` on `subscriptions/listen` streams); nothing in the
server knows these tools. The worker runs from a snapshot, so the folder to change is
named by `MCP_BOX_CONFORMANCE_BOX` (set by .ci/conformance.sh to its copy of this box;
never the checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

_TOOL = '''"""Added by test_trigger_tool_change; removed by its next call."""


def triggered() -> str:
    """A tool that exists only between two calls of test_trigger_tool_change."""
    return "triggered"
'''

_PROMPT = """---
description: Added by test_trigger_prompt_change; removed by its next call.
---
A prompt that exists only between two calls of test_trigger_prompt_change.
"""


def _box_folder() -> Path:
    folder = os.environ.get("MCP_BOX_CONFORMANCE_BOX")
    if not folder:
        raise RuntimeError("MCP_BOX_CONFORMANCE_BOX is not set: it names the copy of this box to change")
    return Path(folder)


def _toggle(path: Path, text: str) -> str:
    """Add `path` if missing, else remove it: either way the list it belongs to changes."""
    if path.exists():
        path.unlink()
        return f"removed {path.parent.name}/{path.name}"
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)  # the watcher sees a whole file, never half of one
    return f"added {path.parent.name}/{path.name}"


def trigger_tool_change() -> str:
    """Add or remove the tool `test_triggered` (a file in tools/), so the tool list changes."""
    return _toggle(_box_folder() / "tools" / "triggered.py", _TOOL)


def trigger_prompt_change() -> str:
    """Add or remove the prompt `test_triggered` (a file in prompts/), so the prompt list changes."""
    return _toggle(_box_folder() / "prompts" / "triggered.md", _PROMPT)
