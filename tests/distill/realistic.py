"""A scripted teacher that answers the way real chat models do, over physics and geometry tasks.

The units family (`family.py`) replies with exactly the two fenced blocks asked for.
Real models do not: they think first (`<think>` blocks, or only the closing tag when
the chat template opened it), draft code inside the thinking, wrap the answer in
prose, fence with `~~~`, write `async def`, put `//` comments or Python literals in
the JSON call, add a pytest block after the tool that is longer than the tool, run
out of tokens, return nothing, rate-limit, and get a formula wrong on the first try.
This teacher does all of that, deterministically, on two families the units tests
do not use:

- physics: momentum, kinetic energy, density, Ohm's-law current, electric power
  (momentum and density share `mass_kg`, current and power share `voltage_v`: word
  overlap groups them wrongly, the teacher by function);
- geometry: areas of circles, rectangles and triangles, volumes of spheres and
  cylinders (both first written as `volume`, a name clash the teacher resolves).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    key: str
    family: str
    question: str  # with {a} and {b}
    function: str  # the name the teacher first gives the tool
    params: tuple[tuple[str, str], ...]  # (name, meaning with unit)
    expression: str
    summary: str
    group: str  # what the teacher groups it with


KINDS = [
    Kind("momentum", "physics", "What is the momentum in kg*m/s of a {a} kg cart moving at {b} m/s?",
         "momentum",
         (("mass_kg", "mass of the body in kilograms"), ("velocity_m_s", "its speed in metres per second")),
         "mass_kg * velocity_m_s", "Linear momentum of a moving body, in kg*m/s.", "motion"),
    Kind("kinetic", "physics", "What is the kinetic energy in joules of a {a} kg ball moving at {b} m/s?",
         "kinetic_energy",
         (("mass_kg", "mass of the body in kilograms"), ("velocity_m_s", "its speed in metres per second")),
         "0.5 * mass_kg * velocity_m_s ** 2", "Kinetic energy of a moving body, in joules.", "motion"),
    Kind("density", "physics", "What is the density in kg/m3 of a {a} kg block with a volume of {b} m3?",
         "density", (("mass_kg", "mass in kilograms"), ("volume_m3", "volume in cubic metres")),
         "mass_kg / volume_m3", "Density of a body from its mass and volume, in kg/m3.", "density"),
    Kind("current", "physics", "What current in amperes flows through a {b} ohm resistor across {a} volts?",
         "ohms_law_current", (("voltage_v", "voltage across the resistor in volts"),
                              ("resistance_ohm", "resistance in ohms")),
         "voltage_v / resistance_ohm", "Current through a resistor by Ohm's law, in amperes.", "circuit"),
    Kind("power", "physics", "What power in watts does a device draw at {a} volts and {b} amperes?",
         "electric_power", (("voltage_v", "supply voltage in volts"), ("current_a", "current in amperes")),
         "voltage_v * current_a", "Electric power drawn by a device, in watts.", "circuit"),
    Kind("circle", "geometry", "What is the area of a circle with radius {a} cm?", "circle_area",
         (("radius", "radius of the circle"),), "math.pi * radius ** 2",
         "Area of a circle from its radius, in squared units of the radius.", "area"),
    Kind("rectangle", "geometry", "What is the area of a rectangle {a} m wide and {b} m long?",
         "rectangle_area",
         (("width", "width of the rectangle"), ("length", "length of the rectangle")), "width * length",
         "Area of a rectangle from its sides, in squared units.", "area"),
    Kind("triangle", "geometry", "What is the area of a triangle with base {a} and height {b}?",
         "triangle_area",
         (("base", "length of the base"), ("height", "height on that base")), "0.5 * base * height",
         "Area of a triangle from its base and height, in squared units.", "area"),
    Kind("sphere", "geometry", "What is the volume of a sphere with radius {a} cm?", "volume",
         (("radius", "radius of the sphere"),), "4 / 3 * math.pi * radius ** 3",
         "Volume of a sphere from its radius, in cubed units of the radius.", "volume"),
    Kind("cylinder", "geometry", "What is the volume of a cylinder with radius {a} and height {b}?", "volume",
         (("radius", "radius of the base"), ("height", "height of the cylinder")),
         "math.pi * radius ** 2 * height", "Volume of a cylinder from its radius and height, in cubed units.",
         "volume"),
]  # fmt: skip
BY_KEY = {k.key: k for k in KINDS}
# First drafts with the classic mistakes, fixed when the validator reports the wrong answer.
WRONG = {
    "kinetic": "mass_kg * velocity_m_s ** 2",
    "triangle": "base * height",
    "sphere": "math.pi * radius ** 3",
}

TRAIN = [
    ("p01", "momentum", (3, 4)), ("p02", "momentum", (1200, 25)), ("p03", "kinetic", (2, 3)),
    ("p04", "kinetic", (0.5, 10)), ("p05", "density", (10, 0.004)), ("p06", "density", (2.7, 0.001)),
    ("p07", "current", (12, 6)), ("p08", "current", (230, 46)), ("p09", "power", (12, 2)),
    ("p10", "power", (230, 0.5)),
    ("g01", "circle", (3,)), ("g02", "circle", (0.5,)), ("g03", "rectangle", (4, 5)),
    ("g04", "rectangle", (2.5, 8)), ("g05", "triangle", (6, 4)), ("g06", "triangle", (3, 7)),
    ("g07", "sphere", (2,)), ("g08", "sphere", (1.5,)), ("g09", "cylinder", (1, 10)),
    ("g10", "cylinder", (2, 3)),
]  # fmt: skip
HELD_OUT = [
    ("hp1", "momentum", (7, 3)), ("hp2", "kinetic", (4, 5)), ("hp3", "density", (19.3, 0.001)),
    ("hp4", "current", (9, 3)), ("hp5", "power", (120, 1.5)),
    ("hg1", "circle", (10,)), ("hg2", "rectangle", (3, 9)), ("hg3", "triangle", (10, 2)),
    ("hg4", "sphere", (3,)), ("hg5", "cylinder", (0.5, 4)),
]  # fmt: skip
# What goes wrong, per (task, stage), one entry per attempt; past the list it answers well.
FAULTS: dict[tuple[str, str], list[str]] = {
    ("p03", "generate"): ["wrong"],
    ("g05", "generate"): ["wrong"],
    ("g07", "generate"): ["truncated"],
    ("p04", "generate"): ["truncated", "wrong"],
    ("p02", "abstract"): ["defaults"],
}
# The first request of these tasks gets no usable answer.
FIRST_REQUEST = {"p08": "empty", "g04": "429"}


def question(key: str, numbers: tuple[float, ...]) -> str:
    return BY_KEY[key].question.format(**dict(zip("ab", numbers, strict=False)))


def answer(key: str, numbers: tuple[float, ...]) -> float:
    kind = BY_KEY[key]
    return eval(kind.expression, {"math": math}, arguments(kind, numbers))  # test data, not teacher code


def arguments(kind: Kind, numbers: tuple[float, ...]) -> dict[str, float]:
    return {name: value for (name, _), value in zip(kind.params, numbers, strict=True)}


def task_lines(rows: list[tuple[str, str, tuple[float, ...]]]) -> list[dict[str, Any]]:
    return [{"id": i, "question": question(k, n), "answer": answer(k, n)} for i, k, n in rows]


def parse(text: str) -> tuple[str, tuple[float, ...]] | None:
    for kind in KINDS:
        regex = re.escape(kind.question)
        for name in "ab":
            regex = regex.replace(re.escape("{" + name + "}"), rf"(?P<{name}>-?[0-9.]+)")
        match = re.search(regex, text)
        if match:
            values = [match.group(n) for n in sorted(match.groupdict())]
            return kind.key, tuple(float(v) if "." in v else int(v) for v in values)
    return None


def random_rows(count: int, seed: int = 7) -> list[tuple[str, str, tuple[float, ...]]]:
    """`count` tasks spread over all kinds, with fresh numbers."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        numbers = tuple(rng.randint(1, 60) + rng.choice((0, 0.5)) for _ in kind.params)
        rows.append((f"r{index:03d}", kind.key, numbers))
    return rows


