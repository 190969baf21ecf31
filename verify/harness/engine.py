"""A harness decided under Arm's model, with a verdict and, when it fails, a counterexample a
person can debug a race from.

The executions are those of verify/litmus (the checker that agrees with herd on its corpus):
each core's paths through the shipped code, every reads-from and coherence order coherence
allows, each judged by Arm's axioms. Verdicts:

- PROVED: no allowed execution breaks the condition, no loop was cut, and some execution
  completes (a harness whose every path waits forever proves nothing);
- BOUNDED: as PROVED on the paths within the unroll bound, which the report states;
- FAILED: an allowed execution breaks it (the counterexample);
- UNKNOWN: with the reason.

Each harness has a time budget (HARNESS_BUDGET): past it the verdict is UNKNOWN, never a
pass. Spin and retry loops are reduced (an iteration that wrote nothing and changed no live
register ends its path, threads.py): this assumes every such loop ends, which is a liveness
property and is not checked here; the report counts the iterations so ended.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..fingerprint import atomic_write, modules_hash
from ..litmus.explain import why_allowed, write_graph
from ..litmus.model import INIT_TID, Execution
from ..litmus.parse import LitmusError
from ..litmus.run import Outcome, run
from ..litmus.threads import UNROLL, OutOfTime, time_limit
from ..program import Program
from .spec import Harness, HarnessError
from .translate import Translation, translate

PROVED, BOUNDED, FAILED, UNKNOWN = "PROVED", "BOUNDED", "FAILED", "UNKNOWN"
HARNESS_BUDGET = 120.0     # seconds for one harness's executions (the slowest takes ~3 s)
BUDGET_REASON = "harness budget"


@dataclass
class HarnessResult:
    harness: Harness
    verdict: str
    reasons: list[str]
    seconds: float
    translation: Translation
    outcome: Outcome | None = None
    sentence: str = ""                     # the missing ordering, at its source line
    unroll: int = UNROLL
    files: list[Path] = field(default_factory=list)
    cached: bool = False                   # the outcome came from the OutcomeCache

    @property
    def name(self) -> str:
        return self.harness.name

    def communicating(self) -> set[int]:
        """Addresses of the ELF's accesses that read from or are read by another core in
        some allowed execution."""
        if self.outcome is None:
            return set()
        rows = self.translation.rows
        return {rows[k].addr for k in self.outcome.communicating
                if k in rows and rows[k].addr is not None}


class OutcomeCache:
    """The engine's outcomes by everything that decides them: the litmus test the harness
    became (its text, its blocks and their initial fields, the source line of each row), the
    unroll bound and the engine's own source. A harness with an `execution` check (code of
    its spec, which may call anything) is not cached. An outcome is stored only when every
    execution was built: a spent budget is never kept. An unreadable entry is a miss."""

    def __init__(self, directory: Path):
        self.directory = directory

    def key(self, tr: Translation, unroll: int, verdict_only: bool = False) -> str:
        test = tr.test
        parts = [modules_hash("harness/engine.py"), str(unroll),
                 "verdict only" if verdict_only else "every execution",
                 tr.text, repr(sorted(test.blocks.items())),
                 repr(sorted(test.block_init.items())),
                 repr(sorted(test.sources.items()))]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def get(self, key: str, test) -> tuple[Outcome, str] | None:
        """The outcome and the sentence explaining its violation (costly to find)."""
        try:
            outcome, sentence = pickle.loads((self.directory / f"{key}.pickle").read_bytes())
        except Exception:            # absent, truncated, or from another version of a class
            return None
        if not isinstance(outcome, Outcome) or not isinstance(sentence, str):
            return None
        outcome.test = test          # not stored: it holds the spec's `execution` function
        return outcome, sentence

    def put(self, key: str, outcome: Outcome, sentence: str) -> None:
        test, outcome.test = outcome.test, None
        try:
            data = pickle.dumps((outcome, sentence))
            pickle.loads(data)       # what cannot be read back is not kept
        except Exception:
            return
        finally:
            outcome.test = test
        atomic_write(self.directory / f"{key}.pickle", data)


def check(h: Harness, program: Program, mutations: dict[int, str] | None = None,
          unroll: int = UNROLL, budget: float = HARNESS_BUDGET,
          cache: OutcomeCache | None = None, verdict_only: bool = False) -> HarnessResult:
    """The harness (with the instructions at `mutations` replaced) under the model. With
    `verdict_only` the search stops at the first violation (the barrier report's weakened
    variants need no more than the verdict)."""
    start = time.monotonic()
    tr = translate(h, program, mutations)
    if h.execution is not None:
        cache = None                 # its `execution` check may run code from anywhere
    key = cache.key(tr, unroll, verdict_only) if cache else ""
    hit = cache.get(key, tr.test) if cache else None
    if hit is None:
        try:
            with time_limit(budget):
                outcome = run(tr.test, unroll=unroll, first_violation=verdict_only)
        except LitmusError as exc:
            raise HarnessError(_located(tr, exc)) from exc
        except OutOfTime:
            return HarnessResult(h, UNKNOWN, [f"{BUDGET_REASON} of {budget:.0f} s spent before "
                                              "every execution was built"],
                                 time.monotonic() - start, tr, unroll=unroll)
        sentence = why_allowed(outcome.violation) if outcome.violation is not None else ""
        if cache:
            cache.put(key, outcome, sentence)
    else:
        outcome, sentence = hit
    seconds = time.monotonic() - start
    reasons = []
    allowed = outcome.positive + outcome.negative
    if outcome.awaited:
        reasons.append("spin and retry loops were reduced, assuming each ends (not checked): "
                       + ", ".join(f"{n} iteration(s) at {_place(tr, p)}"
                                   for p, n in sorted(outcome.awaited.items())))
    reasons += [f"outside the model: {note}" for note in tr.outside_model]
    if not outcome.ok:
        verdict = FAILED
        if outcome.gone_wrong and outcome.violation.errors:
            reasons.insert(0, f"an allowed execution breaks the code: "
                              f"{_located(tr, outcome.violation.errors[0])}")
        elif outcome.gone_wrong:
            reasons.insert(0, f"an allowed execution breaks {outcome.gone_wrong}")
        elif outcome.violation is None:
            reasons.insert(0, f"no allowed execution satisfies `{tr.test.condition.text}`")
    elif allowed == 0:
        verdict = UNKNOWN
        reasons.insert(0, "no execution completes (every path waits forever, or was cut): "
                          "the condition holds of nothing")
    elif outcome.cut:
        verdict = BOUNDED
        reasons.insert(0, f"loops unrolled {unroll} times; paths past that were not checked "
                          f"(cut at {', '.join(_place(tr, c) for c in outcome.cut)})")
    else:
        verdict = PROVED
    return HarnessResult(h, verdict, reasons, seconds, tr, outcome, sentence, unroll=unroll,
                         cached=hit is not None)


def _place(tr: Translation, place: str) -> str:
    """A thread's label (`P0:L40080494`, or `L40080494`) as its asm/ source line."""
    tid, _, label = place.rpartition(":")
    for t, rows in enumerate(tr.threads):
        if tid and tid != f"P{t}":
            continue
        for r in rows:
            if r.text.startswith(label + ":"):
                return r.source
    return place


