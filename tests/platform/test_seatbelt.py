"""The Seatbelt profile, checked against the policy it is rendered from (the same data Landlock gets)."""

from __future__ import annotations

import errno
import re

import pytest

from mcp_box_server.runtime.confine.policy import sandbox_policy
from mcp_box_server.runtime.platform import seatbelt

TOKEN = re.compile(r'\s*(?:(;[^\n]*)|(\()|(\))|("(?:[^"\\]|\\.)*")|([^\s()";]+))')


def parse(text: str) -> list[object]:
    """SBPL as nested lists (comments dropped, strings unquoted); raises on an unbalanced profile."""
    stack: list[list[object]] = [[]]
    at = 0
    while at < len(text.rstrip()):
        match = TOKEN.match(text, at)
        assert match, f"cannot read the profile at {text[at : at + 40]!r}"
        at = match.end()
        comment, opened, closed, string, atom = match.groups()
        if opened:
            stack.append([])
        elif closed:
            done = stack.pop()
            stack[-1].append(done)
        elif string:
            stack[-1].append(("str", re.sub(r"\\(.)", r"\1", string[1:-1])))
        elif atom:
            stack[-1].append(atom)
        del comment
    assert len(stack) == 1, "unbalanced parentheses"
    return stack[0]


def rules(forms: list[object], verb: str) -> list[list[object]]:
    return [form for form in forms if isinstance(form, list) and form and form[0] == verb]


def blocks(forms: list[object]) -> tuple[list[object], list[object]]:
    """The read rule and the write rule of a profile."""
    allowed = rules(forms, "allow")
    (reads,) = [rule for rule in allowed if rule[1:3] == ["file-read*", "file-map-executable"]]
    (writes,) = [rule for rule in allowed if rule[1:3] == ["file-read*", "file-write*"]]
    return reads, writes


def subpaths(rule: list[object]) -> set[str]:
    return {part[1][1] for part in rule if isinstance(part, list) and part[0] == "subpath"}


@pytest.fixture
def policy(tmp_path):
    box = tmp_path / "snapshot" / "box"
    work = tmp_path / "work"
    box.mkdir(parents=True)
    work.mkdir()
    return sandbox_policy(str(box), str(work), 256, system=seatbelt.SYSTEM_READ, pid=4321)


def test_the_profile_denies_by_default_and_allows_exactly_the_policy(policy):
    forms = parse(seatbelt.profile(policy))
    assert forms[0] == ["version", "1"]
    assert ["deny", "default"] in forms
    allowed = rules(forms, "allow")
    reads, writes = blocks(forms)
    assert set(policy.read) <= subpaths(reads)
    assert policy.read[0].endswith("/snapshot/box")  # the box snapshot is read, never written
    assert policy.read[0] not in subpaths(writes)
    assert subpaths(writes) == set(policy.write)  # the temp dir and /dev/null, nothing else
    assert set(seatbelt.SYSTEM_READ) <= subpaths(reads)
    # Every other allow names no path: it cannot widen what is read or written.
    for rule in allowed:
        if rule not in (reads, writes):
            assert not subpaths(rule)
            assert not any(isinstance(verb, str) and verb.startswith("file-write") for verb in rule)


def test_the_profile_allows_no_network_nor_any_program(policy):
    forms = parse(seatbelt.profile(policy))
    for rule in rules(forms, "allow"):
        assert not any(
            isinstance(verb, str) and verb.startswith(("network", "process-exec", "process-fork"))
            for verb in rule
        )
    assert ["deny", "network*"] in forms and ["deny", "process-exec"] in forms


def test_paths_are_quoted_and_resolved(tmp_path):
    odd = tmp_path / 'a "quoted\\ name'
    odd.mkdir()
    link = tmp_path / "link"
    link.symlink_to(odd)
    policy = sandbox_policy(str(link), str(tmp_path), 64, system=(), pid=1)
    reads = subpaths(blocks(parse(seatbelt.profile(policy)))[0])
    assert str(odd) in reads and str(link) in reads  # Seatbelt matches the resolved path


def test_enforce_fails_as_an_os_error_where_seatbelt_is_missing():
    """On Linux there is no `sandbox_init`: the layer is reported missing, never an exception text."""
    with pytest.raises(OSError) as missing:
        seatbelt.enforce("(version 1)\n(deny default)\n")
    assert missing.value.errno == errno.ENOSYS and "sandbox_init" in str(missing.value)
