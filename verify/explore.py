"""Path exploration of one function, from a symbolic entry state to every way it ends.

Calls are followed into the callee (exact, no summaries). Loops are handled in one of two
modes, both sound and both reported:

- `summarise` (default): at the second arrival at a jump target on a path, the registers
  that changed and the memory the iteration stored to are replaced by fresh values. If the
  next arrival stays within that generalised state (no new register changed, every store hit
  an already generalised address) the loop is summarised: the generalised state covers every
  iteration count, and the path is closed. A loop whose stores do not settle within a few
  rounds (it stores through a pointer that moves) is generalised once more with all of
  memory unknown; one that still does not settle ends the path as `not-summarised`.
- `bounded`: loops are unrolled up to `bound` arrivals at a target; a path that would go
  further ends as `bound-reached`. Used to find a concrete counterexample, and for functions
  whose loops cannot be summarised; the bound is reported.

A contract's loop invariants are proved on every arrival at their loop head and assumed
where the loop is generalised; the heap invariants (verify/heap.py) are assumed of each word
read and proved of each word written. Either one that may break ends the path as BROKEN.

Instructions the audit says are unmodelled either end the path or, where the audit gives a
sound way past them, continue with fresh "opaque" values; either way the path records them.
"""

from __future__ import annotations

import enum
import itertools
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import z3

from . import overlay
from .audit import AuditResult, Recovery, audit
from .machine import (FIRMWARE, STREAM, Effect, MemAccess, State, Step, fresh, fresh_like,
                      initial_memory, read_memory, reg_offset, solver)
from .program import Function, Program
from .semantics import Unmodelled

MAX_WIDENINGS = 3
MAX_REGISTER_ROUNDS = 4  # more generalisations while only the set of changed registers grows
QUICK_CHECK_MS = 2000   # a whole condition at once, before its conjuncts one by one
PART_CHECK_MS = 60000   # one conjunct of what a contract guarantees (prove.CHECK_MS alike)
PRE_CHECK_MS = 30000    # how long to try a callee's precondition before running its code (a
                        # run-queue invariant after a lock: about 4 s)
REGION_MS = 1000       # how long to try to place a store inside one of the function's regions
FEASIBLE_MS = 3000      # how long to try to rule out a branch before exploring it anyway
_summary_ids = itertools.count()
ORDINARY_JUMPS = ("Ijk_Boring", "Ijk_Call", "Ijk_Ret")


def _brief(expr: z3.ExprRef, limit: int = 120) -> str:
    """An expression for a sentence a person reads: whole when short, else its start."""
    text = " ".join(str(z3.simplify(expr)).split())
    return text if len(text) <= limit else text[:limit] + " …"


def conjuncts(p: z3.BoolRef, guards: tuple = ()) -> list[tuple[tuple, z3.BoolRef]]:
    """p as (guards, conjunct) pairs: p fails exactly when, for one pair, every guard holds
    and the conjunct does not. Splits And, Implies and a Boolean If."""
    if z3.is_and(p):
        return [pair for c in p.children() for pair in conjuncts(c, guards)]
    if z3.is_app_of(p, z3.Z3_OP_IMPLIES):
        return conjuncts(p.arg(1), guards + (p.arg(0),))
    if z3.is_app_of(p, z3.Z3_OP_ITE) and z3.is_bool(p):
        c, yes, no = p.children()
        return conjuncts(yes, guards + (c,)) + conjuncts(no, guards + (z3.Not(c),))
    return [(guards, p)]


def _is_sysreg(item) -> bool:
    """A MAYCHANGE item that names a system register (not a general, vector or flags
    register, sp, a region or all of memory)."""
    if not isinstance(item, str) or item in ("sp", "nzcv", "memory"):
        return False
    digits = item[1:].split(".")[0]
    return not (item[0] in "xqd" and digits.isdigit())


class Mode(enum.Enum):
    SUMMARISE = "summarise"
    BOUNDED = "bounded"


class EndKind(enum.Enum):
    RETURN = "return"
    CLOSED = "loop summarised"
    BOUND = "bound reached"
    NOT_SUMMARISED = "loop not summarised"
    UNMODELLED = "unmodelled instruction"
    ESCAPE = "left the known code"
    INDIRECT = "indirect branch to an unknown target"
    TOO_LONG = "path too long"
    STOP = "reached a stop address"          # a segment of a round trip ends here
    PARK = "parked"                          # WFE or WFI, then a branch back to it: forever
    SWITCH = "entered a context switch"      # e.g. a tail call of yield: see prove.py
    BROKEN = "an invariant may be broken"    # a loop invariant, or a heap invariant at a store


@dataclass
class Snapshot:
    state: State
    n_constraints: int
    n_stores: int
    generalised: bool = False
    havoc_regs: frozenset[int | str] = frozenset()    # VEX slots, system registers by name
    havoc_stores: tuple[tuple[z3.BitVecRef, int], ...] = ()
    widenings: int = 0
    arrivals: int = 1
    memory_havoc: bool = False   # the summary made all of memory unknown at the loop head
    heads: int = 0               # the path's arrivals at loop-invariant heads when taken
    # With memory_havoc: these stores into the function's own frame (saved registers) are
    # kept, which no iteration touches (Explorer._frame_left)
    kept_frame: tuple[tuple[z3.BitVecRef, int], ...] = ()
    n_switched: int = 0          # the path's switches passed through when taken


