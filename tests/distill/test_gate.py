from mcp_box_server.distill.gate import check_source

GOOD = '''\
import math
from fractions import Fraction


def _helper(x: float) -> float:
    return x * 2


def hypotenuse(a: float, b: float = 4.0) -> float:
    """Length of the hypotenuse of a right triangle.

    Args:
        a: one leg.
        b: the other leg.
    """
    return math.hypot(a, b) + float(Fraction(0))
'''


def wrap(body: str, head: str = "") -> str:
    return f'{head}def tool(x: int) -> int:\n    """Doc."""\n{body}'


def messages(source: str, allow: tuple[str, ...] | None = None) -> list[str]:
    problems = check_source(source) if allow is None else check_source(source, allow)
    return [p.message for p in problems]


def test_a_plain_tool_passes():
    assert check_source(GOOD) == []


def test_syntax_error_names_the_line():
    (problem,) = check_source("def f(:\n    pass\n")
    assert problem.line == 1 and "syntax error" in problem.message


def test_denied_modules_are_refused_even_when_allowed():
    for module in ("subprocess", "socket", "os", "sys", "ctypes", "importlib", "urllib.request"):
        found = messages(wrap("    return x\n", f"import {module}\n\n"), allow=(module,))
        assert found == [f"import of '{module}' is forbidden in a distilled tool"], module
    assert messages(wrap("    return x\n", "from os import path\n\n")) == [
        "import of 'os' is forbidden in a distilled tool"
    ]


def test_imports_outside_the_allow_list_are_refused():
    source = wrap("    return x\n", "import numpy\n\n")
    assert "outside the allow-list" in messages(source)[0]
    assert messages(source, allow=("numpy",)) == []
    assert "relative imports" in messages(wrap("    return x\n", "from . import helper\n\n"))[0]


def test_escape_hatches_are_refused():
    for body, expected in [
        ("    return eval('x')\n", "call to 'eval' is not allowed"),
        ("    exec('y = 1')\n    return x\n", "call to 'exec' is not allowed"),
        ("    compile('1', 'f', 'eval')\n    return x\n", "call to 'compile' is not allowed"),
        ("    __import__('os')\n    return x\n", "call to '__import__' is not allowed"),
        ("    return ().__class__.__bases__[0]\n", "attribute '__class__' is not allowed"),
        ("    return getattr(x, name)\n", "'getattr' needs a literal attribute name"),
        ("    return getattr(x, '__globals__')\n", "'getattr' of attribute '__globals__' is not allowed"),
        ("    return __builtins__\n", "'__builtins__' is not allowed"),
        ("    return operator.attrgetter('__globals__')(x)\n", "'__globals__' is not allowed, even as text"),
        ("    return list(map(eval, ['1']))\n", "'eval' is not allowed"),  # passed, not called
    ]:
        assert expected in messages(wrap(body)), body


def test_private_names_of_allowed_modules_are_refused():
    # allowed modules import forbidden ones privately: `tempfile._os` is `os`
    assert messages(wrap("    tempfile._os.system('ls')\n    return x\n", "import tempfile\n\n")) == [
        "private module attribute '_os' is not allowed"
    ]
    assert messages(wrap("    return r._inst.random()\n", "import random as r\n\n")) == [
        "private module attribute '_inst' is not allowed"
    ]
    assert (
        "importing private name '_os'" in messages(wrap("    return x\n", "from tempfile import _os\n\n"))[0]
    )
    # private helpers of the tool itself and methods of values are fine
    assert (
        messages(
            wrap("    return _twice(x)._real if False else x\n")
            + "\n\ndef _twice(y: int) -> int:\n    return 2 * y\n"
        )
        == []
    )


def test_writes_only_under_tempfile():
    assert "file writes are allowed only under a tempfile directory" in messages(
        wrap("    open('out.txt', 'w').write('x')\n    return x\n")
    )
    assert "open() needs a literal mode" in messages(wrap("    open('f', mode)\n    return x\n"))
    assert messages(wrap("    open('data.txt').read()\n    return x\n")) == []  # reading is fine
    temp = wrap(
        "    with tempfile.TemporaryDirectory() as d:\n"
        "        path = d + '/scratch.txt'\n"
        "        with open(path, 'w') as f:\n"
        "            f.write(str(x))\n"
        "    return x\n",
        "import tempfile\n\n",
    )
    assert messages(temp) == []
    assert "'.write_text()'" in messages(wrap("    p.write_text('x')\n    return x\n"))[0]


