"""`mcp-box pack skill` and `mcp-box install skill`: boxes as Agent Skills, checked by the
reference validator (`agentskills`, PyPI `skills-ref`) and run from a fresh shell."""

import ast
import json
import operator
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from tests.support.boxes import make_box
from tests.support.cli import mcp_box, snapshot

BIN = Path(sys.executable).parent
VALIDATOR = BIN / "agentskills"
BASH = shutil.which("bash") or "/bin/bash"


def fresh_shell(
    command: str, path: str, home: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`command` in a new bash with nothing of this process's environment but PATH and HOME."""
    return subprocess.run(
        [BASH, "-c", command],
        env={"PATH": path, "HOME": str(home)},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def skills(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("skills")
    done = mcp_box("pack", "skill", "math", "bio", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out / 'math'}" in done.stdout and f"wrote {out / 'bio'}" in done.stdout
    return out


@pytest.mark.parametrize("box", ["math", "bio"])
def test_packed_bundled_skills_pass_the_reference_validator(skills, box):
    done = subprocess.run([str(VALIDATOR), "validate", str(skills / box)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Valid skill: {skills / box}" in done.stdout
    front, body = (skills / box / "SKILL.md").read_text().split("---\n", 2)[1:]
    assert f'name: "{box}"' in front
    assert len(json.loads(front.split("description: ", 1)[1].splitlines()[0])) <= 1024
    assert len(body.splitlines()) < 500
    assert (skills / box / "assets" / "box" / "box.toml").is_file()


def test_every_tool_has_a_reference_with_signature_parameters_and_examples(skills):
    references = {path.stem for path in (skills / "math" / "references").glob("*.md")}
    listed = json.loads(mcp_box("ls", "--box", "math", "--json").stdout)[0]["tools"]
    assert references == {name.removeprefix("math_") for name in listed} | {"README"}
    solve = (skills / "math" / "references" / "solve_24.md").read_text()
    assert "`solve_24(numbers: list[integer | number | string], target: " in solve
    assert "| `numbers` | `list[integer \\| number \\| string]` | required |" in solve
    assert "Exposed over MCP as `math_solve_24`." in solve
    assert "## Examples" in solve and "python3 scripts/call.py solve_24 '" in solve
    skill_md = (skills / "math" / "SKILL.md").read_text()
    assert "[`solve_24(numbers: list[integer" in skill_md and "(references/solve_24.md)" in skill_md


def value_of(expression: str) -> Fraction:
    """The exact value of + - * / ( ) over integers."""
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return Fraction(node.value)
        raise ValueError(f"not plain arithmetic: {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval").body)


def test_a_script_of_the_skill_answers_solve_24_in_a_fresh_shell(skills, tmp_path):
    script = skills / "math" / "scripts" / "call.py"
    command = f"python3 {script} solve_24 '{{\"numbers\": [4, 9, 10, 13]}}'"
    done = fresh_shell(command, f"{BIN}:/usr/bin:/bin", tmp_path)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["solvable"] is True
    assert sorted(int(n) for n in re.findall(r"\d+", answer["expression"])) == [4, 9, 10, 13]
    assert value_of(answer["expression"]) == 24


def test_the_script_finds_mcp_box_on_path_or_says_it_is_missing(skills, tmp_path):
    skill = tmp_path / "math"
    subprocess.run(["cp", "-r", str(skills / "math"), str(skill)], check=True)
    runtime = json.loads((skill / "assets" / "runtime.json").read_text())
    assert runtime["python"] == sys.executable and runtime["box"] == "math"
    runtime["python"] = str(tmp_path / "gone" / "python3")  # the venv that packed it was deleted
    (skill / "assets" / "runtime.json").write_text(json.dumps(runtime))
    script = skill / "scripts" / "call.py"
    done = fresh_shell(f"{sys.executable} {script} --help", f"{BIN}:/usr/bin:/bin", tmp_path)
    assert done.returncode == 0 and f"mcp-box: {BIN / 'mcp-box'}" in done.stdout, done.stderr
    done = fresh_shell(
        f"{sys.executable} {script} gcd '{{\"numbers\": [12, 18]}}'", f"{BIN}:/usr/bin", tmp_path
    )
    assert done.returncode == 0 and json.loads(done.stdout)["gcd"] == 6, done.stderr
    done = fresh_shell(f"{sys.executable} {script} gcd '{{}}'", "/nowhere", tmp_path)
    assert done.returncode == 1 and "mcp-box not found: set MCP_BOX_PYTHON" in done.stderr
    done = fresh_shell(f'{sys.executable} {script} gcd \'{{"numbers": "x"}}\'', str(BIN), tmp_path)
    assert done.returncode == 1 and "parameter 'numbers'" in done.stderr and not done.stdout


def test_a_sandboxed_box_stays_sandboxed_when_called_from_its_skill(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7319")
    peek = 'def peek(path: str) -> str:\n    """Read a file."""\n    return open(path).read()\n'
    make_box(tmp_path / "mine", "peeker", {"files": peek}, manifest='trust = "sandboxed"\n')
    done = mcp_box(
        "pack", "skill", "peeker", "--boxes", str(tmp_path / "mine"), "--out", str(tmp_path / "out")
    )
    assert done.returncode == 0, done.stderr
    skill = tmp_path / "out" / "peeker"
    assert 'trust: "sandboxed"' in (skill / "SKILL.md").read_text()
    arguments = json.dumps({"path": str(secret)})
    done = fresh_shell(
        f"python3 {skill / 'scripts' / 'call.py'} peek '{arguments}'", f"{BIN}:/usr/bin:/bin", tmp_path
    )
    assert done.returncode == 1
    assert "TOP-SECRET" not in done.stdout + done.stderr


def test_pack_skill_replaces_its_own_skill_but_no_other_folder(skills, tmp_path):
    done = mcp_box("pack", "skill", "math", "--out", str(skills))  # packed before: replaced whole
    assert done.returncode == 0 and not list(skills.glob(".math*")), done.stderr
    (tmp_path / "math").mkdir()
    (tmp_path / "math" / "notes.txt").write_text("mine")
    done = mcp_box("pack", "skill", "math", "--out", str(tmp_path))
    assert done.returncode == 1 and "is not a skill packed by mcp-box" in done.stderr
    assert [p.name for p in (tmp_path / "math").iterdir()] == ["notes.txt"]
    done = mcp_box("pack", "skill", "maths", "--out", str(tmp_path))
    assert done.returncode == 2 and "no box named maths" in done.stderr and "--boxes DIR" in done.stderr
    done = mcp_box("pack", "skill", "--out", str(tmp_path))
    assert done.returncode == 2 and "name the box(es) to pack" in done.stderr


WHERE_CLIENTS_LOOK = [
    ("claude-code", "project", ".claude/skills"),
    ("claude-code", "user", ".claude/skills"),
    ("codex", "project", ".agents/skills"),
    ("codex", "user", ".agents/skills"),
    ("cursor", "project", ".cursor/skills"),
    ("vscode", "user", ".copilot/skills"),
    ("gemini", "project", ".gemini/skills"),
    ("agents", "user", ".agents/skills"),
]


@pytest.mark.parametrize(("client", "scope", "folder"), WHERE_CLIENTS_LOOK)
def test_install_skill_puts_it_where_the_client_looks(client, scope, folder, tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir(), project.mkdir()
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home)}
    command = ("install", "skill", "math", "--client", client, "--scope", scope)
    done = mcp_box(*command, cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    skill = (project if scope == "project" else home) / folder / "math"
    assert f"installed skill math in {skill}" in done.stdout
    valid = subprocess.run([str(VALIDATOR), "validate", str(skill)], capture_output=True, text=True)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert mcp_box(*command, cwd=project, env=env).returncode == 0  # again: replaced, still one skill
    assert [p.name for p in skill.parent.iterdir()] == ["math"]


def test_install_skill_needs_a_box_and_a_client(tmp_path):
    done = mcp_box("install", "skill", "--client", "codex", cwd=tmp_path)
    assert done.returncode == 2 and "name the box(es) and the client" in done.stderr
    done = mcp_box(
        "install", "skill", "math", "--client", "codex", "--scope", "project", "--docker", cwd=tmp_path
    )
    assert (
        done.returncode == 2
        and "--docker, --wsl, --bearer and --print are for `install CLIENT`" in done.stderr
    )
    assert not (tmp_path / ".agents").exists()
    done = mcp_box("install", "vscode", "math", cwd=tmp_path)
    assert done.returncode == 1 and "BOX and --client go with `install skill`" in done.stderr


def homes(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir(), project.mkdir()
    return home, project, {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home)}


@pytest.mark.parametrize(("client", "scope", "folder"), WHERE_CLIENTS_LOOK)
def test_uninstall_skill_removes_what_install_skill_wrote_and_nothing_else(client, scope, folder, tmp_path):
    home, project, env = homes(tmp_path)
    skills = (project if scope == "project" else home) / folder
    neighbour = skills / "mine"
    neighbour.mkdir(parents=True)
    (neighbour / "SKILL.md").write_text("---\nname: mine\n---\nThe user's own skill.\n")
    before = snapshot(tmp_path)
    command = ("skill", "math", "--client", client, "--scope", scope)
    assert mcp_box("install", *command, cwd=project, env=env).returncode == 0
    done = mcp_box("uninstall", *command, cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert f"removed {skills / 'math'}" in done.stdout
    assert snapshot(tmp_path) == before  # the neighbour, the folders and everything else as they were
    done = mcp_box("uninstall", *command, cwd=project, env=env)  # again: nothing there
    assert done.returncode == 0 and "no skill math" in done.stdout and "nothing changed" in done.stdout
    assert snapshot(tmp_path) == before


def test_uninstall_skill_in_a_project_removes_the_folders_it_leaves_empty(tmp_path):
    home, project, env = homes(tmp_path)
    (project / "README.md").write_text("a project")
    command = ("skill", "math", "--client", "claude-code", "--scope", "project")
    assert mcp_box("install", *command, cwd=project, env=env).returncode == 0
    done = mcp_box("uninstall", *command, cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert f"and {project / '.claude' / 'skills'} and {project / '.claude'}" in done.stdout
    assert [p.name for p in project.iterdir()] == ["README.md"]
    assert mcp_box("install", *command[:-1], "user", cwd=project, env=env).returncode == 0
    assert mcp_box("uninstall", *command[:-1], "user", cwd=project, env=env).returncode == 0
    assert snapshot(home) == {home / ".claude": ("dir", None), home / ".claude" / "skills": ("dir", None)}


def test_uninstall_skill_leaves_a_changed_or_foreign_folder_untouched(skills, tmp_path):
    home, project, env = homes(tmp_path)
    installed = home / ".agents" / "skills" / "math"
    command = ("uninstall", "skill", "math", "--client", "codex")
    cases = {
        "notes.txt was added": lambda: (installed / "notes.txt").write_text("mine"),
        "assets/box/tools/extra/ was added": lambda: (
            installed / "assets" / "box" / "tools" / "extra"
        ).mkdir(),
        "SKILL.md was changed": lambda: (installed / "SKILL.md").write_text("edited"),
        "references/solve_24.md is missing": lambda: (installed / "references" / "solve_24.md").unlink(),
        "scripts/call.py is a link": lambda: (
            (installed / "scripts" / "call.py").unlink(),
            (installed / "scripts" / "call.py").symlink_to(home / "elsewhere.py"),
        ),
        "gives no list of the files mcp-box wrote": lambda: (installed / "assets" / "runtime.json").unlink(),
    }
    for difference, change in cases.items():
        shutil.rmtree(installed, ignore_errors=True)
        shutil.copytree(skills / "math", installed)  # what `install skill` writes there
        change()
        before = snapshot(tmp_path)
        done = mcp_box(*command, cwd=project, env=env)
        assert done.returncode == 1, (difference, done.stdout, done.stderr)
        assert "is not as mcp-box wrote it" in done.stderr and difference in done.stderr, done.stderr
        assert snapshot(tmp_path) == before, difference


def test_install_and_uninstall_skill_refuse_a_linked_folder(skills, tmp_path):
    home, project, env = homes(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(skills / "math", elsewhere / "skills" / "math")  # a skill mcp-box packed, out there
    (project / ".claude").symlink_to(elsewhere)  # a repository shipped `.claude` as a link
    (home / ".agents" / "skills").mkdir(parents=True)
    (home / ".agents" / "skills" / "math").symlink_to(elsewhere / "skills" / "math")
    before = snapshot(tmp_path)
    for verb, client, scope, link in (
        ("install", "claude-code", "project", project / ".claude"),
        ("uninstall", "claude-code", "project", project / ".claude"),
        ("uninstall", "codex", "user", home / ".agents" / "skills" / "math"),
        ("install", "codex", "user", home / ".agents" / "skills" / "math"),
    ):
        done = mcp_box(verb, "skill", "math", "--client", client, "--scope", scope, cwd=project, env=env)
        assert done.returncode == 1, (verb, client, done.stdout, done.stderr)
        assert f"{link} is a link; mcp-box writes and removes no skill through it" in done.stderr
        assert snapshot(tmp_path) == before, (verb, client)


def test_uninstall_skill_needs_a_box_and_a_client(tmp_path):
    done = mcp_box("uninstall", "skill", "--client", "codex", cwd=tmp_path)
    assert done.returncode == 2 and "name the box(es) and the client" in done.stderr
    done = mcp_box("uninstall", "skill", "math", "--client", "codex", "--name", "x", cwd=tmp_path)
    assert done.returncode == 2 and "--name is for `uninstall CLIENT`" in done.stderr
    done = mcp_box("uninstall", "vscode", "math", cwd=tmp_path)
    assert done.returncode == 2 and "BOX and --client go with `uninstall skill`" in done.stderr


def test_distill_writes_the_new_box_as_a_skill_too(tmp_path, capsys):
    from mcp_box_server.cli import main
    from tests.distill import family
    from tests.distill.conftest import write_tasks
    from tests.support.scripted_openai import ScriptedOpenAI

    tasks = write_tasks(tmp_path / "tasks.jsonl", [r for r in family.TRAIN if r[0] in ("t01", "t04")])
    out, skills = tmp_path / "boxes" / "units", tmp_path / "skills"
    with ScriptedOpenAI(family.teacher) as llm:
        teacher = ["--teacher", "scripted", "--base-url", llm.base_url, "--api-key", "x"]
        where = ["--out", str(out), "--cache", str(tmp_path / "cache"), "--quiet", "--skill", str(skills)]
        code = main(["distill", str(tasks), *teacher, *where])
    assert code == 0, capsys.readouterr().err
    assert f"mcp-box distill: skill: {skills / 'units'}" in capsys.readouterr().err
    valid = subprocess.run(
        [str(VALIDATOR), "validate", str(skills / "units")], capture_output=True, text=True
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
    packed = sorted(p.name for p in (skills / "units" / "assets" / "box" / "tools").iterdir())
    assert packed == sorted(p.name for p in (out / "tools").iterdir())


def test_any_box_name_and_description_give_valid_front_matter(tmp_path):
    from skills_ref.parser import parse_frontmatter
    from skills_ref.validator import validate_metadata

    from mcp_box_server.box import Manifest, ToolSpec
    from mcp_box_server.cli.skill_pack import BoxInfo, skill_md, skill_name

    assert skill_name("Calc--Two-") == "calc-two"
    about = 'Says "hi" --- or: a colon, a # and ünïcode; ' * 60  # far over 1024 characters
    tools = [
        ToolSpec(f"Calc--Two-_f{i}", f"f{i}", "Calc--Two-", "Do it.", {"properties": {}}, 1.0, "t.py", 1)
        for i in range(200)
    ]
    info = BoxInfo(Manifest(name="Calc--Two-", path=tmp_path, description=about), "", tools, [])
    front, body = parse_frontmatter(skill_md(info))
    (tmp_path / "calc-two").mkdir()
    assert validate_metadata(front, tmp_path / "calc-two") == []
    assert front["description"].startswith('Says "hi" — or') and len(front["description"]) <= 1024
    assert len(body.splitlines()) < 500
