"""The batch JSON stream against the standard library's parse of the whole file, and the on-disk columns."""

import io
import json
import random

import numpy as np
import pytest

from handeval.readers import json_stream
from handeval.readers.columns import Columns
from handeval.readers.json_stream import JSONError, JsonStream

#: Items that defeat a cut by the look of the text: braces and quotes in strings, nested objects,
#: non-object items, numbers simdjson cannot hold, multi-byte characters, odd whitespace.
TRICKY = [
    {"s": "}, {", "t": "}]", "u": '\\"}', "v": "\\"},
    {"a": {"b": {"c": {}}}, "d": [{"e": 1}, {"f": [2, {"g": "}"}]}]},
    [1, 2, [3, {"h": "x"}]],
    12345678901234567890123,
    1e400,
    "caf\u00e9 \u65e5\u672c \U0001f590",
    None, True, 0.1, -0.0, "", [], {},
    {"k": "\u00e9" * 50, "n": None},
]


def _document(seed: int, pretty: bool):
    rnd = random.Random(seed)
    items = [rnd.choice(TRICKY) if rnd.random() < 0.3 else
             {"id": i, "name": f"Capture{i % 3}/seq/cam{i}/image{i}.jpg", "bbox": [rnd.random() for _ in range(4)],
              "valid": [[rnd.randint(0, 1)] for _ in range(42)]} for i in range(300)]
    frames = {str(100 + 3 * i): ({"right": {"pose": [0.5] * 4}, "left": None} if i % 5 else None)
              for i in range(120)}
    doc = {"info": {"x": [1, {"y": "}, {"}]}, "images": items, "mano": {"0": frames, "1": {}}, "empty": []}
    return json.dumps(doc, indent=1 if pretty else None, separators=None if pretty else (",", ":"))


def _read(text: bytes) -> dict:
    stream = JsonStream(io.BytesIO(text))
    out = {}
    for key in stream.members():
        if key in ("images", "empty"):
            out[key] = [_plain(v) for batch in stream.batches(b"[") for v in batch]
        elif key == "mano":
            out[key] = {}
            for capture in stream.members():
                out[key][capture] = {k: _plain(v) for batch in stream.batches(b"{") for k, v in batch}
    stream.finish()
    return out


def _plain(value):
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return value.as_list() if hasattr(value, "as_list") else value


@pytest.mark.parametrize("block", [64, 300, 4096, 1 << 20])
@pytest.mark.parametrize("pretty", [False, True])
def test_batches_hold_exactly_the_items_of_a_whole_parse(monkeypatch, block, pretty):
    monkeypatch.setattr(json_stream, "_BLOCK", block)
    monkeypatch.setattr(json_stream, "_MIN_BLOCK", min(block, 64))
    monkeypatch.setattr(json_stream, "_READ", max(block // 2, 16))
    for seed in range(3):
        text = _document(seed, pretty)
        whole = json.loads(text)
        got = _read(text.encode())
        assert got == {"images": whole["images"], "mano": whole["mano"], "empty": []}


@pytest.mark.parametrize("text, problem", [
    (b'{"images": [{"id": 1}, {"id": 2}', "expected"),        # truncated
    (b'{"images": [{"id": 1},, {"id": 2}]}', "Expecting value"),
    (b'{"images": [{"id": 1}, ]}', "Expecting value"),
    (b'{"images": [{"id": 1}]} {', "more data after"),
    (b'{"images": {"a": 1}}', "expected an array"),
    (b'["images"]', "expected '{'"),
    (b'{"images": ["\xff\xfe"]}', "not UTF-8"),
    (b'{"images": [{"id": 1}] "annotations": []}', "expected ',' or '}'"),
])
def test_broken_json_is_an_error_at_a_byte_offset(text, problem):
    with pytest.raises(JSONError, match=f"{problem}.* at byte [0-9,]+"):
        _read(text)


def test_columns_round_trip_and_read_any_rows(tmp_path):
    cols = Columns(tmp_path, "t", {"a": ("<i8", ()), "b": ("<f4", (2, 3))})
    a = np.arange(10, dtype=np.int64)
    b = np.arange(60, dtype=np.float32).reshape(10, 2, 3)
    cols.append(a=a[:4], b=b[:4])
    cols.append(a=a[4:], b=b[4:])
    assert len(cols) == 10
    np.testing.assert_array_equal(cols.read("b", 3, 7), b[3:7])
    rows = np.array([7, 2, 3, 3, 9, 0])
    np.testing.assert_array_equal(cols.rows("a", rows), a[rows])
    np.testing.assert_array_equal(cols.rows("b", rows), b[rows])
    assert cols.rows("b", np.array([], dtype=np.int64)).shape == (0, 2, 3)
    out = Columns(tmp_path, "o", cols.spec)
    out.allocate(10)
    with out.writer() as write:
        write("a", 5, a[:5])
        write("a", 0, a[5:])
        np.testing.assert_array_equal(out.read("a", 0, 10), np.r_[a[5:], a[:5]])
