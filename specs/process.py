"""Contracts of asm/process.s.

The state word's transitions: each proc_state_* function is one row of BEAM's state machine
(docs/beam-model.md §2), stated here as the exact new word for every old word and proved,
store-exclusive failures and retries included. The word holds the flags in bits 0-15, the
suspend count in 16-31 and the slot's generation in 32-63.
"""

import z3

from verify.harness.spec import Harness, call, code
from verify.spec import AAPCS64_SCRATCH, Contract, NotCallable, Region, member

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


def pcb_of(e, index):
    """The PCB of a slot index: proc_pcbs is an array of PCB_SIZE-byte PCBs."""
    return z3.BitVecVal(e.symbol("proc_pcbs"), 64) + index * e.const("PCB_SIZE")


def is_pcb(e, pcb):
    """pcb is one of the table's PCBs (its index below MAX_PROCS)."""
    return member(e, pcb, "proc_pcbs", "MAX_PROCS", "PCB_SIZE")


def free_head(view):
    return view.u64(view.symbol("proc_free_head"))


def _alloc_pre(e):
    head = free_head(e)
    return z3.Or(head == e.const("PROC_NIL"), z3.ULT(head, e.const("MAX_PROCS")))


def _alloc_post(e, x):
    c = e.const
    head = free_head(e)
    empty = head == c("PROC_NIL")
    pcb = pcb_of(e, head)
    return z3.And(
        z3.Or(x.x(0) == 0, is_pcb(e, x.x(0))),     # the gist, in a form callers use directly
        z3.Implies(empty, z3.And(x.x(0) == 0, free_head(x) == head)),
        z3.Implies(z3.Not(empty), z3.And(x.x(0) == pcb,
                                         free_head(x) == e.u64(pcb + c("PCB_FREE_NEXT")))),
        x.u32(e.symbol("proc_free_lock")) == c("LOCK_FREE"))


def _free_post(e, x):
    c = e.const
    pcb = e.x(0)
    index = e.u64(pcb + c("PCB_PID")) & 0xFFFFFFFF
    new_word, _ = _free(e, e.u64(pcb))
    return z3.And(x.u64(pcb) == new_word,
                  x.u64(pcb + c("PCB_PID")) == index | (gen(new_word) << c("PID_GEN_SHIFT")),
                  x.u64(pcb + c("PCB_FREE_NEXT")) == free_head(e),
                  free_head(x) == index,
                  x.u32(e.symbol("proc_free_lock")) == c("LOCK_FREE"))


PCB_FIELD = lambda name: Region(lambda e: e.x(0) + e.const(name), 8)


# ---- spawn -----------------------------------------------------------------------------
# The scheduler's layout, repeated from specs/scheduler.py (spec modules are keyed in the
# proof cache one by one, so they do not import each other).
MAX_CORES = 8       # asm/scheduler.inc
RUNQ_COUNT = 3


def core_block(e, index):
    return z3.BitVecVal(e.symbol("sched_cores"), 64) + index * e.const("CORE_SIZE")


def is_core_block(e, block):
    return member(e, block, "sched_cores", "MAX_CORES", "CORE_SIZE")


def _table(symbol: str, count: str, size: str) -> Region:
    """A whole array of the runtime's state: `count` objects of `size` bytes at `symbol`."""
    return Region(symbol, lambda e: z3.BitVecVal(e.const(count) * e.const(size), 64))


def _spawn_options(e):
    """(priority, minimum heap, affinity option) as spawn reads them: defaults without x2."""
    c, opts = e.const, e.x(2)
    none = opts == 0
    return (z3.If(none, z3.BitVecVal(c("PRIO_NORMAL"), 32), e.u32(opts + c("SPAWN_OPT_PRIO"))),
            z3.If(none, z3.BitVecVal(0, 32), e.u32(opts + c("SPAWN_OPT_MIN_HEAP"))),
            z3.If(none, z3.BitVecVal(0, 64), e.u64(opts + c("SPAWN_OPT_AFFINITY"))))


