"""Each thread of a litmus test run on its own: the memory events it performs, with their
dependencies, for every choice of the values its reads return.

Values are integers, addresses (a location and a byte offset), code addresses or
instructions (events.py). Every register value carries the set of read events it was
computed from (its taint): that gives the address, data and control dependencies, and
CSEL's "pick" dependency on the flags. instructions.py gives each instruction's semantics.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

from .events import BLOCKED, Arrays, Run, Stuck, Val, Fault
from .instructions import step
from .liveness import FLAGS, MONITOR, live_in
from .parse import Litmus, LitmusError
from .program import Code, Program, code_label, operands

MAX_STEPS = 200                    # per thread path, whatever the unrolling
UNROLL = 2                         # herd's default: jumps back to one place per path

_deadline: float | None = None     # time.monotonic() past which path enumeration stops


class OutOfTime(Exception):
    """The time given to enumerating a test's paths ran out (see `time_limit`)."""


@contextmanager
def time_limit(seconds: float | None):
    """Within the block, enumerating a thread's paths past `seconds` raises OutOfTime: a
    harness whose paths multiply (a retry loop that goes round on success) must end with a
    verdict, not run for hours. None: no limit."""
    global _deadline
    saved = _deadline
    if seconds is not None:
        mine = time.monotonic() + seconds
        _deadline = mine if saved is None else min(saved, mine)
    try:
        yield
    finally:
        _deadline = saved


def runs(test: Litmus, tid: int, init_regs: dict[str, object],
         values: dict[str, set], next_id, arrays: Arrays | None = None,
         unroll: int = UNROLL, awaited: dict | None = None,
         at_end: set[str] | None = None, unread: bool = False) -> list[Run]:
    """Every path of thread `tid` when each read may return any value in values[loc]. A path
    that jumps back to one place more than `unroll` times is cut, as herd does: it comes back
    as a Run with `cut` set (the place), to be reported, not run.

    With test.harness (harnesses of shipped code, not herd's semantics), a jump back to a
    place the path reached before with no write since and every register live there (the
    flags and the exclusive monitor included) unchanged, dependencies and all, ends that
    path: the path that left the loop at the earlier visit has the same future
    (liveness.py). This assumes the loop ends (a spin or retry loop that waits forever is not
    explored); `awaited` counts such cuts per place. `at_end` are the registers the final
    state shows (None: all of them)."""
    th = Program(test, tid)
    th.arrays = arrays if arrays is not None else Arrays()
    # A branch to a code address may run another thread's instructions: pc is (code, index).
    th.programs = [th if t == tid else Program(test, t) for t in range(len(test.code))]
    out: list[Run] = []

    def place(pc) -> str:
        names = [n for n, i in th.programs[pc[0]].labels.items() if i == pc[1]]
        return names[0] if names else f"line {th.programs[pc[0]].insns[pc[1]][0]}"

    live = _liveness(th, at_end) if test.harness or unread else None
    if unread:                  # decide(): a plain load whose register is dead at once
        th.unread = {i for i, (_, text) in enumerate(th.insns)
                     if _dead_load(text, live[i + 1] if i + 1 < len(live) else set())}
    if not test.harness:
        live = None             # the await reduction is for harnesses only
    writes = lambda events: sum(e.kind == "W" for e in events)

    def unchanged(before, regs, flags, monitor, events, to) -> bool:
        b_regs, b_flags, b_monitor, b_writes = before
        if writes(events) != b_writes:
            return False
        for r in live[to[1]]:
            if r == FLAGS and flags != b_flags or r == MONITOR and monitor != b_monitor:
                return False
            if r not in (FLAGS, MONITOR) and regs.get(r) != b_regs.get(r):
                return False
        return True

    def go(pc, regs, flags, ctrl, events, rmw, monitor, steps, jumps, visits):
        while pc[1] < len(th.programs[pc[0]].insns):
            line, text = th.programs[pc[0]].insns[pc[1]]
            if live is not None and pc[0] == tid:
                visits = {**visits, pc: (regs, flags, monitor, writes(events))}
            if steps > MAX_STEPS:
                raise LitmusError(test.path, line,
                                  f"P{tid} runs more than {MAX_STEPS} instructions on a path "
                                  f"(a loop that does not end?)")
            steps += 1
            if _deadline is not None and time.monotonic() > _deadline:
                raise OutOfTime
            th.counts_as_loop = True
            try:
                forks = step(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor,
                              values, next_id)
            except Stuck as stuck:
                out.append(Run(events, rmw, {r: v.v for r, v in regs.items()}, stuck.error))
                return
            except Fault as fault:
                where = code_label(test, Code(*pc))
                out.append(Run(events, rmw, {r: v.v for r, v in regs.items()},
                               fault=(where, fault.kind)))
                return
            going = []
            for nxt, *state in forks:
                if nxt is BLOCKED:              # a WFI sleeping: its read is the last event
                    out.append(Run(state[3], state[4], {r: v.v for r, v in state[0].items()},
                                   blocked=state[3][-1].id))
                    continue
                to, seen = (pc[0], pc[1] + 1) if nxt is None else nxt, jumps
                if live is not None and to in visits and to[1] <= pc[1] and \
                        unchanged(visits[to], state[0], state[1], state[5], state[3], to):
                    awaited[place(to)] = awaited.get(place(to), 0) + 1
                    out.append(Run(state[3], [], {}, awaited=place(to)))
                    continue                    # an await iteration: nothing new after it
                if to[0] == pc[0] and to[1] <= pc[1] and th.counts_as_loop:   # a loop
                    seen = {**jumps, to: jumps.get(to, 0) + 1}
                    if seen[to] > unroll:
                        out.append(Run([], [], {}, cut=place(to)))
                        continue
                going.append((to, state, seen))
            if len(going) != 1:
                for to, state, seen in going:
                    go(to, *state, steps, seen, visits)
                return
            pc, (regs, flags, ctrl, events, rmw, monitor), jumps = going[0]
        out.append(Run(events, rmw, {r: v.v for r, v in regs.items()}))

    if awaited is None:
        awaited = {}
    go((tid, 0), {r: Val(v) for r, v in init_regs.items()}, (None, frozenset()), frozenset(),
       [], [], None, 0, {}, {})
    return out


