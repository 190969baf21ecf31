"""Proving one function against its contract (verify/spec.py).

Every path from the entry state is explored (verify/explore.py). On each path that returns,
the prover asks Z3 for a state where the contract breaks: a return to an address other than
x30 on entry, a register or system register outside the MAYCHANGE frame that changed, a
store outside the frame, or a false postcondition. A model is a counterexample; it is
replayed on unicorn before it is reported.

Assumptions, stated in every report: sp is 16-byte aligned on entry, its frame above the
first FRAME_BYTES of memory; memory reached through
a pointer that is not derived from sp lies outside the function's own frame (the
`FRAME_BYTES` below sp on entry), which is what a caller can rely on under AAPCS64; and
whatever each trusted overlay rule on the function's paths takes on trust.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

import z3
from unicorn import UcError

from .audit import audit
from .heap import REGION_WORDS, HeapInvariant
from .explore import EndKind, Explorer, Limits, Mode, PathEnd, conjuncts
from .machine import (FIRMWARE, REGISTER_BYTES, STREAM, MemAccess, State, base_and_offset,
                      initial_memory, solver)
from .overlay import SYSREG_KINDS, Kind
from .program import Function, Program
from .replay import SENTINEL, InitialMemory, ReplayStart, Schedule, machine_constants, replay
from .spec import (MEMORY, ConcreteView, Contract, Register, SpecError, Unjudgeable,
                   View)

INPUT_REGS = [f"x{i}" for i in range(31)] + ["sp"]
# The frame a proof assumes no caller pointer reaches: at most the room every stack keeps
# below sp. A process stack is 4 KiB above a 4 KiB unmapped guard page, so the 4 KiB below
# any sp in it is stack or guard; the boot and scheduler stacks (16 KiB each, no guard) keep
# it while they are used at most 12 KiB deep, which is assumed (see ASSUMPTIONS).
FRAME_BYTES = 4 * 1024
DEFAULT_BOUND = 8
# Budget of one proof (exploring and checking) in CPU seconds of the process proving it, so
# that time spent waiting for a core does not count: past it the verdict is UNKNOWN with
# BUDGET_REASON, never PROVED. Processes sharing a core's threads still run slower each: the
# longest proof (spawn, about 42 s alone) went past 60 s in the test suite's loaded gate.
PROOF_BUDGET = 120.0
BUDGET_REASON = "proof budget"
CHECK_MS = 60000   # one solver query about a returning path; undecided is never "holds"
QUICK_MS = 2000    # the first query, whether anything at all can break on a returning path
UNDECIDED = "undecided"

# Write-only registers are signals to the hardware (an EOI, an SGI), not state to keep.
UNCHECKED_SYSREGS = (Kind.VOLATILE, Kind.COUNTER, Kind.WRITE_ONLY)

ASSUMPTIONS = [
    f"sp is 16-byte aligned on entry and at least {2 * FRAME_BYTES // 1024} KiB (its frame "
    f"lies above the first {FRAME_BYTES // 1024} KiB of memory, where a null pointer plus an "
    f"offset points)",
    f"memory reached through a pointer the caller provided (entry registers other than sp, "
    f"memory as on entry, and what a callee taken by its contract returned or wrote) lies "
    f"outside the "
    f"{FRAME_BYTES // 1024} KiB below sp on entry (the callee's own frame, AAPCS64)",
    f"every stack keeps {FRAME_BYTES // 1024} KiB below sp on entry as stack or guard page: "
    f"a process stack does (its guard page is as large); the boot and scheduler stacks (16 "
    f"KiB, no guard page) do while used at most {16 - FRAME_BYTES // 1024} KiB deep, which "
    f"no check measures",
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
    # Callees whose contracts the violation was shown to hold under (for every value they
    # allow): it is real only if those contracts are proved.
    rests_on: list[str] = field(default_factory=list)

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
    cached: bool = False         # taken from the proof cache, not proved in this run
    layout: dict[str, int] = field(default_factory=dict)   # symbols/constants the spec read
    ordering: list[str] = field(default_factory=list)   # ordered accesses and barriers on paths
    depends_on_contracts: list[str] = field(default_factory=list)   # callees taken by contract
    budget: float = PROOF_BUDGET   # the CPU-time budget this proof ran under (seconds)


def entry_state(func: Function) -> State:
    state = State({}, None, [], func.addr, resolve_aliases=True)
    for name in INPUT_REGS:
        state.set_reg(name, z3.BitVec(name, 64))
    for i in range(32):
        state.set_reg(f"q{i}", z3.BitVec(f"q{i}", 128))
    nzcv = z3.BitVec("nzcv", 4)
    state.set_reg("cc_op", z3.BitVecVal(0, 64))
    state.set_reg("cc_dep1", z3.ZeroExt(32, z3.Concat(nzcv, z3.BitVecVal(0, 28))))
    state.set_reg("cc_dep2", z3.BitVecVal(0, 64))
    state.set_reg("cc_ndep", z3.BitVecVal(0, 64))
    state.constraints += entry_state_sp_facts()
    state.known_apart = frame_apart
    return state


# _from_caller's answers by AST id; each entry holds its expression, so that the id is not
# reused while the entry lives. Every load asks it of many address pairs (a third of a
# large proof's time went into walking the same addresses again).
_FROM_CALLER: dict[int, tuple[z3.ExprRef, bool]] = {}


def _from_caller(expr: z3.ExprRef) -> bool:
    """The value comes from the caller alone: entry registers other than sp, and memory as it
    was on entry. Values the function computed from sp, or that a loop summary or an
    unmodelled instruction made unknown (their names carry a `!`), do not qualify."""
    known = _FROM_CALLER.get(expr.get_id())
    if known is not None:
        return known[1]
    answer = _walk_from_caller(expr)
    _FROM_CALLER[expr.get_id()] = (expr, answer)
    return answer


def _walk_from_caller(expr: z3.ExprRef) -> bool:
    todo, seen = [expr], set()
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        known = _FROM_CALLER.get(e.get_id())
        if known is not None:
            if not known[1]:
                return False
            continue
        if z3.is_app(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            name = e.decl().name()
            if name == "sp" or "!" in name:
                return False
        todo.extend(e.children())
    return True


def _names(exprs: list[z3.ExprRef]) -> set[str]:
    """The uninterpreted constants and functions `exprs` mention, by name."""
    names, todo, seen = set(), list(exprs), set()
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_app(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            names.add(e.decl().name())
        elif z3.is_quantifier(e):
            todo.append(e.body())
            continue
        todo.extend(e.children())
    return names


def _name(opaque) -> str:
    return opaque.name() if isinstance(opaque, z3.FuncDeclRef) else opaque.decl().name()


def frame_assumption(acc: MemAccess) -> z3.BoolRef | None:
    """AAPCS64: a pointer the caller provided cannot point into the callee's own frame (the
    stack below sp on entry, not yet allocated when the call was made)."""
    if not _from_caller(acc.addr):
        return None
    sp = z3.BitVec("sp", 64)
    end = acc.addr + acc.size
    return z3.Or(z3.ULE(sp, acc.addr), z3.ULE(end, sp - FRAME_BYTES))


def _stack_offset(addr: z3.BitVecRef) -> int | None:
    """c when addr is sp + c for a constant c, else None."""
    base, off = base_and_offset(addr)
    return off if base is not None and z3.eq(base, _SP) else None


_SP = z3.BitVec("sp", 64)


def in_own_frame(addr: z3.BitVecRef, nbytes: int) -> bool:
    """The access is sp + c on entry's sp, wholly within the FRAME_BYTES below it."""
    c = _stack_offset(addr)
    return c is not None and -FRAME_BYTES <= c and c + nbytes <= 0


