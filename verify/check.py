"""Runs every function's check against its contract, from the cache where nothing changed,
in parallel where asked, and applies the accepted results."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Callable

from . import sysorder
from .audit import audit
from .cache import ProofCache
from .program import Program
from .prove import BUDGET_REASON, PROOF_BUDGET, Proof, Result
from .roundtrip import RoundTripProof
from .heap import HeapInvariant
from .spec import (Acceptance, NotCallable, RoundTrip, contracts_for, heap_links,
                   load_acceptances, spec_file)

UNMODELLED_REASON = "unmodelled instructions"


def _not_callable(program: Program, name: str, contract: NotCallable) -> Result:
    func = program.functions[name]
    result = Result(name, "NO CONTRACT", f"not callable: {contract.reason}",
                    program.line(func.addr), func.bytes_hash)
    for insn in program.instructions(func):
        verdict = audit(insn)
        if not verdict.modelled:
            result.unmodelled.append({"addr": insn.addr, "line": program.line(insn.addr),
                                      "instruction": insn.text, "reason": verdict.reason,
                                      "explored_past": "not explored: no contract"})
    return _system_ordering(program, result)


def accept(result: Result, acceptance: Acceptance | None) -> None:
    """Mark a result accepted when the acceptance file covers exactly this kind of result."""
    if acceptance is None or acceptance.verdict != result.verdict:
        return
    if result.verdict == "UNKNOWN" and not all(
            r.startswith((UNMODELLED_REASON, BUDGET_REASON)) for r in result.reasons):
        return  # accepted for unmodelled instructions or a spent budget only, never for a
        # possible violation
    result.accepted = acceptance.reason


# -- worker processes: each loads the ELF and the specs once --------------------------------
_worker: dict = {}


def _worker_init(elf: Path, root: Path) -> None:
    program = Program(elf, root)
    _worker.update(program=program, contracts=contracts_for(program, root),
                   heap=HeapInvariant(program, heap_links(root)))


def _worker_prove(name: str, budget: float) -> Result:
    return prove_one(_worker["program"], name, _worker["contracts"], budget, _worker["heap"])


def switch_entries(program: Program, contracts: dict) -> dict[int, str]:
    """Entries of the voluntary switches: calls to them are summarised by their round trip."""
    return {program.functions[name].addr: name for name, c in contracts.items()
            if isinstance(c, RoundTrip) and c.kind == "voluntary"}


def prove_one(program: Program, name: str, contracts: dict,
              budget: float = PROOF_BUDGET, heap: HeapInvariant | None = None) -> Result:
    contract = contracts[name]
    if isinstance(contract, RoundTrip):
        result = RoundTripProof(program, name, contract).run()
    else:
        result = Proof(program, program.functions[name], contract,
                       switches=switch_entries(program, contracts),
                       summaries=call_summaries(program, contracts), budget=budget,
                       heap=heap).run()
    return _system_ordering(program, result)


def _system_ordering(program: Program, result: Result) -> Result:
    """A function that breaks a system-ordering rule (verify/sysorder.py) fails, whatever
    its contract's verdict: those barriers are outside every other check."""
    broken = sysorder.check(program, program.functions[result.function])
    if broken:
        result.verdict = "FAILED"
        result.reasons += [f"system ordering: {v.describe(program)}" for v in broken]
    return result


def call_summaries(program: Program, contracts: dict) -> dict[int, tuple[str, object]]:
    """Callees whose explicit contract (one that names its memory frame) stands in for their
    code at a call. Each is proved on its own; a caller's report names the ones it relied on."""
    from .spec import MEMORY, Contract
    return {program.functions[name].addr: (name, c) for name, c in contracts.items()
            if isinstance(c, Contract) and MEMORY not in c.maychange and not c.handoff}


def _bounded_by(r: Result, callees: list[Result]) -> None:
    """A proof that took a BOUNDED callee's contract holds as far as that bound does: it is
    BOUNDED too, accepted for the callee's stated reason."""
    r.verdict = "BOUNDED"
    if all(c.accepted for c in callees):   # else it fails the gate as its callee does
        r.accepted = "; ".join(f"relies on the contract of {c.function}, BOUNDED: "
                               f"{c.accepted}" for c in callees)
    r.loops = (r.loops + "; " if r.loops else "") + "callees' loops as their bounds say: " + \
        ", ".join(c.function for c in callees)


