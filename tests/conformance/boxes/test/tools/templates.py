"""The function behind the resource template `test://template/{id}/data` (box.toml [templates]).

Also a tool (`test_template_data`), as every public function of a box is.
"""

from __future__ import annotations

from typing import Any


def template_data(id: str) -> dict[str, Any]:
    """Data for one ID (conformance scenario resources-templates-read).

    Args:
        id: The ID named in the URI.
    """
    return {"id": id, "templateTest": True, "data": f"Data for ID: {id}"}