def _spawn_pre(e):
    """Called by a process on a scheduling core: TPIDRRO_EL0 is its core's block (its index
    below MAX_CORES), at most MAX_CORES cores started, the free list's head a slot or
    PROC_NIL, and every run queue's tail none or a PCB (what sched_enqueue needs)."""
    c = e.const
    block = e.sysreg("TPIDRRO_EL0")
    tails = [e.u64(core_block(e, k) + c("CORE_QUEUES") + q * c("RUNQ_SIZE") + c("RUNQ_TAIL"))
             for k in range(MAX_CORES) for q in range(RUNQ_COUNT)]
    return z3.And(is_core_block(e, block), z3.ULT(e.u64(block + c("CORE_INDEX")), MAX_CORES),
                  z3.ULE(e.u64(e.symbol("boot_cores_started")), MAX_CORES), _alloc_pre(e),
                  *[z3.Or(t == 0, is_pcb(e, t)) for t in tails])


def _spawn_post(e, x):
    """Refused (0, nothing allocated) for a priority above PRIO_LOW, a minimum heap above
    PROC_HEAP_MAX, an affinity naming no started core or an empty free list; else the pid of
    the free list's head slot, whose PCB holds the options, the chosen core, the first frame
    (x19 = entry, x20 = arg, x30 = proc_start, sp its stack top), its state word the spawn
    transition's, and it is the tail of its core's queue for its priority. Its other fields
    start cleared (reductions, exit reason, timer, user word, periodic deadline; a voluntary
    frame kind, a zero frame pointer) and the chosen core counts the spawn."""
    c = e.const
    prio, heap, affinity = _spawn_options(e)
    started = e.u64(e.symbol("boot_cores_started"))
    running = (z3.BitVecVal(1, 64) << started) - 1
    mask = z3.If(affinity == 0, running, affinity) & running
    own = e.u64(e.sysreg("TPIDRRO_EL0") + c("CORE_INDEX"))
    core = z3.ZeroExt(32, x.u32(pcb_of(e, free_head(e)) + c("PCB_CORE")))
    allowed = lambda k: z3.Extract(0, 0, z3.LShR(mask, k)) == 1
    # the caller's core if the mask allows it, else the lowest core it allows
    chosen = z3.And(z3.ULT(core, 64), allowed(core),
                    z3.If(allowed(own & 63), core == own,
                          mask & ((z3.BitVecVal(1, 64) << core) - 1) == 0))
    head = free_head(e)
    pcb = pcb_of(e, head)
    frame = pcb + c("PCB_FRAME")
    refused = z3.Or(z3.UGT(prio, c("PRIO_LOW")), z3.UGT(heap, c("PROC_HEAP_MAX")), mask == 0,
                    head == c("PROC_NIL"))
    queue = core_block(e, core) + c("CORE_QUEUES") + \
        z3.ZeroExt(32, z3.If(z3.ULT(prio, c("RUNQ_NORMAL")), prio,
                             z3.BitVecVal(c("RUNQ_NORMAL"), 32))) * c("RUNQ_SIZE")
    state, _ = _spawn(e, e.u64(pcb))
    return z3.If(refused, z3.And(x.x(0) == 0, free_head(x) == head), z3.And(
        x.x(0) == e.u64(pcb + c("PCB_PID")),
        free_head(x) == e.u64(pcb + c("PCB_FREE_NEXT")),
        x.u32(pcb + c("PCB_PRIO")) == prio, x.u32(pcb + c("PCB_MIN_HEAP")) == heap,
        x.u64(pcb + c("PCB_AFFINITY")) == mask,
        chosen,
        *[x.u64(pcb + c(f)) == 0 for f in ("PCB_REDS", "PCB_EXIT_REASON", "PCB_USER",
                                            "PCB_PERIOD_DEADLINE")],
        x.u32(pcb + c("PCB_TIMER_ARMED")) == 0,
        x.u32(pcb + c("PCB_FRAME_KIND")) == c("FRAME_KIND_VOLUNTARY"),
        x.u64(core_block(e, core) + c("STAT_SPAWNED")) ==
        e.u64(core_block(e, core) + c("STAT_SPAWNED")) + 1,
        x.u64(frame + c("FRAME_X19")) == e.x(0), x.u64(frame + c("FRAME_X19") + 8) == e.x(1),
        x.u64(frame + c("FRAME_X29")) == 0,
        x.u64(frame + c("FRAME_X29") + 8) == e.symbol("proc_start"),
        x.u64(frame + c("FRAME_SP")) == e.u64(pcb + c("PCB_STACK_HI")),
        x.u64(pcb) == state,
        x.u64(queue + c("RUNQ_TAIL")) == pcb))