def _downgrade(r: Result, weak: list[Result], acceptance: Acceptance | None) -> None:
    """A PROVED that took these callees' contracts on trust, while they are not PROVED or
    BOUNDED, is UNKNOWN. Only a callee's spent budget passes on as a budget reason
    (acceptable with the caller's own entry); anything else blocks the gate."""
    r.verdict = "UNKNOWN"
    for callee in weak:
        budget = callee.verdict == "UNKNOWN" and all(
            x.startswith(BUDGET_REASON) for x in callee.reasons)
        r.reasons.append(f"{BUDGET_REASON} of {callee.function} ran out and this proof relies "
                         f"on its contract" if budget else
                         f"relies on the contract of {callee.function}, which is "
                         f"{callee.verdict}")
    r.accepted = ""
    accept(r, acceptance)


def check_all(program: Program, root: Path, only: list[str] | None = None,
              progress: Callable[[Result], None] | None = None, jobs: int = 1,
              cache: ProofCache | None = None,
              budget: float = PROOF_BUDGET) -> tuple[list[Result], list[str]]:
    """Results for every function (or those in `only`, and the callees whose contracts their
    proofs relied on), and warnings about the acceptances."""
    contracts = contracts_for(program, root)
    heap = HeapInvariant(program, heap_links(root))
    acceptances = load_acceptances(root)
    names = list(program.functions) if not only else only
    for name in names:
        if name not in program.functions:
            raise KeyError(f"no function named {name} in {program.elf_path}")
    results: dict[str, Result] = {}

    def done(result: Result, fresh: bool) -> None:
        accept(result, acceptances.get(result.function))
        if fresh and cache is not None:
            cache.put(result, spec_file(program, root, result.function))
        results[result.function] = result
        if progress:
            progress(result)

    def check(batch: list[str]) -> None:
        to_prove = []
        for name in batch:
            contract = contracts[name]
            if isinstance(contract, NotCallable):
                done(_not_callable(program, name, contract), fresh=False)
                continue
            hit = cache.get(name, spec_file(program, root, name), budget) if cache else None
            if hit is not None:
                hit.cached = True
                done(hit, fresh=False)
            else:
                to_prove.append(name)
        if jobs > 1 and len(to_prove) > 1:
            with concurrent.futures.ProcessPoolExecutor(
                    jobs, initializer=_worker_init, initargs=(program.elf_path, root)) as pool:
                for result in pool.map(_worker_prove, to_prove, [budget] * len(to_prove)):
                    done(result, fresh=True)
        else:
            for name in to_prove:
                done(prove_one(program, name, contracts, budget, heap), fresh=True)

    # The callees whose contracts a proof relied on are checked too, so that even a run on
    # a few functions can tell whether those contracts hold.
    batch = list(names)
    while batch:
        check(batch)
        batch = sorted({c for r in results.values() for c in r.depends_on_contracts
                        if c not in results and c in program.functions})

    # A proof that took a callee's contract on trust holds only as far as that contract does.
    # Repeated until nothing changes: a downgrade passes on to the callee's own callers.
    changed = True
    while changed:
        changed = False
        for r in results.values():
            weak = [c for c in r.depends_on_contracts
                    if c in results and results[c].verdict not in ("PROVED", "BOUNDED")]
            if r.verdict == "PROVED" and weak:
                _downgrade(r, [results[c] for c in weak], acceptances.get(r.function))
                changed = True
            bounded = [c for c in r.depends_on_contracts
                       if c in results and results[c].verdict == "BOUNDED"]
            if r.verdict == "PROVED" and bounded:
                _bounded_by(r, [results[c] for c in bounded])
                changed = True
    # A counterexample shown to hold for whatever the callees' contracts allow is real only if
    # those contracts hold: where one is not PROVED it is a possible violation.
    for r in results.values():
        cx = r.counterexample
        weak = [c for c in (cx.rests_on if cx is not None else [])
                if c in results and results[c].verdict != "PROVED"]
        ordering = any(x.startswith("system ordering:") for x in r.reasons)
        if r.verdict == "FAILED" and weak and not ordering:
            r.verdict = "UNKNOWN"
            r.reasons.append(f"possible violation: {cx.sentence} (shown for whatever the "
                             f"contracts of {', '.join(weak)} allow, and they are not PROVED)")
    ordered = [results[name] for name in names] + [r for name, r in results.items()
                                                   if name not in names]
    warnings = []
    for name, acc in acceptances.items():
        r = results.get(name)
        if r is None and not only and name not in program.functions:
            warnings.append(f"specs/accepted.toml: {name} is not a function any more; remove it")
        elif r is not None and r.verdict in ("PROVED", "NO CONTRACT"):
            warnings.append(f"specs/accepted.toml: {name} is {r.verdict} now; remove its entry")
    return ordered, warnings
