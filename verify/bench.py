"""Instruction-count benchmarks: the `bench` scenario under QEMU with -icount shift=0.

With -icount shift=0 QEMU retires one instruction per virtual time unit, and PMU event 0x08
(instructions retired) counts exactly, so every figure is the same on every run. Each is
printed beside BEAM's measured instructions per operation (`benchmarks/beam-baseline.tsv`).
How each is measured, and how the 1 ms tick is kept out of it, is in asm/scenarios/bench.s;
the runs column says which: N calls with IRQs masked, N ops per batch x B tick-free batches
(the fewest), or N samples, one per tick.  A spread is shown when the kept batches or samples
did not all count the same.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .build import Layout, build_elf
from .qemu import QemuError, boot, results

ICOUNT = ["-icount", "shift=0"]


def run_benchmarks(root: Path) -> list[dict[str, str]]:
    elf = build_elf(Layout(root, scenario="bench"))
    run = boot(elf, cores=1, timeout=120, extra=ICOUNT)
    if not run.powered_off:
        raise QemuError(f"the bench scenario did not power off:\n{run.output}")
    return [r for r in results(run.output) if "bench" in r]


def baseline(root: Path) -> dict[str, tuple[str, str]]:
    path = root / "benchmarks" / "beam-baseline.tsv"
    rows = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return {r["actly"]: (r["beam_metric"], r["beam_instructions"])
            for r in csv.DictReader(rows, delimiter="\t")}


def runs(result: dict[str, str]) -> str:
    """The runs column: how many operations the figure comes from, and how."""
    if "batches" in result:
        text = f"{result['runs']} x {result['batches']} batches"
    elif "spread" in result:
        text = f"{result['runs']} samples"
    else:
        text = result["runs"]
    if result.get("spread", "0") != "0":
        text += f" (spread {result['spread']})"
    return text


def table(root: Path) -> list[list[str]]:
    beam = baseline(root)
    rows = []
    for r in run_benchmarks(root):
        metric, count = beam.get(r["bench"], ("", ""))
        rows.append([r["bench"], r["instructions"], runs(r), metric, count or "-"])
    measured = {row[0] for row in rows}
    for name, (metric, count) in beam.items():
        if name not in measured:
            rows.append([name, "not built yet", "", metric, count or "-"])
    return rows