# ---- proc_table_init: every slot, stated pointwise for an arbitrary slot K ----------------
SLOT_K = z3.BitVec("slot_k", 64)     # free in the loop invariant and the postcondition alike


def _slot_ready(e, view, k):
    """Slot k as proc_table_init leaves it: FREE in generation 1, its pid (generation 1,
    index k), the next slot (PROC_NIL after the last) and its stack (above its guard page)."""
    c = e.const
    pcb = pcb_of(e, k)
    one = z3.BitVecVal(1, 64) << c("PS_GEN_SHIFT")
    stack = z3.BitVecVal(e.symbol("proc_stack_pool"), 64) + k * c("PROC_STACK_SLOT")
    last = k + 1 == c("MAX_PROCS")
    return z3.And(view.u64(pcb + c("PCB_STATE")) == one | c("PS_FREE"),
                  view.u64(pcb + c("PCB_PID")) == (z3.BitVecVal(1, 64) << c("PID_GEN_SHIFT")) | k,
                  view.u64(pcb + c("PCB_FREE_NEXT")) ==
                  z3.If(last, z3.BitVecVal(c("PROC_NIL"), 64), k + 1),
                  view.u64(pcb + c("PCB_STACK_LO")) == stack + c("PROC_GUARD_SIZE"),
                  view.u64(pcb + c("PCB_STACK_HI")) == stack + c("PROC_STACK_SLOT"))


def _table_walk(e, here):
    """At the head of the slot loop: x2 the slot, x0 its PCB, x1 its stack slot, x3
    generation 1, x8 MAX_PROCS; every slot below x2 is ready."""
    c, i = e.const, here.x(2)
    return z3.And(z3.ULT(i, c("MAX_PROCS")), here.x(0) == pcb_of(e, i),
                  here.x(1) == e.symbol("proc_stack_pool") + i * c("PROC_STACK_SLOT"),
                  here.x(3) == z3.BitVecVal(1, 64) << c("PS_GEN_SHIFT"),
                  here.x(8) == c("MAX_PROCS"),
                  z3.Implies(z3.ULT(SLOT_K, i), _slot_ready(e, here, SLOT_K)))


def _table_ready(e, x):
    return z3.And(free_head(x) == 0, z3.Implies(z3.ULT(SLOT_K, e.const("MAX_PROCS")),
                                                _slot_ready(e, x, SLOT_K)))


