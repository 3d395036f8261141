"""Box resources: the files under `resources/`, and the URIs a box names in `box.toml`.

Every file under `resources/` is a resource at `box://<box>/<path under resources/>`;
a `[resources]` table in `box.toml` gives a file (anywhere in the box) a URI of the
author's choosing. MIME types come from the file name. URI templates (`[templates]`)
are rendered by the box's own tool functions, so they are served by the runtime,
not read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from mcp_box_server.box.demos import DEMOS, DEMOS_DESCRIPTION, demos_uri
from mcp_box_server.box.errors import LoadFailure
from mcp_box_server.box.files import MAX_FILES, BoxFileError, check_file, list_files, mime_type, relative_path
from mcp_box_server.box.manifest import MANIFEST, Manifest

RESOURCES_DIR = "resources"


@dataclass(frozen=True, slots=True)
class ResourceFile:
    """One file served as a resource: where it is in the box and how clients see it."""

    uri: str
    file: PurePosixPath
    name: str
    description: str
    mime_type: str


def box_uri(box: str, relative: PurePosixPath) -> str:
    """`box://<box>/<path under resources/>`, percent-encoded."""
    inside = relative.relative_to(RESOURCES_DIR) if relative.parts[0] == RESOURCES_DIR else relative
    return f"box://{box}/{quote(inside.as_posix(), safe='/')}"


def read_resources(box_dir: Path, manifest: Manifest) -> tuple[list[ResourceFile], list[LoadFailure]]:
    """The box's resource files, by URI, and the `[resources]` entries naming no servable file."""
    found: dict[str, ResourceFile] = {}
    failures = []
    files = list_files(box_dir, RESOURCES_DIR)
    if len(files) > MAX_FILES:
        message = f"more than {MAX_FILES} files: only the first {MAX_FILES} are served"
        failures.append(LoadFailure(str(box_dir / RESOURCES_DIR), None, message))
    for relative in files[:MAX_FILES]:
        uri = box_uri(manifest.name, relative)
        description = f"{relative.name} from the '{manifest.name}' box."
        found[uri] = ResourceFile(
            uri, relative, f"{manifest.name}/{relative.name}", description, mime_type(relative)
        )
    if (box_dir / DEMOS).is_file():  # worked examples, for clients that show demonstrations
        uri = demos_uri(manifest.name)
        found[uri] = ResourceFile(
            uri, PurePosixPath(DEMOS), f"{manifest.name}/demos", DEMOS_DESCRIPTION, "text/plain"
        )
    for uri, entry in manifest.resources.items():
        try:
            relative = relative_path(entry.file)
            check_file(box_dir, relative)
        except BoxFileError as exc:
            failures.append(LoadFailure(str(manifest.path / MANIFEST), None, f"[resources] {uri!r}: {exc}"))
            continue
        found[uri] = ResourceFile(
            uri,
            relative,
            entry.name or relative.name,
            entry.description or f"{relative.name} from the '{manifest.name}' box.",
            entry.mime_type or mime_type(relative),
        )
    return [found[uri] for uri in sorted(found)], failures
