"""Reports of the harnesses and of barrier necessity: reports/harness/<name>.md (with the
harness as a .litmus file and, when it fails, its counterexample as DOT and SVG),
reports/barriers.md, and a section in the report of each function a harness runs."""

from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from .barriers import Site, Uncovered
from .engine import FAILED, HarnessResult, interleaving, write_counterexample


def write_harness(result: HarnessResult, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tr, o = result.translation, result.outcome
    (directory / f"{result.name}.litmus").write_text(tr.text)
    lines = [f"# harness {result.name}: {result.verdict}", "", result.harness.doc, "",
             f"- spec: `{result.harness.module}`",
             f"- condition: `{tr.test.condition.text}`",
             f"- functions run (their ELF bytes): {', '.join(tr.functions)}",
             f"- loops unrolled at most {result.unroll} times; " + (
                 f"{o.executions} candidate executions, {o.positive + o.negative} allowed by "
                 f"Arm's model; " if o else "not every execution built; ") +
             f"{result.seconds:.2f} s",
             f"- as a litmus test for herd7 or litmus7: `{result.name}.litmus`", ""]
    lines += ["## Cores", ""]
    for t, core in enumerate(result.harness.cores):
        lines.append(f"- P{t}: " + "; ".join(str(s) for s in core))
    if result.reasons:
        lines += ["", "## Assumed and not checked", ""] + [f"- {r}" for r in result.reasons]
    if o is not None and o.violation is not None:
        files = write_counterexample(result, directory)
        cores = len(result.harness.cores)
        lines += ["", "## Counterexample", "", result.sentence, "",
                  "The execution, one column per core (rows follow program order and, where "
                  "an order can, communication):", "",
                  tabulate(interleaving(o.violation, cores),
                           headers=[f"P{t}" for t in range(cores)], tablefmt="github"), "",
                  "Graph (po, rf, co, fr and the orderings that matter): " +
                  ", ".join(f"`{f.name}`" for f in files)]
    elif result.verdict == FAILED:
        lines += ["", "## Why it failed", "", result.reasons[0]]
    lines += ["", "## Final states", ""] + [f"- `{s}`" for s in (o.states if o else [])]
    path = directory / f"{result.name}.md"
    path.write_text("\n".join(lines) + "\n")
    (directory / f"{result.name}.json").write_text(json.dumps({
        "harness": result.name, "verdict": result.verdict, "reasons": result.reasons,
        "seconds": round(result.seconds, 3), "functions": tr.functions,
        "candidates": o.executions if o else None,
        "allowed": o.positive + o.negative if o else None,
        "condition": tr.test.condition.text, "sentence": result.sentence}, indent=2) + "\n")
    return path


def summary(results: list[HarnessResult]) -> str:
    rows = [[r.name, r.verdict, ", ".join(r.translation.functions), f"{r.seconds:.2f}s"]
            for r in results]
    return tabulate(rows, headers=["harness", "verdict", "functions run", "time"])


def barrier_table(sites: list[Site], missing: list[Uncovered]) -> str:
    rows = [[s.source, s.function, s.text, s.verdict, ", ".join(s.harnesses),
             s.sentence() + (f" ({s.note})" if s.note and s.note not in s.sentence() else "")]
            for s in sites]
    text = tabulate(rows, headers=["source", "function", "ordering", "verdict", "harnesses",
                                   "why"], tablefmt="github")
    if missing:
        text += "\n\nNot covered by any harness:\n\n" + tabulate(
            [[u.source, u.function, u.text, u.reason] for u in missing],
            headers=["source", "function", "ordering", "why not"], tablefmt="github")
    return text


def write_barriers(sites: list[Site], missing: list[Uncovered], reports: Path) -> Path:
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / "barriers.md"
    head = ["# Barrier necessity", "",
            "Each ordering in the code the harnesses run was weakened in turn (a DMB to its ST "
            "and LD forms and to nothing; an acquire, release or ordered RMW to its weaker "
            "forms) and every harness that runs it decided again. NEEDED: some weaker form "
            "breaks a harness, or dropping the DSB or ISB breaks a system-ordering rule "
            "(verify/sysorder.py: system-register writes, maintenance, SEV, SGIs). REDUNDANT: every weaker form is PROVED under every harness "
            "named, and the access talks to another core in one of them (a statement about "
            "those harnesses, under Arm's model). UNDECIDED: a weaker form was not decided, "
            "the access never talks to another core in them, or the barrier also orders "
            "something outside the model; never REDUNDANT.", ""]
    path.write_text("\n".join(head) + barrier_table(sites, missing) + "\n")
    return path


def function_sections(results: list[HarnessResult], sites: list[Site] | None,
                      reports: Path) -> None:
    """Append to each reports/<function>.md the harnesses that run it and its sites."""
    for fn in sorted({f for r in results for f in r.translation.functions}):
        path = reports / f"{fn}.md"
        if not path.is_file():
            continue
        lines = ["", "## Under weak memory", ""]
        lines += [f"- harness {r.name}: {r.verdict} (`harness/{r.name}.md`)" for r in results
                  if fn in r.translation.functions]
        for s in sites or []:
            if s.function == fn:
                lines.append(f"- `{s.text}` ({s.source}): {s.verdict}: {s.sentence()}")
        text = path.read_text().split("\n## Under weak memory\n")[0].rstrip("\n")
        path.write_text(text + "\n" + "\n".join(lines) + "\n")
