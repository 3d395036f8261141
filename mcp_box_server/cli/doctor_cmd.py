"""`mcp-box doctor`: which sandbox layers this machine enforces, seen from real workers.

What is probed depends on the OS (`runtime.platform`): Landlock's ABI on Linux,
Seatbelt on macOS; where workers cannot run at all (Windows) it says so and
where to run instead, without starting one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp_box_server.cli.common import setup_logging

PROBE = '''
def probe() -> str:
    """Answer, to show the worker runs."""
    return "ok"
'''


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="show which sandbox layers the kernel enforces here (exit 1 if sandboxed boxes cannot serve)",
        description="Start a trusted and a sandboxed worker as `serve` would and report, per layer, "
        "whether the kernel enforces it and why not.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


async def probe() -> dict[str, Any]:
    """Start one worker per trust level on a throwaway box; their confinement reports."""
    from mcp_box_server.box import read_manifest
    from mcp_box_server.runtime import BoxPool, platform

    system = platform.current()
    report: dict[str, Any] = {"platform": system.NAME, **system.kernel_layers()}
    if system.SERVE_REFUSAL:
        part = {"enforced": [], "missing": {}, "required_missing": {}, "serving": False}
        return report | {
            trust: part | {"errors": [system.SERVE_REFUSAL]} for trust in ("trusted", "sandboxed")
        }
    with tempfile.TemporaryDirectory(prefix="mcp-box-doctor-") as root:
        for trust in ("trusted", "sandboxed"):
            box = Path(root) / trust
            (box / "tools").mkdir(parents=True)
            (box / "box.toml").write_text(f'name = "doctor"\ntrust = "{trust}"\nworkers = 1\n')
            (box / "tools" / "probe.py").write_text(PROBE)
            pool = BoxPool(read_manifest(box))
            try:
                await pool.start()
                serving = bool(pool.specs) and await pool.call("probe", {}) == "ok"
            finally:
                await pool.close()
            report[trust] = pool.confinement | {
                "serving": serving,
                "errors": [failure.message for failure in pool.failures],
            }
    return report


def run(args: argparse.Namespace) -> int:
    setup_logging("WARNING")
    report = asyncio.run(probe())
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0 if report["sandboxed"]["serving"] and not report["sandboxed"]["required_missing"] else 1


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(file=sys.stdout, highlight=False)
    console.print(f"Platform: {report['platform']}")
    if "landlock_abi" in report:
        why = f" ({report['landlock_unavailable']})" if report.get("landlock_unavailable") else ""
        console.print(f"Landlock ABI: {report['landlock_abi'] or 'none'}{why}")
    if "seatbelt" in report:
        console.print(f"Seatbelt: {report['seatbelt']}")
    for trust in ("trusted", "sandboxed"):
        part = report[trust]
        console.print(f"\n[bold]{trust}[/bold] workers")
        for layer in part.get("enforced", []):
            console.print(f"  [green]✓[/green] {layer}")
        for layer, why in part.get("missing", {}).items():
            required = layer in part.get("required_missing", {})
            mark = "[red]✗[/red]" if required else "[yellow]-[/yellow]"
            console.print(f"  {mark} {layer}: {why}" + (" (required)" if required else ""))
        for error in part["errors"]:
            console.print(f"  [red]{error}[/red]")
    sandboxed = report["sandboxed"]
    if "workers" in report:  # no worker runs on this OS at all
        console.print("\nNo box serves natively here, trusted or sandboxed (see above).")
    elif sandboxed["serving"] and not sandboxed["required_missing"]:
        console.print("\nSandboxed boxes are confined by the kernel and will serve.")
    elif sandboxed["serving"]:
        console.print("\n[red]UNSAFE[/red]: sandboxed boxes serve without every layer (as asked).")
    else:
        console.print("\nSandboxed boxes will NOT serve here: a required layer is missing (see above).")
