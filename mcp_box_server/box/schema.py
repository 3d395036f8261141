"""The one place that turns a function signature into a JSON schema and a validator.

pydantic builds both from the type hints, so the schema clients see and the
validation the worker runs can never disagree.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from mcp_box_server.box.docstrings import parse_docstring

DIALECT = "https://json-schema.org/draft/2020-12/schema"  # what pydantic writes: $defs, prefixItems


class SchemaError(Exception):
    """The signature cannot be described: no type hint, *args, an unsupported type."""


class Arguments(BaseModel):
    """Base of the generated argument models: unknown arguments are errors."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


@dataclass(frozen=True, slots=True)
class Signature:
    """A function's argument model (for validation), its JSON schema and its description."""

    model: type[BaseModel]
    schema: dict[str, Any]
    description: str


def describe_function(fn: Callable[..., Any], name: str) -> Signature:
    """Build the argument model and schema of `fn`; raise `SchemaError` when it cannot be described."""
    doc = parse_docstring(inspect.getdoc(fn))
    try:
        hints = get_type_hints(fn, include_extras=True)
    except Exception as exc:  # a NameError in an annotation, typically
        raise SchemaError(f"cannot resolve type hints: {exc}") from None
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise SchemaError(f"*{param.name} / **{param.name} are not supported: list the parameters")
        if param.kind is param.POSITIONAL_ONLY:
            raise SchemaError(f"parameter '{param.name}' is positional-only; tools take keywords")
        if param.name not in hints:
            raise SchemaError(f"parameter '{param.name}' has no type hint")
        default = ... if param.default is param.empty else param.default
        description = doc.params.get(param.name)
        fields[param.name] = (hints[param.name], Field(default, description=description))
    try:
        model = create_model(f"{name}_arguments", __base__=Arguments, **fields)
        schema = _plain_schema(model.model_json_schema())
    except Exception as exc:
        first_sentence = str(exc).split(". ")[0].splitlines()[0] if str(exc) else type(exc).__name__
        raise SchemaError(
            f"unsupported type hint ({first_sentence}); use JSON-like types: str, int, float, bool, "
            "list[...], dict[str, ...], Literal[...], a pydantic model or a TypedDict"
        ) from None
    return Signature(model, schema, doc.description)


def describe_output(fn: Callable[..., Any]) -> tuple[dict[str, Any], TypeAdapter[Any]] | None:
    """The `outputSchema` of a tool whose return hint is a JSON type, and its validator.

    An object type is the schema as is; any other (a number, a list) is wrapped as
    `{"result": ...}`, as the server sends it in `structuredContent`. None where there is
    nothing to promise: no hint, `Any`, a bare `list`/`dict`, or pictures and files.
    """
    from mcp_box_server.box.content import RICH

    try:
        hint = get_type_hints(fn).get("return")
    except Exception:  # reported for the parameters already, if at all
        return None
    if hint in (None, type(None), Any, object, list, dict, tuple) or _mentions(hint, RICH):
        return None
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(hint)
        schema = adapter.json_schema()
    except Exception:
        return None
    schema.pop("title", None)
    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
    return schema, adapter


def _mentions(hint: Any, kinds: tuple[type, ...]) -> bool:
    if hint in kinds:
        return True
    return any(_mentions(arg, kinds) for arg in getattr(hint, "__args__", ()) or ())


def _plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The input schema clients see: plain JSON Schema, no titles clutter."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    return schema


def with_dialect(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema naming its dialect (`$schema` first), for readers that do not assume 2020-12."""
    return {"$schema": DIALECT, **{k: v for k, v in schema.items() if k != "$schema"}}


def validate_arguments(model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Validate and coerce arguments; raise `ValueError` naming every bad parameter."""
    try:
        parsed = model.model_validate(arguments)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None
    return {name: getattr(parsed, name) for name in type(parsed).model_fields}


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the parameter: what small models can act on."""
    problems = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "arguments"
        kind = error["type"]
        if kind == "missing":
            problems.append(f"missing required parameter '{location}'")
        elif kind == "extra_forbidden":
            problems.append(f"unexpected parameter '{location}'")
        else:
            got = error.get("input")
            shown = repr(got) if len(repr(got)) <= 60 else repr(got)[:57] + "..."
            problems.append(f"parameter '{location}': {error['msg']} (got {shown})")
    return "invalid arguments: " + "; ".join(problems)
