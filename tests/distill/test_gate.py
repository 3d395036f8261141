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
        ("    return getattr(x, '__globals__')\n", "'getattr' of '__globals__' is not allowed"),
        ("    return __builtins__\n", "'__builtins__' is not allowed"),
        ("    return operator.attrgetter('__globals__')(x)\n", "'__globals__' is not allowed, even as text"),
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