# ---- what the teacher writes ---------------------------------------------------------------------


def tool_source(kind: Kind, *, name: str | None = None, defaults: tuple[float, ...] = (), wrong: bool = False,
                asynchronous: bool = False) -> str:  # fmt: skip
    expression = WRONG.get(kind.key, kind.expression) if wrong else kind.expression
    values = list(defaults) + [None] * (len(kind.params) - len(defaults))
    signature = ", ".join(
        f"{p}: float" + (f" = {d!r}" if d is not None else "")
        for (p, _), d in zip(kind.params, values, strict=True)
    )
    args_doc = "\n".join(f"        {p}: {meaning}." for p, meaning in kind.params)
    head = "import math\n\n\n" if "math." in expression else ""
    prefix = "async " if asynchronous else ""
    return (
        f"{head}{prefix}def {name or kind.function}({signature}) -> float:\n"
        f'    """{kind.summary}\n\n    Args:\n{args_doc}\n\n    Returns:\n        The result.\n    """\n'
        f"    return {expression}\n"
    )


def tests_block(kind: Kind, function: str, numbers: tuple[float, ...]) -> str:
    """The pytest module real models append: longer than the tool, and it defines functions too."""
    call = ", ".join(repr(n) for n in numbers)
    return (
        f"import pytest\n\nfrom tool import {function}\n\n\n"
        f"def test_{function}_matches_the_task():\n"
        f"    assert {function}({call}) == pytest.approx({answer(kind.key, numbers)!r})\n\n\n"
        f"def test_{function}_doubles_sensibly():\n"
        f"    assert {function}({', '.join(repr(n * 2) for n in numbers)}) != 0\n\n\n"
        f"def test_{function}_rejects_nothing_and_returns_a_float():\n"
        f"    assert isinstance({function}({call}), float)\n"
    )


