"""Contracts of asm/process.s.

The state word's transitions: each proc_state_* function is one row of BEAM's state machine
(docs/beam-model.md §2), stated here as the exact new word for every old word and proved,
store-exclusive failures and retries included. The word holds the flags in bits 0-15, the
suspend count in 16-31 and the slot's generation in 32-63.
"""

import z3

from verify.spec import AAPCS64_SCRATCH, Contract, NotCallable, Region

STATE = Region(lambda e: e.x(0), 8)          # the state word, at PCB_STATE = 0
LEAF = tuple(f"x{i}" for i in range(6)) + ("nzcv",)
FULL = 0xFFFFFFFFFFFFFFFF


# Why two unrollings of a retry loop are enough: the loop goes round again only when the
# store-exclusive fails, and a failed store-exclusive changes no memory, so the next attempt
# reads the same word and repeats the first one (another core's store would change the word,
# which is the case the first attempt already covers: it starts from any word at all).
RETRY_BOUND = (2, "the only back edge is a failed store-exclusive, which changes no memory, "
                  "so every retry repeats the first attempt from an arbitrary word")


def transition(summary, row, bounded=False):
    """A contract for a transition: `row(e, old)` gives (new word, return value)."""
    def post(e, x):
        new, ret = row(e, e.u64(e.x(0)))
        conds = [x.u64(e.x(0)) == new]
        if ret is not None:
            conds.append(x.x(0) == ret)
        return z3.And(*conds)
    return Contract(summary, maychange=LEAF + (STATE,), post=post,
                    loop_bound=RETRY_BOUND if bounded else None)


def gen(word):
    """The generation: the top 32 bits (a logical shift; `>>` would be arithmetic)."""
    return z3.LShR(word, 32)


def flags(e):
    c = e.const
    return {n: z3.BitVecVal(c(n), 64) for n in (
        "PS_ACTIVE", "PS_IN_RUNQ", "PS_RUNNING", "PS_SUSPENDED", "PS_EXITING", "PS_FREE",
        "PS_SUSPEND_ONE")}


def _spawn(e, old):
    f = flags(e)
    free = old & f["PS_FREE"] != 0
    fresh = (gen(old) << 32) | f["PS_ACTIVE"] | f["PS_IN_RUNQ"]
    return z3.If(free, fresh, old), z3.If(free, z3.BitVecVal(1, 64), z3.BitVecVal(0, 64))


def _wake(e, old):
    f = flags(e)
    blockers = f["PS_IN_RUNQ"] | f["PS_RUNNING"] | f["PS_SUSPENDED"] | f["PS_EXITING"]
    free = old & f["PS_FREE"] != 0
    enqueue = z3.And(z3.Not(free), old & blockers == 0)
    new = z3.If(free, old, z3.If(enqueue, old | f["PS_ACTIVE"] | f["PS_IN_RUNQ"],
                                 old | f["PS_ACTIVE"]))
    return new, z3.If(enqueue, z3.BitVecVal(1, 64), z3.BitVecVal(0, 64))


def _block(e, old):
    return old & ~flags(e)["PS_ACTIVE"], None


def _run(e, old):
    f = flags(e)
    mask = f["PS_ACTIVE"] | f["PS_RUNNING"] | f["PS_SUSPENDED"] | f["PS_EXITING"] | f["PS_FREE"]
    may_run = old & mask == f["PS_ACTIVE"]
    dequeued = old & ~f["PS_IN_RUNQ"]
    return (z3.If(may_run, dequeued | f["PS_RUNNING"], dequeued),
            z3.If(may_run, z3.BitVecVal(1, 64), z3.BitVecVal(0, 64)))


def _out(e, old):
    f = flags(e)
    mask = f["PS_ACTIVE"] | f["PS_IN_RUNQ"] | f["PS_SUSPENDED"] | f["PS_EXITING"] | f["PS_FREE"]
    again = old & mask == f["PS_ACTIVE"]
    stopped = old & ~f["PS_RUNNING"]
    return (z3.If(again, stopped | f["PS_IN_RUNQ"], stopped),
            z3.If(again, z3.BitVecVal(1, 64), z3.BitVecVal(0, 64)))


def _count(word):
    return z3.Extract(31, 16, word)


