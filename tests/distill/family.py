"""A task family with exact answers and a scripted teacher that writes tools for it.

Tasks: unit conversions (length, temperature), percentages and interest. The
teacher first writes task-specific tools with no parameters (so only
abstraction makes them reusable), near-duplicate tools per kind (so clustering
and consolidation matter), and, on chosen tasks, broken code: a wrong answer,
a syntax error, a forbidden import, a network attempt, an infinite loop, a
memory bomb, a reply with no code. The responder routes on prompt content and
on how many times it has already answered in the conversation (the attempt),
so it is deterministic under any concurrency.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

LENGTH = {"mile": 1609.344, "km": 1000.0, "foot": 0.3048, "metre": 1.0, "inch": 0.0254, "cm": 0.01}


@dataclass(frozen=True)
class Kind:
    key: str
    pattern: str  # the question, with {a} {b} {c}
    function: str  # the abstracted tool
    answer: Any  # callable on the parsed numbers


KINDS = [
    Kind("mi_km", "Convert {a} miles to kilometres.", "miles_to_km", lambda a: a * 1.609344),
    Kind("km_mi", "Convert {a} kilometres to miles.", "km_to_miles", lambda a: a / 1.609344),
    Kind("ft_m", "Convert {a} feet to metres.", "feet_to_metres", lambda a: a * 0.3048),
    Kind("in_cm", "Convert {a} inches to centimetres.", "inches_to_cm", lambda a: a * 2.54),
    Kind("c_f", "Convert {a} degrees Celsius to Fahrenheit.", "celsius_to_fahrenheit",
         lambda a: a * 9 / 5 + 32),
    Kind("pct_of", "What is {a} percent of {b}?", "percent_of", lambda a, b: a * b / 100),
    Kind("pct_share", "What percentage of {b} is {a}?", "percent_share", lambda a, b: a / b * 100),
    Kind("pct_change", "By what percent does a price change from {a} to {b}?", "percent_change",
         lambda a, b: (b - a) / a * 100),
    Kind("simple", "How much simple interest do {a} dollars earn at {b} percent per year in {c} years?",
         "simple_interest", lambda a, b, c: a * b * c / 100),
    Kind("compound", "What do {a} dollars grow to at {b} percent compounded yearly for {c} years?",
         "compound_amount", lambda a, b, c: round(a * (1 + b / 100) ** c, 6)),
]  # fmt: skip
BY_KEY = {k.key: k for k in KINDS}

TRAIN = [
    ("t01", "mi_km", (5,)), ("t02", "mi_km", (26.2,)), ("t03", "mi_km", (100,)),
    ("t04", "km_mi", (10,)), ("t05", "km_mi", (42.195,)),
    ("t06", "ft_m", (6,)), ("t07", "ft_m", (1000,)),
    ("t08", "in_cm", (12,)), ("t09", "in_cm", (3.5,)),
    ("t10", "c_f", (100,)), ("t11", "c_f", (-40,)),
    ("t12", "pct_of", (15, 240)), ("t13", "pct_of", (7.5, 80)),
    ("t14", "pct_share", (45, 180)), ("t15", "pct_share", (3, 12)),
    ("t16", "pct_change", (80, 100)), ("t17", "pct_change", (50, 20)),
    ("t18", "simple", (1000, 5, 3)), ("t19", "simple", (2500, 4, 2)), ("t20", "simple", (800, 3.5, 4)),
    ("t21", "compound", (1000, 5, 2)), ("t22", "compound", (500, 10, 3)),
]  # fmt: skip
HELD_OUT = [
    ("h1", "mi_km", (13,)),
    ("h2", "in_cm", (20,)),
    ("h3", "simple", (1200, 6, 5)),
    ("h4", "compound", (2000, 3, 4)),
]

# What the teacher gets wrong, per (task, stage): a list of failure kinds, one per attempt;
# past the list's end it answers correctly.
FAULTS: dict[tuple[str, str], list[str]] = {
    ("t01", "generate"): ["wrong"],
    ("t04", "generate"): ["syntax"],
    ("t06", "generate"): ["forbidden"],
    ("t08", "generate"): ["network"],
    ("t18", "generate"): ["loop"],
    ("t17", "generate"): ["bomb", "bomb", "bomb"],
    ("t22", "generate"): ["prose", "prose", "prose"],
    ("t11", "abstract"): ["wrong", "constant", "wrong"],
    ("t13", "abstract"): ["defaults"],
    ("t14", "abstract"): ["undocumented"],
}
# Clusters whose consolidation the teacher never gets right (by a member function).
FAILED_MERGES = {"percent_of"}


def question(key: str, numbers: tuple[float, ...]) -> str:
    return BY_KEY[key].pattern.format(**dict(zip("abc", numbers, strict=False)))


def answer(key: str, numbers: tuple[float, ...]) -> float:
    return BY_KEY[key].answer(*numbers)


def task_lines(rows: list[tuple[str, str, tuple[float, ...]]]) -> list[dict[str, Any]]:
    return [{"id": i, "question": question(k, n), "answer": answer(k, n)} for i, k, n in rows]


def parse(text: str) -> tuple[str, tuple[float, ...]] | None:
    """The kind and numbers of a question, wherever it appears in `text`."""
    for kind in KINDS:
        regex = re.escape(kind.pattern)
        for name in "abc":
            regex = regex.replace(re.escape("{" + name + "}"), rf"(?P<{name}>-?[0-9.]+)")
        match = re.search(regex, text)
        if match:
            groups = [match.group(name) for name in sorted(match.groupdict())]
            return kind.key, tuple(float(g) if "." in g else int(g) for g in groups)
    return None


# ---- tool sources ----------------------------------------------------------------------------

_PARAMS = {
    "miles_to_km": ("miles", "length in miles", "{a} * 1.609344"),
    "km_to_miles": ("km", "length in kilometres", "{a} / 1.609344"),
    "feet_to_metres": ("feet", "length in feet", "{a} * 0.3048"),
    "inches_to_cm": ("inches", "length in inches", "{a} * 2.54"),
    "celsius_to_fahrenheit": ("celsius", "temperature in degrees Celsius", "{a} * 9 / 5 + 32"),
}
_DOCS = {
    "miles_to_km": "Convert a length from miles to kilometres.",
    "km_to_miles": "Convert a length from kilometres to miles.",
    "feet_to_metres": "Convert a length from feet to metres.",
    "inches_to_cm": "Convert a length from inches to centimetres.",
    "celsius_to_fahrenheit": "Convert a temperature from degrees Celsius to degrees Fahrenheit.",
    "percent_of": "Percentage of an amount: the given percent of a total.",
    "percent_share": "Percentage that a part is of a total amount.",
    "percent_change": "Percentage change from an old amount to a new amount.",
    "simple_interest": "Simple interest earned on a principal at a yearly rate over some years.",
    "compound_amount": "Final amount of a principal with interest compounded yearly at a rate over years.",
}
_MULTI = {
    "percent_of": (("percent", "total"), "percent * total / 100"),
    "percent_share": (("part", "total"), "part / total * 100"),
    "percent_change": (("old", "new"), "(new - old) / old * 100"),
    "simple_interest": (("principal", "rate", "years"), "principal * rate * years / 100"),
    "compound_amount": (("principal", "rate", "years"), "round(principal * (1 + rate / 100) ** years, 6)"),
}


def specific_tool(key: str, numbers: tuple[float, ...], fault: str | None = None) -> tuple[str, dict]:
    """A tool that solves only its own task: every constant is baked in."""
    function = BY_KEY[key].function
    name = f"{function}_task"
    values = dict(zip("abc", numbers, strict=False))
    if function in _PARAMS:
        expression = _PARAMS[function][2].format(**values)
    else:
        params, expression = _MULTI[function]
        for param, value in zip(params, numbers, strict=True):
            expression = re.sub(rf"\b{param}\b", repr(value), expression)
    if fault == "wrong":
        expression = f"({expression}) * 1.01"
    body = f"    return {expression}\n"
    head = ""
    if fault == "syntax":
        body = f"    return ({expression}\n"
    elif fault == "forbidden":
        head = "import os\n\n"
        body = f"    os.getcwd()\n{body}"
    elif fault == "network":
        head = "import socket\n\n"
        body = f'    socket.create_connection(("example.com", 80))\n{body}'
    elif fault == "loop":
        body = f"    while True:\n        pass\n{body}"
    elif fault == "bomb":
        body = f"    hoard = bytearray(8 * 10**9)  # 8 GB\n    del hoard\n{body}"
    source = f'{head}def {name}() -> float:\n    """{question(key, numbers)}"""\n{body}'
    return source, {"function": name, "arguments": {}}


def general_tool(function: str, defaults: tuple[float, ...] | None = None, *, wrong: bool = False) -> str:
    """The abstracted tool: task constants are parameters (`defaults`: a draft that keeps them)."""
    if function in _PARAMS:
        param, described, expression = _PARAMS[function]
        params, args_doc = (param,), f"        {param}: {described}.\n"
        expression = expression.format(a=param)
    else:
        params, expression = _MULTI[function]
        args_doc = "".join(f"        {p}: the {p.replace('_', ' ')}.\n" for p in params)
    if wrong:
        expression = f"({expression}) + 1"
    defaults = defaults or ()
    signature = ", ".join(
        f"{p}: float = {d!r}" if i < len(defaults) else f"{p}: float"
        for i, (p, d) in enumerate(zip(params, list(defaults) + [None] * len(params), strict=False))
    )
    return (
        f"def {function}({signature}) -> float:\n"
        f'    """{_DOCS[function]}\n\n    Args:\n{args_doc}\n    Returns:\n        The result.\n    """\n'
        f"    return {expression}\n"
    )


def general_arguments(function: str, numbers: tuple[float, ...]) -> dict[str, float]:
    params = (_PARAMS[function][0],) if function in _PARAMS else _MULTI[function][0]
    return dict(zip(params, numbers, strict=True))


CONVERT_LENGTH = '''\
_METRES = {"mile": 1609.344, "km": 1000.0, "foot": 0.3048, "metre": 1.0, "inch": 0.0254, "cm": 0.01}


def convert_length(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a length between units: mile, km, foot, metre, inch, cm.

    Args:
        value: the length in `from_unit`.
        from_unit: unit of `value` (mile, km, foot, metre, inch or cm).
        to_unit: unit wanted (mile, km, foot, metre, inch or cm).

    Returns:
        The length in `to_unit`.
    """
    if from_unit not in _METRES or to_unit not in _METRES:
        raise ValueError(f"units must be among {sorted(_METRES)}")
    return value * _METRES[from_unit] / _METRES[to_unit]
