"""Fixtures: small test boxes served by a real `mcp-box serve` process over HTTP.

The boxes are written for these tests so that they do not depend on the bundled
boxes' contents; the server, its workers and the MCP transport are all real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.processes import terminate
from tests.support.scripted_openai import free_port

CALC_TOOLS = '''
from itertools import permutations


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first integer.
        b: the second integer.
    """
    return a + b


def divide(a: float, b: float) -> float:
    """Divide a by b.

    Args:
        a: the dividend.
        b: the divisor, not zero.
    """
    if b == 0:
        raise ValueError("division by zero")
    return a / b


def solve_24(numbers: list[int]) -> dict:
    """Find an arithmetic expression using each number once that equals 24 (Game of 24).

    Args:
        numbers: the four puzzle numbers.
    """
    from fractions import Fraction

    def search(items):
        if len(items) == 1:
            value, text = items[0]
            return text if value == 24 else None
        for i, j in permutations(range(len(items)), 2):
            (a, ta), (b, tb) = items[i], items[j]
            rest = [items[k] for k in range(len(items)) if k not in (i, j)]
            options = [(a + b, f"({ta} + {tb})"), (a - b, f"({ta} - {tb})"), (a * b, f"({ta} * {tb})")]
            if b != 0:
                options.append((a / b, f"({ta} / {tb})"))
            for value, text in options:
                found = search([*rest, (value, text)])
                if found:
                    return found
        return None

    found = search([(Fraction(n), str(n)) for n in numbers])
    return {"solvable": found is not None, "expression": found[1:-1] if found else None}
'''

TEXT_TOOLS = '''
def reverse_text(text: str) -> str:
    """Reverse the characters of a text string.

    Args:
        text: the text to reverse.
    """
    return text[::-1]


def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: the text whose words are counted.
    """
    return len(text.split())


def upper_case(text: str) -> str:
    """Convert text to upper case letters.

    Args:
        text: the text to convert.
    """
    return text.upper()


def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit.

    Args:
        celsius: temperature in degrees Celsius.
    """
    return celsius * 9 / 5 + 32


def is_prime(n: int) -> bool:
    """Tell whether an integer is a prime number.

    Args:
        n: the integer to test.
    """
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))
'''


# Worked examples of the calc box, served as box://calc/demos (results as the tools return them).
CALC_DEMOS = [
    {
        "question": "Use the numbers 1 2 3 4 to make 24.",
        "calls": [
            {
                "tool": "solve_24",
                "arguments": {"numbers": [1, 2, 3, 4]},
                "result": {"solvable": True, "expression": "4 * (3 + (1 + 2))"},
            }
        ],
        "answer": "4 * (3 + (1 + 2))",
    },
    {
        "question": "What is 20 plus 22?",
        "calls": [{"tool": "calc_add", "arguments": {"a": 20, "b": 22}, "result": 42}],
        "answer": "42",
    },
]


def write_box(root: Path, name: str, tools: str, description: str) -> Path:
    box = root / name
    (box / "tools").mkdir(parents=True)
    (box / "box.toml").write_text(
        f'name = "{name}"\nversion = "0.1.0"\ndescription = "{description}"\ntrust = "trusted"\nworkers = 2\n'
    )
    (box / "tools" / f"{name}.py").write_text(textwrap.dedent(tools))
    return box


@pytest.fixture(scope="session")
def boxes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("boxes")
    calc = write_box(root, "calc", CALC_TOOLS, "Arithmetic for tests")
    (calc / "demos.jsonl").write_text("".join(json.dumps(demo) + "\n" for demo in CALC_DEMOS))
    write_box(root, "text", TEXT_TOOLS, "Text and unit tools for tests")
    return root


def serve_http(boxes: Path, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `mcp-box serve --transport http` (stderr to `log`) and wait until /health answers."""
    command = [sys.executable, "-m", "mcp_box_server", "serve", "--transport", "http", "--port", str(port)]
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [
                *command,
                "--boxes",
                str(boxes),
                "--no-bundled",
                "--no-reload",
                "--log-level",
                "WARNING",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mcp-box serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("mcp-box serve did not answer /health within 60 s")


@pytest.fixture(scope="session")
def server_url(boxes_root: Path) -> Iterator[str]:
    """A real box server over streamable HTTP, shared by the tests of this session."""
    port = free_port()
    process = serve_http(boxes_root, port, boxes_root / "serve.log")
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        terminate(process)