def frame_apart(a: z3.BitVecRef, asize: int, b: z3.BitVecRef, bsize: int) -> bool:
    """Whether an access in the function's own frame (sp + c, wholly within the FRAME_BYTES
    below sp on entry) and one through a pointer the caller provided cannot overlap, by the
    frame assumption alone (the path adds it for every access it makes). Decided once per
    shape over two free variables, never over the path: a pointer such as a per-core block
    (a symbol plus an index times the block size) otherwise costs the solver seconds."""
    for (s, ssize), (p, psize) in (((a, asize), (b, bsize)), ((b, bsize), (a, asize))):
        c = _stack_offset(s)
        if c is not None and -FRAME_BYTES <= c and c + ssize <= 0 and _from_caller(p):
            return _frame_excludes(c, ssize, psize)
    return False


@functools.lru_cache(maxsize=None)
def _frame_excludes(c: int, ssize: int, psize: int) -> bool:
    p = z3.BitVec("p", 64)
    s = solver()
    s.add(*entry_state_sp_facts(), frame_assumption(MemAccess("load", p, psize, p)))
    lo = _SP + c
    s.add(z3.Or(z3.ULT(lo - p, psize), z3.ULT(p - lo, ssize)))
    return s.check() == z3.unsat


def entry_state_sp_facts() -> list[z3.BoolRef]:
    """What every proof assumes of sp on entry."""
    return [_SP & 15 == 0, z3.UGE(_SP, 2 * FRAME_BYTES), z3.ULT(_SP, 2 ** 63)]


def _bytes_value(memory: InitialMemory, addr: int, nbytes: int) -> int:
    return int.from_bytes(bytes(memory.byte(addr + i) for i in range(nbytes)), "little")


def _inside(addr, size, start, length) -> z3.BoolRef:
    """[addr, addr+size) lies within [start, start+length), on the circular address space."""
    return z3.And(z3.ULE(size, length), z3.ULE(addr - start, length - size))


_CONSTANTS: dict[str, int] = {}


def _machine_constants() -> dict[str, int]:
    if not _CONSTANTS:
        _CONSTANTS.update(machine_constants())
    return _CONSTANTS


@dataclass
class Check:
    """One way the contract can break on a returning path.

    `broken(entry, exit)` is written over views, so the same condition is asked of Z3 over
    the symbolic path and evaluated on the concrete end state of a replay."""
    sentence: str
    broken: Callable[[View, View], z3.BoolRef]
    # For a postcondition: the formula that must hold, whose conjuncts are checked one by one
    # when the whole is not shown at once (and named when one fails).
    holds: Callable[[View, View], z3.BoolRef] | None = None


def _sides(model: z3.ModelRef, conjunct: z3.BoolRef) -> str:
    """The values that break an (in)equation, as a person debugging it wants them."""
    if conjunct.num_args() == 2 and z3.is_bv(conjunct.arg(0)):
        a, b = (model.eval(x, model_completion=True) for x in conjunct.children())
        if z3.is_bv_value(a) and z3.is_bv_value(b):
            return f"; its sides are 0x{a.as_long():x} and 0x{b.as_long():x}"
    return ""