'''
LENGTH_UNITS = {
    "mi_km": ("mile", "km"),
    "km_mi": ("km", "mile"),
    "ft_m": ("foot", "metre"),
    "in_cm": ("inch", "cm"),
}

INTEREST = '''\
def interest(principal: float, rate: float, years: float, compound: bool = False) -> float:
    """Interest on a principal at a yearly rate: simple interest earned, or the compounded amount.

    Args:
        principal: the amount invested.
        rate: the yearly rate in percent.
        years: how many years.
        compound: False for the simple interest earned, True for the final amount with
            interest compounded yearly.

    Returns:
        The simple interest, or the final compounded amount.
    """
    if compound:
        return round(principal * (1 + rate / 100) ** years, 6)
    return principal * rate * years / 100
'''


def merged_call(key: str, numbers: tuple[float, ...]) -> dict[str, Any]:
    """The call of the consolidated tool that answers a task of kind `key`."""
    if key in LENGTH_UNITS:
        src, dst = LENGTH_UNITS[key]
        return {
            "function": "convert_length",
            "arguments": {"value": numbers[0], "from_unit": src, "to_unit": dst},
        }
    if key in ("simple", "compound"):
        p, r, y = numbers
        args = {"principal": p, "rate": r, "years": y, "compound": key == "compound"}
        return {"function": "interest", "arguments": args}
    if key == "c_f":
        return {"function": "celsius_to_fahrenheit", "arguments": {"celsius": numbers[0]}}
    return {"function": "percent", "arguments": {"a": numbers[0], "b": numbers[1], "mode": key}}


PERCENT_WRONG = '''\
def percent(a: float, b: float, mode: str) -> float:
    """Percentages: a percent of b, a as a percentage of b, or the change from a to b.

    Args:
        a: first amount.
        b: second amount.
        mode: pct_of, pct_share or pct_change.

    Returns:
        The percentage.
    """
    if mode == "pct_of":
        return a * b / 100
    return a / b * 100
