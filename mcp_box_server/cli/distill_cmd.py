"""`mcp-box distill`: a teacher model writes a sandboxed box from a task file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "distill",
        help="distill a box of tools from a task file with a teacher model",
        description=(
            "The teacher writes a tool per task; tools are validated in a sandbox, abstracted, "
            "clustered and consolidated into a box at --out. Teacher replies are cached, so a "
            "re-run resumes for free. Progress and logs go to stderr; the box path to stdout."
        ),
    )
    parser.add_argument("tasks", type=Path, help='JSONL of {"id", "question", "answer", "scorer"?}')
    parser.add_argument(
        "--teacher", required=True, metavar="MODEL", help="e.g. openai:gpt-4o-mini, ollama:qwen3:32b"
    )
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint (overrides the spec)")
    parser.add_argument("--api-key", default=None, help="API key (overrides the provider's variable)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR/NAME", help="where the box goes")
    parser.add_argument("--name", default=None, help="box name (default: the last part of --out)")
    parser.add_argument("--description", default=None, help="box description for box.toml and README")
    parser.add_argument(
        "--repairs", type=int, default=2, help="repairs per candidate after a failure (default 2)"
    )
    parser.add_argument(
        "--first-thought",
        action="store_true",
        help="seed the solving step with the teacher's first chain-of-thought step (arXiv 2505.17612)",
    )
    parser.add_argument(
        "--allow-import",
        action="append",
        default=[],
        metavar="MODULE",
        help="module tools may import, on top of the default allow-list (repeatable)",
    )
    parser.add_argument(
        "--no-default-imports", action="store_true", help="allow only the modules named with --allow-import"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per tool call (default 10)")
    parser.add_argument("--memory-mb", type=int, default=512, help="memory cap per worker (default 512)")
    parser.add_argument(
        "--cluster",
        choices=("teacher", "tfidf"),
        default="teacher",
        help="how tools are grouped for consolidation: the teacher reads their cards (default), or "
        "TF-IDF word overlap (also the fallback when the teacher's grouping is unusable)",
    )
    parser.add_argument(
        "--cluster-threshold", type=float, default=None, help="TF-IDF cosine similarity to merge (0.15)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="sandboxed workers at a time (default 2)")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="teacher sampling temperature (default: not sent, the server's own; reasoning models "
        "such as OpenAI's o-series and gpt-5 accept none)",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        metavar="N",
        help="reply budget per teacher request; a reply cut off there is a failed attempt",
    )
    parser.add_argument(
        "--no-stream",
        action="store_true",
        help="receive each teacher reply whole instead of streamed (for servers that cannot stream)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="retries of a request on HTTP 429, 5xx or a timeout (default 3)",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=5,
        metavar="N",
        help="stop when each of the first N requests sent to the teacher fails (HTTP 429 aside; "
        "default 5; 0: never)",
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="reply cache (default ~/.cache/mcp-box/distill)"
    )
    parser.add_argument("--no-cache", action="store_true", help="ask the teacher again for everything")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="send nothing, write nothing: replay the cache and say how many requests it answers "
        "and how many would be sent",
    )
    parser.add_argument("--force", action="store_true", help="replace --out even if distill did not make it")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--skill",
        type=Path,
        metavar="DIR",
        help="also write the new box as an Agent Skill, DIR/<name>/ (as `mcp-box pack skill`)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from mcp_box_server.cli.common import setup_logging
    from mcp_box_server.distill import (
        DEFAULT_ALLOW_IMPORTS,
        EmitError,
        Limits,
        Settings,
        Stages,
        TaskFileError,
        TeacherOptions,
        default_cache_dir,
        distill,
    )
    from mcp_box_server.distill.cluster import DEFAULT_THRESHOLD
    from mcp_box_server.distill.validate import ValidationUnavailable
    from mcp_box_server.llm import ChatModel, ModelError, resolve_model

    setup_logging("WARNING")
    if (
        args.repairs < 0
        or args.retries < 0
        or args.stop_after < 0
        or args.jobs < 1
        or args.timeout <= 0
        or args.memory_mb < 64
        or (args.max_tokens is not None and args.max_tokens < 1)
    ):
        print(
            "mcp-box distill: --repairs >= 0, --retries >= 0, --stop-after >= 0, --jobs >= 1, --timeout > 0, "
            "--memory-mb >= 64, --max-tokens >= 1",
            file=sys.stderr,
        )
        return 2
    imports = tuple(
        dict.fromkeys((() if args.no_default_imports else DEFAULT_ALLOW_IMPORTS) + tuple(args.allow_import))
    )
    settings = Settings(
        repairs=args.repairs,
        first_thought=args.first_thought,
        cluster=args.cluster,
        cluster_threshold=DEFAULT_THRESHOLD if args.cluster_threshold is None else args.cluster_threshold,
    )
    limits = Limits(timeout=args.timeout, memory_mb=args.memory_mb, allow_imports=imports)
    cache_dir = None if args.no_cache else (args.cache or default_cache_dir())
    options = TeacherOptions(
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        retries=args.retries,
        stream=not args.no_stream,
        concurrency=max(args.jobs, 2) * 2,
        stop_after=args.stop_after,
    )

    async def main() -> int:
        # the teacher retries itself (honouring Retry-After); the client's own retries would multiply them
        config = resolve_model(args.teacher, args.base_url, args.api_key, max_retries=0)
        async with ChatModel(config) as model:
            result = await distill(
                args.tasks,
                args.out,
                model,
                name=args.name,
                description=args.description,
                settings=settings,
                limits=limits,
                cache_dir=cache_dir,
                jobs=args.jobs,
                teacher_options=options,
                force=args.force,
                dry_run=args.dry_run,
                stages=Stages.on_stderr(bars=not args.quiet),
            )
        stats = result.stats
        if result.dry_run:
            print(
                f"mcp-box distill: dry run: {stats.cached} teacher requests answered from the cache, "
                f"{stats.to_send} to send" + (" (and those their replies lead to)" if stats.to_send else ""),
                file=sys.stderr,
            )
            return 0
        counts = ", ".join(f"{key} {value}" for key, value in result.outcome.counts.as_rows())
        print(f"mcp-box distill: {counts}", file=sys.stderr)
        print(
            f"mcp-box distill: teacher requests {stats.requests} ({stats.cached} cached, "
            f"{stats.failed} failed, {stats.retries} retried, {stats.truncated} cut off); "
            f"largest prompt {stats.largest_prompt} chars, largest reply {stats.largest_reply} chars",
            file=sys.stderr,
        )
        if stats.failures:
            kinds = ", ".join(f"{kind} {count}" for kind, count in stats.failures.most_common())
            print(f"mcp-box distill: failed teacher requests by kind: {kinds}", file=sys.stderr)
        print(f"mcp-box distill: report: {result.report}", file=sys.stderr)
        if result.outcome.stopped:
            print(f"mcp-box distill: {result.outcome.stopped}", file=sys.stderr)
            return 1
        if not result.emitted:
            print("mcp-box distill: no tool survived; the report says why", file=sys.stderr)
            return 1
        if args.skill:
            from mcp_box_server.cli.pack_cmd import box_info
            from mcp_box_server.cli.skill_pack import SkillError, write_skill

            try:
                skill = write_skill(await box_info(result.box), args.skill)
            except SkillError as error:
                print(f"mcp-box distill: the box is written, its skill is not: {error}", file=sys.stderr)
                return 1
            print(f"mcp-box distill: skill: {skill}", file=sys.stderr)
        print(result.box)
        return 0

    try:
        return asyncio.run(main())
    except (TaskFileError, EmitError, ModelError, ValidationUnavailable) as exc:
        print(f"mcp-box distill: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, ModelError | ValidationUnavailable) else 2
