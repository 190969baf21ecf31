"""Runs every function's check against its contract and applies the accepted results."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .prove import Proof, Result
from .audit import audit
from .program import Program
from .spec import Acceptance, NotCallable, contracts_for, load_acceptances

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
    return result


def accept(result: Result, acceptance: Acceptance | None) -> None:
    """Mark a result accepted when the acceptance file covers exactly this kind of result."""
    if acceptance is None or acceptance.verdict != result.verdict:
        return
    if result.verdict == "UNKNOWN" and not all(
            r.startswith(UNMODELLED_REASON) for r in result.reasons):
        return  # accepted for unmodelled instructions only, not for what else it found
    result.accepted = acceptance.reason


def check_all(program: Program, root: Path, only: list[str] | None = None,
              progress: Callable[[Result], None] | None = None) -> tuple[list[Result], list[str]]:
    """Results for every function (or those in `only`), and warnings about the acceptances."""
    contracts = contracts_for(program, root)
    acceptances = load_acceptances(root)
    names = list(program.functions) if not only else only
    results, warnings = [], []
    for name in names:
        if name not in program.functions:
            raise KeyError(f"no function named {name} in {program.elf_path}")
        contract = contracts[name]
        if isinstance(contract, NotCallable):
            result = _not_callable(program, name, contract)
        else:
            result = Proof(program, program.functions[name], contract).run()
        accept(result, acceptances.get(name))
        results.append(result)
        if progress:
            progress(result)
    by_name = {r.function: r for r in results}
    for name, acc in acceptances.items():
        r = by_name.get(name)
        if r is None and not only and name not in program.functions:
            warnings.append(f"specs/accepted.toml: {name} is not a function any more; remove it")
        elif r is not None and r.verdict in ("PROVED", "NO CONTRACT"):
            warnings.append(f"specs/accepted.toml: {name} is {r.verdict} now; remove its entry")
    return results, warnings