def test_module_shape():
    assert (
        "exactly one public function"
        in messages(
            "def a() -> int:\n    'A.'\n    return 1\n" * 1 + "def b() -> int:\n    'B.'\n    return 2\n"
        )[0]
    )
    assert "exactly one public function" in messages("X = 1\n")[0]
    assert messages("def a(x) -> int:\n    'A.'\n    return x\n") == ["parameters without type hints: x"]
    assert messages("def a(x: int):\n    'A.'\n    return x\n") == ["function 'a' needs a return type hint"]
    assert messages("def a(x: int) -> int:\n    return x\n") == ["function 'a' needs a docstring"]
    assert "*args" in messages("def a(*xs: int) -> int:\n    'A.'\n    return 1\n")[0]


# Escape routes of issue 8: each is refused, and the reason names what was refused.
ESCAPES = "import operator\nimport string\nimport tempfile\n\n"


def refused(body: str, head: str = ESCAPES) -> list[str]:
    return messages(wrap(body, head))


def test_frame_code_and_generator_attributes_are_refused():
    found = refused('    return (i for i in [0]).gi_frame.f_builtins["__import__"]\n')
    assert "frame, code or generator attribute 'gi_frame' is not allowed" in found
    assert "frame, code or generator attribute 'f_builtins' is not allowed" in found
    for attr in ("gi_code", "f_globals", "f_locals", "f_back", "tb_frame", "cr_frame", "ag_frame", "co_code"):
        assert refused(f"    return x.{attr}\n") == [
            f"frame, code or generator attribute '{attr}' is not allowed"
        ], attr
    assert refused('    return getattr(x, "gi_frame")\n') == [
        "'getattr' of frame, code or generator attribute 'gi_frame' is not allowed"
    ]


def test_private_names_through_getattr_are_refused():
    expected = "'getattr' of private attribute '_os' is not allowed"
    assert refused('    return getattr(tempfile, "_os")\n') == [expected]
    assert refused('    return getattr(tempfile, "_" + "os")\n') == [expected]  # folded
    assert refused('    n = "_os"\n    return getattr(tempfile, n)\n') == [expected]  # a literal name
    for call in ('setattr(tempfile, "_x", 1)', 'delattr(tempfile, "_x")', 'hasattr(tempfile, "_x")'):
        assert refused(f"    {call}\n    return x\n")[0].endswith("of private attribute '_x' is not allowed")
    # names the gate cannot prove: computed, or bound to something other than literals
    assert refused('    return getattr(tempfile, "_o" + str(x))\n') == [
        "'getattr' needs a literal attribute name"
    ]
    assert refused('    n = "real"\n    n = str(x)\n    return getattr(x, n)\n') == [
        "'getattr' needs a literal attribute name"
    ]
    # getattr itself passed around, so its name is never seen
    assert refused('    g = getattr\n    return g(tempfile, "_os")\n') == [
        "'getattr' may only be called directly, with literal names"
    ]
    # private attributes of a module reached through a copy or a container
    assert refused("    m = tempfile\n    return m._os\n") == [
        "private module attribute '_os' is not allowed"
    ]
    assert refused("    return [tempfile][0]._os\n") == ["private module attribute '_os' is not allowed"]
    assert refused("    return fractions.Fraction.__init__\n", "import fractions\n\n") == []  # allowed dunder


