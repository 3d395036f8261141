"""Command-line options shared by `mcp-box ask` and `mcp-box eval`, and what they build.

Kept free of heavy imports: the CLI registers these options on every start.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_box_server.student.agent import AgentConfig
    from mcp_box_server.student.connection import BoxConnection
    from mcp_box_server.student.model import StudentModel

TOKEN_ENV = "MCP_BOX_TOKEN"


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        required=True,
        help="model spec: ollama:qwen3:8b, vllm:Qwen/Qwen3-8B@http://host:8000/v1, llamacpp:NAME, "
        "lmstudio:NAME, openai:gpt-4o-mini, or a bare name with --base-url",
    )
    group.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    group.add_argument("--api-key", help="API key (default: the provider's environment variable)")
    group.add_argument(
        "--model-timeout",
        type=float,
        default=600.0,
        help="wall-clock seconds for one model request, retries included; then it is cancelled (default 600)",
    )
    group.add_argument(
        "--api",
        choices=("chat", "completions"),
        default="chat",
        help="chat: /v1/chat/completions with tool calling (instruction-tuned models; default); "
        "completions: /v1/completions with a plain text protocol of Action/Observation/Answer "
        "lines (base models)",
    )
    group.add_argument(
        "--extra-body",
        type=json_object,
        default=None,
        metavar="JSON",
        help="fields added to every model request, for sampling settings the OpenAI API has no name "
        "for, e.g. '{\"top_k\": 1}'; --api completions sends '{\"repeat_penalty\": 1.0}' unless "
        "the provider is openai or vllm (a null value removes it)",
    )
    group.add_argument(
        "--stream",
        action="store_true",
        help="stream every request, so a cancelled one stops generating on servers that only stop "
        "a streamed reply (llama-cpp-python); token counts then need the server's stream usage",
    )


def add_server_options(parser: argparse.ArgumentParser) -> None:
    from mcp_box_server.cli.common import add_box_options

    group = parser.add_argument_group("box server")
    add_box_options(group)  # type: ignore[arg-type]
    group.add_argument(
        "--server-url",
        help="connect to a running server (http://HOST:PORT/mcp, or .../sse) instead of starting one",
    )
    group.add_argument("--token", help=f"bearer token for --server-url (default: ${TOKEN_ENV})")
    group.add_argument("--server-log", action="store_true", help="show the started server's log on stderr")


def add_agent_options(parser: argparse.ArgumentParser) -> None:
    from mcp_box_server.student.retrieval import DEFAULT_MAX_TOOLS

    group = parser.add_argument_group("agent")
    group.add_argument("--samples", type=int, default=1, help="self-consistency: candidate actions per step")
    group.add_argument(
        "--actions",
        choices=("json", "code"),
        default="json",
        help="json: tool calls (default); code: Python code actions run through the server's execute "
        "(Thought / Code / Observation, final_answer; the local server starts with --code-mode)",
    )
    group.add_argument("--max-steps", type=int, default=10, help="tool-using steps before a forced answer")
    group.add_argument("--max-retries", type=int, default=3, help="invalid steps in a row before giving up")
    group.add_argument(
        "--max-tools",
        type=int,
        default=DEFAULT_MAX_TOOLS,
        help=f"offer at most this many box tools per question, by relevance (default {DEFAULT_MAX_TOOLS}; "
        "0 for all)",
    )
    group.add_argument(
        "--shots",
        type=int,
        default=0,
        help="show the K worked examples (the boxes' demos) nearest each question before it: with "
        "their tool calls when the run has the box, as question and answer without (default 0)",
    )
    group.add_argument("--temperature", type=float, default=None)
    group.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help="completion token limit per request (default 1024; 0 sends none); "
        "a cut-off reply is retried once asking for brevity",
    )
    group.add_argument(
        "--tool-mode",
        choices=("native", "text"),
        default="native",
        help="native: send tools= and switch to text when the server shows it drops them (default); "
        "text: describe tools in the prompt and return results as user turns",
    )
    group.add_argument(
        "--tool-choice",
        choices=("auto", "required", "none", "omit"),
        default="auto",
        help="tool_choice sent with native tools (default auto; omit: not sent); dropped when refused",
    )
    group.add_argument(
        "--max-repeats",
        type=int,
        default=2,
        help="times the same call with the same arguments may repeat before the task ends as stuck "
        "(default 2; the first repeat gets the earlier result; 0 turns this off)",
    )


def json_object(value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc.msg} at character {exc.pos}): {value!r}") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object such as '{{\"top_k\": 1}}', not {value!r}")
    return parsed


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_model(args: argparse.Namespace) -> StudentModel:
    from mcp_box_server.llm import resolve_model
    from mcp_box_server.student.model import StudentModel

    if args.model_timeout <= 0:
        raise ValueError("--model-timeout must be positive")
    config = resolve_model(args.model, args.base_url, args.api_key, timeout_s=args.model_timeout)
    return StudentModel(config, deadline_s=args.model_timeout, stream=args.stream, extra_body=args.extra_body)


def build_agent_config(args: argparse.Namespace) -> AgentConfig:
    from mcp_box_server.student.agent import AgentConfig

    limits = {} if args.max_tokens is None else {"max_tokens": args.max_tokens or None}
    return AgentConfig(
        max_steps=args.max_steps,
        max_retries=args.max_retries,
        samples=args.samples,
        temperature=args.temperature,
        max_tools=args.max_tools or None,
        tool_mode=args.tool_mode,
        tool_choice=args.tool_choice,
        max_repeats=args.max_repeats,
        shots=args.shots,
        **limits,
    )


def build_connection(args: argparse.Namespace) -> BoxConnection:
    import dataclasses
    import sys

    from mcp_box_server.student.connection import BoxConnection, ServerTarget

    if args.server_url:
        target = ServerTarget.remote(args.server_url, args.token or os.environ.get(TOKEN_ENV))
    else:
        from mcp_box_server.cli.common import box_roots

        target = ServerTarget.local(box_roots(args) if args.boxes else (), args.box or ())
        if getattr(args, "actions", "json") == "code":  # code actions run through `execute`
            target = dataclasses.replace(target, command=(*target.command, "--code-mode"))
    return BoxConnection(target, server_log=sys.stderr if args.server_log else None)