def styled(style: int, kind: Kind, source: str, call: dict[str, Any], numbers: tuple[float, ...]) -> str:
    """One reply in one of three real-model styles, around the tool and its call."""
    function = call["function"]
    tests = tests_block(kind, function, numbers)
    if style == 0:  # DeepSeek-R1 style: full think block with a draft, prose, // comments, tests
        body = json.dumps(call["arguments"])
        return (
            f"<think>\nThe task: {question(kind.key, numbers)} I recall the formula. Draft:\n"
            f"```python\ndef draft(x):\n    return x\n```\nToo vague; write it properly.\n</think>\n\n"
            f"Here is a reusable tool for this kind of problem.\n\n```python\n{source}```\n\n"
            f'The call for this task:\n\n```json\n{{\n  // values taken from the question\n  "function": '
            f'"{function}",\n  "arguments": {body},\n}}\n```\n\nAnd tests you can run with pytest:\n\n'
            f"```python\n{tests}```\n\nLet me know if you need anything else!"
        )
    if style == 1:  # tilde fences, async def, the call as a Python dict
        source = source.replace("def ", "async def ", 1) if not source.startswith("import") else source
        return (
            f"Sure! Below is the module.\n\n~~~python\n{source}~~~\n\nCall it like this:\n\n"
            f"~~~json\n{call!r}\n~~~\n\n~~~python\n{tests}~~~\n"
        )
    # Qwen3 style: the template opened <think>, the reply only closes it; ```py fences, bold headers
    return (
        f"Okay, the user wants a tool. So the formula is the standard one, and I should add tests."
        f"\n</think>\n\n**Tool**\n\n```py\n{source}```\n\n**Call**\n\n```json\n{json.dumps(call)}\n```\n\n"
        f"### Tests\n\n```python\n{tests}```\n"
    )


