"""A worker's output (its stdout and stderr) on its way to the server's log, bounded.

Tool code may print anything, as much as it likes: the first lines of each call are
logged, longer lines are cut, the rest is counted and reported once; the last lines
are kept to explain a crash.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os

log = logging.getLogger("mcp_box.runtime")

TAIL = 20  # last lines kept to explain a crash
CHUNK = 64 * 1024
LINES_PER_CALL = 100  # worker output lines logged per call; the rest are counted, then reported
LINE_BYTES = 4096  # longer output lines are cut


class OutputLog:
    """Reads one worker's output pipe; `new_call()` gives each call a fresh allowance."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL)
        self._line = bytearray()  # the output line being received, cut at LINE_BYTES
        self._line_cut = 0
        self._logged = 0  # output lines logged since the current call began
        self._dropped_lines = 0
        self._dropped_bytes = 0

    async def forward(self, fd: int) -> None:
        """Drain the pipe until the worker closes it."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=CHUNK)
        pipe = os.fdopen(fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        try:
            while chunk := await reader.read(CHUNK):
                self._take(chunk)
            if self._line or self._line_cut:
                self._end_line()
        finally:
            transport.close()
            self._report_dropped()

    def new_call(self) -> None:
        """Each call gets a fresh allowance of logged lines; what the last one dropped is reported."""
        self._report_dropped()
        self._logged = 0

    def _take(self, chunk: bytes) -> None:
        if self._logged >= LINES_PER_CALL:  # a flood: count it, keep only the last line for errors
            done, newline, rest = chunk.rpartition(b"\n")
            if newline:
                self._dropped_lines += done.count(b"\n") + 1
                last = done.rsplit(b"\n", 1)[-1][:LINE_BYTES]
                self.tail.append(last.decode(errors="replace"))
                self._line.clear()
                self._line_cut = 0
            self._dropped_bytes += len(chunk)
            self._extend_line(rest)
            return
        *complete, rest = chunk.split(b"\n")
        for piece in complete:
            self._extend_line(piece)
            self._end_line()
        self._extend_line(rest)

    def _extend_line(self, piece: bytes) -> None:
        room = LINE_BYTES - len(self._line)
        self._line += piece[:room]
        self._line_cut += max(0, len(piece) - room)

    def _end_line(self) -> None:
        text = self._line.decode(errors="replace")
        if self._line_cut:
            text += f" [... {self._line_cut} more bytes cut]"
        self._line.clear()
        self._line_cut = 0
        self.tail.append(text)
        if self._logged < LINES_PER_CALL:
            self._logged += 1
            log.info("[%s] %s", self.label, text)
        else:
            self._dropped_lines += 1
            self._dropped_bytes += len(text)

    def _report_dropped(self) -> None:
        if self._dropped_lines or self._dropped_bytes:
            log.warning(
                "[%s] %d more lines (%d bytes) of output dropped (%d lines per call are logged)",
                self.label,
                self._dropped_lines,
                self._dropped_bytes,
                LINES_PER_CALL,
            )
        self._dropped_lines = self._dropped_bytes = 0
