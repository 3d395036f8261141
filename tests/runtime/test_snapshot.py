"""Snapshots of hostile box folders: links out, devices, FIFOs, sockets, size; modes for other uids."""

import os
import socket
import stat
from pathlib import Path

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool
from mcp_box_server.runtime.snapshot import SnapshotError, make_root, take
from tests.support.boxes import ARITH, make_box


def box_with(tmp_path: Path) -> Path:
    return make_box(tmp_path, "b", {"arith": ARITH}, README__md="# B\n")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_copies_own_files_readable_by_others_and_skips_caches(tmp_path):
    box = box_with(tmp_path)
    (box / "tools" / "arith.py").chmod(0o600)
    (box / "__pycache__").mkdir()
    (box / "__pycache__" / "x.pyc").write_bytes(b"x")
    (box / ".git").mkdir()
    (box / "tools" / "old.pyc").write_bytes(b"x")
    root = make_root("b")
    readme = take(box, root / "box", max_mb=1)
    assert readme == "# B\n"
    copied = root / "box"
    assert sorted(p.name for p in copied.rglob("*")) == ["README.md", "arith.py", "box.toml", "tools"]
    assert mode(root) == 0o711 and mode(copied) == mode(copied / "tools") == 0o755
    assert mode(copied / "tools" / "arith.py") == 0o644


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
