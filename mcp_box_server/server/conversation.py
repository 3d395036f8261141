"""A box call's conversation with its MCP client: progress, logs and questions, in both eras.

Handshake-era sessions (protocol ≤ 2025-11-25) get notifications and server-to-client
requests while the tool waits. A 2026-07-28 client has no back-channel for requests:
the call ends with an `InputRequiredResult` carrying the question and a signed
`request_state`; the client answers and calls again, and the tool runs again with the
answers of every earlier round. The state is sealed with an HMAC, so a client cannot
forge answers the tool never got, and any replica sharing the key can take the next
round (MCP_BOX_STATE_KEY; a random key per process otherwise).

A state is bound to its call (tool and arguments), to the session it was asked in
where there is one (an HTTP session id), and to the version of the tool that asked:
answers given to one version are never fed to another after a reload, and a state
seen in one session cannot be replayed in another.

A client may also answer a first round before it is asked (`inputResponses` with no
`request_state`): those answers count for the questions the tool asks in that round and
no later one; keys the tool does not ask are ignored.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
import warnings
from typing import TYPE_CHECKING, Any

import mcp_types
import pydantic
from fastmcp.server.context import Context
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types.jsonrpc import INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_box_server.box.context import LEVELS
from mcp_box_server.runtime import ClientCannot, InputNeeded

if TYPE_CHECKING:
    from mcp_box_server.box import ToolSpec
    from mcp_box_server.server.registry import BoxRegistry

# Logging, sampling and roots are deprecated in 2026-07-28, not gone: handshake-era clients
# still get them. Filtered once here: `catch_warnings` around each send reset the warning
# registry, so every log note of a tool printed the warning again.
warnings.filterwarnings(
    "ignore", r"The (logging|sampling|roots) capability is deprecated", MCPDeprecationWarning
)

STATE_KEY_ENV = "MCP_BOX_STATE_KEY"
_KEY = os.environ.get(STATE_KEY_ENV, "").encode() or secrets.token_bytes(32)
_CAPABILITY = {"elicit": "elicitation", "sample": "sampling", "roots": "roots"}
_METHOD = {"elicit": "elicitation/create", "sample": "sampling/createMessage", "roots": "roots/list"}
# What a client declares for each kind, built once: `check_client_capability` compares with it.
_DECLARES = {
    kind: mcp_types.ClientCapabilities.model_validate({name: {}}) for kind, name in _CAPABILITY.items()
}
_ANSWER: dict[str, type[pydantic.BaseModel]] = {
    "elicit": mcp_types.ElicitResult,
    "sample": mcp_types.CreateMessageResult,
    "roots": mcp_types.ListRootsResult,
}


class ClientConversation:
    """Delivers one call's notes and questions through FastMCP's request context."""

    def __init__(
        self, ctx: Context, tool: str, arguments: dict[str, Any], registry: BoxRegistry | None = None
    ) -> None:
        self._ctx = ctx
        self._tool, self._arguments = tool, arguments
        context = ctx.request_context
        request = context.request if context is not None else None
        self._session = request.headers.get("mcp-session-id") if request is not None else None
        self._serving = serving(registry, tool) if registry is not None else None
        self.modern = context is not None and context.protocol_version in MODERN_PROTOCOL_VERSIONS
        self.interactive = not self.modern
        self.capabilities = frozenset(kind for kind in _CAPABILITY if self._declared(kind))
        self.answers: dict[str, Any] = self._earlier_answers() if self.modern else {}
        self._offered = self._unasked_answers() if self.modern else {}

    async def note(self, kind: str, params: dict[str, Any]) -> None:
        if kind == "progress":
            progress = params.get("progress")
            if isinstance(progress, int | float):
                total = params.get("total")
                message = params.get("message")
                await self._ctx.report_progress(
                    progress, total if isinstance(total, int | float) else None, message and str(message)
                )
        elif kind == "log":
            level = str(params.get("level", "info"))
            await self._ctx.session.send_log_message(
                level if level in LEVELS else "info",  # type: ignore[arg-type]
                str(params.get("message", "")),
                logger=self._tool,
                related_request_id=self._ctx.request_id,
            )

    async def ask(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        self._require(kind)
        session = self._ctx.session
        request = input_request(kind, params)
        if isinstance(request, mcp_types.ElicitRequest):
            result = await session.elicit(
                request.params.message,
                request.params.requested_schema,  # type: ignore[union-attr]
                related_request_id=self._ctx.request_id,
            )
        elif isinstance(request, mcp_types.CreateMessageRequest):
            result = await session.create_message(
                messages=request.params.messages,
                max_tokens=request.params.max_tokens,
                system_prompt=request.params.system_prompt,
                related_request_id=self._ctx.request_id,
            )
        else:
            result = await session.list_roots()
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    def input_required(self, needed: InputNeeded) -> mcp_types.InputRequiredResult | None:
        """End this round with the questions, and the answers so far sealed for the next one.

        None when a question is malformed (a worker wrote it): the caller reports a failure.
        """
        requests = {}
        for key, (kind, params) in needed.requests.items():
            self._require(kind)
            try:
                requests[key] = input_request(kind, params)
            except ClientCannot:
                return None
        state = seal(
            self._tool,
            self._arguments,
            self.answers,
            asked=sorted(requests),
            session=self._session,
            version=self._version,
        )
        return mcp_types.InputRequiredResult(input_requests=requests, request_state=state)

    def adopt(self, needed: InputNeeded) -> bool:
        """Take answers the client gave with no request_state for what this first round asks.

        True when one fits a question (the round then runs again with it); once only, so a
        later round's question still needs the sealed state of the round before it.
        """
        offered, self._offered = self._offered, {}
        adopted = False
        for key, (kind, _) in needed.requests.items():
            answer = valid_answer(kind, offered.get(key))
            if answer is not None:
                self.answers[key] = answer
                adopted = True
        return adopted

    @functools.cached_property
    def _version(self) -> str | None:
        """The version of the tool that serves this call, digested only for a round state: most
        calls never seal or check one."""
        return version_of(*self._serving) if self._serving is not None else None

    def _declared(self, kind: str) -> bool:
        return self._ctx.session.check_client_capability(_DECLARES[kind])

    def _require(self, kind: str) -> None:
        """-32021 when the client did not declare what the question needs."""
        capability = _CAPABILITY.get(kind)
        if capability is None:
            raise ClientCannot(f"unknown request kind '{kind}'")
        if kind not in self.capabilities:
            raise MCPError(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                f"tool '{self._tool}' needs the client capability '{capability}', which it did not declare",
                {"requiredCapabilities": {capability: {}}},
            )

    def _earlier_answers(self) -> dict[str, Any]:
        """Answers sealed in earlier rounds, plus the client's to what the last round asked.

        A response to anything else (a question never asked, or asked without state) is
        ignored: a client cannot answer in the user's place what the tool has yet to ask.
        """
        if not self._ctx.request_state:  # a first round: nothing sealed, nothing asked yet
            return {}
        answers, asked = unseal(
            self._ctx.request_state, self._tool, self._arguments, session=self._session, version=self._version
        )
        for key, response in (self._ctx.input_responses or {}).items():
            if str(key) in asked:
                answers[str(key)] = _plain(response)
        return answers

    def _unasked_answers(self) -> dict[str, Any]:
        """The client's responses on a first round (no request_state), kept for `adopt`."""
        if self._ctx.request_state:
            return {}
        return {str(key): _plain(response) for key, response in (self._ctx.input_responses or {}).items()}


