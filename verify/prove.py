"""Proving one function against its contract (verify/spec.py).

Every path from the entry state is explored (verify/explore.py). On each path that returns,
the prover asks Z3 for a state where the contract breaks: a return to an address other than
x30 on entry, a register or system register outside the MAYCHANGE frame that changed, a
store outside the frame, or a false postcondition. A model is a counterexample; it is
replayed on unicorn before it is reported.

Assumptions, stated in every report: sp is 16-byte aligned on entry; memory reached through
a pointer that is not derived from sp lies outside the function's own frame (the
`FRAME_BYTES` below sp on entry), which is what a caller can rely on under AAPCS64; and
whatever each trusted overlay rule on the function's paths takes on trust.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from .audit import audit
from .explore import EndKind, Explorer, Limits, Mode, PathEnd
from .machine import MemAccess, State, initial_memory, reg_offset
from .overlay import SYSREG_KINDS, Kind
from .program import Function, Program
from .replay import SENTINEL, InitialMemory, ReplayResult, replay
from .spec import MEMORY, Contract, View

INPUT_REGS = [f"x{i}" for i in range(31)] + ["sp"]
FRAME_BYTES = 64 * 1024
DEFAULT_BOUND = 8
UNCHECKED_SYSREGS = (Kind.VOLATILE, Kind.COUNTER)
# Rules whose values the replay cannot reproduce: the model chose them, unicorn has its own.
UNREPLAYABLE_FAMILIES = ("system register", "exception return", "firmware call")

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
    # "confirmed": replayed on unicorn, the violation shows; "not replayable": the path
    # depends on values unicorn cannot be given (system registers, firmware); "not
    # confirmed": the machine disagrees with the verifier's semantics, a verifier defect.
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
    trusted_rules: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    loops: str = ""
    counterexample: Counterexample | None = None
    accepted: str = ""           # reason, when an UNKNOWN or BOUNDED is accepted
    depends_on: dict[str, str] = field(default_factory=dict)   # function -> bytes hash


def entry_state(func: Function) -> State:
    state = State({}, None, [], func.addr)
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


def _inside(addr, size, start, length) -> z3.BoolRef:
    """[addr, addr+size) lies within [start, start+length), without wrap-around."""
    return z3.And(z3.ULE(start, addr), z3.ULE(addr + size, start + length),
                  z3.ULE(addr, addr + size))


@dataclass
class Check:
    sentence: str
    bad: z3.BoolRef
    replay_shows: object = None   # (ReplayResult, entry values) -> bool, when replay can tell


class Proof:
    def __init__(self, program: Program, func: Function, contract: Contract):
        self.program = program
        self.func = func
        self.contract = contract
        self.entry = entry_state(func)
        if contract.pre is not None:
            self.entry.constraints.append(contract.pre(View(self.entry, program)))
        self.bound = contract.loop_bound[0] if contract.loop_bound else DEFAULT_BOUND

    def run(self) -> Result:
        start = time.monotonic()
        func, contract = self.func, self.contract
        result = Result(func.name, "UNKNOWN", contract.summary, self.program.line(func.addr),
                        func.bytes_hash, assumptions=list(ASSUMPTIONS))
        self._audit(result)
        if contract.loop_bound:
            run = self._explore(Mode.BOUNDED)
            result.paths = run.paths
        else:
            run = self._explore(Mode.SUMMARISE)
            result.paths = run.paths
            if run.failure is None and (run.possible or run.cut):
                bounded = self._explore(Mode.BOUNDED)
                result.paths += bounded.paths
                if bounded.failure is not None:
                    run = bounded
                elif run.possible:
                    result.reasons.append(
                        "a violation is possible after summarising a loop, and none was "
                        f"found with loops unrolled {self.bound} times")
                elif not bounded.cut_other and not bounded.possible:
                    run = bounded
        self._decide(result, run)
        result.depends_on = {name: self.program.functions[name].bytes_hash
                             for name in sorted(run.functions)}
        result.seconds = time.monotonic() - start
        return result

    def _audit(self, result: Result) -> None:
        for insn in self.program.instructions(self.func):
            verdict = audit(insn)
            if verdict.rule is not None:
                result.trusted_rules.append(f"{self.program.line(insn.addr)} `{insn.text}`: "
                                            f"{verdict.rule.summary}")
                if verdict.rule.assumption:
                    result.assumptions.append(verdict.rule.assumption)
            elif not verdict.modelled:
                result.unmodelled.append({"addr": insn.addr, "line": self.program.line(insn.addr),
                                          "instruction": insn.text, "reason": verdict.reason,
                                          "explored_past": verdict.recovery.value})
        result.assumptions = list(dict.fromkeys(result.assumptions))

    def _decide(self, result: Result, run: "_Run") -> None:
        if run.failure is not None:
            result.verdict = "FAILED"
            result.counterexample = run.failure
            return
        if result.unmodelled:
            names = ", ".join(f"`{u['instruction']}` at {u['line']}" for u in result.unmodelled)
            result.reasons.append(f"unmodelled instructions: {names}")
        result.reasons.extend(run.cut_other)
        result.reasons.extend(run.possible)
        if run.mode == Mode.BOUNDED:
            result.loops = (f"loops unrolled up to {self.bound} arrivals per loop head; "
                            f"{len(run.cut)} path(s) stopped at the bound")
        elif run.summarised:
            result.loops = f"{run.summarised} loop(s) summarised for every iteration count"
        else:
            result.loops = "no loops on any path"
        if result.reasons:
            result.verdict = "UNKNOWN"
        elif run.mode == Mode.BOUNDED and run.cut:
            result.verdict = "BOUNDED"
            if self.contract.loop_bound:
                result.accepted = (f"loop bound {self.bound} from the spec: "
                                   f"{self.contract.loop_bound[1]}")
        else:
            result.verdict = "PROVED"

    def _explore(self, mode: Mode) -> "_Run":
        ret = z3.BitVec("x30", 64)
        explorer = Explorer(self.program, self.func, Limits(mode=mode, bound=self.bound), ret,
                            assume_access=frame_assumption)
        ends = explorer.run(self.entry.copy())
        run = _Run(mode, explorer.paths_explored)
        if explorer.incomplete:
            run.cut_other.append(f"more than {explorer.limits.max_paths} paths; not all explored")
        for end in ends:
            run.functions.update(self._functions_on(end))
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
            elif end.kind == EndKind.UNMODELLED and not end.path.unmodelled[-1][1].modelled:
                pass  # the audit lists it already
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

    def _functions_on(self, end: PathEnd) -> set[str]:
        names = set()
        for effect in end.path.trace:
            f = self.program.function_at(effect.addr)
            if f is not None:
                names.add(f.name)
        return names

    # -- the contract on one returning path -------------------------------------------------
    def _checks(self, end: PathEnd) -> list[Check]:
        exit_state, contract = end.path.state, self.contract
        ret = z3.BitVec("x30", 64)
        returning = end.target == ret
        checks = [Check("returns to an address other than x30 on entry", end.target != ret,
                        lambda r, entry: not r.returned)]

        def must_keep(sentence, now, before, name=None):
            shows = None
            if name is not None:
                shows = lambda r, entry, name=name: r.returned and r.regs[name] != entry[name]
            checks.append(Check(sentence, z3.And(returning, now != before), shows))

        for r in INPUT_REGS:
            if r != "x30" and not contract.may_change(r):
                must_keep(f"{r} on return differs from {r} on entry", exit_state.reg(r),
                          z3.BitVec(r, 64), r)
        for i in range(32):
            q_now, q_then = exit_state.get(reg_offset(f"q{i}"), 128), z3.BitVec(f"q{i}", 128)
            whole = contract.may_change(f"q{i}")
            if not whole and not contract.may_change(f"d{i}"):
                must_keep(f"d{i} on return differs from d{i} on entry",
                          z3.Extract(63, 0, q_now), z3.Extract(63, 0, q_then),
                          f"d{i}" if 8 <= i < 16 else None)
            if not whole and not contract.may_change(f"q{i}.hi"):
                must_keep(f"the upper half of v{i} on return differs from its entry value",
                          z3.Extract(127, 64, q_now), z3.Extract(127, 64, q_then))
        if not contract.may_change("nzcv"):
            must_keep("NZCV on return differs from NZCV on entry", exit_state.nzcv(),
                      z3.BitVec("nzcv", 4))
        for name, value in exit_state.sysregs.items():
            kind = SYSREG_KINDS.get(name)
            if kind is None or kind in UNCHECKED_SYSREGS or contract.may_change(name):
                continue
            must_keep(f"{name} on return differs from its entry value (not in MAYCHANGE)",
                      value, z3.BitVec(f"{name}_0", 64))
        if MEMORY not in contract.maychange:
            self._memory_frame(end, returning, checks)
        if contract.post is not None:
            holds = contract.post(View(self.entry, self.program), View(exit_state, self.program))
            checks.append(Check("the postcondition does not hold on return",
                                z3.And(returning, z3.Not(holds))))
        return checks

    def _memory_frame(self, end: PathEnd, returning, checks: list[Check]) -> None:
        entry_view = View(self.entry, self.program)
        sp = z3.BitVec("sp", 64)
        regions = [r.bounds(entry_view) for r in self.contract.regions]
        for effect in end.path.trace:
            for acc in effect.accesses:
                if not acc.is_write:
                    continue
                size = z3.BitVecVal(acc.size, 64)
                allowed = [_inside(acc.addr, size, sp - FRAME_BYTES, z3.BitVecVal(FRAME_BYTES, 64))]
                allowed += [_inside(acc.addr, size, start, length) for start, length in regions]
                happened = acc.cond if acc.cond is not None else z3.BoolVal(True)
                checks.append(Check(f"{acc.kind} of {acc.size} bytes at "
                                    f"{self.program.line(effect.addr)} is outside the "
                                    "MAYCHANGE frame",
                                    z3.And(returning, happened, z3.Not(z3.Or(*allowed)))))

    def _check_return(self, end: PathEnd, run: "_Run") -> None:
        state = end.path.state
        checks = self._checks(end)
        quick = z3.Solver()  # one query for the common case: nothing can go wrong
        quick.add(*state.constraints)
        quick.add(z3.Or(*[c.bad for c in checks]))
        if quick.check() == z3.unsat:
            return
        opaque = list(state.opaque) + list(end.path.widened)
        for check in checks:
            found = self._model(state.constraints + [check.bad], opaque)
            if found is None:
                continue
            model, whatever_opaque = found
            cx = self._counterexample(end, model, check.sentence)
            self._replay_into(cx, end, model, check)
            # Real if the path has nothing unknown on it, if it breaks whatever the unknown
            # values are, or if the machine shows it.
            if not opaque or whatever_opaque or cx.replay_status == "confirmed":
                run.failure = cx
                return
            run.possible.append(f"possible violation at {self.program.line(end.addr)}: "
                                f"{check.sentence} (the path has values the verifier does "
                                f"not model, and replaying the model did not show it: "
                                f"{cx.replay})")

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

    def _replay_into(self, cx: Counterexample, end: PathEnd, model: z3.ModelRef,
                     check: Check) -> None:
        unreplayable = sorted({v.rule.family for _, v in end.path.rules
                               if v.rule.family in UNREPLAYABLE_FAMILIES})
        if unreplayable or check.replay_shows is None:
            cx.replay_status = "not replayable"
            cx.replay = (f"the path uses {', '.join(unreplayable)} values chosen by the model"
                         if unreplayable else "this property is not visible in registers")
            return
        result, entry = self._replay(model)
        cx.replay = result.detail
        cx.replay_status = ("confirmed" if check.replay_shows(result, entry) else
                            "not replayable" if result.stopped_by_exception else
                            "not confirmed")

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
                if not acc.is_write:
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
    summarised: int = 0
    returns: int = 0
    functions: set[str] = field(default_factory=set)