CYLINDER_WITH_HELPER = '''\
import math


def _base_area(radius: float) -> float:
    """Area of a circular base from its radius, in squared units of the radius.

    Args:
        radius: radius of the circle.

    Returns:
        The area.
    """
    return math.pi * radius**2


def volume(radius: float, height: float) -> float:
    """Volume of a cylinder from its radius and height, in cubed units.

    Args:
        radius: radius of the base.
        height: height of the cylinder.

    Returns:
        The result.
    """
    return _base_area(radius) * height
'''
GROUP_WHY = {
    "motion": "quantities of a moving body from its mass and speed",
    "density": "density of a body",
    "circuit": "DC circuit quantities from voltage",
    "area": "areas of plane shapes",
    "volume": "volumes of solids",
}
MERGED = {
    "motion": '''\
def motion_quantity(mass_kg: float, velocity_m_s: float, quantity: str) -> float:
    """Momentum (kg*m/s) or kinetic energy (J) of a moving body.

    Args:
        mass_kg: mass of the body in kilograms.
        velocity_m_s: its speed in metres per second.
        quantity: "momentum" or "kinetic_energy".

    Returns:
        The quantity asked for.
    """
    if quantity == "momentum":
        return mass_kg * velocity_m_s
    if quantity == "kinetic_energy":
        return 0.5 * mass_kg * velocity_m_s ** 2
    raise ValueError("quantity must be 'momentum' or 'kinetic_energy'")
''',
    "circuit": '''\
def dc_circuit(voltage_v: float, quantity: str, resistance_ohm: float | None = None,
               current_a: float | None = None) -> float:
    """Current through a resistor (Ohm's law, A) or power drawn (W) in a DC circuit.

    Args:
        voltage_v: voltage in volts.
        quantity: "current" (needs resistance_ohm) or "power" (needs current_a).
        resistance_ohm: resistance in ohms, for the current.
        current_a: current in amperes, for the power.

    Returns:
        The current in amperes or the power in watts.
    """
    if quantity == "current" and resistance_ohm is not None:
        return voltage_v / resistance_ohm
    if quantity == "power" and current_a is not None:
        return voltage_v * current_a
    raise ValueError("give resistance_ohm for the current or current_a for the power")
''',
    "area": '''\
import math


def plane_area(shape: str, size_1: float, size_2: float | None = None) -> float:
    """Area of a circle (radius), rectangle (width, length) or triangle (base, height).

    Args:
        shape: "circle", "rectangle" or "triangle".
        size_1: the radius, the width or the base.
        size_2: the length or the height (not for a circle).

    Returns:
        The area in squared units.
    """
    if shape == "circle":
        return math.pi * size_1 ** 2
    if size_2 is None:
        raise ValueError("size_2 is needed for a rectangle or a triangle")
    return size_1 * size_2 if shape == "rectangle" else 0.5 * size_1 * size_2
''',
    # the teacher never gets the merged volume right: the sphere and cylinder tools stay apart
    "volume": '''\
import math


def solid_volume(shape: str, radius: float, height: float = 1.0) -> float:
    """Volume of a sphere or a cylinder.

    Args:
        shape: "sphere" or "cylinder".
        radius: the radius.
        height: the cylinder's height.

    Returns:
        The volume.
    """
    return 4 / 3 * math.pi * radius ** 3 * height
''',
}
MERGED_CALL = {  # kind -> (merged function, constant arguments, {merged parameter: member parameter})
    "momentum": ("motion_quantity", {"quantity": "momentum"},
                 {"mass_kg": "mass_kg", "velocity_m_s": "velocity_m_s"}),
    "kinetic": ("motion_quantity", {"quantity": "kinetic_energy"},
                {"mass_kg": "mass_kg", "velocity_m_s": "velocity_m_s"}),
    "current": ("dc_circuit", {"quantity": "current"},
                {"voltage_v": "voltage_v", "resistance_ohm": "resistance_ohm"}),
    "power": ("dc_circuit", {"quantity": "power"}, {"voltage_v": "voltage_v", "current_a": "current_a"}),
    "circle": ("plane_area", {"shape": "circle"}, {"size_1": "radius"}),
    "rectangle": ("plane_area", {"shape": "rectangle"}, {"size_1": "width", "size_2": "length"}),
    "triangle": ("plane_area", {"shape": "triangle"}, {"size_1": "base", "size_2": "height"}),
    "sphere": ("solid_volume", {"shape": "sphere"}, {"radius": "radius"}),
    "cylinder": ("solid_volume", {"shape": "cylinder"}, {"radius": "radius", "height": "height"}),
}  # fmt: skip
SERVED = {"density": "density", "sphere": "sphere_volume", "cylinder": "cylinder_volume"}


def served_call(key: str, numbers: tuple[float, ...]) -> tuple[str, dict[str, Any]]:
    """The tool of the distilled box (without the box prefix) and the arguments answering a task."""
    kind = BY_KEY[key]
    if key in SERVED:
        return SERVED[key], arguments(kind, numbers)
    function, constants, refs = MERGED_CALL[key]
    values = arguments(kind, numbers)
    return function, {**constants, **{new: values[old] for new, old in refs.items()}}


