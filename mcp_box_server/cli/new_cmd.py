"""`mcp-box new NAME`: a working box folder to start from, which `mcp-box check` passes at once.

It holds everything the box format has, each file small enough to read in a minute:
box.toml, one tool module (type hints and a docstring make its schema and description),
examples.jsonl (what `check` runs), demos.jsonl (a worked example for small models, the
format of `box/demos.py`) and README.md (the card clients are shown).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TOOL = '''"""Tools of the {name} box: plain functions with type hints and a docstring.

Every public function of a module in tools/ is a tool, exposed as `{name}_<function>`.
Its JSON schema comes from the type hints, its description from the docstring (each
parameter's from `Args:`). Modules whose name starts with `_` are helpers, not tools.
This module needs nothing from mcp-box: it is plain Python.
"""


def count_words(text: str, unique: bool = False) -> dict[str, int | str]:
    """Count the words of a text, as a model should not do in its head.

    Args:
        text: the text; words are separated by whitespace.
        unique: count each distinct word once, ignoring case.

    Returns:
        `words`, the count, and `text`, one line a model reads as the result.
    """
    words = text.split()
    if unique:
        words = sorted({{word.lower() for word in words}})
    return {{"words": len(words), "text": f"{{len(words)}} words"}}
'''

MANIFEST = """name = "{name}"
version = "0.1.0"
description = "Counts words of a text (a starting point: replace with your own tools)."
# trusted: your own code, isolated for faults (time, memory, crashes) but not confined.
# sandboxed: confined by the kernel (reads only this folder and Python, no network, no exec).
trust = "{trust}"
requires = []  # modules the tools import beyond the standard library, e.g. ["sympy"]
timeout = 10  # seconds per call
"""

CARD = """# {name} box

Counts the words of a text. This card is what clients are shown about the box (the
resource `box://{name}/readme`); say here what the tools are for and when to use them.

| Tool | What it does |
|---|---|
| `{name}_count_words(text, unique=False)` | the number of words; `unique` counts distinct words once |

## Working on it

- `mcp-box check --boxes . {name}` runs `examples.jsonl` through a real worker.
- `mcp-box serve --boxes .` serves it beside the bundled boxes; edits are reloaded live.
- `mcp-box pack skill {name} --boxes .` writes it as an Agent Skill.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "new",
        help="start a box: a folder with box.toml, one tool, examples, demos and a README card",
        description="Write NAME/ in the current folder (or --dir): a working box that `mcp-box check` "
        "passes at once. Then: mcp-box check --boxes . NAME",
    )
    parser.add_argument("name", metavar="NAME", help="the box's name: letters, digits and '-'")
    parser.add_argument(
        "--sandboxed",
        action="store_true",
        help="trust = 'sandboxed': the kernel confines its code (default: trusted, your own code)",
    )
    parser.add_argument("--dir", type=Path, default=Path("."), help="where to create NAME/ (default .)")
    parser.set_defaults(run=run)


def files(name: str, sandboxed: bool) -> dict[str, str]:
    """Every file of the new box, by path inside it."""
    trust = "sandboxed" if sandboxed else "trusted"
    sentence = "the cat and the hat"
    examples = [
        {"tool": "count_words", "arguments": {"text": sentence}, "expect": {"words": 5}},
        {
            "tool": "count_words",
            "arguments": {"text": "The the THE end", "unique": True},
            "expect": {"words": 2},
        },
        {"tool": "count_words", "arguments": {}, "expect_error": "text"},
    ]
    demo = {
        "question": f"How many words are in '{sentence}'?",
        "calls": [
            {
                "tool": f"{name}_count_words",
                "arguments": {"text": sentence},
                "result": {"words": 5, "text": "5 words"},
            }
        ],
        "answer": "5",
    }
    return {
        "box.toml": MANIFEST.format(name=name, trust=trust),
        "tools/text.py": TOOL.format(name=name),
        "examples.jsonl": "".join(json.dumps(example) + "\n" for example in examples),
        "demos.jsonl": json.dumps(demo) + "\n",
        "README.md": CARD.format(name=name),
    }


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.box.manifest import BOX_NAME

    if not BOX_NAME.fullmatch(args.name):
        print(
            f"mcp-box new: {args.name!r} is not a box name: a letter or digit, then letters, digits "
            "or '-', 32 at most",
            file=sys.stderr,
        )
        return 2
    box = args.dir / args.name
    if box.exists():
        print(f"mcp-box new: {box} already exists; nothing written", file=sys.stderr)
        return 1
    for relative, text in files(args.name, args.sandboxed).items():
        path = box / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"mcp-box: wrote {box}/ (box.toml, tools/text.py, examples.jsonl, demos.jsonl, README.md)")
    print(f"next: mcp-box check --boxes {args.dir} {args.name}")
    return 0
