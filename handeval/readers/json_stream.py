"""Large JSON files in bounded memory: an object's members, or an array's items, a batch at a time.

A batch is the text from the next item up to a closing brace, wrapped in the container's
brackets and parsed whole by simdjson (pysimdjson, the fastest parser on these files:
``data_specs/datasets.md``, InterHand2.6M). A cut that is not at an item boundary (a brace
inside a string, or the end of a nested object) leaves that text invalid JSON, so the strict
parser itself rejects it and an earlier brace is tried; where none works (items that are not
objects, a value simdjson cannot hold such as a 65-bit integer, or a corrupt item), one item
is parsed alone by the standard library's ``raw_decode``, which says where it ended, and the
next batch is taken smaller. So every batch holds whole items, exactly as a parse of the
whole file sees them, and memory holds a block of the file and one batch, whatever its size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import simdjson

_WS = re.compile(rb"[ \t\n\r]*")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACES = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}]', re.S)
_ENDS = {b"]": re.compile(rb"}[ \t\n\r]*]"), b"}": re.compile(rb"}[ \t\n\r]*}")}
_READ = 1 << 20          # bytes read at a time
_BLOCK = 1 << 20         # the most text one batch parses (simdjson needs ~20x that while it holds a batch)
_MIN_BLOCK = 1 << 12
_TRIES = 2               # cuts tried by their look before the braces are scanned
_CLOSE = {b"[": b"]", b"{": b"}"}
_DECODER = json.JSONDecoder()


class JSONError(ValueError):
    """The file is not JSON (or not the structure asked for) at a byte offset."""


class JsonStream:
    """A binary file's JSON text, read front to back: :meth:`members` walks an object's keys (the
    caller reads each value with :meth:`batches`, :meth:`value` or leaves it to be skipped),
    :meth:`batches` yields a container's items (arrays) or ``(key, value)`` pairs (objects) as
    lists of simdjson proxies or, for items parsed alone, plain Python values."""

    def __init__(self, fh):
        self.fh = fh
        self.buf = b""
        self.pos = 0          # in buf
        self.offset = 0       # the file offset of buf[0]
        self.eof = False
        self.block = _BLOCK

    def error(self, problem: str) -> JSONError:
        return JSONError(f"{problem} at byte {self.offset + self.pos:,}")

    def _fill(self, size: int) -> None:
        """At least ``size`` bytes from ``pos`` in the buffer, or all that is left; drops what was read."""
        if self.pos:
            self.buf, self.offset, self.pos = self.buf[self.pos:], self.offset + self.pos, 0
        parts = [self.buf]
        have = len(self.buf)
        while have < size and not self.eof:
            data = self.fh.read(max(_READ, size - have))
            if not data:
                self.eof = True
            parts.append(data)
            have += len(data)
        if len(parts) > 1:
            self.buf = b"".join(parts)

    def _peek(self) -> bytes:
        """The next byte that is not whitespace (b"" at the end), left unread."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos:self.pos + 1]
            self._fill(_READ)

    def _expect(self, char: bytes) -> None:
        if self._peek() != char:
            raise self.error(f"expected {char.decode()!r}")
        self.pos += 1

    def _key(self) -> str:
        if self._peek() != b'"':
            raise self.error("expected a key")
        while not (m := _STRING.match(self.buf, self.pos)):
            if self.eof:
                raise self.error("unterminated string")
            self._fill(len(self.buf) - self.pos + _READ)
        self.pos = m.end()
        try:
            return json.loads(m.group())
        except ValueError as exc:
            raise self.error(f"bad key ({exc})") from None

    def finish(self) -> None:
        """Only whitespace may follow the value read."""
        if self._peek():
            raise self.error("more data after the JSON value")

    def members(self) -> Iterator[str]:
        """The keys of the object here, in order; a value the caller does not read is skipped."""
        self._expect(b"{")
        if self._peek() == b"}":
            self.pos += 1
            return
        while True:
            key = self._key()
            self._expect(b":")
            self._peek()
            start = self.offset + self.pos
            yield key
            if self.offset + self.pos == start:
                self.skip()
            char = self._peek()
            self.pos += 1
            if char == b"}":
                return
            if char != b",":
                self.pos -= 1
                raise self.error("expected ',' or '}'")

    def batches(self, kind: bytes) -> Iterator[list]:
        """The items of the array (``kind`` b"[") or the (key, value) members of the object (b"{") here."""
        if self._peek() != kind:
            raise self.error(f"expected {'an array' if kind == b'[' else 'an object'}")
        close = _CLOSE[kind]
        self.pos += 1
        if self._peek() == close:
            self.pos += 1
            return
        while True:
            yield self._batch(kind, close)
            char = self._peek()
            self.pos += 1
            if char == close:
                return
            if char != b",":
                self.pos -= 1
                raise self.error(f"expected ',' or {close.decode()!r}")

    def value(self):
        """The (small) value here, as Python objects."""
        self._peek()
        return self._raw_value()

    def skip(self) -> None:
        char = self._peek()
        if char in _CLOSE:
            for _ in self.batches(char):
                pass
        else:
            self._raw_value()

    def _batch(self, kind: bytes, close: bytes) -> list:
        self._peek()
        self._fill(self.block)
        buf, start = self.buf, self.pos
        end = min(len(buf), start + self.block)
        for cut in self._cuts(start, end, close):
            try:
                parsed = simdjson.Parser().parse(kind + buf[start:cut + 1] + close)
            except (ValueError, RuntimeError):  # not a cut between items, or a value simdjson cannot hold
                continue
            self.pos = cut + 1
            self.block = min(2 * self.block, _BLOCK)
            return list(parsed) if kind == b"[" else list(parsed.items())
        self.block = max(self.block // 2, _MIN_BLOCK)
        if kind == b"[":
            return [self._raw_value()]
        key = self._key()
        self._expect(b":")
        self._peek()
        return [(key, self._raw_value())]

    def _cuts(self, start: int, end: int, close: bytes) -> Iterator[int]:
        """Closing braces in ``buf[start:end]`` that may end the batch's last item: the last ones followed
        by a comma (in the middle of a container), the first ones followed by the container's close (at
        its end), then the last one at item level by a scan of the braces outside strings."""
        buf, tries = self.buf, 0
        hi = end
        while tries < _TRIES and (cut := buf.rfind(b"}", start, hi)) >= 0:
            hi = cut
            after = _WS.match(buf, cut + 1).end()
            if after < len(buf) and buf[after] == 44:  # ","
                tries += 1
                yield cut
        pos = start
        for _ in range(_TRIES):  # the container's end, by its look: a brace, then the close
            if not (m := _ENDS[close].search(buf, pos, end)):
                break
            pos = m.start() + 1
            yield m.start()
        depth, last = 0, None
        for m in _BRACES.finditer(buf, start, end):
            char = buf[m.start()]
            if char == 123:  # "{"
                depth += 1
            elif char == 125:
                depth -= 1
                if depth < 0:  # the object's own close
                    break
                if depth == 0:
                    last = m.start()
                    after = _WS.match(buf, last + 1).end()
                    if after < len(buf) and buf[after] == close[0]:
                        break
        if last is not None:
            yield last

    def _raw_value(self):
        """One value parsed alone; the window grows until it holds the value."""
        width = _MIN_BLOCK
        while True:
            self._fill(width)
            window = self.buf[self.pos:self.pos + width]
            whole = self.eof and self.pos + width >= len(self.buf)
            try:
                text = window.decode("utf-8")
            except UnicodeDecodeError as exc:
                if whole or exc.start < len(window) - 3:
                    self.pos += exc.start
                    raise self.error("not UTF-8") from None
                text = window[:exc.start].decode("utf-8")  # a character cut by the window
            try:
                value, end = _DECODER.raw_decode(text)
            except json.JSONDecodeError as exc:
                if whole or not (exc.pos >= len(text) - 6 or exc.msg.startswith("Unterminated string")):
                    self.pos += len(text[:exc.pos].encode("utf-8"))
                    raise self.error(exc.msg) from None
                width *= 2
                continue
            if end == len(text) and not whole:  # a number may go on past the window
                width *= 2
                continue
            self.pos += len(text[:end].encode("utf-8"))
            return value
