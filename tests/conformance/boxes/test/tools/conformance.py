"""Tools named by the MCP conformance suite's tool scenarios (exposed as `test_<function>`).

Each uses only the public box API (`mcp_box_server`'s content types and call-time
functions), so what passes here is what any box can do.
"""

from __future__ import annotations

import base64
import json
import time

from mcp_box_server import Audio, Image, Resource, elicit, log, progress, sample

SIMPLE_TEXT = "This is a simple text response for testing."
ERROR_MESSAGE = "This tool intentionally returns an error for testing"
# A 1x1 red PNG and a 1-sample silent WAV: the smallest real files of each kind.
RED_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
SILENCE = base64.b64decode("UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA==")


def simple_text() -> str:
    """Return a fixed line of text (conformance scenario tools-call-simple-text)."""
    return SIMPLE_TEXT


def error_handling() -> str:
    """Always fail with a fixed message (conformance scenario tools-call-error)."""
    raise RuntimeError(ERROR_MESSAGE)


def image_content() -> Image:
    """Return a 1x1 red PNG (tools-call-image)."""
    return Image(RED_PIXEL, "image/png")


def audio_content() -> Audio:
    """Return a tiny WAV file (tools-call-audio)."""
    return Audio(SILENCE, "audio/wav")


def embedded_resource() -> Resource:
    """Return an embedded text resource (tools-call-embedded-resource)."""
    return Resource("test://embedded-resource", text="This is an embedded resource content.")


def multiple_content_types() -> list:
    """Return text, an image and a resource together (tools-call-mixed-content)."""
    data = json.dumps({"test": "data", "value": 123})
    resource = Resource("test://mixed-content-resource", text=data, mime_type="application/json")
    return ["Multiple content types test:", Image(RED_PIXEL, "image/png"), resource]


def tool_with_logging() -> str:
    """Send three log lines while running (tools-call-with-logging)."""
    log("Tool execution started")
    time.sleep(0.05)
    log("Tool processing data")
    time.sleep(0.05)
    log("Tool execution completed")
    return "Logging completed"


def tool_with_progress() -> str:
    """Report progress 0, 50 and 100 of 100 (tools-call-with-progress)."""
    for done in (0, 50, 100):
        progress(done, 100)
        if done < 100:
            time.sleep(0.06)
    return "Progress completed"


def sampling(prompt: str) -> str:
    """Ask the client's model (tools-call-sampling).

    Args:
        prompt: what to ask the model.
    """
    return "LLM response: " + sample(prompt, max_tokens=100)


def elicitation(message: str) -> str:
    """Ask the user for a name and an email (tools-call-elicitation).

    Args:
        message: what to show the user.
    """
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    answer = elicit(message, schema)
    return f"User response: action={answer['action']}, content={json.dumps(answer.get('content'))}"


def elicitation_sep1034_defaults() -> str:
    """Ask with a default for every primitive type (elicitation-sep1034-defaults)."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "default": "John Doe"},
            "age": {"type": "integer", "default": 30},
            "score": {"type": "number", "default": 95.5},
            "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "default": True},
        },
    }
    answer = elicit("Please review your details", schema)
    return f"Elicitation completed: action={answer['action']}, content={json.dumps(answer.get('content'))}"


def elicitation_sep1330_enums() -> str:
    """Ask with every enum form (elicitation-sep1330-enums)."""
    words = enumerate(("First", "Second"), 1)
    options = [{"const": f"value{i}", "title": f"{word} Option"} for i, word in words]
    choices = [{**option, "title": option["title"].replace("Option", "Choice")} for option in options]
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "oneOf": options},
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2"]}},
            "titledMulti": {"type": "array", "items": {"anyOf": choices}},
        },
    }
    answer = elicit("Pick your options", schema)
    return f"Elicitation completed: action={answer['action']}, content={json.dumps(answer.get('content'))}"
