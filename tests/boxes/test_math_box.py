"""The bundled math box: it loads in a worker, its examples pass, its parser is safe."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest

from mcp_box_server.box import read_examples
from mcp_box_server.box.loader import import_tool_module, load_box
from mcp_box_server.runtime import BoxRuntimeError
from tests.support.examples import failed_examples, started_pool

ROOT = Path(__file__).resolve().parents[2]
BOX = ROOT / "boxes" / "math"


def _load(name: str) -> ModuleType:
    return import_tool_module(BOX, name)


parse = _load("_parse")
arith = _load("arith")
algebra = _load("algebra")
calculus = _load("calculus")
number_theory = _load("number_theory")
linear_algebra = _load("linear_algebra")
data_stats = _load("data_stats")


# --- the box as a whole ------------------------------------------------------------------


def test_box_loads_with_documented_tools() -> None:
    box = load_box(BOX)
    assert box.failures == []
    assert box.manifest is not None and box.manifest.requires == ("sympy",)
    assert 30 <= len(box.tools) <= 40
    for spec in box.specs:
        assert spec.name.startswith("math_")
        assert "Example:" in spec.description, spec.name
        for name, schema in spec.parameters["properties"].items():
            assert schema.get("description"), f"{spec.name}.{name} has no description"


def test_every_tool_has_three_examples() -> None:
    examples, failures = read_examples(BOX)
    assert failures == []
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.tool] = counts.get(example.tool, 0) + 1
    functions = {spec.function for spec in load_box(BOX).specs}
    assert set(counts) == functions
    assert all(count >= 3 for count in counts.values()), counts
    assert sum(1 for e in examples if e.expect_error) >= 20


@pytest.mark.parametrize("trust", ["trusted", "sandboxed"])
async def test_examples_pass_in_a_worker(trust: str) -> None:
    async with started_pool(BOX, trust) as pool:
        assert await failed_examples(pool, BOX) == []
        with pytest.raises(BoxRuntimeError, match="ValueError: could not parse expression"):
            await pool.call("evaluate", {"expression": "2 +* 3"})


# --- safe parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2^3", "8"),
        ("3x", "3*x"),
        ("2(x+1)", "2*x + 2"),
        ("x(x+1)", "x*(x + 1)"),
        (r"\frac{1}{2}", "1/2"),
        (r"\sqrt{2}", "sqrt(2)"),
        (r"\sqrt[3]{27}", "3"),
        (r"2 \cdot 3", "6"),
        ("6 × 7 ÷ 2", "21"),
        ("−5 + 2", "-3"),
        ("π", "pi"),
        ("√2", "sqrt(2)"),
        ("x² + 1", "x**2 + 1"),
        ("sin x", "sin(x)"),
        ("e^x", "exp(x)"),
        ("ln(e)", "1"),
        ("5!", "120"),
        ("0.1 + 0.2", "3/10"),
        ("log10(1000)", "3"),
        ("[2 + 3] * 2", "10"),  # brackets are grouping, as in textbooks
    ],
)
def test_parser_reads_what_models_write(text: str, expected: str) -> None:
    assert parse.text(parse.parse(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "x.__class__",
        "().__class__.__bases__",
        "(1).real",
        "lambda: 1",
        "import os",
        "exec(1)",
        "eval(2)",
        "getattr(x, y)",
        "Symbol(x)",
        "open(1)",
        "x = 1",
        "a & b",
        "x; y",
        "'text'",
        "a @ b",
        "1" * 1001,
    ],
)
def test_parser_rejects_anything_but_maths(text: str) -> None:
    with pytest.raises(ValueError):
        parse.parse(text)


def test_parser_has_no_builtins() -> None:
    assert parse.NAMESPACE["__builtins__"] == {}
    assert not {"eval", "exec", "open", "__import__", "sympify", "preview"} & set(parse.NAMESPACE)


def test_unparseable_input_names_the_expression() -> None:
    with pytest.raises(ValueError, match=re.escape("could not parse expression 'sin('")):
        parse.parse("sin(")


# --- a few tools directly ------------------------------------------------------------------


def test_evaluate_is_exact() -> None:
    assert arith.evaluate(expression="1/3 + 1/6")["exact"] == "1/2"
    assert arith.evaluate(expression="0.1 + 0.2")["exact"] == "3/10"
    assert arith.evaluate(expression="x + 1")["value"] is None


def test_round_number_rounds_the_exact_value() -> None:
    assert arith.round_number(value=2.675, decimals=2)["text"] == "2.68"  # float round() gives 2.67
    assert arith.round_number(value=2.5, decimals=0)["rounded"] == 3
    assert arith.round_number(value=2.5, decimals=0, mode="half_even")["rounded"] == 2
    assert arith.round_number(value="1/3", significant_figures=3)["text"] == "0.333"
    assert arith.round_number(value=0.0001234, significant_figures=2)["text"] == "0.00012"
    assert arith.round_number(value=2.5, decimals=2)["text"] == "2.50"


def test_solve_equation_domains() -> None:
    assert algebra.solve_equation(equation="x^2 = 2")["solutions"] == ["-sqrt(2)", "sqrt(2)"]
    assert algebra.solve_equation(equation="x^2 = 2", domain="integer")["solutions"] == []
    assert algebra.solve_equation(equation="x^2 + 4 = 0", domain="complex")["solutions"] == ["-2*I", "2*I"]
    trig = algebra.solve_equation(equation="sin(x) = 1/2")
    assert trig["infinitely_many"] and trig["solutions"] == ["pi/6", "5*pi/6"]
    numeric = algebra.solve_equation(equation="cos(x) = x")
    assert numeric["approximate"] and abs(numeric["values"][0] - 0.7390851332151607) < 1e-12
    pythagoras = algebra.solve_equation(equation="x^2 - y^2 = 15", domain="integer")
    assert {"x": "4", "y": "1"} in pythagoras["solutions"]


def test_calculus_against_table_results() -> None:
    assert calculus.integral(expression="1/(1+x^2)", lower=0, upper=1)["exact"] == "pi/4"
    assert calculus.integral(expression="x*exp(x)")["antiderivative"] == "(x - 1)*exp(x)"
    assert calculus.limit(expression="(1 - cos(x))/x^2", point=0)["exact"] == "1/2"
    cubes = calculus.summation(expression="k^3", variable="k", lower=1, upper="n")
    assert cubes["exact"] == "n**2*(n + 1)**2/4"


def test_number_theory_and_linear_algebra() -> None:
    totients = [1, 1, 2, 2, 4, 2, 6, 4, 6, 4, 10, 4]  # OEIS A000010
    assert [number_theory.totient(n=n)["totient"] for n in range(1, 13)] == totients
    bezout = number_theory.gcd(numbers=[240, 46])
    s, t = bezout["bezout"]
    assert bezout["gcd"] == 2 and 240 * s + 46 * t == 2
    assert number_theory.convert_base(number="-ff", from_base=16, to_base=10)["result"] == "-255"
    hilbert = [[1, "1/2", "1/3"], ["1/2", "1/3", "1/4"], ["1/3", "1/4", "1/5"]]
    assert linear_algebra.determinant(matrix=hilbert)["exact"] == "1/2160"
    assert linear_algebra.matrix_inverse(matrix=hilbert)["inverse"][0] == [9, -36, 30]


def test_statistics_sample_and_population() -> None:
    result = data_stats.descriptive_statistics(data=[2, 4, 4, 4, 5, 5, 7, 9])
    assert result["stdev_population"] == 2 and result["mode"] == [4]
    single = data_stats.descriptive_statistics(data=[3])
    assert single["variance_sample"] is None and single["variance_population"] == 0


def test_plot_is_a_png_with_a_caption_and_gaps_at_poles() -> None:
    plotting = _load("plotting")
    caption, picture = plotting.plot(["tan(x)", "x/2"], -4, 4)
    assert caption.startswith("y = tan(x) (blue): y from") and "y = x/2 (red): y from -2 to 2" in caption
    assert picture.mime_type == "image/png" and picture.data.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="other letters than x"):
        plotting.plot(["x + a"], 0, 1, variable="x")