CONDITIONAL = re.compile(r"B\.\w+|CBZ|CBNZ|TBZ|TBNZ")
PLAIN_LOAD = re.compile(r"(LDR|LDAR|LDAPR)(B|H)?")


def _dead_load(text: str, live_after: set[str]) -> bool:
    """A single load, not exclusive, without writeback, into a register no instruction
    after it may read."""
    op, args = operands(text)
    if not PLAIN_LOAD.fullmatch(op) or len(args) != 2 or args[1].strip().endswith("!"):
        return False
    dest = args[0].strip().upper()
    if not re.fullmatch(r"[WX]\d+", dest):
        return False
    return "X" + dest[1:] not in live_after


def _liveness(th: Program, at_end: set[str] | None) -> list[set[str]]:
    """live_in for thread th's own code. A return may go back to any call's next
    instruction; a branch to a register's address, anywhere (every register is then live)."""
    n = len(th.insns)
    every = {f"X{i}" for i in range(31)} | {"SP", FLAGS, MONITOR}
    returns = [i + 1 for i, (_, t) in enumerate(th.insns) if operands(t)[0] == "BL"]
    successors: list[list[int]] = []
    for i, (line, text) in enumerate(th.insns):
        op, args = operands(text)
        target = th.labels.get(args[-1].strip()) if args else None
        if op in ("BR", "BLR") or (op in ("B", "BL") or CONDITIONAL.fullmatch(op)) \
                and target is None:
            return [every] * (n + 1)             # a target this analysis does not know
        if op in ("B", "BL"):
            successors.append([target])
        elif CONDITIONAL.fullmatch(op):
            successors.append([i + 1, target])
        elif op == "RET":
            successors.append(returns + [n])
        else:
            successors.append([i + 1])
    return live_in([t for _, t in th.insns], successors, every if at_end is None else at_end)