CONTRACTS = {
    "proc_table_init": Contract(
        "every slot FREE in generation 1 with its pid, its stack and the next slot on the "
        "free list (PROC_NIL after the last), whose head is slot 0 (pointwise, for any slot)",
        maychange=tuple(f"x{i}" for i in range(9)) + (
            "nzcv", _table("proc_pcbs", "MAX_PROCS", "PCB_SIZE"), Region("proc_free_head", 8)),
        post=_table_ready, invariants={".Lproc_table_init_slot": _table_walk}),
    "proc_pcb": Contract("the PCB of slot index x0: proc_pcbs + x0 * PCB_SIZE",
                         maychange=("x0", "x1"), post=lambda e, x: x.x(0) == pcb_of(e, e.x(0))),
    "proc_alloc": Contract(
        "takes the first slot off the free list: x0 its PCB and the head its PCB_FREE_NEXT; "
        "0 and the list unchanged when the head is PROC_NIL; the lock free on return",
        maychange=AAPCS64_SCRATCH + FREE_LIST, pre=_alloc_pre, post=_alloc_post),
    "proc_free": Contract(
        "releases PCB x0: the state word FREE with the next generation, PCB_PID the next "
        "occupant's pid (same slot index, that generation: every old pid goes stale), and the "
        "slot pushed on the free list (its PCB_FREE_NEXT the old head)",
        maychange=AAPCS64_SCRATCH + FREE_LIST + (PCB_FIELD("PCB_STATE"), PCB_FIELD("PCB_PID"),
                                                 PCB_FIELD("PCB_FREE_NEXT")),
        pre=lambda e: is_pcb(e, e.x(0)), post=_free_post),
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
    "spawn": Contract(
        "starts a process running entry x0(x1) with the options at x2 (or the defaults): "
        "the free list's head slot, its PCB and first frame set, enqueued on its core; "
        "returns its pid, or 0 when refused (see _spawn_post)",
        maychange=AAPCS64_SCRATCH + FREE_LIST + (_table("proc_pcbs", "MAX_PROCS", "PCB_SIZE"),
                                                 _table("sched_cores", "MAX_CORES", "CORE_SIZE"),
                                                 "ICC_SGI1R_EL1"),
        pre=_spawn_pre, post=_spawn_post),
    "self": Contract("the pid of this core's running process: PCB_PID of CORE_CURRENT in the "
                     "block TPIDRRO_EL0 points at", maychange=("x0", "x1"),
                     post=lambda e, x: x.x(0) == e.u64(e.u64(
                         e.sysreg("TPIDRRO_EL0") + e.const("CORE_CURRENT")) + e.const("PCB_PID"))),
    "proc_start": NotCallable("where a new process begins (the x30 of its first frame); calls "
                              "its entry, then exit"),
    "exit": NotCallable("a process's last call: it marks itself exiting and enters the "
                        "scheduler on the scheduler's stack; never returns"),
}


# ---- Concurrent behaviour (verify/harness) ----------------------------------------------
# Each transition is LDAXR/STLXR so that what a core did before a transition is visible to
# the core that observes it. For every transition T two harnesses check that on the ELF's
# code, with `data` standing for what the PCB carries:
#   T releases: P0 writes data, then T; P1 runs proc_state_block and reads data. If block's
#     load saw T's word (its old word, left in x1, is not the initial one), data is seen.
#   T acquires: P0 writes data, then proc_state_free (which always changes the word); P1
#     runs T and reads data. If T's load saw free's word, data is seen.
# The initial word is one from which T changes the word. The old word T loaded is left in
# the register named below (x1, or x2 where x1 carries the generation).

def _word(*flags, gen=1, suspends=0):
    """A state word from flag names (process.inc), read from the ELF."""
    return lambda p: (gen << p.constant("PS_GEN_SHIFT")) | \
        (suspends << p.constant("PS_SUSPEND_SHIFT")) | sum(p.constant(f) for f in flags)


TRANSITIONS = {          # T: (initial word, extra arguments, register holding the old word)
    "proc_state_spawn": (_word("PS_FREE"), {}, "X1"),
    "proc_state_wake": (_word(), {}, "X1"),
    "proc_state_block": (_word("PS_ACTIVE", "PS_RUNNING"), {}, "X1"),
    "proc_state_run": (_word("PS_ACTIVE", "PS_IN_RUNQ"), {}, "X1"),
    "proc_state_out": (_word("PS_ACTIVE", "PS_RUNNING"), {}, "X1"),
    "proc_state_suspend": (_word("PS_ACTIVE"), {"x1": 1}, "X2"),
    "proc_state_resume": (_word("PS_ACTIVE", "PS_SUSPENDED", suspends=1), {"x1": 1}, "X2"),
    "proc_state_exit": (_word("PS_ACTIVE", "PS_RUNNING"), {}, "X1"),
    "proc_state_free": (_word("PS_EXITING"), {}, "X1"),
}
WRITE_DATA = code("MOV X9,#1", "STR X9,[{data}]")
READ_DATA = code("LDR X10,[{data}]")