def seal(
    tool: str,
    arguments: dict[str, Any],
    answers: dict[str, Any],
    asked: list[str],
    *,
    session: str | None = None,
    version: str | None = None,
) -> str:
    """The round state: answers so far and the keys just asked, bound to this call, its
    session (None: sessionless) and the tool's version (None: unknown), signed."""
    payload = {
        "tool": tool,
        "arguments": _digest(arguments),
        "answers": answers,
        "asked": asked,
        "session": session and _digest(session),
        "version": version,
    }
    body = base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
    return f"{body}.{_sign(body)}"


def unseal(
    state: str | None,
    tool: str,
    arguments: dict[str, Any],
    *,
    session: str | None = None,
    version: str | None = None,
) -> tuple[dict[str, Any], set[str]]:
    """The answers in a round state and the keys it asked; a forged, altered or foreign one
    (another call, another session, another version of the tool) is an invalid-params error."""
    if not state:
        return {}, set()
    body, _, signature = state.partition(".")
    if not hmac.compare_digest(signature, _sign(body)):
        problem = "request_state failed its integrity check (altered, or from a server with another key)"
        raise MCPError(INVALID_PARAMS, problem)
    payload = json.loads(base64.urlsafe_b64decode(body))
    if payload.get("tool") != tool or payload.get("arguments") != _digest(arguments):
        raise MCPError(INVALID_PARAMS, "request_state belongs to another call (tool or arguments differ)")
    if payload.get("session") != (session and _digest(session)):
        raise MCPError(
            INVALID_PARAMS, "request_state belongs to another session: answer in the session that asked"
        )
    sealed = payload.get("version")
    if sealed is not None and version is not None and sealed != version:
        problem = (
            f"request_state was sealed for version {sealed} of tool '{tool}', which now serves {version} "
            "(its box was reloaded): call the tool again without request_state"
        )
        raise MCPError(INVALID_PARAMS, problem)
    return dict(payload.get("answers") or {}), {str(key) for key in payload.get("asked") or []}


