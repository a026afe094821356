"""Every row of the README's speed table, each against its anchor measured in the same run.

Each ``bench_*.py`` named here has ``speed_rows(quick) -> list[row]`` (``harness.speed_row``): it runs
handeval and its anchor (the official-style loop, the numpy loop, bare Open3D, the parsers, smplx) in
fresh processes pinned to one core unless the row says otherwise, and returns the rows. This prints
them, and the markdown table the README carries.

    python benchmarks/speed.py                  # the full sizes of the table (about 15 minutes)
    python benchmarks/speed.py --quick          # small sizes: the same code paths, in a minute or two
    python benchmarks/speed.py --only mano score_ho3d --json
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

from harness import describe

#: The table's rows, in its order: the module whose ``speed_rows`` produces them.
BENCHMARKS = {
    "score_ho3d": "bench_score_ho3d",
    "score_interhand": "bench_score",
    "labels": "bench_labels",
    "convert": "bench_convert",
    "mano": "bench_mano_forward",
}


def markdown(rows: list[dict]) -> str:
    lines = ["| work | handeval | anchor, same run | ratio | goal | met |", "|---|---|---|---:|---|---|"]
    for r in rows:
        o, a = r["ours"], r["anchor"]
        ours = (f"{o['per_cpu_s']:,.0f} {o['unit']}/CPU-s; {o['wall_s']:,.1f} s wall, {o['cpu_s']:,.1f} CPU-s, "
                f"{o['peak_mib']:,.0f} MiB")
        anchor = f"{a['name']}: {a['per_cpu_s']:,.1f} {a['unit']}/CPU-s"
        lines.append(f"| {r['work']} | {ours} | {anchor} | {r['ratio']:,.1f}× | {r['goal']} | "
                     f"{'yes' if r['met'] else '**no**'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (the same code paths)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in BENCHMARKS:
        if name not in args.only:
            continue
        start = time.perf_counter()
        got = importlib.import_module(BENCHMARKS[name]).speed_rows(args.quick)
        for r in got:
            r["benchmark_seconds"] = time.perf_counter() - start
            if not args.json:
                print(describe(r), flush=True)
        rows += got
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print()
    print(markdown(rows))
    sys.exit(0 if all(r["met"] for r in rows) else 1)


if __name__ == "__main__":
    main()
