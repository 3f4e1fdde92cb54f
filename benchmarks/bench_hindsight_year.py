"""Hindsight over a whole year: the demo's real DAGs run over all of 2013 (or the dates
given), then every decision of the promotion gate is judged on the 14 days that followed
it and the table with the share of right decisions is printed (`mlgate decisions`).

The demo is the product as an unattended deployment lives it: gray zones left to live
evidence, the watch after each promotion, the incidents of the demo's calendar. The run
keeps its state in `--home` (a fresh folder by default), so its Airflow and MLflow UIs can
be opened afterwards (`MLGATE_HOME=<home> mlgate up`). It takes about an hour on 2 cores.

    python benchmarks/bench_hindsight_year.py                      # 2013-01-01..2013-12-31
    python benchmarks/bench_hindsight_year.py --end 2013-06-30     # the demo's six months
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MLGATE = str(Path(sys.executable).with_name("mlgate"))


def run_demo(home: Path, start: str, end: str) -> float:
    """`mlgate demo` over start..end with its state in `home`; returns its wall time (s)."""
    began = time.perf_counter()
    subprocess.run(
        [MLGATE, "demo", "--start", start, "--end", end],
        env={**os.environ, "MLGATE_HOME": str(home)},
        check=True,
    )
    return time.perf_counter() - began


def decisions(home: Path) -> tuple[str, dict]:
    """The decisions table and its JSON form, judged on the demo's state in `home`."""
    env = {**os.environ, "MLGATE_HOME": str(home)}
    shown = subprocess.run(
        [MLGATE, "decisions", "--spec", "flights"], env=env, capture_output=True, text=True
    )
    listed = subprocess.run(
        [MLGATE, "decisions", "--spec", "flights", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    if shown.returncode or listed.returncode:
        raise SystemExit(f"mlgate decisions failed: {shown.stderr or listed.stderr}")
    return shown.stdout, json.loads(listed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2013-01-01")
    parser.add_argument("--end", default="2013-12-31")
    parser.add_argument(
        "--home", type=Path, help="a new folder for the demo's state (default: under /tmp)"
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="mlgate-year-")) / "home"
    took = run_demo(home, args.start, args.end)
    table, listed = decisions(home)
    s = listed["summary"]
    print(f"\ndemo {args.start}..{args.end}: {took / 60:.1f} min, state in {home}\n")
    print(table)
    share = f"{s['share']:.0%}" if s["share"] is not None else "-"
    print(f"\nright in hindsight: {s['right']} of {s['judged']} ({share}), {s['pending']} pending")
    by_kind: dict[str, list[int]] = {}
    for d in listed["decisions"]:
        counts = by_kind.setdefault(d["decision"], [0, 0, 0])
        counts[("right", "wrong", "pending").index(d["verdict"])] += 1
    print("\n| decision | right | wrong | pending |\n|---|---|---|---|")
    for kind, (right, wrong, pending) in sorted(by_kind.items()):
        print(f"| {kind} | {right} | {wrong} | {pending} |")


if __name__ == "__main__":
    main()
