"""The harness's MCP client: start `mcp-box serve` over stdio, or connect by URL.

The harness reaches boxes only through MCP, like any other client. The
connection uses the handshake-era protocol so that the server's
`notifications/tools/list_changed` arrive; each one marks the cached tool list
stale, and the next `list_tools()` fetches the new list, so a box edited
during a run is seen at the next agent step.

`ToolBackend` is the small interface the agent loop needs; `BoxConnection`
implements it over MCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from mcp_box_server.box.demos import Demo, parse_demos
from mcp_box_server.student.errors import ServerUnavailable
from mcp_box_server.student.steps import ErrorKind

_DEMOS_URI = re.compile(r"box://([A-Za-z0-9_-]+)/demos")
META_TOOLS = frozenset({"find_tools", "call_tool", "box_status"})

Transport = Literal["stdio", "http", "sse"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the server lists it."""

    name: str
    description: str
    input_schema: dict[str, Any]

    @property
    def is_meta(self) -> bool:
        return self.name in META_TOOLS

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI `tools=[...]` entry for this tool."""
        schema = self.input_schema or {"type": "object", "properties": {}}
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The result of one call: text for the model, the structured result, an error kind."""

    text: str
    structured: Any = None
    error: ErrorKind | None = None
    latency_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class ToolBackend(Protocol):
    """What the agent loop needs from a tool server."""

    async def list_tools(self) -> list[ToolSpec]: ...

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome: ...


@dataclass(frozen=True, slots=True)
class ServerTarget:
    """Where the box server is: a command to start over stdio, or a URL to connect to."""

    transport: Transport = "stdio"
    command: tuple[str, ...] = ()
    url: str | None = None
    token: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def local(
        cls,
        boxes: Sequence[Path | str] = (),
        box_names: Sequence[str] = (),
        *,
        reload: bool = True,
        env: dict[str, str] | None = None,
    ) -> ServerTarget:
        """Start `mcp-box serve` over stdio with this interpreter: exactly `boxes`, else the bundled boxes."""
        command = [sys.executable, "-m", "mcp_box_server", "serve", "--transport", "stdio"]
        if boxes:
            command += [part for box in boxes for part in ("--boxes", str(box))]  # one folder per flag
            command.append("--no-bundled")  # `--boxes` adds to them; callers name the bundled ones if wanted
        for name in box_names:
            command += ["--box", name]
        if not reload:
            command.append("--no-reload")
        return cls(transport="stdio", command=tuple(command), env=dict(env or {}))

    @classmethod
    def remote(cls, url: str, token: str | None = None, transport: Transport | None = None) -> ServerTarget:
        """A running server: `.../sse` means SSE, anything else streamable HTTP."""
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"server URL {url!r} must start with http:// or https://")
        chosen = transport or ("sse" if url.rstrip("/").endswith("/sse") else "http")
        return cls(transport=chosen, url=url, token=token)

    def describe(self) -> str:
        return self.url or " ".join(self.command[2:])


