"""confirm_delete: a task that asks the user to confirm (input_required), then finishes."""

from __future__ import annotations

from mcp_box_server import elicit


def delete(filename: str = "the file") -> str:
    """Delete a file once the user confirms.

    Args:
        filename: what to delete.
    """
    answer = elicit(f"Delete {filename}?", {"confirm": bool}, key="confirm")
    confirmed = answer.get("action") == "accept" and (answer.get("content") or {}).get("confirm")
    return f"deleted {filename}" if confirmed else f"kept {filename}"