def _suspend(e, old):
    f = flags(e)
    ok = z3.And(e.x(1) == gen(old), old & (f["PS_FREE"] | f["PS_EXITING"]) == 0,
                _count(old) != 0xFFFF)
    return (z3.If(ok, (old + f["PS_SUSPEND_ONE"]) | f["PS_SUSPENDED"], old),
            z3.If(ok, z3.BitVecVal(1, 64), z3.BitVecVal(0, 64)))


def _resume(e, old):
    f = flags(e)
    ok = z3.And(e.x(1) == gen(old), old & f["PS_FREE"] == 0, _count(old) != 0)
    less = old - f["PS_SUSPEND_ONE"]
    last = _count(less) == 0
    cleared = less & ~f["PS_SUSPENDED"]
    mask = f["PS_ACTIVE"] | f["PS_RUNNING"] | f["PS_IN_RUNQ"] | f["PS_EXITING"]
    enqueue = z3.And(last, cleared & mask == f["PS_ACTIVE"])
    new = z3.If(ok, z3.If(last, z3.If(enqueue, cleared | f["PS_IN_RUNQ"], cleared), less), old)
    ret = z3.If(ok, z3.If(enqueue, z3.BitVecVal(2, 64), z3.BitVecVal(1, 64)),
                z3.BitVecVal(0, 64))
    return new, ret


def _exit(e, old):
    f = flags(e)
    kept = old & ~z3.BitVecVal(0xFFFF0000, 64) & ~f["PS_ACTIVE"] & ~f["PS_SUSPENDED"]
    return kept | f["PS_EXITING"], None


def _free(e, old):
    return ((gen(old) + 1) << 32) | flags(e)["PS_FREE"], None


def _lookup_post(e, x):
    c = e.const
    pid = e.x(0)
    index = pid & 0xFFFFFFFF
    pcb = z3.BitVecVal(e.symbol("proc_pcbs"), 64) + index * c("PCB_SIZE")
    word = e.u64(pcb)
    current = z3.And(z3.ULT(index, c("MAX_PROCS")), word & c("PS_FREE") == 0,
                     gen(word) == gen(pid))
    return x.x(0) == z3.If(current, pcb, z3.BitVecVal(0, 64))


FREE_LIST = (Region("proc_free_lock", 4), Region("proc_free_head", 8))

CONTRACTS = {
    "proc_alloc": Contract("takes the first slot off the free list (0 if none); writes only "
                           "the free list", maychange=AAPCS64_SCRATCH + FREE_LIST),
    "proc_state_spawn": transition("FREE -> ACTIVE|IN_RUNQ, same generation; else refused",
                                   _spawn),
    "proc_state_wake": transition("sets ACTIVE; also IN_RUNQ (enqueue) unless queued, running, "
                                  "suspended or exiting; a free slot is left alone", _wake),
    "proc_state_block": transition("clears ACTIVE", _block),
    "proc_state_run": transition("the pick: clears IN_RUNQ; sets RUNNING only if ACTIVE and "
                                 "not running, suspended, exiting or free", _run),
    "proc_state_out": transition("schedule-out: clears RUNNING; sets IN_RUNQ (re-enqueue) if "
                                 "still ACTIVE and not queued, suspended, exiting or free", _out),
    "proc_state_suspend": transition("for the right generation, not free or exiting: count + 1 "
                                     "and SUSPENDED; else refused", _suspend, bounded=True),
    "proc_state_resume": transition("for the right generation and a count above 0: count - 1; "
                                    "at 0 clears SUSPENDED and, if ACTIVE and idle, sets "
                                    "IN_RUNQ (returns 2: enqueue)", _resume, bounded=True),
    "proc_state_exit": transition("sets EXITING, clears ACTIVE, SUSPENDED and the count", _exit),
    "proc_state_free": transition("FREE with the next generation: every old pid goes stale",
                                  _free),
    "proc_lookup": Contract(
        "the PCB of a pid only while its slot holds that generation and is not free",
        maychange=("x0", "x1", "x2", "x3", "nzcv"), post=_lookup_post),
    "proc_start": NotCallable("where a new process begins (the x30 of its first frame); calls "
                              "its entry, then exit"),
    "exit": NotCallable("a process's last call: it marks itself exiting and enters the "
                        "scheduler on the scheduler's stack; never returns"),
}