PORT_ASSUMPTION = ("a store through a pointer (an address that is not a constant) does not "
                   "reach an output port ({ports}): pointers point at RAM, not at the device "
                   "registers whose writes the specs' STREAMS record")


def _ports(program: Program, func: Function) -> dict[int, str]:
    """The specs' output ports (STREAMS) by address; each must be a constant."""
    probe, out = View(entry_state(func), program), {}
    REGISTER_BYTES.clear()
    for name, where in program.streams.items():
        if isinstance(where, Register):
            REGISTER_BYTES[name] = where.size
            where = where.address
        addr = z3.simplify(z3.BitVecVal(0, 64) + where(probe))
        if not z3.is_bv_value(addr):
            raise SpecError(f"STREAMS: the port of {name} is {addr}, not a constant address; "
                            "name it by the ELF's constants and symbols")
        out[addr.as_long()] = name
    return out


class Proof:
    def __init__(self, program: Program, func: Function, contract: Contract,
                 switches: dict[int, str] | None = None,
                 summaries: dict[int, tuple[str, Contract]] | None = None,
                 budget: float = PROOF_BUDGET, heap: HeapInvariant | None = None):
        self.program = program
        program.looked_up.clear()
        if contract.before_invariants:
            # Boot before it zeroes .bss: memory is whatever the loader left, so the heap
            # invariants are neither assumed nor checked here.
            heap = None
        if heap is not None:
            heap = HeapInvariant(program, heap.links, in_frame=in_own_frame,
                                 frame_floor=FRAME_BYTES)
        self.heap = heap
        self.budget = budget
        self.func = func
        self.contract = contract
        # Entries of voluntary switches (yield): a path that calls one continues after it as
        # its round-trip proof (verify/roundtrip.py) says, instead of into the scheduler.
        self.switches = switches or {}
        # Callees with explicit contracts: a call is taken as its contract says.
        self.summaries = {a: v for a, v in (summaries or {}).items() if v[0] != func.name}
        self.ports = _ports(program, func)
        self.entry = self._entry()
        self.bound = contract.loop_bound[0] if contract.loop_bound else DEFAULT_BOUND
        self.setup_layout = dict(program.looked_up)

    def _entry(self, pinned: tuple = ()) -> State:
        """The entry state under the precondition; `pinned`: a case of the contract's split
        as ((expression, constant),), the expression equal to the constant on every path."""
        entry = entry_state(self.func)
        entry.heap = self.heap
        if self.heap is not None:
            # The assumption the heap invariants rest on, stated for the solver too: the
            # function's own frame lies apart from their arrays.
            sp = entry.reg("sp")
            entry.constraints += [z3.Or(z3.ULE(sp, start), z3.UGE(sp - FRAME_BYTES, end))
                                  for start, end in self.heap.spans()]
        entry.pinned = pinned
        entry.ports = self.ports
        entry.constraints += [expr == value for expr, value in pinned]
        if self.contract.pre is not None:
            entry.constraints.append(self.contract.pre(View(entry, self.program)))
        return entry

    def _cases(self, result: Result) -> list[State]:
        """One entry state per value of the contract's split (just the entry without one);
        a split whose values miss an entry the precondition allows is reported."""
        if self.contract.split is None:
            return [self.entry]
        expr, values = self.contract.split(View(self.entry, self.program))
        missed = solver()
        missed.add(*self.entry.constraints, *[expr != v for v in values])
        if missed.check() != z3.unsat:
            result.reasons.append(f"the contract's split into {values} does not cover every "
                                  "entry its precondition allows")
            return [self.entry]
        pins = [((expr, z3.BitVecVal(v, expr.size())),) for v in values]
        result.assumptions.append(f"proved case by case: `{expr}` is each of {values} (every "
                                  "entry the precondition allows is one of them)")
        return [self._entry(pin) for pin in pins]

    def run(self) -> Result:
        start = time.monotonic()
        self.deadline = time.process_time() + self.budget
        # What the proof reads of the layout: what setting it up read (the precondition, the
        # heap invariants), and what it reads from here on.
        self.program.looked_up.clear()
        self.program.looked_up.update(self.setup_layout)
        _FROM_CALLER.clear()
        func, contract = self.func, self.contract
        result = Result(func.name, "UNKNOWN", contract.summary, self.program.line(func.addr),
                        func.bytes_hash, assumptions=list(ASSUMPTIONS), budget=self.budget)
        if contract.handoff:
            result.assumptions.append(
                "entry code: entered without a call; each hand-off's condition is proved where "
                "a path reaches the function it hands off to (partial correctness: that every "
                "entry gets there, rather than loop for ever, is not); that "
                f"{', '.join(sorted(contract.handoff))} never return is what their specs "
                "say (not callable, or entry code with hand-offs of their own)")
        if contract.before_invariants:
            result.assumptions.append(
                "it runs before the heap invariants (specs/heap.py) hold, so they are neither "
                "assumed nor checked here, nor by the contracts of the callees it takes (which "
                "touch none of their words); they rest on .bss being zero where boot hands "
                "off, which the model cannot show (it takes boot's cache invalidation as "
                "discarding what the zeroing stored)")
        if self.heap is not None and self.heap.links:
            result.assumptions.append(
                "heap invariants (specs/heap.py), assumed of every word read and proved of "
                "every word written, so that they hold where any function starts: " +
                "; ".join(self.heap.summaries) + "; the function's own stack frame lies apart "
                "from their arrays")
        if self.ports:
            result.assumptions.append(PORT_ASSUMPTION.format(ports=", ".join(
                sorted(self.ports.values()))))
        if contract.cache_maintenance:
            result.assumptions.append("its cache maintenance is not held to the heap "
                                      "invariants (specs/heap.py): " + contract.cache_maintenance)
        invariants = self.contract.invariants or {}
        self.invariants = {self.program.label(func, label): inv
                           for label, inv in invariants.items()}
        for label in invariants:
            result.assumptions.append(f"loop invariant at {label}: proved on every arrival, "
                                      "assumed where the loop is generalised")
        self._audit(result)
        runs = []
        for entry in self._cases(result):
            self.entry = entry
            runs.append(self._prove_entry(result))
            if runs[-1].failure is not None:
                break
        run = _Run.merge(runs)
        for name in sorted(run.callee_contracts):
            result.assumptions.append(f"calls of {name} are taken as its contract says (its "
                                      "own proof in this run)")
        result.depends_on_contracts = sorted(run.callee_contracts)
        if run.deferred:
            lines = ", ".join(self.program.line(a) for a in sorted(run.deferred))
            result.assumptions.append(
                f"stores into this contract's own regions at {lines} are not shown here to keep "
                "the heap invariants: each caller that takes this contract checks what the "
                "region then holds; a caller that runs this code checks each store")
        for name in sorted(run.switches):
            result.assumptions.append(
                f"a call of {name} returns as its round-trip proof says (x19-x29, sp, d8-d15 "
                "and the return address kept; other registers and all memory unknown)")
        self._decide(result, run)
        result.depends_on = {name: self.program.functions[name].bytes_hash
                             for name in sorted(run.functions)}
        result.ordering = [text for _, text in sorted(run.ordering)]
        result.layout = dict(self.program.looked_up)
        result.seconds = time.monotonic() - start
        return result

    def _prove_entry(self, result: Result) -> "_Run":
        """Every path from self.entry: loops summarised, or unrolled where that fails."""
        if self.contract.loop_bound:
            run = self._explore(Mode.BOUNDED)
            result.paths += run.paths
            return run
        run = self._explore(Mode.SUMMARISE)
        result.paths += run.paths
        if run.failure is None and (run.possible or run.cut):
            bounded = self._explore(Mode.BOUNDED)
            result.paths += bounded.paths
            # The result rests on the code both runs went through, whichever decides it.
            bounded.functions |= run.functions
            run.functions |= bounded.functions
            if bounded.failure is not None:
                run = bounded
            elif run.possible:
                result.reasons.append(
                    "a violation is possible after summarising a loop, and none was "
                    f"found with loops unrolled {self.bound} times")
            elif not bounded.cut_other and not bounded.possible:
                run = bounded
        return run

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
        limits = Limits(mode=mode, bound=self.bound,
                        seconds=max(0.0, self.deadline - time.process_time()))
        explorer = Explorer(self.program, self.func, limits, ret,
                            assume_access=frame_assumption, switches=self.switches,
                            summaries=self.summaries, invariants=self.invariants,
                            own_regions=self._own_regions(),
                            cache_maintenance_kept=bool(self.contract.cache_maintenance),
                            switch_out=self.contract.switch_out,
                            stops=frozenset(self._handoffs()))
        ends = explorer.run(self.entry.copy())
        run = _Run(mode, explorer.paths_explored)
        if explorer.out_of_time:
            run.cut_other.append(f"{BUDGET_REASON} of {self.budget:.0f} s spent before every "
                                 "path was explored")
        elif explorer.incomplete:
            run.cut_other.append(f"more than {explorer.limits.max_paths} paths; not all explored")
        for end in ends:
            run.functions.update(self._functions_on(end))
            run.ordering.update(self._ordering_on(end))
            run.callee_contracts.update(end.path.summarised)
            run.deferred.update(end.path.deferred)
            run.functions.update(end.path.summarised)
            for addr in end.path.switched:
                name = self.switches[addr]
                run.functions.add(name)
                run.switches.add(name)
                if MEMORY not in self.contract.maychange:
                    run.cut_other.append(f"the path switches context through {name}, and other "
                                         "processes may change any memory meanwhile: the "
                                         "contract must allow MEMORY")
            if end.kind == EndKind.RETURN and self.contract.handoff:
                end.broken = end.target == z3.BitVec("x30", 64)
                end.detail = "it returns, though nothing called it (it must hand off)"
                self._check_broken(end, run)
            elif end.kind == EndKind.RETURN:
                run.returns += 1
                self._check_return(end, run)
            elif end.kind == EndKind.STOP:
                run.returns += 1
                self._check_return(end, run, self._handoffs()[end.addr])
            elif end.kind == EndKind.BROKEN:
                self._check_broken(end, run)
            elif end.kind == EndKind.PARK:
                # A callable function returns on every entry its precondition allows, and
                # entry code parks only where its contract says: a path that can get here
                # otherwise is a violation (the model rules out the ones that cannot).
                parks = self.contract.parks
                end.broken = z3.Not(parks(View(self.entry, self.program))) if parks \
                    else z3.BoolVal(True)
                end.detail = "it parks (a WFE/WFI loop it never leaves) instead of " + \
                    ("handing off" if self.contract.handoff else "returning")
                if parks is None or self._can_hold(end.path.state, end.broken):
                    self._check_broken(end, run)
            elif end.kind == EndKind.CLOSED:
                if end.detail == "loop summarised":
                    run.summarised += 1
            elif end.kind == EndKind.BOUND:
                run.cut.append(end)
            elif end.kind == EndKind.NOT_SUMMARISED:
                run.cut.append(end)
                run.cut_other.append(f"loop at {self.program.line(end.addr)}: {end.detail}")
            elif end.kind == EndKind.UNMODELLED and not end.path.unmodelled[-1][1].modelled \
                    and self.program.function_at(end.addr) is self.func:
                pass  # the audit lists it already
            elif end.kind == EndKind.TOO_LONG and explorer.out_of_time:
                pass  # reported once, below
            else:
                run.cut_other.append(f"{end.kind.value} at {self.program.line(end.addr)}: "
                                     f"{end.detail}")
            if run.failure is not None:
                break
        if run.returns == 0 and not explorer.incomplete:
            # Nothing returned: the contract held on no path at all. Say so rather than
            # report a vacuous PROVED.
            run.cut_other.append("no explored path returns or hands off, so the contract was "
                                 "checked on none (vacuous)")
        if self.contract.switch_out is not None and not run.switches and \
                not explorer.incomplete:
            run.cut_other.append("the contract says what the function leaves on switching "
                                 "out, but no explored path enters a switch: it was checked "
                                 "nowhere")
        run.cut_other = sorted(set(run.cut_other))
        run.possible = sorted(set(run.possible))
        return run

    def _own_regions(self) -> list[tuple[z3.BitVecRef, int]]:
        """The contract's regions of a constant size its callers can check word by word."""
        out = []
        entry = View(self.entry, self.program)
        for region in self.contract.regions:
            start, size = region.bounds(entry)
            size = z3.simplify(size)
            if z3.is_bv_value(size) and size.as_long() <= REGION_WORDS:
                out.append((z3.simplify(start), size.as_long()))
        return out

    def _ordering_on(self, end: PathEnd) -> set[tuple[int, str]]:
        """Barriers and non-plain accesses on the path, by address, for the report."""
        out = set()
        for effect in end.path.trace:
            text = self.program.instruction(effect.addr).text
            if effect.barrier:
                out.add((effect.addr, f"`{self.program.line(effect.addr)}` `{text}`: "
                                      f"{effect.barrier}"))
            for acc in effect.accesses:
                if acc.order.describe() != "plain":
                    out.add((effect.addr, f"`{self.program.line(effect.addr)}` `{text}`: "
                                          f"{acc.kind}, {acc.order.describe()}"))
        return out

    def _functions_on(self, end: PathEnd) -> set[str]:
        names = set()
        for effect in end.path.trace:
            f = self.program.function_at(effect.addr)
            if f is not None:
                names.add(f.name)
        return names

    # -- the contract on one returning path -------------------------------------------------
    def _checks(self, end: PathEnd) -> list[Check]:
        contract = self.contract
        checks: list[Check] = []

        def keep(sentence, part):
            checks.append(Check(sentence, lambda e, x: part(x) != part(e)))

        for r in INPUT_REGS:
            if r != "x30" and not contract.may_change(r):
                keep(f"{r} on return differs from {r} on entry",
                     (lambda v: v.sp) if r == "sp" else (lambda v, n=int(r[1:]): v.x(n)))
        for i in range(32):
            whole = contract.may_change(f"q{i}")
            if not whole and not contract.may_change(f"d{i}"):
                keep(f"d{i} on return differs from d{i} on entry",
                     lambda v, i=i: z3.Extract(63, 0, v.q(i)))
            if not whole and not contract.may_change(f"q{i}.hi"):
                keep(f"the upper half of v{i} on return differs from its entry value",
                     lambda v, i=i: z3.Extract(127, 64, v.q(i)))
        if not contract.may_change("nzcv"):
            keep("NZCV on return differs from NZCV on entry", lambda v: v.nzcv())
        for name in self.ports.values():      # MEMORY lets any device be written, ports too
            if not contract.may_change(STREAM + name) and MEMORY not in contract.maychange:
                checks.append(Check(f"it sends to {name}, which its contract does not allow "
                                    f"(MAYCHANGE lacks {STREAM}{name})",
                                    lambda e, x, n=name: x.stream(n) != e.stream(n)))
        if not contract.may_change(STREAM + FIRMWARE) and MEMORY not in contract.maychange \
                and STREAM + FIRMWARE in end.path.state.sysregs:
            checks.append(Check(f"it calls the firmware, which its contract does not allow "
                                f"(MAYCHANGE lacks {STREAM}{FIRMWARE})",
                                lambda e, x: x.stream(FIRMWARE) != e.stream(FIRMWARE)))
        for name in end.path.state.sysregs:
            kind = SYSREG_KINDS.get(name)
            if kind is None or kind in UNCHECKED_SYSREGS or contract.may_change(name):
                continue
            keep(f"{name} on return differs from its entry value (not in MAYCHANGE)",
                 lambda v, name=name: v.sysreg(name))
        if MEMORY not in contract.maychange:
            self._memory_frame(end, checks)
        if contract.post is not None:
            post = contract.post
            checks.append(Check("the postcondition does not hold on return",
                                lambda e, x: z3.Not(post(e, x)), post))
        if contract.ghost_post is not None:
            ghost = contract.ghost_post
            checks.append(Check("the ghost-view postcondition does not hold on return",
                                lambda e, x: z3.Not(ghost(e, x)), ghost))
        return checks

    def _memory_frame(self, end: PathEnd, checks: list[Check]) -> None:
        """Bytes written outside the frame must hold their entry values on return."""
        for effect in end.path.trace:
            for acc in effect.accesses:
                if not acc.is_write:
                    continue

                def broken(e, x, acc=acc):
                    addr, size = e.value(acc.addr), z3.BitVecVal(acc.size, 64)
                    sp = e.sp
                    allowed = [_inside(addr, size, sp - FRAME_BYTES,
                                       z3.BitVecVal(FRAME_BYTES, 64))]
                    for region in self.contract.regions:
                        start, length = region.bounds(e)
                        allowed.append(_inside(addr, size, start, length))
                    return z3.And(z3.Not(z3.Or(*allowed)),
                                  x.mem(addr, acc.size) != e.mem(addr, acc.size))
                checks.append(Check(f"{acc.kind} of {acc.size} bytes at "
                                    f"{self.program.line(effect.addr)} changes memory outside "
                                    "the MAYCHANGE frame", broken))

    def _handoffs(self) -> dict[int, Check]:
        """Entry code: the first instruction of each function it hands off to (however the
        path gets there: a call, a branch, a conditional one), and the condition that must
        hold on arrival."""
        out = {}
        for name, cond in (self.contract.handoff or {}).items():
            out[self.program.functions[name].addr] = Check(
                f"the condition of the hand-off to {name} does not hold",
                lambda e, x, c=cond: z3.Not(c(e, x)), cond)
        return out

    def _check_return(self, end: PathEnd, run: "_Run", handoff: Check | None = None) -> None:
        """The contract on a path that returns, or the hand-off's condition on one that
        reaches it."""
        if time.process_time() > self.deadline:
            run.cut_other.append(f"{BUDGET_REASON} of {self.budget:.0f} s spent before every "
                                 "returning path was checked")
            return
        state = end.path.state
        ret = z3.BitVec("x30", 64)
        entry, exit_ = View(self.entry, self.program), View(state, self.program)
        if handoff is not None:
            returning, conditions = z3.BoolVal(True), []
        else:
            returning = end.target == ret
            conditions = [("returns to an address other than x30 on entry", end.target != ret,
                           None)]
        formulas = {}       # each postcondition's formula on this path, built once
        for c in ([handoff] if handoff is not None else self._checks(end)):
            if c.holds is not None:
                formulas[c.sentence] = c.holds(entry, exit_)
                conditions.append((c.sentence, z3.And(returning, z3.Not(formulas[c.sentence])), c))
            else:
                conditions.append((c.sentence, z3.And(returning, c.broken(entry, exit_)), c))
        # One query for the common case, nothing can go wrong; kept short, as a hard path's
        # disjunction of everything is far slower than its parts asked one by one.
        if self._none_holds(state, [bad for _, bad, _ in conditions]):
            return
        simple, pieces = [], []
        for sentence, bad, check in conditions:
            if check is None or check.holds is None:
                simple.append((sentence, bad, check, None))
                continue
            parts = conjuncts(formulas[sentence])
            for i, (guards, part) in enumerate(parts, 1):
                pieces.append((f"{sentence}: its conjunct {i} of {len(parts)}",
                               z3.And(returning, *guards, z3.Not(part)), check, part))
        # Registers and the frame are each easy and together still quick; a postcondition's
        # conjuncts are asked alone.
        if not self._none_holds(state, [bad for _, bad, _, _ in simple]):
            pieces = simple + pieces
        opaque = list(state.opaque) + list(end.path.widened)
        for sentence, bad, check, part in pieces:
            if time.process_time() > self.deadline:
                run.cut_other.append(f"{BUDGET_REASON} of {self.budget:.0f} s spent before "
                                     f"the path returning at {self.program.line(end.addr)} "
                                     "was checked")
                return
            alone = solver()
            alone.set("timeout", CHECK_MS)
            alone.add(*state.constraints)
            alone.add(bad)
            verdict = alone.check()
            if verdict == z3.unsat:
                continue
            found = UNDECIDED if verdict == z3.unknown else \
                self._model(state.constraints + [bad], opaque, self._off_image(end),
                            end.path.facts_of(state.constraints))
            if found is None:
                continue
            if found == UNDECIDED:
                run.cut_other.append(f"{BUDGET_REASON}: the solver did not decide within "
                                    f"{CHECK_MS // 1000} s whether {sentence} at "
                                    f"{self.program.line(end.addr)}")
                continue
            model, whatever_opaque, pinned = found
            if part is not None:
                sentence += _sides(model, part)
            cx = self._counterexample(end, model, sentence, returning=handoff is None)
            if handoff is not None:
                cx.replay_status = "not replayable"
                cx.replay = "the path stops at the hand-off, before any return to replay to"
            else:
                # The replay judges the whole postcondition: a conjunct is a piece of the
                # symbolic formula, with no meaning on the replay's concrete values.
                self._replay_into(cx, end, model, check, pinned)
            # Real if the path has nothing unknown on it, if it breaks whatever the unknown
            # values are, or if the machine shows it.
            if not opaque or whatever_opaque or cx.replay_status == "confirmed":
                if cx.replay_status != "confirmed":
                    cx.rests_on = sorted(set(end.path.summarised))
                run.failure = cx
                return
            run.possible.append(f"possible violation at {self.program.line(end.addr)}: "
                                f"{sentence} (the path has values the verifier does not "
                                f"model, and replaying the model did not show it: {cx.replay})")

    @staticmethod
    def _can_hold(state, cond: z3.BoolRef) -> bool:
        """`cond` is not ruled out on the path (unknown counts as possible)."""
        s = solver()
        s.set("timeout", CHECK_MS)
        s.add(*state.constraints, cond)
        return s.check() != z3.unsat

    @staticmethod
    def _none_holds(state, bads: list[z3.BoolRef]) -> bool:
        """Shown within QUICK_MS that no condition in `bads` can hold on the path."""
        quick = solver()
        quick.set("timeout", QUICK_MS)
        quick.add(*state.constraints)
        quick.add(z3.Or(*bads))
        return quick.check() == z3.unsat

    def _check_broken(self, end: PathEnd, run: "_Run") -> None:
        """A path ended where a loop or heap invariant may break: find the model."""
        where = self.program.line(end.addr)
        sentence = f"{end.detail} at {where}"
        state = end.path.state
        opaque = list(state.opaque) + list(end.path.widened)
        found = self._model(state.constraints + [end.broken], opaque, self._off_image(end),
                            end.path.facts_of(state.constraints))
        if found is None:
            # The explorer could not rule it out in its time, the model search did: the path
            # still stopped there, so what follows it was not explored.
            run.cut_other.append(f"{BUDGET_REASON}: the check of whether {sentence} was not "
                                 "decided in time, and the path after it was not explored")
            return
        if found == UNDECIDED:
            run.cut_other.append(f"{BUDGET_REASON}: the solver did not decide within "
                                 f"{CHECK_MS // 1000} s whether {sentence}")
            return
        model, whatever_opaque, _ = found
        cx = self._counterexample(end, model, sentence, returning=False)
        cx.replay_status = "not replayable"
        cx.replay = "the path stops there, before any return to replay to"
        if not opaque or whatever_opaque:
            cx.rests_on = sorted(set(end.path.summarised))
            run.failure = cx
        else:
            run.possible.append(f"possible violation: {sentence} (the path has values the "
                                "verifier does not model, from a loop summary or a callee's "
                                "contract)")

    def _off_image(self, end: PathEnd) -> list[z3.BoolRef]:
        """Every data access of the path lies outside the image's code pages and below 2^48
        (a preference for the model, so that the replay can show it): the replay machine
        holds the ELF's bytes in those pages, and a store the model put at the top of the
        address space (8 bytes at 0xffff_ffff_ffff_fff8) did not show on the replay, which
        made a test flaky; why it did not is not diagnosed."""
        away = []
        for effect in end.path.trace:
            for acc in effect.accesses:
                addr = z3.BitVecVal(acc.addr, 64) if isinstance(acc.addr, int) else acc.addr
                away.append(z3.ULE(addr, 2 ** 48 - acc.size))
                for lo, hi in self.program.code_ranges:
                    lo, hi = lo & ~0xFFF, (hi + 0xFFF) & ~0xFFF
                    away.append(z3.Or(z3.ULE(addr + acc.size, lo), z3.UGE(addr, hi)))
        return away

    @staticmethod
    def _model(constraints: list[z3.BoolRef], opaque: list, prefer: list[z3.BoolRef] = (),
               facts: list[z3.BoolRef] = ()) -> tuple[z3.ModelRef, bool, bool] | None:
        """A model of the violation; whether it holds whatever the opaque values are (of
        those the path's `facts` allow: what callees' contracts and loop invariants say of
        them, which every run keeps); and whether it suits a replay (x30 is the replay's
        return address and the read-only system registers hold what the replay machine's
        do). `prefer`: conditions a model is sought with first, so that the replay can show
        it."""
        pins = [z3.BitVec("x30", 64) == SENTINEL] + [
            z3.BitVec(f"{name}_0", 64) == value for name, value in _machine_constants().items()]
        attempts = []
        if prefer and not opaque:
            attempts.append((constraints + pins + list(prefer), True, True))
        known = {f.get_id() for f in facts}
        rest = [c for c in constraints if c.get_id() not in known]
        mentioned = _names(rest)
        # z3 quantifies over values, not memories: the violation must not read an unknown
        # memory, and facts about one are dropped (which asks more of the violation).
        memories = {_name(o) for o in opaque if not z3.is_const(o)}
        if opaque and not memories & mentioned:
            facts = [f for f in facts if not memories & _names([f])]
            mentioned |= _names(facts)
            values = [o for o in opaque if z3.is_const(o) and _name(o) in mentioned]
            # some opaque values the facts allow reach it (the plain constraints), and all do
            attempts.append((constraints + [z3.ForAll(values, z3.Implies(
                z3.And(*facts), z3.And(*rest)))] + pins if values else constraints + pins,
                True, True))
        attempts += [(constraints + pins, not opaque, True), (constraints, not opaque, False)]
        verdict = z3.unsat
        for attempt, universal, replayable in attempts:
            s = z3.Solver() if universal and opaque else solver()
            s.set("timeout", CHECK_MS)
            s.add(*attempt)
            verdict = s.check()
            if verdict == z3.sat:
                return s.model(), universal, replayable
        # The last attempt has every condition and nothing else: its "unsat" is the answer.
        return UNDECIDED if verdict == z3.unknown else None

    def _replay_into(self, cx: Counterexample, end: PathEnd, model: z3.ModelRef,
                     check: Check | None, pinned: bool) -> None:
        """Run the counterexample on unicorn. A violation the machine shows is real; one it
        does not show is a verifier defect, unless the path rests on values the replay
        cannot reproduce (a summarised loop, an unmodelled instruction, a counter)."""
        if not pinned:
            cx.replay_status = "not replayable"
            cx.replay = "the violation needs system register values unicorn does not have"
            return
        start = self._replay_start(end, model)
        result = replay(self.program, self.func, start, exit_at=end.addr, ports=self.ports)
        cx.replay = result.detail
        if check is None:
            # A return elsewhere: the run got to the path's last branch and left through it.
            shows = result.left_to is not None
        elif not result.returned:
            shows = False
        else:
            entry = ConcreteView(self.program, model, dict(start.regs, nzcv=start.nzcv,
                                 **{f"q{i}": v for i, v in start.vregs.items()}),
                                 lambda a, n: _bytes_value(start.memory, a, n),
                                 lambda name: start.sysregs.get(name, 0))
            exit_ = ConcreteView(self.program, model, result.regs, result.read, result.sysreg,
                                 result.sent)
            try:
                shows = z3.is_true(z3.simplify(check.broken(entry, exit_)))
            except UcError as exc:   # the condition reads a register unicorn does not have
                cx.replay_status = "not replayable"
                cx.replay += (f"; the condition reads a system register unicorn cannot "
                              f"(it says: {exc}), so the run cannot judge it")
                return
            except Unjudgeable as exc:
                cx.replay_status = "not replayable"
                cx.replay += f"; {exc}, so the run cannot judge it"
                return
        unreplayable = sorted({v.rule.summary.split(":")[0] for _, v in end.path.rules
                               if not v.rule.replayable})
        if shows:
            cx.replay_status = "confirmed"
        elif result.stopped_by_exception or result.ran_out or unreplayable or end.path.widened \
                or end.path.state.opaque:
            cx.replay_status = "not replayable"
            if unreplayable:
                cx.replay += f"; the path depends on {', '.join(unreplayable)}"
        else:
            cx.replay_status = "not confirmed"

    def _replay_start(self, end: PathEnd, model: z3.ModelRef) -> ReplayStart:
        ev = lambda e: model.eval(e, model_completion=True).as_long()
        regs = {r: ev(z3.BitVec(r, 64)) for r in INPUT_REGS}
        regs["x30"] = SENTINEL
        vregs = {i: ev(z3.BitVec(f"q{i}", 128)) for i in range(32)}
        in_model = {d.name() for d in model.decls()}
        sysregs = {name: ev(z3.BitVec(f"{name}_0", 64)) for name in SYSREG_KINDS
                   if f"{name}_0" in in_model}
        schedule = Schedule()
        for effect in end.path.trace:
            for acc in effect.accesses:
                if acc.kind == "store-exclusive":
                    schedule.exclusive_succeeds.append(z3.is_true(model.eval(acc.cond,
                                                                  model_completion=True)))
            if effect.firmware is not None:
                schedule.firmware_results.append({r: ev(v) for r, v in effect.firmware.items()})
        return ReplayStart(regs, vregs, ev(z3.BitVec("nzcv", 4)),
                           InitialMemory(model, initial_memory()), sysregs, schedule)

    def _counterexample(self, end: PathEnd, model: z3.ModelRef, sentence: str,
                        returning: bool = True) -> Counterexample:
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
        if returning:
            sentence = f"{sentence} (returning at {where})"
        return Counterexample(sentence, regs, memory, rows, where)


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
    ordering: set[tuple[int, str]] = field(default_factory=set)
    switches: set[str] = field(default_factory=set)
    callee_contracts: set[str] = field(default_factory=set)
    deferred: set[int] = field(default_factory=set)   # stores whose heap check is the callers'

    @staticmethod
    def merge(runs: list["_Run"]) -> "_Run":
        """The cases of a split proof as one run (a single run as it is)."""
        if len(runs) == 1:
            return runs[0]
        mode = Mode.BOUNDED if any(r.mode == Mode.BOUNDED for r in runs) else Mode.SUMMARISE
        out = _Run(mode, sum(r.paths for r in runs))
        for r in runs:
            out.failure = out.failure or r.failure
            out.possible += r.possible
            out.cut += r.cut
            out.cut_other += r.cut_other
            out.summarised += r.summarised
            out.returns += r.returns
            out.functions |= r.functions
            out.ordering |= r.ordering
            out.switches |= r.switches
            out.callee_contracts |= r.callee_contracts
            out.deferred |= r.deferred
        out.possible, out.cut_other = sorted(set(out.possible)), sorted(set(out.cut_other))
        return out
