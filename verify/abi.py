"""The AAPCS64 contract of a callable function, and its proof.

Contract: on every path that returns, it returns to the caller's x30, and x19-x29, sp and
d8-d15 (the low 64 bits of v8-v15) hold their entry values. Everything else may change.

Assumptions, stated in every report: sp is 16-byte aligned on entry; memory reached through
a pointer that is not derived from sp lies outside the function's own frame (the
`FRAME_BYTES` below sp on entry), which is what a caller can rely on under AAPCS64.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from .audit import audit
from .explore import EndKind, Explorer, Limits, Mode, Path, PathEnd
from .machine import MemAccess, State, initial_memory, reg_offset
from .program import Function, Program
from .replay import SENTINEL, InitialMemory, ReplayResult, replay

CALLEE_SAVED = [f"x{i}" for i in range(19, 30)] + ["sp"]
FP_CALLEE_SAVED = [f"d{i}" for i in range(8, 16)]
INPUT_REGS = [f"x{i}" for i in range(31)] + ["sp"]
FRAME_BYTES = 64 * 1024
BOUND = 8

ASSUMPTIONS = [
    "sp is 16-byte aligned on entry",
    f"memory reached through a pointer not derived from sp lies outside the "
    f"{FRAME_BYTES // 1024} KiB below sp on entry (the callee's own frame, AAPCS64)",
]


@dataclass
class TraceRow:
    addr: int
    line: str
    text: str
    regs: str
    memory: str


@dataclass
class Counterexample:
    sentence: str
    registers: dict[str, int]
    memory: list[tuple[int, int, int]]           # (address, size, value) read on the path
    trace: list[TraceRow]
    return_line: str
    # "confirmed": replayed on unicorn, the violation shows; "not replayable": the replay
    # stopped at an instruction unicorn cannot run here (a firmware call); "not confirmed":
    # the machine disagrees with the verifier's semantics, a verifier defect.
    replay_status: str = ""
    replay: str = ""             # how the replay ended

    @property
    def confirmed(self) -> bool:
        return self.replay_status == "confirmed"


@dataclass
class Result:
    function: str
    verdict: str                 # PROVED, BOUNDED, FAILED, UNKNOWN, NO CONTRACT
    contract: str
    location: str
    bytes_hash: str
    paths: int = 0
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)
    unmodelled: list[dict] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    loops: str = ""
    counterexample: Counterexample | None = None
    accepted: str = ""           # reason, when an UNKNOWN or BOUNDED is accepted


def entry_state(func: Function) -> State:
    regs: dict = {}
    state = State(regs, None, [], func.addr)
    for name in INPUT_REGS:
        state.set_reg(name, z3.BitVec(name, 64))
    for i in range(32):
        state.set_reg(f"q{i}", z3.BitVec(f"q{i}", 128))
    nzcv = z3.BitVec("nzcv", 4)
    state.set_reg("cc_op", z3.BitVecVal(0, 64))
    state.set_reg("cc_dep1", z3.ZeroExt(32, z3.Concat(nzcv, z3.BitVecVal(0, 28))))
    state.set_reg("cc_dep2", z3.BitVecVal(0, 64))
    state.set_reg("cc_ndep", z3.BitVecVal(0, 64))
    sp = z3.BitVec("sp", 64)
    state.constraints += [sp & 15 == 0, z3.UGE(sp, FRAME_BYTES), z3.ULT(sp, 2 ** 63)]
    return state


def _mentions(expr: z3.ExprRef, name: str) -> bool:
    todo, seen = [expr], set()
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_const(e) and e.decl().name() == name:
            return True
        todo.extend(e.children())
    return False


def frame_assumption(acc: MemAccess) -> z3.BoolRef | None:
    if _mentions(acc.addr, "sp"):
        return None
    sp = z3.BitVec("sp", 64)
    end = acc.addr + acc.size
    return z3.Or(z3.ULE(sp, acc.addr), z3.ULE(end, sp - FRAME_BYTES))


def _violations(ret: State) -> list[tuple[str, str, z3.BoolRef]]:
    """(register, sentence, condition) for each way the callee-saved state can break."""
    out = [(r, f"{r} on return differs from {r} on entry", ret.reg(r) != z3.BitVec(r, 64))
           for r in CALLEE_SAVED]
    for i in range(8, 16):
        entry_low = z3.Extract(63, 0, z3.BitVec(f"q{i}", 128))
        out.append((f"d{i}", f"d{i} on return differs from d{i} on entry",
                    ret.get(reg_offset(f"q{i}"), 64) != entry_low))
    return out


class AbiProof:
    def __init__(self, program: Program, func: Function):
        self.program = program
        self.func = func

    def run(self) -> Result:
        start = time.monotonic()
        func = self.func
        result = Result(func.name, "UNKNOWN", "AAPCS64 callable",
                        self.program.line(func.addr), func.bytes_hash,
                        assumptions=list(ASSUMPTIONS))
        for insn in self.program.instructions(func):
            verdict = audit(insn)
            if not verdict.modelled:
                result.unmodelled.append({"addr": insn.addr, "line": self.program.line(insn.addr),
                                          "instruction": insn.text, "reason": verdict.reason,
                                          "explored_past": verdict.recovery.value})
        summary = self._explore(Mode.SUMMARISE)
        result.paths = summary.paths
        verdict_from = summary
        if summary.failure is None and (summary.possible or summary.cut):
            bounded = self._explore(Mode.BOUNDED)
            result.paths += bounded.paths
            if bounded.failure is not None:
                verdict_from = bounded
            elif summary.possible:
                result.reasons.append(
                    "a violation is possible after summarising a loop, and none was found "
                    f"with loops unrolled {BOUND} times")
            elif not bounded.cut_other and not bounded.possible:
                verdict_from = bounded
        self._decide(result, verdict_from)
        result.seconds = time.monotonic() - start
        return result

    def _decide(self, result: Result, run: "_Run") -> None:
        if run.failure is not None:
            result.verdict = "FAILED"
            result.counterexample = run.failure
            return
        other_reached = set()
        for addr, reason in run.unmodelled_reached:
            other_reached.add(addr)
        if result.unmodelled:
            names = ", ".join(f"`{u['instruction']}` at {u['line']}" for u in result.unmodelled)
            result.reasons.append(f"unmodelled instructions: {names}")
        result.reasons.extend(run.cut_other)
        result.reasons.extend(run.possible)
        if run.mode == Mode.BOUNDED:
            result.loops = (f"loops unrolled up to {BOUND} arrivals per loop head; "
                            f"{len(run.cut)} path(s) stopped at the bound")
        elif run.summarised:
            result.loops = f"{run.summarised} loop(s) summarised for every iteration count"
        else:
            result.loops = "no loops on any path"
        if result.reasons:
            result.verdict = "UNKNOWN"
        elif run.mode == Mode.BOUNDED and run.cut:
            result.verdict = "BOUNDED"
        else:
            result.verdict = "PROVED"

    def _explore(self, mode: Mode) -> "_Run":
        ret = z3.BitVec("x30", 64)
        explorer = Explorer(self.program, self.func, Limits(mode=mode, bound=BOUND), ret,
                            assume_access=frame_assumption)
        ends = explorer.run(entry_state(self.func))
        run = _Run(mode, explorer.paths_explored)
        if explorer.incomplete:
            run.cut_other.append(f"more than {explorer.limits.max_paths} paths; not all explored")
        for end in ends:
            for addr, verdict in end.path.unmodelled:
                run.unmodelled_reached.append((addr, verdict.reason))
            if end.kind == EndKind.RETURN:
                run.returns += 1
                self._check_return(end, run)
            elif end.kind == EndKind.CLOSED:
                if end.detail == "loop summarised":
                    run.summarised += 1
            elif end.kind == EndKind.BOUND:
                run.cut.append(end)
            elif end.kind == EndKind.NOT_SUMMARISED:
                run.cut.append(end)
                run.cut_other.append(f"loop at {self.program.line(end.addr)}: {end.detail}")
            elif end.kind == EndKind.UNMODELLED:
                pass  # already listed by the audit
            else:
                run.cut_other.append(f"{end.kind.value} at {self.program.line(end.addr)}: "
                                     f"{end.detail}")
            if run.failure is not None:
                break
        if run.returns == 0 and not explorer.incomplete:
            # Nothing returned: the contract held on no path at all. Say so rather than
            # report a vacuous PROVED.
            run.cut_other.append("no explored path returns, so the contract was checked on "
                                 "none (vacuous); a callable function must return")
        run.cut_other = sorted(set(run.cut_other))
        run.possible = sorted(set(run.possible))
        return run

    def _check_return(self, end: PathEnd, run: "_Run") -> None:
        state = end.path.state
        ret = z3.BitVec("x30", 64)
        checks = [("returns to an address other than x30 on entry", end.target != ret,
                   lambda r, entry: not r.returned)]
        returning = end.target == ret
        for name, text, bad in _violations(state):
            checks.append((text, z3.And(returning, bad),
                           lambda r, entry, name=name: r.returned and r.regs[name] != entry[name]))
        quick = z3.Solver()  # one query for the common case: nothing can go wrong
        quick.add(*state.constraints)
        quick.add(z3.Or(*[bad for _, bad, _ in checks]))
        if quick.check() == z3.unsat:
            return
        opaque = list(state.opaque) + list(end.path.widened)
        for sentence, bad, replay_shows in checks:
            found = self._model(state.constraints + [bad], opaque)
            if found is None:
                continue
            model, whatever_opaque = found
            cx = self._counterexample(end, model, sentence)
            result, entry = self._replay(model)
            cx.replay = result.detail
            cx.replay_status = ("confirmed" if replay_shows(result, entry) else
                                "not replayable" if result.stopped_by_exception else
                                "not confirmed")
            # Real if the path has nothing unknown on it, if it breaks whatever the unknown
            # values are, or if the machine shows it.
            if not opaque or whatever_opaque or cx.replay_status == "confirmed":
                run.failure = cx
                return
            run.possible.append(f"possible violation at {self.program.line(end.addr)}: "
                                f"{sentence} (the path has values the verifier does not model, "
                                f"and replaying the model did not show it: {result.detail})")

    @staticmethod
    def _model(constraints: list[z3.BoolRef], opaque: list) -> tuple[z3.ModelRef, bool] | None:
        """A model of the violation, and whether it holds whatever the opaque values are.

        x30 is pinned to the replay's return address where possible, so that the replay
        starts from exactly the model's state."""
        pinned = [z3.BitVec("x30", 64) == SENTINEL]
        attempts = []
        if opaque:
            attempts.append(([z3.ForAll(opaque, z3.And(*constraints))] + pinned, True))
        attempts += [(constraints + pinned, not opaque), (constraints, not opaque)]
        for attempt, universal in attempts:
            s = z3.Solver()
            s.add(*attempt)
            if s.check() == z3.sat:
                return s.model(), universal
        return None

    def _replay(self, model: z3.ModelRef) -> tuple[ReplayResult, dict[str, int]]:
        """Run the model's inputs on unicorn; the result and the entry values it started from."""
        ev = lambda e: model.eval(e, model_completion=True).as_long()
        regs = {r: ev(z3.BitVec(r, 64)) for r in INPUT_REGS}
        vregs = {i: ev(z3.BitVec(f"q{i}", 128)) for i in range(32)}
        entry = dict(regs, x30=SENTINEL)
        entry.update({f"d{i}": vregs[i] & (2 ** 64 - 1) for i in range(8, 16)})
        memory = InitialMemory(model, initial_memory())
        result = replay(self.program, self.func, regs, vregs, ev(z3.BitVec("nzcv", 4)), memory)
        return result, entry

    def _counterexample(self, end: PathEnd, model: z3.ModelRef, sentence: str) -> Counterexample:
        ev = lambda e: model.eval(e, model_completion=True).as_long()
        regs = {r: ev(z3.BitVec(r, 64)) for r in INPUT_REGS}
        regs["nzcv"] = ev(z3.BitVec("nzcv", 4))
        memory, rows = [], []
        for effect in end.path.trace:
            insn = self.program.instruction(effect.addr)
            touched = []
            for acc in effect.accesses:
                a, v = ev(acc.addr), ev(acc.value)
                touched.append(f"{acc.kind} [0x{a:x}] = 0x{v:x}")
                if acc.kind.startswith("load"):
                    memory.append((a, acc.size, v))
            rows.append(TraceRow(effect.addr, self.program.line(effect.addr), insn.text,
                                 ", ".join(dict.fromkeys(effect.regs_written)),
                                 "; ".join(touched)))
        where = self.program.line(end.addr)
        return Counterexample(f"{sentence} (returning at {where})", regs, memory, rows, where)


@dataclass
class _Run:
    mode: Mode
    paths: int
    failure: Counterexample | None = None
    possible: list[str] = field(default_factory=list)
    cut: list[PathEnd] = field(default_factory=list)
    cut_other: list[str] = field(default_factory=list)
    unmodelled_reached: list[tuple[int, str]] = field(default_factory=list)
    summarised: int = 0
    returns: int = 0