'''


def fence(source: str, call: Any) -> str:
    return f"Here is the tool.\n\n```python\n{source}```\n\nCall:\n\n```json\n{json.dumps(call)}\n```\n"


# ---- the responder ---------------------------------------------------------------------------


def teacher(request: dict[str, Any]) -> str:
    """Reply to one teacher request of the distill pipeline."""
    messages = request["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    first = users[0]
    attempt = sum(1 for m in messages if m["role"] == "assistant")
    if "Think about how to solve" in first:
        return "First, identify the quantity asked for and its unit. Then apply the formula."
    if first.startswith("These tools do closely related things"):
        return _consolidate(first, attempt)
    if "Group them by what they do" in first:
        return group_reply(first)
    parsed = parse(first)
    if parsed is None:
        return "I cannot tell which task this is."
    key, numbers = parsed
    task_id = next((i for i, k, n in TRAIN + HELD_OUT if k == key and n == numbers), "?")
    stage = "abstract" if first.startswith("Here is a validated tool") else "generate"
    faults = FAULTS.get((task_id, stage), [])
    fault = faults[attempt] if attempt < len(faults) else None
    if fault == "prose":
        return "The answer is simply the formula applied to the numbers; no code needed."
    if stage == "generate":
        source, call = specific_tool(key, numbers, fault)
        return fence(source, call)
    function = BY_KEY[key].function
    if fault == "constant":  # a "rewrite" that keeps the constants baked in
        source, call = specific_tool(key, numbers)
        return fence(source, call)
    defaults = numbers if fault == "defaults" else None  # the task's values as defaults
    source = general_tool(function, defaults, wrong=fault == "wrong")
    if fault == "undocumented":  # the Args section lost its last parameter
        source = (
            "\n".join(line for line in source.splitlines() if not line.startswith("        total:")) + "\n"
        )
    return fence(source, {"function": function, "arguments": general_arguments(function, numbers)})


CATEGORIES = {
    "length": ("miles_to_km", "km_to_miles", "feet_to_metres", "inches_to_cm", "convert_length"),
    "temperature": ("celsius_to_fahrenheit",),
    "percentages": ("percent_of", "percent_share", "percent_change", "percent"),
    "interest": ("simple_interest", "compound_amount", "interest"),
}


def group_reply(prompt: str) -> str:
    """Groups of the numbered cards by what the tools compute, as a careful teacher would."""
    cards = re.findall(r"^(\d+)\. `(\w+)\(", prompt, re.MULTILINE)
    groups: dict[str, list[int]] = {}
    for number, function in cards:
        base = function.removesuffix("_task")
        category = next((c for c, fs in CATEGORIES.items() if base in fs), function)
        groups.setdefault(category, []).append(int(number))
    answer = [{"tools": tools, "why": f"they all compute {category}"} for category, tools in groups.items()]
    return f"Grouping by function:\n\n```json\n{json.dumps(answer)}\n```\n"


def _consolidate(prompt: str, attempt: int) -> str:
    """The merged tool and, per member, how its calls map onto it (`"$param"` = its argument)."""
    members = re.findall(
        r"^### Tool \d+: `(\w+)`\n.*?Tasks it solves, for example:\n- (.*?) \(solved by", prompt, re.M | re.S
    )
    functions = [function for function, _ in members]
    mappings = [{"member": function, **member_mapping(function, example)} for function, example in members]
    if FAILED_MERGES & set(functions):
        source = PERCENT_WRONG
    elif any(f in _PARAMS and f != "celsius_to_fahrenheit" for f in functions):
        source = CONVERT_LENGTH
    elif "simple_interest" in functions or "compound_amount" in functions:
        source = INTEREST
    else:
        source = general_tool("celsius_to_fahrenheit")
    return f"```python\n{source}```\n\n```json\n{json.dumps(mappings)}\n```\n"


def member_mapping(function: str, example: str) -> dict[str, Any]:
    """A member's call template: its parameters by reference, a task-specific tool's by value."""
    key, numbers = parse(example)  # type: ignore[misc]
    call = merged_call(key, numbers)
    if function.endswith("_task"):  # no parameters: the mapping holds its task's values
        return call
    params = (_PARAMS[function][0],) if function in _PARAMS else _MULTI[function][0]
    by_value = dict(zip(params, numbers, strict=True))
    arguments = {}
    for name, value in call["arguments"].items():
        ref = next((p for p, v in by_value.items() if v == value and not isinstance(value, bool)), None)
        arguments[name] = f"${ref}" if ref else value
    return {"function": call["function"], "arguments": arguments}
