"""Snapshots of hostile box folders: links out, devices, FIFOs, sockets, size; modes for other uids."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchfiles import Change

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool
from mcp_box_server.runtime.snapshot import SnapshotError, box_group, make_root, remove_all, runtime_dir, take
from mcp_box_server.server.watcher import box_filter, folders
from tests.support.boxes import ARITH, make_box
from tests.support.races import FolderSwapper, root_only_folder


@pytest.fixture(autouse=True)
def _no_roots_left() -> Iterator[None]:
    yield
    remove_all()


def box_with(tmp_path: Path) -> Path:
    return make_box(tmp_path, "b", {"arith": ARITH}, README__md="# B\n")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_copies_own_files_privately_and_skips_caches(tmp_path):
    box = box_with(tmp_path)
    (box / "tools" / "arith.py").chmod(0o644)
    (box / "__pycache__").mkdir()
    (box / "__pycache__" / "x.pyc").write_bytes(b"x")
    (box / ".git").mkdir()
    (box / "tools" / "old.pyc").write_bytes(b"x")
    root = make_root("b")
    readme = take(box, root / "box", max_mb=1)
    assert readme == "# B\n"
    copied = root / "box"
    assert sorted(p.name for p in copied.rglob("*")) == ["README.md", "arith.py", "box.toml", "tools"]
    assert mode(runtime_dir()) == mode(root) == 0o700 and root.parent == runtime_dir()
    # Nothing for other users; under root, the snapshot's own group reads it (its sandboxed workers).
    group = box_group(root)
    assert (group is not None) == (os.geteuid() == 0)
    folder, file = (0o750, 0o640) if group is not None else (0o700, 0o600)
    assert mode(copied) == mode(copied / "tools") == folder and mode(copied / "tools" / "arith.py") == file
    if group is not None:
        assert {p.lstat().st_gid for p in [copied, *copied.rglob("*")]} == {group}
        assert box_group(make_root("c")) != group  # each root a group of its own


def test_links_inside_the_box_are_kept_within_the_snapshot(tmp_path):
    box = box_with(tmp_path)
    (box / "data").mkdir()
    (box / "data" / "table.txt").write_text("1 2 3")
    (box / "tools" / "table.txt").symlink_to(box / "data" / "table.txt")
    (box / "alias").symlink_to("data")
    target = make_root("b") / "box"
    take(box, target, max_mb=1)
    copied = target / "tools" / "table.txt"
    assert not copied.is_symlink() and copied.read_text() == "1 2 3"
    assert (target / "alias").is_symlink() and os.readlink(target / "alias") == "data"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda box: (box / "tools" / "secret.txt").symlink_to("/etc/passwd"),
            "link to /etc/passwd, outside",
        ),
        (
            lambda box: (box / "README.md").unlink() or (box / "README.md").symlink_to("/etc/shadow"),
            "outside",
        ),
        (lambda box: (box / "tools" / "zero").symlink_to("/dev/zero"), "link to /dev/zero, outside the box"),
        (lambda box: (box / "tools" / "gone.py").symlink_to(box / "nowhere.py"), "dangling link"),
        (lambda box: os.mkfifo(box / "tools" / "pipe"), "is a FIFO"),
        (lambda box: (box / "up").symlink_to(".."), "outside the box"),
    ],
)
def test_what_a_box_may_not_hold_is_an_error_naming_the_path(tmp_path, make, message):
    box = box_with(tmp_path)
    make(box)
    with pytest.raises(SnapshotError, match=message) as info:
        take(box, make_root("b") / "box", max_mb=1)
    assert info.value.path.startswith(str(box))


def test_a_socket_or_a_device_is_refused(tmp_path):
    box = box_with(tmp_path)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(box / "tools" / "sock"))
    try:
        with pytest.raises(SnapshotError, match="sock: is a socket"):
            take(box, make_root("b") / "box", max_mb=1)
    finally:
        server.close()
    (box / "tools" / "sock").unlink()
    try:
        os.mknod(box / "tools" / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("no CAP_MKNOD here")
    with pytest.raises(SnapshotError, match="null: is a device"):
        take(box, make_root("b") / "box", max_mb=1)


def test_a_box_over_its_size_cap_stops_the_copy(tmp_path):
    box = box_with(tmp_path)
    (box / "big.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
    with pytest.raises(SnapshotError, match=r"big.bin: box is over its 1 MB size cap"):
        take(box, make_root("b") / "box", max_mb=1)


async def test_a_bad_snapshot_is_the_box_load_error_and_the_readme_comes_from_the_copy(tmp_path):
    good = box_with(tmp_path)
    bad = make_box(tmp_path, "bad", {"arith": ARITH})
    (bad / "tools" / "leak.txt").symlink_to("/etc/hostname")
    pools = [BoxPool(read_manifest(good)), BoxPool(read_manifest(bad))]
    try:
        for pool in pools:
            await pool.start()
        assert pools[0].readme == "# B\n" and await pools[0].call("add", {"a": 1}) == 3
        (failure,) = pools[1].failures
        assert pools[1].specs == [] and failure.file == str(bad / "tools" / "leak.txt")
        assert "outside the box" in failure.message
    finally:
        for pool in pools:
            await pool.close()
    assert not pools[0]._root.exists() and not pools[1]._root.exists()


SECRET = "root-only-secret-never-in-a-snapshot"


def test_a_folder_swapped_for_a_link_mid_copy_never_puts_a_root_only_file_in_a_snapshot(tmp_path):
    box = box_with(tmp_path)
    (box / "sub").mkdir()
    (box / "sub" / "ok.txt").write_text("fine")
    hidden = root_only_folder(tmp_path / "root-only", SECRET, ("ok.txt", "secret.txt"))
    root = make_root("b")
    copied, refused = 0, 0
    deadline = time.monotonic() + 30
    with FolderSwapper(box / "sub", tmp_path / "spare", hidden) as swapper:
        while (copied < 50 or refused < 50) and time.monotonic() < deadline:
            target = root / f"box-{copied + refused}"
            try:
                take(box, target, max_mb=1)
            except SnapshotError as exc:
                refused += 1
                assert exc.path.startswith(str(box)) and "secret" not in exc.message
                continue
            copied += 1
            leaked = [p for p in target.rglob("*") if p.is_file() and SECRET in p.read_text()]
            assert leaked == [], f"a snapshot holds the root-only file after {swapper.swaps} swaps"
            assert not (target / "sub").is_symlink()
    # Both sides of the race were met: copies taken while it ran, and links refused.
    assert copied >= 50 and refused >= 50, (copied, refused, swapper.swaps)


def test_links_are_resolved_inside_the_box_only(tmp_path):
    box = box_with(tmp_path)
    (box / "data").mkdir()
    (box / "data" / "t.txt").write_text("t")
    (box / "data" / "up").symlink_to("..")  # the box root itself: fine
    (box / "hop").symlink_to("data/up/data/t.txt")  # through an in-box link to a folder
    (box / "loop").symlink_to("loop")
    with pytest.raises(SnapshotError, match="loop of links"):
        take(box, make_root("b") / "box", max_mb=1)
    (box / "loop").unlink()
    (box / "out").symlink_to("data/up/../../..")  # back past the root, however it gets there
    with pytest.raises(SnapshotError, match="outside the box"):
        take(box, make_root("b") / "box", max_mb=1)
    (box / "out").unlink()
    target = make_root("b") / "box"
    take(box, target, max_mb=1)
    assert (target / "hop").read_text() == "t" and not (target / "hop").is_symlink()
    assert os.readlink(target / "data" / "up") == ".."


@pytest.mark.parametrize(
    "name",
    ["edit.tmp", "notes~", ".hidden", "x.pyc", "x.pyo", "flycheck_x.py", "x.swp", "x.py___jb_tmp___"],
)
def test_the_snapshot_and_the_watcher_leave_out_the_same_names(tmp_path, name):
    box = box_with(tmp_path)
    (box / "data.txt").write_text("kept")
    (box / name).write_text("left out")
    (box / "tools" / name).write_text("left out")
    for folder in ("__pycache__", "node_modules", "cache.tmp", ".git"):
        (box / folder).mkdir()
        (box / folder / "inside.py").write_text("left out")
    target = make_root("b") / "box"
    take(box, target, max_mb=1)
    copied = {p.relative_to(target) for p in target.rglob("*")}
    watched = set(folders([box]))
    for path in (p.relative_to(box) for p in box.rglob("*")):
        # A change there reaches the registry when its folder is watched and the filter lets it by.
        reloads = str(box / path.parent) in watched and box_filter(Change.modified, str(box / path))
        assert reloads == (path in copied), path
    assert Path("data.txt") in copied and Path(name) not in copied


def test_a_runtime_folder_someone_else_could_enter_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    base = tmp_path / f"mcp-box-{os.geteuid()}"
    assert runtime_dir() == base and mode(base) == 0o700  # made private
    base.chmod(0o755)
    with pytest.raises(SnapshotError, match="has mode 0755, not 0700"):
        make_root("b")
    base.rmdir()
    elsewhere = tmp_path / "planted"
    elsewhere.mkdir(mode=0o700)
    base.symlink_to(elsewhere)  # a link planted in the temp dir before the server started
    with pytest.raises(SnapshotError, match=r"cannot use it for snapshots: not a folder \(a link\?\)"):
        make_root("b")
    assert list(elsewhere.iterdir()) == []
    if os.geteuid() == 0:
        base.unlink()
        base.mkdir(mode=0o700)
        os.chown(base, 65534, 65534)  # made by another user first
        with pytest.raises(SnapshotError, match="owned by uid 65534"):
            make_root("b")


def test_the_runtime_folder_is_xdg_runtime_dir_when_it_is_ours(tmp_path, monkeypatch):
    xdg = tmp_path / "run"
    xdg.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    root = make_root("b")
    assert root.parent == xdg / "mcp-box" and mode(xdg / "mcp-box") == mode(root) == 0o700
    if os.geteuid() == 0:
        os.chown(xdg, 65534, 65534)  # not ours: the temp dir instead
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        assert runtime_dir() == tmp_path / "mcp-box-0"