@dataclass
class Path:
    state: State
    trace: list[Effect] = field(default_factory=list)
    frames: tuple[int, ...] = ()
    snapshots: dict[tuple, Snapshot] = field(default_factory=dict)
    # (address, size, condition) of every write, for loop summaries
    stores: list[tuple[z3.BitVecRef, int, z3.BoolRef | None]] = field(default_factory=list)
    unmodelled: list[tuple[int, AuditResult]] = field(default_factory=list)
    widened: list[z3.BitVecRef] = field(default_factory=list)
    rules: list[tuple[int, AuditResult]] = field(default_factory=list)  # overlay rules used
    switched: list[int] = field(default_factory=list)   # switch entries passed through
    summarised: list[str] = field(default_factory=list)  # callees taken by their contract
    deferred: list[int] = field(default_factory=list)    # stores left to callers (heap)
    by_jump: bool = True   # the path got to its pc by a jump (a loop head may be there)
    heads: int = 0         # arrivals at loop-invariant heads so far
    # One per store: True when it cannot touch a stack frame, None when it is a store into
    # the function's own frame, False when not known (only judged inside loops).
    off_frame: list[bool | None] = field(default_factory=list)
    # Constraints that state only what is known of widened values: a callee's postcondition
    # where its contract stands for it. A violation that holds for every widened value they
    # allow is real as far as those contracts hold (check.py downgrades it where one is not
    # PROVED). A loop invariant is not one: whether it is inductive is decided later.
    facts: list[z3.BoolRef] = field(default_factory=list)

    def fork(self, state: State) -> "Path":
        return Path(state, list(self.trace), self.frames,
                    {k: replace(v) for k, v in self.snapshots.items()}, list(self.stores),
                    list(self.unmodelled), list(self.widened), list(self.rules),
                    list(self.switched), list(self.summarised), list(self.deferred),
                    heads=self.heads, off_frame=list(self.off_frame), facts=list(self.facts))

    def facts_of(self, constraints: list[z3.BoolRef]) -> list[z3.BoolRef]:
        """The facts among `constraints` (a generalisation drops those it undoes)."""
        ids = {c.get_id() for c in constraints}
        return [f for f in self.facts if f.get_id() in ids]


@dataclass
class PathEnd:
    kind: EndKind
    path: Path
    addr: int
    target: z3.BitVecRef | None = None
    detail: str = ""
    broken: z3.BoolRef | None = None    # BROKEN: the condition under which it is broken


@dataclass
class Limits:
    mode: Mode = Mode.SUMMARISE
    bound: int = 8            # arrivals at one jump target per path, in bounded mode
    max_steps: int = 20000    # instructions per path
    max_paths: int = 4096
    seconds: float | None = None   # CPU-time budget; past it the exploration stops, incomplete


