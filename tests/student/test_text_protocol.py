"""The plain text protocol of base models: what is read as a call, as an answer, and what is shown."""

from __future__ import annotations

from mcp_box_server.box.demos import Demo, DemoCall
from mcp_box_server.student.connection import ToolSpec
from mcp_box_server.student.steps import ErrorKind, ToolResult
from mcp_box_server.student.text_protocol import (
    TextPrompt,
    answer_of,
    parse_continuation,
    result_observation,
    tool_line,
    written_action,
)

SOLVE = ToolSpec(
    "math_solve_24",
    "Find how to combine the numbers to reach 24.\n\nMore text.",
    {
        "type": "object",
        "properties": {
            "numbers": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
            "target": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
    },
)
DEMO = Demo(
    "Use 4 7 8 8 to make 24.",
    "(7 - 8 / 8) * 4",
    (
        DemoCall(
            "math_solve_24",
            {"numbers": [4, 7, 8, 8]},
            {"expression": "(7 - 8 / 8) * 4", "text": "(7 - 8 / 8) * 4 = 24"},
        ),
    ),
    "math",
)


def test_an_action_line_is_a_call_with_json_arguments() -> None:
    parsed = parse_continuation(
        'Thought: use the tool.\nAction: math_solve_24 {"numbers": [1, 2, 3, 4]} trailing'
    )
    assert parsed.is_action and not parsed.errors
    (call,) = parsed.calls
    assert (call.name, call.arguments) == ("math_solve_24", {"numbers": [1, 2, 3, 4]})


def test_call_syntax_and_lenient_json_are_read() -> None:
    parsed = parse_continuation("Action: math_solve_24({'numbers': [1, 2, 3, 4],})")
    assert parsed.calls[0].arguments == {"numbers": [1, 2, 3, 4]}


def test_unreadable_actions_are_parse_errors_naming_the_problem() -> None:
    broken = parse_continuation("Action: math_solve_24 numbers = 1, 2")
    assert broken.is_action and not broken.calls and "JSON object" in broken.errors[0].reason
    nameless = parse_continuation("Action: {}")
    assert "no tool name" in nameless.errors[0].reason


def test_an_answer_before_any_action_ends_the_run() -> None:
    parsed = parse_continuation("Answer: 42\nAction: math_solve_24 {}")
    assert not parsed.is_action
    assert answer_of(parsed.text) == "42"
    assert answer_of(" (1 + 2 + 3) * 4") == "(1 + 2 + 3) * 4"  # after a prompt ending in "Answer:"


def test_only_the_text_up_to_the_action_stays_in_the_prompt() -> None:
    assert written_action("Thought: x\nAction: t {}\nmore") == "Thought: x\nAction: t {}"


def test_tool_lines_show_parameters_and_the_first_line_of_the_description() -> None:
    line = tool_line(SOLVE)
    assert line == (
        "- math_solve_24(numbers: list of integer|string, target: integer|null): "
        "Find how to combine the numbers to reach 24."
    )


def test_the_box_prompt_shows_demos_with_calls_and_observations_as_text() -> None:
    prompt = TextPrompt("Use 1 2 3 4 to make 24.", [DEMO], with_tools=True)
    prompt.offer([SOLVE])
    text = prompt.text()
    assert "Tools:\n- math_solve_24(" in text
    assert (
        'Question: Use 4 7 8 8 to make 24.\nAction: math_solve_24 {"numbers": [4, 7, 8, 8]}\n'
        "Observation: (7 - 8 / 8) * 4 = 24\nAnswer: (7 - 8 / 8) * 4\n\n"
    ) in text
    assert text.endswith("Question: Use 1 2 3 4 to make 24.\n")
    prompt.add_action('Action: math_solve_24 {"numbers": [1, 2, 3, 4]}', ["1 * 2 * 3 * 4 = 24"])
    assert prompt.text().endswith(
        'Action: math_solve_24 {"numbers": [1, 2, 3, 4]}\nObservation: 1 * 2 * 3 * 4 = 24\n'
    )
    assert prompt.text(answer_now=True).endswith("Observation: 1 * 2 * 3 * 4 = 24\nAnswer:")


def test_the_no_box_prompt_shows_questions_and_answers_only() -> None:
    prompt = TextPrompt("Use 1 2 3 4 to make 24.", [DEMO], with_tools=False)
    text = prompt.text()
    assert "Action" not in text and "Observation" not in text and "Tools" not in text
    assert "Question: Use 4 7 8 8 to make 24.\nAnswer: (7 - 8 / 8) * 4\n\n" in text
    assert text.endswith("Question: Use 1 2 3 4 to make 24.\nAnswer:")


def test_observations_prefer_the_text_field_and_keep_errors_on_one_line() -> None:
    result = ToolResult(
        "c", "math_solve_24", '{"expression": "x", "text": "x = 24"}', {"expression": "x", "text": "x = 24"}
    )
    assert result_observation(result, 100) == "x = 24"
    plain = ToolResult("c", "bio_translate", '{"protein":"MA"}', {"protein": "MA"})
    assert result_observation(plain, 100) == '{"protein":"MA"}'
    failed = ToolResult("c", "t", "boom", error=ErrorKind.TOOL_FAILED)
    assert result_observation(failed, 100).startswith(
        "Error (tool_failed): boom "
    ) and "\n" not in result_observation(failed, 100)