class BoxConnection:
    """An open MCP session to a box server; use as an async context manager.

    Example:
        async with BoxConnection(ServerTarget.local(box_names=["math"])) as box:
            tools = await box.list_tools()
            outcome = await box.call_tool("math_solve_24", {"numbers": [4, 7, 8, 8]})
    """

    def __init__(
        self,
        target: ServerTarget,
        *,
        call_timeout_s: float = 120.0,
        connect_timeout_s: float = 60.0,
        server_log: IO[str] | None = None,
    ) -> None:
        self.target = target
        self.call_timeout_s = call_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.list_changes = 0  # notifications/tools/list_changed seen so far
        self._server_log = server_log
        self._log_path: Path | None = None
        self._client: Any = None
        self._tools: list[ToolSpec] | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> BoxConnection:
        from fastmcp import Client

        transport = self._transport()
        self._client = Client(
            transport,
            message_handler=_change_handler(self._tools_changed),
            timeout=self.call_timeout_s,
            init_timeout=self.connect_timeout_s,
            mode="legacy",
        )
        try:
            await self._client.__aenter__()
            await self._settled()
        except Exception as exc:
            raise ServerUnavailable(self._failure(exc)) from exc
        return self

    async def _settled(self) -> None:
        """Wait (within the connect timeout) for the boxes the server found at start to load.

        The server answers before its boxes load, and a run lists its tools once: a box that
        loads a moment later would be missing from every prompt of the run.
        """
        deadline = time.monotonic() + self.connect_timeout_s
        while time.monotonic() < deadline:
            status = (await self._client.call_tool("box_status", {}, raise_on_error=False)).structured_content
            if not isinstance(status, dict) or not status.get("starting"):
                return
            await asyncio.sleep(0.1)

    async def __aexit__(self, *_: object) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.__aexit__(None, None, None)
            self._client = None
        if self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()

    def _transport(self) -> Any:
        from fastmcp.client.transports import SSETransport, StdioTransport, StreamableHttpTransport

        target = self.target
        if target.transport == "stdio":
            log: Path | IO[str]
            if self._server_log is not None:
                log = self._server_log
            else:
                handle, name = tempfile.mkstemp(prefix="mcp-box-serve-", suffix=".log")
                os.close(handle)
                self._log_path = log = Path(name)
            env = {**os.environ, **target.env} if target.env else None
            return StdioTransport(
                target.command[0], list(target.command[1:]), env=env, keep_alive=False, log_file=log
            )
        assert target.url is not None  # ServerTarget.remote guarantees it
        kind = SSETransport if target.transport == "sse" else StreamableHttpTransport
        return kind(target.url, auth=target.token) if target.token else kind(target.url)

    def _failure(self, exc: BaseException) -> str:
        where = self.target.describe()
        detail = f"{type(exc).__name__}: {exc}".strip()
        if self.target.transport == "stdio":
            tail = self.server_log_tail()
            return f"could not start the box server ({where}): {detail}" + (f"\n{tail}" if tail else "")
        return f"could not connect to the box server at {where}: {detail}"

    def server_log_tail(self, lines: int = 15) -> str:
        """The last lines the stdio server wrote to stderr (when they went to a temp file)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def _tools_changed(self) -> None:
        self.list_changes += 1
        self._tools = None

    async def list_tools(self) -> list[ToolSpec]:
        """Every tool the server offers now (cached until the server says the list changed)."""
        async with self._lock:
            if self._tools is None:
                try:
                    listed = await self._client.list_tools()
                except Exception as exc:
                    raise ServerUnavailable(f"listing tools failed: {type(exc).__name__}: {exc}") from exc
                self._tools = [
                    ToolSpec(t.name, t.description or "", dict(t.input_schema or {})) for t in listed
                ]
            return self._tools

    async def refresh(self) -> list[ToolSpec]:
        """Forget the cached list and fetch it again."""
        self._tools = None
        return await self.list_tools()

    async def demos(self) -> list[Demo]:
        """Every box's worked examples (`box://<box>/demos` resources), in server order.

        A demo file that cannot be read or has malformed lines is reported on stderr and
        the rest is used: demonstrations help, they are not needed to answer.
        """
        try:
            listed = await self._client.list_resources()
        except Exception as exc:
            raise ServerUnavailable(f"listing resources failed: {type(exc).__name__}: {exc}") from exc
        found: list[Demo] = []
        for resource in listed:
            uri = str(resource.uri)
            match = _DEMOS_URI.fullmatch(uri)
            if match is None:
                continue
            try:
                contents = await self._client.read_resource(uri)
            except Exception as exc:
                print(f"mcp-box: cannot read {uri}: {exc}", file=sys.stderr)
                continue
            text = "".join(getattr(part, "text", "") for part in contents)
            parsed = parse_demos(text, match.group(1), uri)
            for failure in parsed.failures:
                print(f"mcp-box: skipped a demo: {failure}", file=sys.stderr)
            found += parsed.demos
        return found

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Call one tool; failures come back as an outcome with an `ErrorKind`, never raised."""
        started = time.perf_counter()
        try:
            result = await self._client.call_tool_mcp(name, arguments)
        except Exception as exc:
            return ToolOutcome(
                f"the box server failed: {type(exc).__name__}: {exc}",
                error=ErrorKind.CONNECTION,
                latency_s=time.perf_counter() - started,
            )
        latency = time.perf_counter() - started
        text = "\n".join(getattr(block, "text", "") for block in result.content if getattr(block, "text", ""))
        structured = result.structured_content
        if result.is_error:
            return ToolOutcome(text or "the tool failed without a message", None, classify(text), latency)
        if not text and structured is not None:
            text = json.dumps(structured, separators=(",", ":"), default=str)
        return ToolOutcome(text, structured, None, latency)


def classify(message: str) -> ErrorKind:
    """The kind of a server-side tool error, from the text the server sends."""
    lowered = message.lower().lstrip()
    if lowered.startswith(("invalid arguments", "invalid argument", "input validation error")):
        return ErrorKind.BAD_ARGUMENTS
    if lowered.startswith("unknown tool"):
        return ErrorKind.UNKNOWN_TOOL
    return ErrorKind.TOOL_FAILED


def _change_handler(callback: Callable[[], None]) -> Any:
    """A fastmcp message handler that calls `callback` on every tools/list_changed."""
    from fastmcp.client.messages import MessageHandler

    class ChangeHandler(MessageHandler):
        async def on_tool_list_changed(self, message: Any) -> None:
            callback()

    return ChangeHandler()