def test_denied_modules_reached_through_allowed_ones_are_refused():
    # `fractions`, `typing` and `dataclasses` import `sys` and `inspect` under public names
    assert refused("    return typing.sys.modules\n", "import typing\n\n") == [
        "module 'sys' reached through an import is forbidden"
    ]
    assert refused("    return x\n", "from fractions import sys\n\n") == [
        "importing 'sys' from 'fractions' is forbidden"
    ]
    assert refused('    return getattr(typing, "sys")\n', "import typing\n\n") == [
        "'getattr' of module 'sys' is not allowed"
    ]
    # code objects built by hand, files opened past the write check
    assert refused("    return typing.types.CodeType\n", "import typing\n\n") == [
        "module 'types' reached through an import is forbidden"
    ]
    assert refused('    json.codecs.open("/x", "w")\n    return x\n', "import json\n\n") == [
        "module 'codecs' reached through an import is forbidden"
    ]


def test_attrgetter_and_methodcaller_with_computed_or_private_names_are_refused():
    assert refused('    return operator.attrgetter("_" * 2 + "globals" + "_" * 2)(tool)\n') == [
        "'attrgetter' of attribute '__globals__' is not allowed"
    ]
    assert refused('    return operator.attrgetter("real", "_os.system")(x)\n') == [
        "'attrgetter' of private attribute '_os' is not allowed"
    ]
    assert refused("    return operator.attrgetter(str(x))(x)\n") == [
        "'attrgetter' needs literal attribute names"
    ]
    assert refused("    return operator.methodcaller(str(x))(x)\n") == [
        "'methodcaller' needs a literal method name"
    ]
    assert refused('    return operator.methodcaller("format", tempfile)("{0._os}")\n') == [
        "'methodcaller' of 'format' is not allowed"
    ]
    assert refused('    return operator.methodcaller("_x")(x)\n') == [
        "'methodcaller' of private attribute '_x' is not allowed"
    ]
    # under another name, or passed around
    assert refused("    return ag(str(x))(x)\n", "from operator import attrgetter as ag\n\n") == [
        "'attrgetter' needs literal attribute names"
    ]
    assert refused("    return attrgetter(str(x))(x)\n", "from operator import *\n\n") == [
        "'attrgetter' needs literal attribute names"
    ]
    assert refused("    f = operator.methodcaller\n    return x\n") == [
        "'methodcaller' may only be called directly, with literal names"
    ]
    # the class of a getter builds another with any name
    expected = ["'type' of an attrgetter or methodcaller is not allowed"]
    assert refused('    return type(operator.attrgetter("real"))("_os")(tempfile)\n') == expected
    assert refused('    g = operator.methodcaller("real")\n    return type(g)("_x")(x)\n') == expected


def test_format_field_access_is_refused():
    assert refused('    return "{0.__dict__[_os]}".format(tempfile)\n') == [
        "format field '{0.__dict__[_os]}' reaches attribute '__dict__': use an f-string"
    ]
    assert refused('    return "{0._os}".format_map(tempfile)\n') == [
        "format field '{0._os}' reaches private attribute '_os': use an f-string"
    ]
    assert refused('    return str.format("{0:{1._os}}", x, tempfile)\n') == [
        "format field '{1._os}' reaches private attribute '_os': use an f-string"
    ]
    assert refused('    t = "{0._" + "os}"\n    return t.format(tempfile)\n') == [
        "format field '{0._os}' reaches private attribute '_os': use an f-string"
    ]
    assert refused('    t = "{0.real}" if x else "{0._os}"\n    return t.format(tempfile)\n') == [
        "format field '{0._os}' reaches private attribute '_os': use an f-string"
    ]
    computed = "'.format' needs a literal template (its fields read attributes); use an f-string"
    assert refused("    return str(x).format(tempfile)\n") == [computed]
    assert refused("    return str.format(str(x), tempfile)\n") == [computed]
    assert refused("    f = str(x).format\n    return f(tempfile)\n") == [computed]
    for broken in ("{0.x", "{0.}", "{0[}"):  # refused with a reason, never a crash of the gate
        assert refused(f'    return "{broken}".format(x)\n')[0].startswith("format template does not parse")
    # a folded name is checked, but no expression is folded into a huge string
    assert refused('    return getattr(x, (("a" * 100) * 100) * 100)\n') == [
        "'getattr' needs a literal attribute name"
    ]


