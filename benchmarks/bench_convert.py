"""Conversion throughput and peak memory on a large synthetic InterHand2.6M-layout annotation set,
and shard read throughput (full scan, one random sequence).

The annotation files are generated in InterHand2.6M's exact v1.0 layout (data, camera,
joint_3d and MANO_NeuralAnnot json) with random but well-formed values: ``--images``
image records over 80 cameras per frame. Generation is not timed. The conversion runs in
a child process so its peak RSS is measured alone.

    python benchmarks/bench_convert.py --images 1000000 --workers 1
    python benchmarks/bench_convert.py --images 1000000 --workers 2 --json

The speed table's row (``speed_rows``, ``benchmarks/speed.py --only convert``): the conversion
(annotation parsing, MANO, shard writing; one worker, one core) of 1 M image records, in image
records per CPU second, against whole-file ``orjson.loads`` of the same data.json, each in its own
pinned process; the conversion's peak RSS at 0.25 / 1 / 2 / 4 M records and its slope in bytes
per record (flat: at most ``RSS_SLOPE_BOUND``); and, on the same data.json, the parsers that were
candidates for reading it (parse only). Quick mode runs the same at 50 K to 200 K records and reports
the slope without holding it to the bound: below about 250 K records (a dozen sequences) the peak
still settles.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import harness
import numpy as np
from harness import in_child

CAMERAS = 80
FRAMES_PER_SEQUENCE = 250


def generate(root: Path, images: int, seed: int = 0) -> dict:
    """Write a v1.0 test split with ``images`` image records; returns counts."""
    rng = np.random.default_rng(seed)
    frames = -(-images // CAMERAS)
    sequences = -(-frames // FRAMES_PER_SEQUENCE)
    ann = root / "annotations" / "test"
    ann.mkdir(parents=True)
    cams = [str(400000 + c) for c in range(CAMERAS)]
    captures = {}
    valid = json.dumps([[1]] * 42)
    with open(ann / "InterHand2.6M_test_data.json", "w") as fh:
        fh.write('{"images": [')
        n = 0
        for kind in ("images", "annotations"):
            if kind == "annotations":
                fh.write('], "annotations": [')
            n = 0
            for s in range(sequences):
                cap, seq = s % 8, f"seq{s:05d}"
                for f in range(FRAMES_PER_SEQUENCE):
                    fidx = 3 * (s * FRAMES_PER_SEQUENCE + f)
                    captures.setdefault(cap, set()).add(fidx)
                    parts = []
                    for c in cams:
                        if n >= images:
                            break
                        if kind == "images":
                            parts.append(f'{{"id": {n}, "file_name": "Capture{cap}/{seq}/cam{c}/image{fidx}.jpg", '
                                         f'"width": 334, "height": 512, "capture": {cap}, "subject": 0, '
                                         f'"seq_name": "{seq}", "camera": "{c}", "frame_idx": {fidx}}}')
                        else:
                            parts.append(f'{{"id": {n}, "image_id": {n}, "bbox": [10.5, 20.5, 100.0, 120.0], '
                                         f'"joint_valid": {valid}, "hand_type": "interacting", "hand_type_valid": 1}}')
                        n += 1
                    if parts:
                        fh.write(("," if n > len(parts) else "") + ",".join(parts))
        fh.write("]}")
    camera = {str(cap): {"campos": {c: rng.normal(0, 500, 3).tolist() for c in cams},
                         "camrot": {c: np.eye(3).tolist() for c in cams},
                         "focal": {c: [1200.0, 1200.0] for c in cams}, "princpt": {c: [167.0, 256.0] for c in cams}}
              for cap in captures}
    (ann / "InterHand2.6M_test_camera.json").write_text(json.dumps(camera))
    world = np.round(rng.normal(0, 100, (42, 3)), 3).tolist()
    with open(ann / "InterHand2.6M_test_joint_3d.json", "w") as fh:
        fh.write("{" + ",".join(
            f'"{cap}": {{' + ",".join(f'"{f}": {{"world_coord": {json.dumps(world)}, '
                                       f'"joint_valid": {json.dumps([1] * 42)}, '
                                       f'"hand_type": "interacting"}}' for f in sorted(fr)) + "}"
            for cap, fr in captures.items()) + "}")
    hand = json.dumps({"pose": [0.1] * 48, "shape": [0.0] * 10, "trans": [0.0, 0.0, 0.5]})
    with open(ann / "InterHand2.6M_test_MANO_NeuralAnnot.json", "w") as fh:
        fh.write("{" + ",".join(
            f'"{cap}": {{' + ",".join(f'"{f}": {{"right": {hand}, "left": {hand}}}' for f in sorted(fr)) + "}"
            for cap, fr in captures.items()) + "}")
    size = sum(p.stat().st_size for p in ann.iterdir())
    return {"images": images, "frames": frames, "sequences": sequences, "json_bytes": size}


def _convert_child(raw: str, out: str, workers: int, queue) -> None:
    from handeval.readers.interhand26m import InterHand26M
    from handeval.runner import Executor
    from handeval.shards.convert import convert

    start = time.perf_counter()
    test = convert(InterHand26M(raw), out, progress=False, executor=Executor(workers=workers)).splits["test"]
    queue.put({"seconds": time.perf_counter() - start, "frames": test.frames, "views": test.views})


def bench_read(out: Path) -> dict:
    from handeval.shards import ShardDataset

    ds = ShardDataset(out)
    start = time.perf_counter()
    frames = ds.read("frames")
    views = ds.read("views")
    scan = time.perf_counter() - start
    names = ds.sequences()
    random.seed(0)
    picks = random.sample(names, min(20, len(names)))
    start = time.perf_counter()
    for name in picks:
        seq = ds.sequence(name)
    one = (time.perf_counter() - start) / len(picks)
    return {"scan_seconds": scan, "scan_frames_per_s": frames.num_rows / scan,
            "scan_views_per_s": views.num_rows / scan, "sequence_ms": 1000 * one,
            "sequence_frames": len(seq.frames["frame"]), "sequence_views": len(seq.views["frame"])}


#: Image records converted for the RSS slope; the row is measured at ROW_RECORDS.
SIZES = {False: (250_000, 1_000_000, 2_000_000, 4_000_000), True: (50_000, 100_000, 150_000, 200_000)}
ROW_RECORDS = {False: 1_000_000, True: 100_000}
GOAL_PER_CPU_S = 50_000
RSS_SLOPE_BOUND = 8.0  # bytes of peak RSS per image record: "flat in dataset size"
ANCHOR = "orjson.loads of the same data.json (whole file, GC paused)"


def _data_json(raw: str) -> Path:
    return Path(raw) / "annotations" / "test" / "InterHand2.6M_test_data.json"


def _peaks_kept() -> list:
    """The runner starts each unit's peak RSS afresh (``clear_refs``); the conversion's peak is the
    largest of the client's (parsing) and the units', so each is noted before it is cleared."""
    import handeval.runner.worker as worker

    peaks, reset = [], worker._reset_peak_rss

    def keep():
        peaks.append(harness.peak_mib())
        return reset()

    worker._reset_peak_rss = keep
    return peaks


def _convert_row(raw: str, out: str, queue) -> None:
    harness.pin(1)
    import pandas  # noqa: F401  (imported by the writer on first use: start-up, not conversion)
    import pyarrow.parquet  # noqa: F401

    from handeval.readers.interhand26m import InterHand26M
    from handeval.runner import Executor
    from handeval.shards.convert import convert

    peaks = _peaks_kept()
    with harness.timed() as t:
        test = convert(InterHand26M(raw), out, progress=False, executor=Executor(workers=1)).splits["test"]
    m = harness.measure(test.views, "records", t, frames=test.frames)
    m["peak_mib"] = max([m["peak_mib"], *peaks])
    queue.put(m)


def _chunks(path: Path, block: int = 1 << 20):
    """data.json's images[] then annotations[] as ``(key, b"[item, ...]")`` batches of about ``block``
    bytes. Only for this benchmark's generated layout (``},{`` between items, ``}]`` only at an array's
    end): it hands parsers that have no streaming interface their chunks."""
    with open(path, "rb") as fh:
        text, start = b"", 0
        for key in ("images", "annotations"):
            if len(text) - start < block:
                text, start = text[start:] + fh.read(block), 0
            start = text.index(f'"{key}": ['.encode(), start) + len(key) + 5
            while True:
                if len(text) - start < block:
                    text, start = text[start:] + fh.read(block), 0
                end = text.find(b"}]", start, start + block)
                cut = end if end >= 0 else text.rfind(b"},{", start, start + block)
                yield key, b"[" + text[start:cut + 1] + b"]"
                start = cut + 2
                if end >= 0:
                    break


def _parse_only(which: str, path: Path) -> int:
    """Image records of data.json, parsed by ``which`` (values built, nothing kept)."""
    if which.startswith("orjson.loads") or which.startswith("json.loads"):
        loads = __import__("orjson").loads if which.startswith("orjson") else json.loads
        return len(loads(path.read_bytes())["images"])
    if which.startswith("ijson"):
        import ijson

        with open(path, "rb") as fh:
            n = sum(1 for _ in ijson.items(fh, "images.item", use_float=True))
        with open(path, "rb") as fh:
            sum(1 for _ in ijson.items(fh, "annotations.item", use_float=True))
        return n
    if which.startswith("handeval"):
        from handeval.readers.json_stream import JsonStream

        n, stream = 0, JsonStream(open(path, "rb"))
        for key in stream.members():
            for batch in stream.batches(b"["):
                n += len(batch) if key == "images" else 0
        return n
    parse = {"orjson": lambda: __import__("orjson").loads,
             "msgspec": lambda: __import__("msgspec").json.Decoder().decode,
             "pysimdjson": lambda: lambda b: __import__("simdjson").Parser().parse(b)}[which.split()[0]]()
    n = 0
    for key, batch in _chunks(path):
        items = parse(batch)
        n += len(items) if key == "images" else 0
        del items  # simdjson refuses a new parse while the last one's proxies live
    return n


#: The parsers measured side by side (parse only, one pinned process each): whole-file loads, the
#: streaming parser used before, chunked parses, and handeval's stream (simdjson, cuts verified).
PARSERS = ("orjson.loads, whole file", "orjson.loads, whole file, GC on", "json.loads, whole file",
           "ijson yajl2_c, two passes (as before)", "orjson on 1 MB chunks", "msgspec on 1 MB chunks",
           "pysimdjson on 1 MB chunks", "handeval JsonStream (pysimdjson, 1 MB batches)")


def _parse_child(which: str, path: str, queue) -> None:
    harness.pin(1)
    import ijson  # noqa: F401
    import msgspec  # noqa: F401
    import orjson  # noqa: F401
    import simdjson  # noqa: F401

    if "GC on" not in which:
        gc.disable()
    with harness.timed() as t:
        n = _parse_only(which, Path(path))
    queue.put(harness.measure(n, "records", t, backend=ijson.backend if which.startswith("ijson") else None))


def _slope(sizes: list[int], peaks: list[float]) -> float:
    """Least-squares bytes of peak RSS per image record."""
    return float(np.polyfit(np.asarray(sizes, dtype=float), np.asarray(peaks) * 2**20, 1)[0])


def _free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def speed_rows(quick: bool) -> list[dict]:
    sizes, row_n = SIZES[quick], ROW_RECORDS[quick]
    base = Path(tempfile.gettempdir())
    need = max(sizes) * 1000  # ~560 B of json and ~400 B of index and shards per record
    if _free_bytes(base) < need:
        raise SystemExit(f"bench_convert needs about {need / 2**30:.1f} GiB free in {base} for {max(sizes):,} "
                         "records; set TMPDIR to a larger disk")
    series, ours, anchor, parsers = [], None, None, {}
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix="handeval-bench-convert-"))
        try:
            generate(work / "raw", n)
            m = in_child(_convert_row, str(work / "raw"), str(work / "out"))
            series.append({"records": n, "peak_mib": m["peak_mib"], "cpu_s": m["cpu_s"], "per_cpu_s": m["per_cpu_s"]})
            if n == row_n:
                ours = m
                shutil.rmtree(work / "out", ignore_errors=True)
                for which in PARSERS:
                    parsers[which] = in_child(_parse_child, which, str(_data_json(work / "raw")))
                anchor = parsers[PARSERS[0]]
        finally:
            shutil.rmtree(work, ignore_errors=True)
    ours["rss_slope_b"] = _slope([s["records"] for s in series], [s["peak_mib"] for s in series])
    ours["rss"] = series
    label = f"{row_n / 1e6:g} M" if row_n >= 1_000_000 else f"{row_n // 1000} K"
    flat = (f"slope reported, held to ≤ {RSS_SLOPE_BOUND:g} B/record at full size" if quick else
            f"≤ {RSS_SLOPE_BOUND:g} B/record from {sizes[0] // 1000} K to {sizes[-1] / 1e6:g} M")
    bounds = {"cpu_s": ours["count"] / GOAL_PER_CPU_S, **({} if quick else {"rss_slope_b": RSS_SLOPE_BOUND})}
    row = harness.speed_row(
        f"InterHand2.6M conversion, {label} records", ours, anchor, ANCHOR,
        f"≥ {GOAL_PER_CPU_S // 1000} K records/CPU-s; peak RSS flat in dataset size ({flat})", None,
        absolute=bounds)
    row["parsers"] = parsers
    _report(row, sys.stderr)
    return [row]


def _report(row: dict, out) -> None:
    """The RSS series and the parsers' figures, beside the row (stderr: ``--json`` stays one document)."""
    o = row["ours"]
    print("  peak RSS: " + ", ".join(f"{s['records']:,}: {s['peak_mib']:,.0f} MiB ({s['per_cpu_s']:,.0f}/CPU-s)"
                                     for s in o["rss"]) + f"; slope {o['rss_slope_b']:+.1f} B/record", file=out)
    print("  parsing the same data.json (parse only, one pinned process each):", file=out)
    for name, p in row["parsers"].items():
        print(f"    {name:48s} {p['cpu_s']:7.2f} CPU-s  {p['per_cpu_s']:>9,.0f} records/CPU-s  "
              f"peak {p['peak_mib']:>7,.0f} MiB", file=out)
    out.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", default=None, help="keep the generated files in this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="handeval-bench-"))
    try:
        raw, out = work / "raw", work / "out"
        shutil.rmtree(out, ignore_errors=True)
        if not (raw / "annotations").is_dir():
            t = time.perf_counter()
            counts = generate(raw, args.images)
            counts["generate_seconds"] = time.perf_counter() - t
        else:
            counts = {"images": args.images,
                      "json_bytes": sum(p.stat().st_size for p in (raw / "annotations" / "test").iterdir())}
        result = in_child(_convert_child, str(raw), str(out), args.workers)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = {**counts, "workers": args.workers, "convert_seconds": result["seconds"],
                  "images_per_s": result["views"] / result["seconds"],
                  "frames_per_s": result["frames"] / result["seconds"],
                  "peak_rss_mib": peak, **bench_read(out)}
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"InterHand2.6M-layout conversion: {report['images']:,} image records "
                  f"({report.get('json_bytes', 0) / 2**20:,.0f} MiB of json), {args.workers} worker(s)")
            print(f"  {report['convert_seconds']:.1f} s: {report['images_per_s']:,.0f} image records/s, "
                  f"{report['frames_per_s']:,.0f} frames/s; "
                  f"peak RSS {report['peak_rss_mib']:,.0f} MiB (largest process)")
            print(f"  full scan: {report['scan_seconds']:.2f} s, {report['scan_views_per_s']:,.0f} views/s; "
                  f"one random sequence ({report['sequence_frames']} frames, {report['sequence_views']} views): "
                  f"{report['sequence_ms']:.1f} ms")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
