"""What each speed patch of rasa_ext/patches.py gains: the channel benchmark with every
patch, then with each one left out, alternated over several rounds.

    .venv-rasa/bin/python -m bench.patch_gains                    # 3 rounds, slack, 32 and 64
    .venv-rasa/bin/python -m bench.patch_gains --rounds 1 --patches intent_scores

Each run is `bench.channels --channels slack --concurrency 32 64 --no-baseline` with
`NIMBUS_RASA_PATCHES_OFF=<patch>` (empty for "all"); configurations alternate within each
round so that a change in the machine's load hits all of them alike. The table gives, per
configuration and level, the median over rounds and the range (min-max), which is the
run-to-run noise a gain must clear. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rasa_ext.patches import PATCHES  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SPEED = list(PATCHES)  # every patch left is a speed patch (the apology is not a patch)
FIGURES = ("ack_p99_ms", "overhead_p50_ms", "overhead_p99_ms", "msgs_per_s", "errors", "duplicates")


def run(config: str, round_no: int, args: argparse.Namespace) -> Path:
    tag = f"gains-{config.replace('+', '-')}-r{round_no}"
    off = "" if config == "all" else config.replace("+", ",")
    env = {**os.environ, "NIMBUS_RASA_PATCHES_OFF": off}
    cmd = [sys.executable, "-m", "bench.channels", "--channels", args.channel, "--no-baseline"]
    cmd += ["--concurrency", *map(str, args.concurrency), "--turns", str(args.turns), "--tag", tag]
    if not (config == "all" and round_no == 1):
        cmd.append("--no-prepare")  # the first run ingested and trained if anything changed
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"  {config:<18} round {round_no}: {time.monotonic() - started:.0f} s", flush=True)
    return RESULTS / f"channels-{tag}.json"


def cpu_rasa(row: dict) -> float:
    return float(row.get("cpu_ms_per_msg", {}).get("rasa", 0))


def table(results: dict[str, list[Path]]) -> list[str]:
    lines = [
        "| without | conv. | ack p99 ms | overhead p50 ms | overhead p99 ms | answered/s | Rasa CPU ms/msg "
        "| errors | dup. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for config, paths in results.items():
        runs = [json.loads(p.read_text())["rows"] for p in paths if p.exists()]
        levels = sorted({row["concurrency"] for rows in runs for row in rows})
        for level in levels:
            rows = [row for rows in runs for row in rows if row["concurrency"] == level]

            def cell(values: list[float]) -> str:
                return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"

            lines.append(
                f"| {'(all on)' if config == 'all' else config} | {level} "
                f"| {cell([r['ack_p99_ms'] for r in rows])} "
                f"| {cell([r['overhead_p50_ms'] for r in rows])} "
                f"| {cell([r['overhead_p99_ms'] for r in rows])} "
                f"| {statistics.median(r['msgs_per_s'] for r in rows):.1f} "
                f"| {cell([cpu_rasa(r) for r in rows])} "
                f"| {sum(r['errors'] for r in rows)} | {sum(r['duplicates'] for r in rows)} |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--patches",
        nargs="+",
        default=SPEED,
        help="patches to leave out one at a time; `a+b` leaves out a group together",
    )
    parser.add_argument("--channel", default="slack")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--turns", type=int, default=6)
    args = parser.parse_args(argv)
    unknown = {name for config in args.patches for name in config.split("+")} - set(SPEED)
    if unknown:
        parser.error(f"unknown patches {sorted(unknown)}; speed patches: {SPEED}")
    configs = ["all", *args.patches]
    results: dict[str, list[Path]] = {config: [] for config in configs}
    for round_no in range(1, args.rounds + 1):
        print(f"==> round {round_no} of {args.rounds}", flush=True)
        for config in configs:
            results[config].append(run(config, round_no, args))
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