def test_string_formatter_is_refused():
    found = refused('    return string.Formatter().get_field("0.__globals__", [tool], {})\n')
    assert "'Formatter' (string.Formatter) is not allowed: it reads fields by name" in found
    assert "'vformat' (string.Formatter) is not allowed: it reads fields by name" in refused(
        '    return f.vformat("{0._os}", [tempfile], {})\n'
    )
    assert refused("    return x\n", "from string import Formatter\n\n") == [
        "importing 'Formatter' from 'string' is forbidden"
    ]


def test_match_class_patterns_on_dunder_and_private_attributes_are_refused():
    case = "    match tool:\n        case object({}=found):\n            return found\n    return x\n"
    assert refused(case.format("__globals__")) == ["match pattern on attribute '__globals__' is not allowed"]
    assert refused(case.format("_os")) == ["match pattern on private attribute '_os' is not allowed"]
    assert refused(case.format("gi_frame")) == [
        "match pattern on frame, code or generator attribute 'gi_frame' is not allowed"
    ]


LEGITIMATE = [
    (
        '''\
import sympy


def solve_quadratic(a: float, b: float, c: float) -> list[str]:
    """Roots of a*x**2 + b*x + c = 0, exactly."""
    x = sympy.Symbol("x")
    roots = sympy.solve(sympy.Eq(a * x**2 + b * x + c, 0), x)
    field = sympy.ZZ.get_field()  # a sympy domain method, not string.Formatter's
    named = hasattr(field, "__name__") or getattr(field, "is_Field", True)
    return [str(sympy.nsimplify(r)) for r in roots if named]
''',
        ("sympy",),
    ),
    (
        '''\
import itertools
import math
import operator
from collections import namedtuple
from dataclasses import dataclass, field
from fractions import Fraction

LABEL = "{name}: {value:.{digits}f}"
Pair = namedtuple("Pair", "low high")


@dataclass
class _Stats:
    values: list[float]
    _cache: dict[str, float] = field(default_factory=dict)

    def mean(self) -> float:
        if "mean" not in self._cache:
            self._cache["mean"] = math.fsum(self.values) / len(self.values)
        return self._cache["mean"]


def summarise(values: list[float], digits: int = 3) -> str:
    """Mean, best pair and a fraction of the values, as text."""
    stats = _Stats(values)
    best = Pair(*max(itertools.combinations(values, 2), key=lambda pair: pair[0] * pair[1]))._asdict()
    share = Fraction(len(values), 7)
    match share:
        case Fraction(numerator=n, denominator=d):
            ratio = ("{}/{}" if d > 1 else "{}{}").format(n, d)
    parts = sorted([share, Fraction(1, 2)], key=operator.attrgetter("denominator", "numerator"))
    get = operator.methodcaller("limit_denominator", 10)
    total = getattr(math, "fsum")(values) if hasattr(math, "fsum") else sum(values)
    return " ".join([
        LABEL.format(name="mean", value=stats.mean(), digits=digits),
        "{0[low]}x{0[high]} {1.real} {2:>{3}}".format(best, share, ratio, 8),
        "{:.2f}".format(total),
        str(get(parts[0])),
        f"{best!r:>20}",
    ])
''',
        None,
    ),
    (
        '''\
from Bio.SeqRecord import SeqRecord
from Bio.Seq import Seq


def as_fasta(sequence: str, input: str = "seq") -> str:
    """The sequence as a FASTA record (`input` names it: a builtin's name, bound here)."""
    record = SeqRecord(Seq(sequence), id=input, description="")
    return type(record)(record.seq, id=input, description="").format("fasta")
''',
        ("Bio",),
    ),
]


def test_legitimate_programs_pass():
    for source, allow in LEGITIMATE:
        assert messages(source, allow) == [], source


def test_future_imports_pass_and_types_is_denied():
    source = 'from __future__ import annotations\n\ndef f(x: int) -> int:\n    """Same."""\n    return x\n'
    assert check_source(source) == []
    problems = check_source("import types\n" + source.split("\n", 1)[1], ("types",))
    assert [p.message for p in problems] == ["import of 'types' is forbidden in a distilled tool"]
