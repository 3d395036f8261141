"""Box prompts: `prompts/*.md`, a YAML front matter and a Markdown body.

    ---
    name: review            # default: the file name without .md
    description: Review a proof step by step.
    arguments:
      - name: level
        description: How strict to be.
        required: true
        values: [gentle, strict]      # offered as completions (`enum` works too)
    attach:                           # box-relative files sent before the body
      - resources/figure.png          # an image: image content
      - file: resources/notes.txt     # other files: an embedded resource, at `uri`
        uri: "notes://{{level}}"
    function: review_text             # optional: a tool function of the box writes the text
    ---
    Review this proof, {{level}} please.

With `function`, the text after the attachments is what that function returns when
called with the prompt's arguments, in a worker like any call: it may ask the client
(`elicit`, `sample`), so a prompt can depend on the user's answer. The body is then
unused (a note for readers).

`{{name}}` in the body (and in an attachment's `uri`) is replaced by the argument's
value; an optional argument left out becomes empty text. Loading returns the prompts
that parse and a `LoadFailure` for each file that does not: one bad file never hides
the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mcp_box_server.box.errors import BoxError, LoadFailure
from mcp_box_server.box.files import MAX_FILES, BoxFileError, check_file, list_files, read_file, relative_path

PROMPTS_DIR = "prompts"
PROMPT_NAME = re.compile(r"[a-zA-Z0-9_-]{1,48}")  # fullmatch, like TOOL_NAME
PROMPT_LIMIT = 256 * 1024
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_-]*)\s*\}\}")


class PromptArgumentError(BoxError, ValueError):
    """The arguments given do not fit the prompt: a required one missing, an unknown one."""


class PromptFileError(BoxError):
    """A prompt file that cannot be served; `line` is set for YAML syntax errors."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class PromptArgument:
    name: str
    description: str = ""
    required: bool = False
    values: tuple[str, ...] = ()  # the known values, for completion


@dataclass(frozen=True, slots=True)
class Attachment:
    """A box file sent with the prompt; `uri` (with placeholders) names an embedded resource."""

    file: PurePosixPath
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class PromptSpec:
    name: str
    description: str
    arguments: tuple[PromptArgument, ...]
    body: str
    attach: tuple[Attachment, ...]
    file: str
    function: str | None = None  # a tool function of the box that writes the text

    def bind(self, arguments: dict[str, str] | None) -> dict[str, str]:
        """Every declared argument's value; a missing required or an unknown one is an error."""
        given = dict(arguments or {})
        declared = {argument.name for argument in self.arguments}
        unknown = sorted(set(given) - declared)
        missing = [a.name for a in self.arguments if a.required and not given.get(a.name)]
        problems = [f"missing required argument '{name}'" for name in missing]
        problems += [f"unknown argument '{name}'" for name in unknown]
        if problems:
            expected = ", ".join(a.name + ("" if a.required else "?") for a in self.arguments) or "none"
            raise PromptArgumentError(f"{'; '.join(problems)} (arguments: {expected})")
        return {name: str(given.get(name, "")) for name in declared}

    def render(self, values: dict[str, str]) -> str:
        """The body with each `{{argument}}` replaced (values from `bind`)."""
        return substitute(self.body, values)


def substitute(text: str, values: dict[str, str], limit: int = 1024 * 1024) -> str:
    """Replace `{{name}}` placeholders of known names; others stay as written.

    The result is at most `limit` characters: a body repeating a placeholder must not turn
    a client's argument into an answer of gigabytes.
    """
    placeholders = [m.group(1) for m in _PLACEHOLDER.finditer(text)]
    size = len(text) + sum(len(values.get(name, "")) for name in placeholders)
    if size > limit:
        raise PromptArgumentError(f"the rendered prompt would be {size:,} characters, over {limit:,}")
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def read_prompts(box_dir: Path) -> tuple[list[PromptSpec], list[LoadFailure]]:
    """Every prompt of the box, sorted by name, and the files that failed."""
    prompts: dict[str, PromptSpec] = {}
    failures: list[LoadFailure] = []
    for relative in list_files(box_dir, PROMPTS_DIR)[:MAX_FILES]:
        if relative.suffix != ".md":
            continue
        shown = str(box_dir / relative)
        try:
            text = read_file(box_dir, relative, PROMPT_LIMIT).decode("utf-8")
            prompt = parse_prompt(text, relative, box_dir)
        except (BoxError, UnicodeDecodeError) as exc:
            failures.append(LoadFailure(shown, getattr(exc, "line", None), str(exc)))
            continue
        if prompt.name in prompts:
            failures.append(LoadFailure(shown, None, f"prompt name '{prompt.name}' is already used"))
            continue
        prompts[prompt.name] = prompt
    return sorted(prompts.values(), key=lambda p: p.name), failures


