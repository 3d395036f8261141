"""Arguments generated from every bundled tool's JSON schema, valid and not, through the server.

Whatever comes in, the answer is a result or a clean MCP tool error that says what was
wrong: no crash that is not reported, no server failure, no traceback leaking out.
"""

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_box_server.box import bundled_boxes_dir
from tests.support.schema_strategy import from_schema
from tests.support.servers import stdio_transport
from tests.support.sync_client import BlockingClient

CLEAN_ERROR_PREFIXES = ("invalid arguments: ", "tool error: ", "timeout: ", "worker crashed: ")
FUZZ_TIMEOUT = 5  # seconds per call: a generated input that makes sympy think for minutes is a clean timeout


def _copy_with_short_timeouts(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = tomllib.loads((source / "box.toml").read_text())
    lines = []
    for key, value in manifest.items():
        if key in ("tools", "provenance", "timeout"):
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    lines.append(f"timeout = {FUZZ_TIMEOUT}")
    (target / "box.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzboxes")
    for name in ("math", "bio"):
        _copy_with_short_timeouts(bundled_boxes_dir() / name, root / name)
    blocking = BlockingClient(stdio_transport("--boxes", str(root), "--no-reload"))
    yield blocking
    blocking.close()


@pytest.fixture(scope="module")
def schemas(client) -> dict[str, dict[str, Any]]:
    return {t.name: t.input_schema for t in client.list_tools() if t.name.startswith(("math_", "bio_"))}


def invalid_arguments(schema: dict[str, Any]) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    """Arguments with one known defect, paired with the parameter the error must name."""
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    options: list[st.SearchStrategy[tuple[dict[str, Any], str]]] = [
        st.just(({"no_such_parameter": 1}, "no_such_parameter"))
    ]
    if required:
        options.append(st.sampled_from(required).map(lambda name: ({}, name)))
    typed = [name for name, prop in properties.items() if prop.get("type") in ("integer", "number", "array")]
    if typed:
        options.append(st.sampled_from(typed).map(lambda name: ({name: {"not": "a value"}}, name)))
    return st.one_of(options)


def check_answer(result: Any, name: str) -> None:
    assert result.content, f"{name}: empty answer"
    text = result.content[0].text
    if result.is_error:
        assert text.startswith(CLEAN_ERROR_PREFIXES), f"{name}: unclear error {text!r}"
        assert len(text.split(":", 2)[-1].strip()) > 3, f"{name}: error says nothing: {text!r}"
        assert "Traceback" not in text
    elif any(block.type != "text" for block in result.content):  # a picture tool: content blocks
        assert result.structured_content is None and result.content[-1].type == "image", name
    else:
        assert isinstance(result.structured_content, dict)


def check_alive(client: BlockingClient) -> None:
    assert client.call("math_gcd", {"numbers": [12, 18]}).structured_content["gcd"] == 6


@pytest.mark.parametrize("box", ["math", "bio"])
def test_generated_valid_arguments_get_results_or_clean_errors(client, schemas, box):
    names = sorted(name for name in schemas if name.startswith(f"{box}_"))

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(names), label="tool")
        arguments = data.draw(from_schema(schemas[name]), label="arguments")
        check_answer(client.call(name, arguments), name)

    run()
    check_alive(client)


@pytest.mark.parametrize("box", ["math", "bio"])
def test_generated_invalid_arguments_name_the_parameter(client, schemas, box):
    names = sorted(name for name in schemas if name.startswith(f"{box}_"))

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(names), label="tool")
        arguments, parameter = data.draw(invalid_arguments(schemas[name]), label="arguments")
        result = client.call(name, arguments)
        assert result.is_error, f"{name} accepted {arguments}"
        text = result.content[0].text
        assert text.startswith("invalid arguments: ") and f"'{parameter}'" in text, text

    run()
    check_alive(client)