def _handoff(t: str, releases: bool) -> Harness:
    initial, args, old = TRANSITIONS[t]
    writer, observer = (t, "proc_state_block") if releases else ("proc_state_free", t)
    seen = old if not releases else "X1"
    return Harness(
        f"{t}_{'releases' if releases else 'acquires'}",
        f"{writer} on one core, {observer} on another: an observer whose load saw the "
        f"writer's word also sees what the writer's core wrote before it",
        objects={"pcb": 8, "data": 8}, init={"pcb": initial},
        cores=[[WRITE_DATA, call(writer, x0="pcb", **(args if releases else {}))],
               [call(observer, x0="pcb", **(args if not releases else {})), READ_DATA]],
        condition=lambda p: f"~exists (1:{seen}!={initial(p)} /\\ 1:X10=0)")


def _race_suspend_resume_exit(p) -> str:
    """suspend, resume and exit race on a process suspended once: exit wins over both, and
    IN_RUNQ is set exactly when resume reports that the caller must enqueue."""
    exited = _word("PS_EXITING")(p)
    queued = _word("PS_EXITING", "PS_IN_RUNQ")(p)
    return (f"forall ((pcb={exited} /\\ 1:X0!=2) \\/ (pcb={queued} /\\ 1:X0=2))")


HARNESSES = [_handoff(t, releases) for t in TRANSITIONS for releases in (True, False)] + [
    Harness("proc_state_suspend_twice",
            "two cores suspend one process at once: both succeed, and the count is 2 (no "
            "lost update)",
            objects={"pcb": 8}, init={"pcb": _word("PS_ACTIVE")},
            cores=[[call("proc_state_suspend", x0="pcb", x1=1)]] * 2,
            condition=lambda p: f"forall (0:X0=1 /\\ 1:X0=1 /\\ "
                                f"pcb={_word('PS_ACTIVE', 'PS_SUSPENDED', suspends=2)(p)})"),
    Harness("proc_state_suspend_resume_exit",
            "suspend, resume and exit race on one PCB suspended once: only the allowed "
            "transitions (exit wins; the word is queued exactly when resume says so)",
            objects={"pcb": 8},
            init={"pcb": _word("PS_ACTIVE", "PS_SUSPENDED", suspends=1)},
            cores=[[call("proc_state_suspend", x0="pcb", x1=1)],
                   [call("proc_state_resume", x0="pcb", x1=1)],
                   [call("proc_state_exit", x0="pcb")]],
            condition=_race_suspend_resume_exit),
    Harness("proc_lookup_publishes",
            "a process made runnable by proc_state_spawn on one core is found by proc_lookup "
            "on another with what the spawning core wrote before it",
            objects={"data": 8}, init={"proc_pcbs": _word("PS_FREE")},
            cores=[[WRITE_DATA, call("proc_state_spawn", x0="proc_pcbs")],
                   [call("proc_lookup", x0=lambda p: 1 << p.constant("PID_GEN_SHIFT")),
                    READ_DATA]],
            condition="~exists (1:X0=proc_pcbs /\\ 1:X10=0)"),
]

UNCHECKED_ORDERING = {
    "spawn": "its LDAR of boot_cores_started pairs with boot's STLR of the count (checked on "
             "the rendezvous's side in specs/runtime.py); spawn itself takes the table lock, "
             "allocates a stack and fills a PCB at many offsets, which harnesses cannot lay "
             "out yet",
}