def _located(tr: Translation, exc: LitmusError) -> str:
    """The engine's error at the asm/ line of the instruction it names."""
    rows = [r for (t, line), r in tr.rows.items() if line == exc.line]
    named = [r for r in rows if r.text.split(":")[-1].strip() in exc.message] or rows
    where = ", ".join(sorted({r.source for r in named})) or f"line {exc.line}"
    return f"harness {tr.harness.name}: {where}: {exc.message}"


def interleaving(ex: Execution, cores: int) -> list[list[str]]:
    """The execution as rows with one column per core: events in an order that follows
    program order and, where it can, reads-from and coherence; an event that had to be
    placed against them (the weak part of the execution) is marked `<- reordered`."""
    ev = {e.id: e for e in ex.events}
    rel = ex.relations
    comm = {(a, b) for n in ("rf", "co", "fr") for a, b in rel.get(n, ())
            if ev[a].tid != ev[b].tid and INIT_TID not in (ev[a].tid, ev[b].tid)}
    queues = [[e for e in ex.events if e.tid == t] for t in range(cores)]
    done: set[int] = set()
    rows = []
    while any(queues):
        ready = [q[0] for q in queues if q and all(a in done for a, b in comm if b == q[0].id)]
        e = ready[0] if ready else next(q[0] for q in queues if q)
        queues[e.tid].pop(0)
        done.add(e.id)
        row = [""] * cores
        row[e.tid] = _describe(ex, e)
        if not ready:            # no order of the rows follows communication: the race
            early = [ev[a] for a, b in comm if b == e.id and a not in done]
            row[e.tid] += "  <- before " + ", ".join(
                f"P{x.tid}'s {x.kind} {x.loc} ({x.where or 'harness'})" for x in early) + \
                " in the model's order"
        rows.append(row)
    return rows


def _describe(ex: Execution, e) -> str:
    ev = {x.id: x for x in ex.events}
    if e.kind == "F":
        return f"{e.text}  ({e.where})"
    tags = "".join(sorted(t for t in e.tags if t in "AQLX"))
    what = f"{e.kind}{tags} {e.loc}={e.value}"
    if e.kind == "R":
        src = ev[ex.rf[e.id]]
        what += " (initial)" if src.tid == INIT_TID else \
            f" (from P{src.tid} {src.where or 'harness'})"
    return f"{what}  `{e.text}`  {e.where or 'harness'}"


def write_counterexample(result: HarnessResult, directory: Path) -> list[Path]:
    """The violating execution as DOT and SVG beside the report."""
    ex = result.outcome.violation if result.outcome else None
    if ex is None:
        return []
    result.files = write_graph(ex, result.name, directory, f"{result.name}-counterexample")
    return result.files