def parse_prompt(text: str, relative: PurePosixPath, box_dir: Path) -> PromptSpec:
    """One prompt file; `box_dir` checks that attachments exist. Raises `PromptFileError`."""
    match = _FRONT_MATTER.match(text)
    meta = _front_matter(match.group(1)) if match else {}
    body = text[match.end() :] if match else text
    known = {"name", "description", "arguments", "attach", "function"}
    if unknown := sorted(set(meta) - known):
        raise PromptFileError(f"unknown front matter key '{unknown[0]}'; expected {', '.join(sorted(known))}")
    name = meta.get("name", relative.stem)
    if not isinstance(name, str) or not PROMPT_NAME.fullmatch(name):
        raise PromptFileError(f"'name' must match {PROMPT_NAME.pattern}, got {name!r}")
    description = meta.get("description", "")
    if not isinstance(description, str):
        raise PromptFileError("'description' must be text")
    arguments = tuple(_argument(item) for item in _list(meta, "arguments"))
    names = [argument.name for argument in arguments]
    if len(set(names)) != len(names):
        raise PromptFileError("two arguments have the same name")
    attach = tuple(_attachment(item, box_dir) for item in _list(meta, "attach"))
    function = meta.get("function")
    if function is not None and not (isinstance(function, str) and PROMPT_NAME.fullmatch(function)):
        raise PromptFileError(f"'function' must name a tool function of the box, got {function!r}")
    file = str(box_dir / relative)
    return PromptSpec(name, description.strip(), arguments, body.strip("\n"), attach, file, function)


def _front_matter(text: str) -> dict[str, Any]:
    import yaml  # only boxes with prompts pay for it

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PromptFileError(f"invalid YAML front matter: {exc}", mark.line + 2 if mark else None) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PromptFileError("the front matter must be a mapping (key: value lines)")
    return data


def _list(meta: dict[str, Any], key: str) -> list[Any]:
    value = meta.get(key) or []
    if not isinstance(value, list):
        raise PromptFileError(f"'{key}' must be a list")
    return value


def _argument(item: Any) -> PromptArgument:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise PromptFileError("each argument needs a 'name'")
    name = item["name"]
    if not _PLACEHOLDER.fullmatch("{{" + name + "}}"):
        raise PromptFileError(f"argument name {name!r}: letters, digits, '_' and '-' only")
    if unknown := sorted(set(item) - {"name", "description", "required", "values", "enum"}):
        raise PromptFileError(f"argument '{name}': unknown key '{unknown[0]}'")
    values = item.get("values", item.get("enum", []))
    if not isinstance(values, list) or not all(isinstance(v, str | int | float) for v in values):
        raise PromptFileError(f"argument '{name}': 'values' must be a list of strings")
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise PromptFileError(f"argument '{name}': 'required' must be true or false")
    return PromptArgument(name, str(item.get("description") or ""), required, tuple(map(str, values)))


def _attachment(item: Any, box_dir: Path) -> Attachment:
    if isinstance(item, str):
        item = {"file": item}
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise PromptFileError("each attachment is a box-relative path or has a 'file'")
    if unknown := sorted(set(item) - {"file", "uri"}):
        raise PromptFileError(f"attachment '{item['file']}': unknown key '{unknown[0]}'")
    uri = item.get("uri")
    if uri is not None and not isinstance(uri, str):
        raise PromptFileError(f"attachment '{item['file']}': 'uri' must be text")
    try:
        file = relative_path(item["file"])
        check_file(box_dir, file)
    except BoxFileError as exc:
        raise PromptFileError(f"attachment: {exc}") from None
    return Attachment(file, uri)