def serving(registry: BoxRegistry, tool: str) -> tuple[str, ToolSpec] | None:
    """The declared version of `tool`'s box and its spec, as they serve now; None while the tool
    is not listed (its box still loading)."""
    spec = registry.tools.get(tool)
    if spec is None:
        return None
    declared = next((s.pool.manifest.version for s in registry.states if s.name == spec.box and s.pool), "")
    return declared, spec


def version_of(declared: str, spec: ToolSpec) -> str:
    """A tool's version: its box's declared version and a digest of its spec.

    Made of content only (no path, no time), so every replica serving the same box agrees.
    """
    shape = [spec.description, spec.parameters, spec.output, spec.annotations, spec.timeout]
    return f"{declared}+{_digest(shape)[:12]}"


def input_request(kind: str, params: dict[str, Any]) -> mcp_types.InputRequest:
    """The MCP request a question stands for, built from the fields a box may set, no others.

    A worker writes the params: a form elicitation (never a URL to open), a sampling request
    without server context or tools.
    """
    try:
        if kind == "elicit":
            form = {
                "mode": "form",
                "message": str(params["message"]),
                "requestedSchema": params["requestedSchema"],
            }
            return mcp_types.ElicitRequest.model_validate({"method": _METHOD[kind], "params": form})
        if kind == "sample":
            chosen = {"messages": params["messages"], "maxTokens": params["maxTokens"]}
            if params.get("systemPrompt") is not None:
                chosen["systemPrompt"] = str(params["systemPrompt"])
            return mcp_types.CreateMessageRequest.model_validate({"method": _METHOD[kind], "params": chosen})
        if kind == "roots":
            return mcp_types.ListRootsRequest.model_validate({"method": _METHOD[kind]})
    except (KeyError, TypeError, ValueError) as exc:
        raise ClientCannot(f"malformed {kind} request: {exc}") from None
    raise ClientCannot(f"unknown request kind '{kind}'")


def valid_answer(kind: str, response: Any) -> dict[str, Any] | None:
    """`response` as an answer to a question of `kind`; None when it is none (absent, or
    the result of another kind of request, or malformed)."""
    model = _ANSWER.get(kind)
    if model is None or not isinstance(response, dict):
        return None
    try:
        return _plain(model.model_validate(response))
    except pydantic.ValidationError:
        return None


def _plain(response: Any) -> Any:
    dump = getattr(response, "model_dump", None)
    return dump(by_alias=True, mode="json", exclude_none=True) if dump else response


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _sign(body: str) -> str:
    return hmac.new(_KEY, body.encode(), hashlib.sha256).hexdigest()
