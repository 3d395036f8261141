"""The MCP Registry entry (server.json) and the ownership marks the registry checks.

The schema is a copy of the registry's published one, kept in tests/schemas/.
"""

import json
import re
import tomllib
from pathlib import Path

import jsonschema

from mcp_box_server import __version__
from mcp_box_server.cli import subcommands

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "server.schema.json"


def server_json():
    return json.loads((ROOT / "server.json").read_text())


def test_server_json_is_valid_against_the_registry_schema():
    schema = json.loads(SCHEMA.read_text())
    assert schema["$id"] == server_json()["$schema"]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(server_json())]
    assert errors == []


def test_the_schema_catches_mistakes():
    schema = json.loads(SCHEMA.read_text())
    wrong = server_json() | {"name": "no-slash", "description": "x" * 101}
    wrong["packages"] = [{**wrong["packages"][0], "version": "latest"}]
    failing = {
        error.path[0] if error.path else "" for error in jsonschema.Draft7Validator(schema).iter_errors(wrong)
    }
    assert {"name", "description", "packages"} <= failing


def test_server_json_matches_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entry = server_json()
    (package,) = entry["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == project["name"]
    assert entry["version"] == package["version"] == project["version"] == __version__
    assert package["transport"] == {"type": "stdio"}
    assert package["packageArguments"][0] == {"type": "positional", "value": "serve"}
    assert "serve" in subcommands() and "mcp-box" in project["scripts"]


def test_ownership_marks_name_the_server():
    name = server_json()["name"]
    assert f"mcp-name: {name}" in (ROOT / "README.md").read_text()
    labels = re.findall(
        r'^LABEL io\.modelcontextprotocol\.server\.name="([^"]+)"$',
        (ROOT / "Dockerfile").read_text(),
        re.MULTILINE,
    )
    assert labels == [name]
