"""The diagnostic tool of the 2026-07-28 scenario server-stateless (exposed as `test_missing_capability`).

It asks the client's model a question; a client that did not declare sampling must
get -32021 (MissingRequiredClientCapability), which the server answers for any box
tool that asks what the client cannot do.
"""

from __future__ import annotations

from mcp_box_server import sample


def missing_capability() -> str:
    """Ask the client's model something: needs the client's sampling capability."""
    return sample("Say OK.", max_tokens=5)
