"""Each thread of a litmus test run on its own: the memory events it performs, with their
dependencies, for every choice of the values its reads return.

Values are integers, addresses (a location and a byte offset), code addresses or
instructions (events.py). Every register value carries the set of read events it was
computed from (its taint): that gives the address, data and control dependencies, and
CSEL's "pick" dependency on the flags. instructions.py gives each instruction's semantics.
"""

from __future__ import annotations

from .events import Arrays, Run, Stuck, Val, Fault
from .instructions import step
from .parse import Litmus, LitmusError
from .program import Code, Program, code_label

MAX_STEPS = 200                    # per thread path, whatever the unrolling
UNROLL = 2                         # herd's default: jumps back to one place per path


def runs(test: Litmus, tid: int, init_regs: dict[str, object],
         values: dict[str, set], next_id, arrays: Arrays | None = None,
         unroll: int = UNROLL) -> list[Run]:
    """Every path of thread `tid` when each read may return any value in values[loc]. A path
    that jumps back to one place more than `unroll` times is cut, as herd does: it comes back
    as a Run with `cut` set (the place), to be reported, not run."""
    th = Program(test, tid)
    th.arrays = arrays if arrays is not None else Arrays()
    # A branch to a code address may run another thread's instructions: pc is (code, index).
    th.programs = [th if t == tid else Program(test, t) for t in range(len(test.code))]
    out: list[Run] = []

    def place(pc) -> str:
        names = [n for n, i in th.programs[pc[0]].labels.items() if i == pc[1]]
        return names[0] if names else f"line {th.programs[pc[0]].insns[pc[1]][0]}"

    def go(pc, regs, flags, ctrl, events, rmw, monitor, steps, jumps):
        while pc[1] < len(th.programs[pc[0]].insns):
            line, text = th.programs[pc[0]].insns[pc[1]]
            if steps > MAX_STEPS:
                raise LitmusError(test.path, line,
                                  f"P{tid} runs more than {MAX_STEPS} instructions on a path "
                                  f"(a loop that does not end?)")
            steps += 1
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
                to, seen = (pc[0], pc[1] + 1) if nxt is None else nxt, jumps
                if to[0] == pc[0] and to[1] <= pc[1] and th.counts_as_loop:   # a loop
                    seen = {**jumps, to: jumps.get(to, 0) + 1}
                    if seen[to] > unroll:
                        out.append(Run([], [], {}, cut=place(to)))
                        continue
                going.append((to, state, seen))
            if len(going) != 1:
                for to, state, seen in going:
                    go(to, *state, steps, seen)
                return
            pc, (regs, flags, ctrl, events, rmw, monitor), jumps = going[0]
        out.append(Run(events, rmw, {r: v.v for r, v in regs.items()}))

    go((tid, 0), {r: Val(v) for r, v in init_regs.items()}, (None, frozenset()), frozenset(),
       [], [], None, 0, {})
    return out