class RealisticTeacher:
    """The responder: routes on the prompt, counts attempts by assistant turns, answers in style."""

    def __init__(self, rows: list[tuple[str, str, tuple[float, ...]]], faults: dict | None = None,
                 first_request: dict | None = None) -> None:  # fmt: skip
        self.ids = {question(k, n): i for i, k, n in rows}
        self.order = {i: n for n, (i, _, _) in enumerate(rows)}
        self.faults = FAULTS if faults is None else faults
        self.first_request = FIRST_REQUEST if first_request is None else first_request
        cylinders = [i for i, k, _ in rows if k == "cylinder"]
        self.wrong_example = cylinders[-1] if len(cylinders) > 1 else None
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> Any:
        messages = request["messages"]
        users = [m["content"] for m in messages if m["role"] == "user"]
        first = users[0]
        attempt = sum(1 for m in messages if m["role"] == "assistant")
        if "Group them by what they do" in first:
            return self.group(first)
        if first.startswith("These tools do closely related things"):
            return self.consolidate(first)
        if first.startswith("These tools are all called"):
            return self.rename(first)
        parsed = parse(first)
        if parsed is None:
            return "I am not sure what you are asking."
        key, numbers = parsed
        task_id = self.ids[question(key, numbers)]
        stage = "abstract" if first.startswith("Here is a validated tool") else "generate"
        if stage == "generate" and attempt == 0:
            with self._lock:
                self._seen[task_id] += 1
                first_time = self._seen[task_id] == 1
            if first_time and task_id in self.first_request:
                if self.first_request[task_id] == "empty":
                    return ""
                return {
                    "status": 429,
                    "content": "Rate limit reached for requests",
                    "headers": {"Retry-After": "0"},
                }
        faults = self.faults.get((task_id, stage), [])
        fault = faults[attempt] if attempt < len(faults) else None
        return self.solve(task_id, key, numbers, stage, fault)

    def solve(self, task_id: str, key: str, numbers: tuple[float, ...], stage: str, fault: str | None) -> Any:
        kind = BY_KEY[key]
        defaults = numbers if fault == "defaults" else ()
        source = tool_source(kind, wrong=fault == "wrong", defaults=defaults)
        call = {"function": kind.function, "arguments": arguments(kind, numbers)}
        style = self.order[task_id] % 3
        if stage == "abstract":  # rewritten with a fuller docstring, in the same style
            text = f"I generalised it; every input is now a parameter.\n\n```python\n{source}```\n\n" + (
                f"```json\n{json.dumps(call)}\n```\n"
            )
        elif key == "cylinder":  # a helper for a sub-step, offered as a tool of its own
            text = styled(style, kind, CYLINDER_WITH_HELPER, call, numbers)
            expect = math.pi * 4 if task_id != self.wrong_example else 12.0  # a careless example
            example = {"helper": "_base_area", "arguments": {"radius": 2}, "expect": expect}
            text += f"\nThe helper is reusable on its own:\n\n```json\n[{json.dumps(example)}]\n```\n"
        else:
            text = styled(style, kind, source, call, numbers)
        if fault == "truncated":
            return {"content": text[: len(text) // 3], "finish_reason": "length"}
        return text

    def group(self, prompt: str) -> str:
        cards = re.findall(r"^(\d+)\. `(\w+)\(.*?`: (.*)$", prompt, re.MULTILINE)
        groups: dict[str, list[int]] = {}
        for number, function, summary in cards:
            kind = next(
                (k for k in KINDS if k.function == function and k.summary.split(",")[0] in summary), None
            )
            groups.setdefault(kind.group if kind else function, []).append(int(number))
        answer_ = [
            {"tools": tools, "why": GROUP_WHY.get(group, "on its own")} for group, tools in groups.items()
        ]
        return (
            "<think>Momentum and density both take a mass, but they compute different things.</think>\n"
            f"Grouped by what each tool computes:\n\n```json\n{json.dumps(answer_, indent=1)}\n```"
        )

    def consolidate(self, prompt: str) -> str:
        members = re.findall(
            r"^### Tool (\d+): `(\w+)`\n.*?for example:\n- (.*?) \(solved by", prompt, re.M | re.S
        )
        keys = [parse(example)[0] for _, _, example in members]  # type: ignore[index]
        group = BY_KEY[keys[0]].group
        mappings = []
        for (number, _, _), key in zip(members, keys, strict=True):
            function, constants, refs = MERGED_CALL[key]
            arguments_ = {**constants, **{new: f"${old}" for new, old in refs.items()}}
            mappings.append({"member": int(number), "function": function, "arguments": arguments_})
        return (
            f"Here is one tool for all of them.\n\n```python\n{MERGED[group]}```\n\n"
            f"How each old call maps onto it:\n\n```json\n{json.dumps(mappings, indent=1)}\n```\n"
        )

    def rename(self, prompt: str) -> str:
        cards = re.findall(r"^(\d+)\. `\w+\(.*?`: (\w+) of an? (\w+)", prompt, re.MULTILINE)
        names = {number: f"{shape}_{what.lower()}" for number, what, shape in cards}
        return f"Distinct names:\n\n```json\n{json.dumps(names)}\n```"


def flaky(responder: Any, rate: float = 0.05, seed: str = "flaky") -> Any:
    """`responder` with `rate` of its requests answered by an empty reply or a 429, deterministically.

    A request is identified by its content and how many times that content was asked
    before, so a retry of the same request is a new draw.
    """
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    injected: Counter[str] = Counter()

    def respond(request: dict[str, Any]) -> Any:
        content = json.dumps(request["messages"], sort_keys=True)
        with lock:
            seen[content] += 1
            occurrence = seen[content]
        digest = hashlib.sha256(f"{seed}:{occurrence}:{content}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        if draw < rate / 2:
            injected["empty"] += 1
            return ""
        if draw < rate:
            injected["429"] += 1
            return {"status": 429, "content": "Too Many Requests", "headers": {"Retry-After": "0"}}
        return responder(request)

    respond.injected = injected  # type: ignore[attr-defined]
    return respond