class Explorer:
    def __init__(self, program: Program, func: Function, limits: Limits,
                 return_symbol: z3.BitVecRef,
                 assume_access: Callable[[MemAccess], z3.BoolRef | None] | None = None,
                 stops: frozenset[int] = frozenset(),
                 switches: dict[int, str] | None = None,
                 summaries: dict[int, tuple[str, object]] | None = None,
                 invariants: dict[int, Callable] | None = None,
                 own_regions: list[tuple[z3.BitVecRef, int]] = (),
                 cache_maintenance_kept: bool = False,
                 switch_out: Callable | None = None):
        self.program = program
        # The function's own small MAYCHANGE regions as (start, bytes) on entry: a store there
        # that the layout does not place is left to its callers, which check the region's
        # words when they take the contract (_summarise_call; heap.REGION_WORDS).
        self.own_regions = list(own_regions)
        self.func = func
        self.limits = limits
        self.ret = return_symbol
        self.assume_access = assume_access  # a spec's assumption about each memory access
        self.stops = stops                  # addresses where a path ends as STOP
        self.switches = switches or {}      # entries of switch paths: a path ends as SWITCH
        # Callees whose own contract stands in for their code (see _summarise_call).
        self.summaries = summaries or {}
        # Loop invariants of this function by loop-head address: inv(entry view, view here).
        self.invariants = invariants or {}
        # What must hold where the function itself enters a voluntary switch:
        # switch_out(entry view, view there) (Contract.switch_out).
        self.switch_out = switch_out
        # The contract says its cache maintenance leaves memory as stored (Contract.
        # cache_maintenance): those writes of unknown bytes are not held to the heap invariants.
        self.cache_maintenance_kept = cache_maintenance_kept
        self.paths_explored = 0
        self.deadline: float | None = None
        self.incomplete = False   # max_paths or the time budget was hit
        self.out_of_time = False

    # -- solver helpers -----------------------------------------------------------------
    @staticmethod
    def feasible(constraints: list[z3.BoolRef]) -> bool:
        """Whether a path may go on; undecided within FEASIBLE_MS counts as yes (sound: the
        path is explored)."""
        s = solver()
        s.set("timeout", FEASIBLE_MS)
        s.add(*constraints)
        return s.check() != z3.unsat

    # -- exploration --------------------------------------------------------------------
    def run(self, entry: State) -> list[PathEnd]:
        self.ends: list[PathEnd] = []
        self.entry = entry.copy()
        work = [Path(entry)]
        seconds = self.limits.seconds
        deadline = None if seconds is None else time.process_time() + seconds
        self.deadline = deadline
        while work:
            if self.paths_explored >= self.limits.max_paths:
                self.incomplete = True
                break
            if deadline is not None and time.process_time() > deadline:
                self.incomplete = self.out_of_time = True
                break
            path = work.pop()
            self.paths_explored += 1
            self.ends.append(self._run_path(path, work))
        return self.ends

    def _parks(self, addr: int) -> bool:
        """The park idiom: WFE or WFI, then a branch back to it (nothing can leave)."""
        word = self.program.instruction(addr).word
        return word in (0xD503205F, 0xD503207F) and \
            self.program.instruction(addr + 4).word == 0x17FFFFFF

    def _run_path(self, path: Path, work: list[Path]) -> PathEnd:
        steps = 0
        arrived_by_jump = path.by_jump
        while True:
            state = path.state
            addr = state.pc
            if self.program.function_at(addr) is None:
                return PathEnd(EndKind.ESCAPE, path, addr, detail=f"jump to 0x{addr:x}")
            if path.trace and addr in self.stops:
                return PathEnd(EndKind.STOP, path, addr)
            if self._parks(addr):
                return PathEnd(EndKind.PARK, path, addr,
                               detail="a WFE/WFI loop with no way out: it never returns")
            if path.trace and path.frames and addr in self.summaries:
                resolved = self._summarise_call(path, addr)
                if resolved is not None:
                    if isinstance(resolved, PathEnd):
                        return resolved
                    arrived_by_jump = True
                    continue
            if path.trace and addr in self.switches:
                resolved = self._through_switch(path, addr)
                if isinstance(resolved, PathEnd):
                    return resolved
                arrived_by_jump = True
                continue
            if arrived_by_jump:
                end = self._at_jump_target(path, addr)
                if end is not None:
                    return end
                state = path.state  # a loop summary replaces the state
            steps += 1
            if self.deadline is not None and time.process_time() > self.deadline:
                self.incomplete = self.out_of_time = True
                return PathEnd(EndKind.TOO_LONG, path, addr, detail="out of time")
            if steps > self.limits.max_steps:
                return PathEnd(EndKind.TOO_LONG, path, addr,
                               detail=f"more than {self.limits.max_steps} instructions")
            insn = self.program.instruction(addr)
            verdict = audit(insn)
            if not verdict.modelled:
                path.unmodelled.append((addr, verdict))
                if not self._step_past(path, insn.word, verdict):
                    return PathEnd(EndKind.UNMODELLED, path, addr, detail=verdict.reason)
                arrived_by_jump = False
                continue
            try:
                if verdict.rule is not None:
                    successors = [overlay.execute(verdict.rule, state, addr, insn.word,
                                                  self.program.config)]
                else:
                    successors = Step(state, insn.irsb, insn.word).run()
            except (Unmodelled, overlay.Unruled) as exc:
                path.unmodelled.append((addr, verdict))
                return PathEnd(EndKind.UNMODELLED, path, addr, detail=str(exc))
            live = [succ for succ in successors
                    if len(successors) == 1 or self.feasible(succ[0].constraints)]
            if not live:
                return PathEnd(EndKind.CLOSED, path, addr, detail="no feasible successor")
            # Continue the first successor on this path; fork the others.
            outcomes = []
            ended = None    # this path's own end, if its step breaks a heap invariant
            forks = [path] + [path.fork(succ) for succ, *_ in live[1:]]
            for p, (succ, effect, jumpkind, target) in zip(forks, live):
                p.state = succ
                p.trace.append(effect)
                if verdict.rule is not None:
                    p.rules.append((addr, verdict))
                for acc in effect.accesses:
                    if acc.is_write:
                        p.stores.append((acc.addr, acc.size, acc.cond))
                        p.off_frame.append(self._off_frame(p, acc.addr, acc.size))
                    if self.assume_access is not None:
                        assumption = self.assume_access(acc)
                        if assumption is not None:
                            p.state.constraints.append(assumption)
                broken = self._heap_kept(p, effect)
                if broken is None:
                    outcomes.append((p, jumpkind, target, addr))
                elif p is path:
                    ended = broken
                else:
                    self.paths_explored += 1
                    self.ends.append(broken)
            for p, jumpkind, target, at in outcomes:
                if p is path:
                    continue
                resolved = self._resolve(p, jumpkind, target, at)
                if isinstance(resolved, PathEnd):
                    self.paths_explored += 1
                    self.ends.append(resolved)
                else:
                    p.by_jump = resolved
                    work.append(p)
            if ended is not None:
                return ended
            p, jumpkind, target, at = outcomes[0]
            resolved = self._resolve(p, jumpkind, target, at)
            if isinstance(resolved, PathEnd):
                return resolved
            arrived_by_jump = resolved

    def _heap_kept(self, path: Path, effect: Effect) -> PathEnd | None:
        """Each write of the step keeps the heap invariants, or the path ends here."""
        state = path.state
        if state.heap is None:
            return None
        for acc in effect.accesses:
            if not acc.is_write or acc.kind == "cache-invalidate" and self.cache_maintenance_kept:
                continue
            value = acc.value if acc.kind != "cache-invalidate" else None
            need = state.heap.store_obligation(state, acc.addr, acc.size, value)
            if need is None:
                continue
            if path.frames == () and self._in_own_region(state, acc.addr, acc.size):
                path.deferred.append(effect.addr)
                state.unchecked = state.unchecked + ((acc.addr, acc.size),)
                continue
            if acc.cond is not None:
                need = z3.Implies(acc.cond, need)
            if state.heap.store_kept(state, need):
                continue
            return PathEnd(EndKind.BROKEN, path, effect.addr, broken=z3.Not(need),
                           detail=f"this {acc.kind} of {acc.size} bytes may break a heap "
                                  "invariant (specs/heap.py)")
        return None

    def _in_own_region(self, state: State, addr: z3.BitVecRef, nbytes: int) -> bool:
        """The access lies wholly inside one of the function's own regions: at a constant
        offset from its start, or, asked of the solver, at some offset that fits (a region
        placed through a word the function reads back after its own stores)."""
        if nbytes == 0:
            return False
        for start, size in self.own_regions:
            c = z3.simplify(addr - start)
            if z3.is_bv_value(c):
                if c.as_long() + nbytes <= size:
                    return True
                continue
            if nbytes <= size:
                s = solver()
                s.set("timeout", REGION_MS)
                s.add(*state.constraints)
                s.add(z3.UGT(addr - start, size - nbytes))
                if s.check() == z3.unsat:
                    return True
        return False

    @staticmethod
    def _off_frame(path: Path, addr: z3.BitVecRef, nbytes: int) -> bool | None:
        """Whether a store cannot touch a stack frame (None: it is in the function's own),
        judged only in a loop, where a summary may keep the frame (_frame_left)."""
        heap = path.state.heap
        if not path.snapshots or heap is None or heap.in_frame is None:
            return False
        if heap.in_frame(addr, nbytes):
            return None
        return heap.apart_from_frames(path.state, addr, nbytes)

    @staticmethod
    def _frame_left(path: Path, snap: Snapshot, words: tuple[tuple[z3.BitVecRef, int], ...]
                    ) -> tuple[tuple[z3.BitVecRef, int], ...]:
        """The frame words no store of the path since the snapshot can touch: none when a
        store may touch a frame at all, or a switch made all of memory unknown; else those
        that no store into the frame at a constant distance overlaps (a callee's own frame
        lies below them)."""
        stores = list(zip(path.stores[snap.n_stores:], path.off_frame[snap.n_stores:]))
        if any(off is False for _, off in stores) or len(path.switched) > snap.n_switched:
            return ()

        def touched(b: z3.BitVecRef, m: int) -> bool:
            for (a, n, _), off in stores:
                d = z3.simplify(a - b)
                if off is None and (not z3.is_bv_value(d) or -n < d.as_signed_long() < m):
                    return True
            return False
        return tuple((b, m) for b, m in words if not touched(b, m))

    @staticmethod
    def _frame_value(path: Path, state: State, addr: z3.BitVecRef,
                     nbytes: int) -> z3.BitVecRef:
        """A frame word's value in the state, passing over the path's stores that cannot
        touch a stack frame (the walk's stores through its list)."""
        passed = [(z3.simplify(a), n) for (a, n, _), f in zip(path.stores, path.off_frame) if f]
        off = {(a.get_id(), n) for a, n in passed}      # `passed` keeps each id its own

        def may_overlap(overlap, a=None, asize=0, b=None, bsize=0):
            if b is not None and (z3.simplify(b).get_id(), bsize) in off:
                return False
            return state._may_overlap(overlap, a, asize, b, bsize)
        return z3.simplify(read_memory(state.mem, state.base, addr, nbytes, may_overlap))

    @staticmethod
    def _frame_words(state: State) -> tuple[tuple[z3.BitVecRef, int], ...]:
        """The unconditional stores into the function's own frame in the state's memory."""
        heap, out, node = state.heap, [], state.mem
        while node is not None and heap is not None and heap.in_frame is not None:
            if node.fill is None and node.cond is None and heap.in_frame(node.addr, node.size):
                out.append((node.addr, node.size))
            node = node.older
        return tuple(reversed(out))

    def _resolve(self, path: Path, jumpkind: str, target: z3.BitVecRef, at: int):
        """Set the path's next pc. Returns True if it got there by a jump, False if it fell
        through, or a PathEnd."""
        state = path.state
        if jumpkind not in ORDINARY_JUMPS:
            # A trap, a system call, a VEX emulation exit: control does not simply go on.
            return PathEnd(EndKind.UNMODELLED, path, at,
                           detail=f"control leaves the code through a {jumpkind} exit")
        target = z3.simplify(target)
        if path.frames == () and not z3.is_bv_value(target):
            s = solver()
            s.add(*state.constraints)
            s.add(target == self.ret)
            if s.check() != z3.unsat:
                return PathEnd(EndKind.RETURN, path, at, target=target)
        value, decided = state.decided_single_value(target)
        if value is None and not decided:
            self.incomplete = self.out_of_time = True   # reported as the proof budget
            return PathEnd(EndKind.TOO_LONG, path, at, target=target,
                           detail="the solver did not decide the branch target in time")
        if value is None:
            return PathEnd(EndKind.INDIRECT, path, at, target=target,
                           detail=f"branch target {target} has more than one value")
        if jumpkind == "Ijk_Call":
            path.frames = path.frames + (at + 4,)
        elif jumpkind == "Ijk_Ret" and path.frames and value == path.frames[-1]:
            path.frames = path.frames[:-1]
        state.pc = value
        return value != at + 4 or jumpkind != "Ijk_Boring"

    def _through_switch(self, path: Path, addr: int):
        """A call or tail call of a voluntary switch (yield): its round-trip proof says it
        comes back to x30 with x19-x29, sp and d8-d15 as they were, x0 = 1 and IRQs
        unmasked. Meanwhile other processes and cores run, so every other register and all
        of memory are unknown afterwards."""
        state = path.state
        if self.switch_out is not None:     # in its own code or in a callee it runs
            broken = self._switch_out_kept(path, addr)
            if broken is not None:
                return broken
        path.switched.append(addr)
        ret = state.reg("x30")
        for i in range(19):
            state.set_reg(f"x{i}", z3.BitVecVal(1, 64) if i == 0 else self._unknown(path, f"x{i}"))
        for i in range(32):
            q = state.reg(f"q{i}")
            low = z3.Extract(63, 0, q) if 8 <= i < 16 else self._unknown(path, f"d{i}")
            state.set_reg(f"q{i}", z3.Concat(self._unknown(path, f"q{i}.hi"), low))
        state.set_reg("cc_op", z3.BitVecVal(0, 64))
        state.set_reg("cc_dep1", z3.ZeroExt(32, z3.Concat(
            z3.Extract(3, 0, self._unknown(path, "nzcv")), z3.BitVecVal(0, 28))))
        state.set_reg("cc_dep2", z3.BitVecVal(0, 64))
        state.set_reg("cc_ndep", z3.BitVecVal(0, 64))
        daif = state.sysreg_value("DAIF")
        state.sysregs["DAIF"] = z3.simplify(daif & ~z3.BitVecVal(0x80, 64))
        # the processes that ran meanwhile printed and called the firmware too
        for name in (*state.ports.values(), FIRMWARE):
            value = fresh_like(STREAM + name, f"after_switch_{name}")
            path.widened.append(value)
            state.sysregs[STREAM + name] = value
        state.mem, state.base = None, initial_memory(fresh("after_switch", 1).decl().name())
        state.monitor = None
        return self._resolve(path, "Ijk_Ret", ret, addr)

    def _switch_out_kept(self, path: Path, addr: int) -> PathEnd | None:
        """What the contract says the function leaves behind as it switches out holds here."""
        from .spec import View   # spec imports program, not explore
        state = path.state
        need = self.switch_out(View(self.entry, self.program), View(state, self.program))
        # The whole at once, briefly; then each conjunct alone (And, Implies and If split,
        # the guards kept), which is how a hard one is decided at all, as a postcondition's.
        parts = conjuncts(need)
        whole = [((), need)] if len(parts) > 1 else []
        for i, (guards, part) in enumerate(whole + parts):
            s = solver()
            s.set("timeout", QUICK_CHECK_MS if whole and i == 0 else PART_CHECK_MS)
            s.add(*state.constraints, *self.entry.constraints)
            s.add(*guards, z3.Not(part))
            verdict = s.check()
            if whole and i == 0:
                if verdict == z3.unsat:
                    break
                continue
            if verdict != z3.unsat:
                return PathEnd(EndKind.BROKEN, path, addr,
                               broken=z3.And(*guards, z3.Not(part)),
                               detail="what the contract says holds on switching out (its "
                                      "switch_out) may not hold where it enters the switch")
        state.constraints.append(need)
        return None

    def _summarise_call(self, path: Path, addr: int):
        """A call of a function with its own explicit contract: instead of running its code,
        take its contract (proved on its own in the same run): what it may change becomes
        unknown, then its postcondition holds. Used only where its precondition provably
        holds and its memory frame is regions of constant size; otherwise None (run the code)."""
        from .spec import MEMORY, Region, View   # spec imports program, not explore
        name, contract = self.summaries[addr]
        state = path.state
        if contract.cache_maintenance and state.heap is not None and state.heap.links:
            return None     # it may break what this proof relies on: run its code
        entry = state.copy()
        entry_view = View(entry, self.program)
        learnt = len(entry.constraints)

        def learn():
            # What reading the entry view's words taught (heap invariants) holds here too.
            nonlocal learnt
            state.constraints += entry.constraints[learnt:]
            learnt = len(entry.constraints)
        if contract.pre is not None:
            s = solver()
            s.set("timeout", PRE_CHECK_MS)   # unknown counts as "may not hold": run the code
            pre = contract.pre(entry_view)
            learn()
            s.add(*state.constraints)
            s.add(z3.Not(pre))
            if s.check() != z3.unsat:
                return None
            # Implied, so adding it changes nothing but the form: its layout facts (a PCB, a
            # core block) now name the terms this state reads (verify/intervals.py).
            state.constraints.append(pre)
        regions = []
        for item in contract.maychange:
            if isinstance(item, Region):
                start, size = item.bounds(entry_view)
                size = z3.simplify(size)
                if not z3.is_bv_value(size):
                    return None
                regions.append((start, size.as_long()))
            elif item == MEMORY:
                return None
        learn()
        for item in contract.maychange:
            if isinstance(item, str) and item.startswith("x") and item[1:].isdigit():
                # Like its memory writes, a callee's results count as caller-provided values
                # for the frame assumption: no `!` in the name.
                value = z3.BitVec(f"{name}_{item}#{next(_summary_ids)}", 64)
                path.widened.append(value)
                state.set_reg(item, value)
            elif item == "nzcv":
                state.set_reg("cc_op", z3.BitVecVal(0, 64))
                state.set_reg("cc_dep1", z3.ZeroExt(32, z3.Concat(
                    z3.Extract(3, 0, self._unknown(path, f"{name}_nzcv")),
                    z3.BitVecVal(0, 28))))
                state.set_reg("cc_dep2", z3.BitVecVal(0, 64))
                state.set_reg("cc_ndep", z3.BitVecVal(0, 64))
            elif isinstance(item, str) and item[0] in "qd" and item[1].isdigit():
                n = int(item[1:].split(".")[0])
                q = state.reg(f"q{n}")
                hi, lo = z3.Extract(127, 64, q), z3.Extract(63, 0, q)
                if item[0] == "q":                      # q<n>.hi, or all of q<n>
                    hi = self._unknown(path, f"{name}_{item}_hi")
                if item[0] == "d" or not item.endswith(".hi"):
                    lo = self._unknown(path, f"{name}_{item}_lo")
                state.set_reg(f"q{n}", z3.Concat(hi, lo))
            elif isinstance(item, str) and item not in ("sp",):
                value = fresh_like(item, f"after_switch_{name}_{item}")
                path.widened.append(value)
                state.sysregs[item] = value
        for start, size in regions:
            # No `!` in the name: what a callee wrote into memory its caller gave it counts,
            # for the frame assumption, as memory the caller provided (prove._from_caller).
            fill = state.store_unknown(start, size, f"{name}_writes#{next(_summary_ids)}")
            path.widened.append(fill)
            path.stores.append((start, size, None))
            path.off_frame.append(self._off_frame(path, start, size))
            if self.assume_access is not None:
                assumption = self.assume_access(MemAccess("store", z3.simplify(start), size,
                                                          fill(z3.simplify(start))))
                if assumption is not None:
                    state.constraints.append(assumption)
        state.monitor = None
        # The callee left its regions' words to its callers: they must keep the heap
        # invariants with what its postcondition says they now hold, read without assuming
        # the invariants of them (which would assume what is to be shown).
        heap, state.heap = state.heap, None
        if contract.post is not None:
            post = contract.post(entry_view, View(state, self.program))
            learn()
            state.constraints.append(post)
            path.facts.append(post)
        for start, size in regions if heap is not None else ():
            need = heap.region_obligation(state, start, size)
            if need is not None and not heap.store_kept(state, need):
                state.heap = heap
                return PathEnd(EndKind.BROKEN, path, addr, broken=z3.Not(need),
                               detail=f"what {name} may write at {_brief(start)} ({size} "
                                      "bytes, its contract's region) may break a heap invariant "
                                      "(specs/heap.py)")
        state.heap = heap
        path.summarised.append(name)
        return self._resolve(path, "Ijk_Ret", entry.reg("x30"), addr)

    @staticmethod
    def _unknown(path: Path, name: str) -> z3.BitVecRef:
        value = fresh(f"after_switch_{name}", 64)
        path.widened.append(value)
        return value

    def _step_past(self, path: Path, word: int, verdict: AuditResult) -> bool:
        """Continue past an unmodelled instruction where the audit gives a sound way."""
        state = path.state
        if verdict.recovery == Recovery.STOP:
            return False
        if verdict.recovery == Recovery.HAVOC_RT:
            rt = word & 0x1F
            if rt != 31:
                value = fresh(f"unmodelled_x{rt}", 64)
                state.opaque.append(value)
                state.set_reg(f"x{rt}", value)
        elif verdict.recovery == Recovery.SMCCC:
            for r in range(18):
                value = fresh(f"firmware_x{r}", 64)
                state.opaque.append(value)
                state.set_reg(f"x{r}", value)
        path.trace.append(Effect(state.pc))
        state.pc += 4
        return True

    # -- loops ----------------------------------------------------------------------------
    def _at_jump_target(self, path: Path, addr: int) -> PathEnd | None:
        key = (path.frames, addr)
        snap = path.snapshots.get(key)
        state = path.state
        head = path.frames == () and addr in self.invariants
        if head:
            broken = self._invariant_kept(path, addr, first=snap is None)
            if broken is not None:
                return broken
            path.heads += 1
        # A target last seen before the path passed a loop-invariant head lies on that loop:
        # the head's invariant stands for its iterations, so the target starts afresh rather
        # than be generalised itself (which would forget what the invariant restores). A
        # loop that does not pass the head is generalised at its own targets as before.
        if snap is None or (not head and snap.heads != path.heads):
            path.snapshots[key] = Snapshot(state.copy(), len(state.constraints), len(path.stores),
                                           heads=path.heads, n_switched=len(path.switched))
            if head and self.limits.mode == Mode.SUMMARISE:
                return self._generalise_at_head(path, key)
            return None
        snap.arrivals += 1
        if self.limits.mode == Mode.BOUNDED:
            if snap.arrivals > self.limits.bound:
                return PathEnd(EndKind.BOUND, path, addr,
                               detail=f"loop at this address unrolled {self.limits.bound} times")
            return None
        return self._widen(path, key, snap)

    def _invariant(self, addr: int, state: State) -> z3.BoolRef:
        from .spec import View   # spec imports program, not explore
        entry = View(self.entry, self.program)
        return self.invariants[addr](entry, View(state, self.program))

    def _invariant_kept(self, path: Path, addr: int, first: bool) -> PathEnd | None:
        """The loop invariant holds on this arrival at its head; it joins the path condition."""
        state = path.state
        inv = self._invariant(addr, state)
        s = solver()
        s.set("timeout", PRE_CHECK_MS)
        s.add(*state.constraints, *self.entry.constraints)
        s.add(z3.Not(inv))
        if s.check() != z3.unsat:
            when = "before the loop is generalised" if first else \
                "after an iteration of the generalised loop"
            return PathEnd(EndKind.BROKEN, path, addr, broken=z3.Not(inv),
                           detail=f"the loop invariant at this head may not hold {when}")
        state.constraints.append(inv)
        return None

    def _widen(self, path: Path, key, snap: Snapshot) -> PathEnd | None:
        state = path.state
        base = snap.state
        changed = {slot for slot in set(state.regs) | set(base.regs)
                   if slot not in state.regs or slot not in base.regs
                   or not z3.eq(state.regs[slot], base.regs[slot])}
        changed.discard(reg_offset("pc"))
        # System registers too (DAIF masked in the body, or unmasked by a switch), by name.
        changed |= {name for name in set(state.sysregs) | set(base.sysregs)
                    if not z3.eq(state.sysreg_value(name), base.sysreg_value(name))}
        # Stores the iteration left to the callers: loads must not assume the heap
        # invariants of their words in the summary either.
        deferred = tuple(u for u in state.unchecked
                         if not any(u[1] == n and z3.eq(u[0], a) for a, n in base.unchecked))
        # A conditional write (a store-exclusive, a CAS) whose condition this path has since
        # ruled out (it branched on the failure) changed nothing.
        new_stores = [(a, n) for a, n, cond in path.stores[snap.n_stores:]
                      if cond is None or self.feasible(state.constraints + [cond])]
        known = list(snap.havoc_stores)
        unknown_stores = [(a, n) for a, n in new_stores
                          if not any(n == m and z3.eq(a, b) for b, m in known)]
        monitor_same = (state.monitor is None and base.monitor is None) or (
            state.monitor is not None and base.monitor is not None
            and z3.eq(state.monitor[0], base.monitor[0]))
        # A switch since the snapshot made all of memory unknown, as a store to every address
        # would; a summary may close over it only if the head already forgets all of memory.
        switched = len(path.switched) > snap.n_switched
        memory_lost = switched and not (snap.memory_havoc and not snap.kept_frame)
        shrinks = False
        if snap.memory_havoc:
            # All of memory is unknown at the loop head already, but for the frame words it
            # kept, which this iteration must have left alone.
            left = self._frame_left(path, snap, snap.kept_frame)
            shrinks = len(left) < len(snap.kept_frame)
            unknown_stores = new_stores if shrinks else []
        if snap.generalised and changed <= snap.havoc_regs and not unknown_stores \
                and monitor_same and not memory_lost and not deferred:
            return PathEnd(EndKind.CLOSED, path, key[1], detail="loop summarised")
        # Past MAX_WIDENINGS all of memory is unknown at the head; what may still grow is the
        # set of registers an iteration changes (one branch of the body calls a function that
        # clobbers more than another), and what may shrink the frame words kept, both finite:
        # generalise again while they do.
        grows = (not changed <= snap.havoc_regs or shrinks or memory_lost) and \
            snap.widenings < MAX_WIDENINGS + MAX_REGISTER_ROUNDS
        if snap.widenings >= MAX_WIDENINGS + 1 and not grows or not monitor_same:
            return PathEnd(EndKind.NOT_SUMMARISED, path, key[1],
                           detail="loop state does not settle")
        return self._generalise(path, key, snap, changed, deferred, known + unknown_stores,
                                unknown_stores, memory_havoc=snap.memory_havoc or
                                snap.widenings >= MAX_WIDENINGS or switched)

    def _generalise_at_head(self, path: Path, key) -> None:
        """The first arrival at a loop-invariant head: generalise at once, as far as an
        iteration is likely to reach, so that every way through the body closes on its next
        arrival instead of each growing a summary of its own, round by round (three ways
        through a body and seven rounds made thousands of paths). Unknown from here: all of
        memory but the frame words the function saved, every register that no longer holds
        its entry value or whose entry value is saved there, and every register a callee
        taken by its contract may change; the invariant restores what the loop relies on. A
        body that changes anything else (a callee run by its code) does not close and is
        generalised again, as without an invariant."""
        snap = path.snapshots[key]
        base, entry = snap.state, self.entry
        reached = self.program.reachable([self.func.name])
        clobbered = {item for name, contract in self.summaries.values() if name in reached
                     for item in contract.maychange if isinstance(item, str)}

        def differs(offset: int) -> bool:
            return not z3.eq(base.get(offset, 64), entry.get(offset, 64))
        # A register whose entry value the function saved in its frame is restored from there
        # (the frame words are kept): the body may use it freely.
        saved = set()
        entry_regs = {i: z3.simplify(entry.reg(f"x{i}")) for i in range(19, 31)}
        for a, n in self._frame_words(base):
            value = z3.simplify(self._frame_value(path, base, a, n))
            for low in range(0, n * 8, 64):
                part = z3.simplify(z3.Extract(low + 63, low, value))
                saved |= {i for i, reg in entry_regs.items() if z3.eq(part, reg)}
        changed: set[int | str] = set()
        for i in range(31):
            if f"x{i}" in clobbered or i in saved or differs(reg_offset(f"x{i}")):
                changed.add(reg_offset(f"x{i}"))
        flags = [reg_offset(f) for f in ("cc_op", "cc_dep1", "cc_dep2", "cc_ndep")]
        if "nzcv" in clobbered or any(differs(f) for f in flags):
            changed.update(flags)
        for i in range(32):     # the vector registers, by 64-bit half
            low = reg_offset(f"q{i}")
            if {f"q{i}", f"d{i}"} & clobbered or differs(low):
                changed.add(low)
            if {f"q{i}", f"q{i}.hi"} & clobbered or differs(low + 8):
                changed.add(low + 8)
        changed |= {name for name in base.sysregs
                    if not z3.eq(base.sysreg_value(name), entry.sysreg_value(name))}
        changed |= {item for item in clobbered if _is_sysreg(item)}
        return self._generalise(path, key, snap, changed, (), (), (), memory_havoc=True)

    def _generalise(self, path: Path, key, snap: Snapshot, changed, deferred, stores,
                    unknown_stores, memory_havoc: bool) -> None:
        """Continue the path from the snapshot with fresh values where an iteration may
        differ: the `changed` registers, the `unknown_stores`, or all of memory."""
        base = snap.state
        gen = base.copy()
        gen.constraints = list(base.constraints[:snap.n_constraints])
        gen.unchecked = base.unchecked + tuple(deferred)
        kept = ()
        if memory_havoc:
            # The loop stores through a pointer that moves: at its head, all of memory is
            # unknown, except the words of the function's own frame (the registers it saved)
            # that no iteration so far can have touched.
            kept = self._frame_left(path, snap, self._frame_words(base))
            values = [(a, self._frame_value(path, base, a, n)) for a, n in kept]
            gen.mem, gen.base = None, initial_memory(fresh("loop_memory", 1).decl().name())
            for a, value in values:
                gen.store(a, value)
            path.widened.append(gen.base)
            unknown_stores = []
        havoc_regs = set(snap.havoc_regs) | changed
        for slot in changed:
            if isinstance(slot, str):
                value = fresh_like(slot, f"loop_{slot}")
                path.widened.append(value)
                gen.sysregs[slot] = value
                continue
            if slot == reg_offset("cc_op"):
                # The flags thunk's op stays one of VEX's 11 kinds, in canonical form.
                op = fresh("loop_cc_op", 4)
                gen.constraints.append(z3.ULE(op, 10))
                value = z3.ZeroExt(60, op)
                path.widened.append(op)
            else:
                value = fresh(f"loop_{slot}", 64)
                path.widened.append(value)
            gen.regs[slot] = value
        for a, n in unknown_stores:
            fill = gen.store_unknown(a, n, fresh("loop_mem", 1).decl().name())
            path.widened.append(fill)
        if key[0] == () and key[1] in self.invariants:
            # What the generalised state forgot, the invariant restores.
            gen.constraints.append(self._invariant(key[1], gen))
        path.snapshots[key] = Snapshot(gen.copy(), len(gen.constraints), len(path.stores),
                                       True, frozenset(havoc_regs), tuple(stores),
                                       snap.widenings + 1, snap.arrivals, memory_havoc,
                                       path.heads, kept, len(path.switched))
        path.state = gen
        return None
