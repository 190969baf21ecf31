"""Contracts of asm/timer.s. The blocking calls switch through yield."""

import z3

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, Region, member

SWITCHING = AAPCS64_SCRATCH + (MEMORY, "DAIF")



def table(symbol: str, count: str, size: str) -> Region:
    """A whole array of the runtime's state: `count` objects of `size` bytes at `symbol`."""
    return Region(symbol, lambda e: z3.BitVecVal(e.const(count) * e.const(size), 64))


# What expiring timers may write: PCBs (timer links, state words, run-queue links), the cores'
# blocks (run queues, counts, statistics) and the wheels; and the wake-up SGI.
MAX_CORES = 8   # asm/scheduler.inc


def core_line(core: int, line: int) -> Region:
    """One 128-byte line of a core's block: 0 is what other cores write (lock, queues), 2 the
    statistics; line 1 (the running process, the tick) is the owner's."""
    return Region(lambda e: z3.BitVecVal(e.symbol("sched_cores") + core * e.const("CORE_SIZE") +
                                         line * e.const("CACHE_LINE"), 64), 128)


EXPIRY = AAPCS64_SCRATCH + (table("proc_pcbs", "MAX_PROCS", "PCB_SIZE"),
                            table("timer_wheels", "MAX_CORES", "WHEEL_BYTES"),
                            "ICC_SGI1R_EL1") + \
    tuple(core_line(core, line) for core in range(MAX_CORES) for line in (0, 2))
# timer_tick also advances its own core's clock: CORE_NEXT_TICK and CORE_NOW.
CLOCK = Region(lambda e: e.sysreg("TPIDRRO_EL0") + e.const("CORE_NEXT_TICK"), 16)

# timer_core_init writes the tick fields of the core block x0: CORE_TICK_PERIOD,
# CORE_NEXT_TICK and CORE_NOW (adjacent), and CORE_TICK_BASE.
TICK_FIELDS = (Region(lambda e: e.x(0) + e.const("CORE_TICK_PERIOD"), 24),
               Region(lambda e: e.x(0) + e.const("CORE_TICK_BASE"), 8))


def core_init_post(e, x):
    c = e.const
    block = e.x(0)
    period = z3.UDiv(e.sysreg("CNTFRQ_EL0"), c("TICK_HZ"))
    base = x.u64(block + c("CORE_TICK_BASE"))
    return z3.And(x.u64(block + c("CORE_TICK_PERIOD")) == period,
                  x.u64(block + c("CORE_NOW")) == 0,
                  x.u64(block + c("CORE_NEXT_TICK")) == base + period,
                  x.sysreg("CNTP_CVAL_EL0") == base + period)


def tick_at_post(e, x):
    """The first tick due at or after counter value x1, and after the current tick:
    max(ceil((x1 - base) / period), now + 1), in the code's 64-bit arithmetic."""
    c = e.const
    block = e.x(0)
    period = e.u64(block + c("CORE_TICK_PERIOD"))
    due = z3.UDiv(e.x(1) - e.u64(block + c("CORE_TICK_BASE")) + period - 1, period)
    after = e.u64(block + c("CORE_NOW")) + 1
    return x.x(0) == z3.If(z3.UGE(due, after), due, after)


def slot_post(e, x):
    """Tick x1's list head in core x0's wheel: timer_wheels + index * WHEEL_BYTES + 8 *
    (x1 mod WHEEL_SLOTS)."""
    c = e.const
    index = e.u64(e.x(0) + c("CORE_INDEX"))
    return x.x(0) == e.symbol("timer_wheels") + index * c("WHEEL_BYTES") + \
        (e.x(1) & c("WHEEL_MASK")) * 8


def is_core_block(e, block):
    """block is one of the cores' scheduler blocks (sched_cores is an array of them)."""
    return member(e, block, "sched_cores", "MAX_CORES", "CORE_SIZE")


def is_pcb(e, pcb):
    """pcb is one of the table's PCBs."""
    return member(e, pcb, "proc_pcbs", "MAX_PROCS", "PCB_SIZE")


def process_pre(e):
    """Called by a process: TPIDRRO_EL0 is its core's block, which names it as running, counts
    its own index below MAX_CORES and has a tick period."""
    block = e.sysreg("TPIDRRO_EL0")
    c = e.const
    return z3.And(is_core_block(e, block), is_pcb(e, e.u64(block + c("CORE_CURRENT"))),
                  z3.ULT(e.u64(block + c("CORE_INDEX")), c("MAX_CORES")),
                  e.u64(block + c("CORE_TICK_PERIOD")) != 0)


# ---- The wheel's lists: each slot heads a list linked through PCB_TIMER_NEXT; each linked
# PCB's PCB_TIMER_PPREV holds the address of the word that points to it (the slot, or the
# PCB_TIMER_NEXT of its predecessor), so unlinking needs no search.

def is_link_word(e, addr):
    """addr is a wheel slot or a PCB's PCB_TIMER_NEXT: the words a PPREV may point to."""
    slot = addr - e.symbol("timer_wheels")
    return z3.Or(z3.And(z3.ULT(slot, MAX_CORES * e.const("WHEEL_BYTES")), addr & 7 == 0),
                 is_pcb(e, addr - e.const("PCB_TIMER_NEXT")))


def _unlink_pre(e):
    c = e.const
    pcb = e.x(0)
    nxt = e.u64(pcb + c("PCB_TIMER_NEXT"))
    return z3.And(is_pcb(e, pcb), z3.Or(nxt == 0, is_pcb(e, nxt)),
                  is_link_word(e, e.u64(pcb + c("PCB_TIMER_PPREV"))))


def unlink_effect(e, x):
    """The word that pointed to PCB x0 now points to its successor, the successor (if any)
    points back to that word, and x0's timer is no longer armed."""
    c = e.const
    pcb = e.x(0)
    nxt, pprev = e.u64(pcb + c("PCB_TIMER_NEXT")), e.u64(pcb + c("PCB_TIMER_PPREV"))
    return z3.And(x.u64(pprev) == nxt,
                  z3.Implies(nxt != 0, x.u64(nxt + c("PCB_TIMER_PPREV")) == pprev),
                  x.u32(pcb + c("PCB_TIMER_ARMED")) == 0)


UNLINKS = (Region(lambda e: e.u64(e.x(0) + e.const("PCB_TIMER_PPREV")), 8),
           Region(lambda e: e.u64(e.x(0) + e.const("PCB_TIMER_NEXT")) +
                  e.const("PCB_TIMER_PPREV"), 8),
           Region(lambda e: e.x(0) + e.const("PCB_TIMER_ARMED"), 4))


def _cancel_pre(e):
    armed = e.u32(e.x(0) + e.const("PCB_TIMER_ARMED")) != 0
    return z3.And(is_pcb(e, e.x(0)), is_core_block(e, e.sysreg("TPIDRRO_EL0")),
                  z3.Implies(armed, _unlink_pre(e)))


def _cancel_post(e, x):
    c = e.const
    armed = e.u32(e.x(0) + c("PCB_TIMER_ARMED")) != 0
    cancels = e.sysreg("TPIDRRO_EL0") + c("STAT_TIMER_CANCELS")
    return z3.If(armed, z3.And(x.x(0) == 1, unlink_effect(e, x),
                               x.u64(cancels) == e.u64(cancels) + 1),
                 x.x(0) == 0)


def _insert_slot(e):
    block = e.sysreg("TPIDRRO_EL0")
    index = e.u64(block + e.const("CORE_INDEX"))
    return e.symbol("timer_wheels") + index * e.const("WHEEL_BYTES") + \
        (e.x(1) & e.const("WHEEL_MASK")) * 8


def _insert_pre(e):
    block = e.sysreg("TPIDRRO_EL0")
    head = e.u64(_insert_slot(e))
    return z3.And(is_pcb(e, e.x(0)), is_core_block(e, block),
                  z3.ULT(e.u64(block + e.const("CORE_INDEX")), MAX_CORES),
                  z3.Or(head == 0, is_pcb(e, head)))


def _insert_post(e, x):
    """PCB x0 heads tick x1's list in this core's wheel, armed for that tick, linked before
    the old head (which points back to it); the core counts the insert."""
    c = e.const
    pcb, slot = e.x(0), _insert_slot(e)
    head = e.u64(slot)
    link = pcb + c("PCB_TIMER_NEXT")
    inserts = e.sysreg("TPIDRRO_EL0") + c("STAT_TIMER_INSERTS")
    return z3.And(x.u64(slot) == pcb,
                  x.u64(pcb + c("PCB_TIMER_DEADLINE")) == e.x(1),
                  x.u64(link) == head,
                  # the old head points back to pcb's link (pcb itself, if it was armed there)
                  x.u64(pcb + c("PCB_TIMER_PPREV")) == z3.If(head == pcb, link, slot),
                  z3.Implies(z3.And(head != 0, head != pcb),
                             x.u64(head + c("PCB_TIMER_PPREV")) == link),
                  x.u32(pcb + c("PCB_TIMER_ARMED")) == 1,
                  x.u64(inserts) == e.u64(inserts) + 1)


INSERTS = (Region(lambda e: e.x(0) + e.const("PCB_TIMER_NEXT"), 28),   # NEXT..ARMED
           Region(_insert_slot, 8),
           Region(lambda e: e.u64(_insert_slot(e)) + e.const("PCB_TIMER_PPREV"), 8),
           Region(lambda e: e.sysreg("TPIDRRO_EL0") + e.const("STAT_TIMER_INSERTS"), 8))


def _periodic_next_post(e, x):
    period, last, now = e.x(0), e.x(1), e.x(2)
    due = z3.If(last == 0, now, last) + period
    return x.x(0) == z3.If(z3.UGT(due, now), due, now + period)


def _expire_pre(e):
    """Called by timer_tick for its own core: x0 a core block counting its index below
    MAX_CORES."""
    block = e.x(0)
    return z3.And(is_core_block(e, block),
                  z3.ULT(e.u64(block + e.const("CORE_INDEX")), MAX_CORES))


def _fire_pre(e):
    """A core block (the caller's own) and a PCB, its timer unlinked."""
    return z3.And(is_core_block(e, e.x(0)), is_pcb(e, e.x(1)))


def _fire_post(e, x):
    """The core counts the expiry and keeps the latest lateness (x2 past the deadline,
    unsigned, as the code subtracts); the timer is disarmed."""
    c = e.const
    core, pcb = e.x(0), e.x(1)
    late = e.x(2) - e.u64(pcb + c("PCB_TIMER_DEADLINE"))
    late_max = e.u64(core + c("STAT_TIMER_LATE_MAX"))
    expiries = core + c("STAT_TIMER_EXPIRIES")
    return z3.And(x.u64(expiries) == e.u64(expiries) + 1,
                  x.u64(core + c("STAT_TIMER_LATE_MAX")) ==
                  z3.If(z3.UGT(late, late_max), late, late_max),
                  x.u32(pcb + c("PCB_TIMER_ARMED")) == 0)


def _fire_enqueues(e, x):
    """Exactly when the wake asks for it (the state word, at PCB_STATE = 0, was neither free
    nor queued, running, suspended or exiting: proc_state_wake returns 1), the process is the
    tail of its priority's queue (low shares normal's) on its own core; else that queue's
    tail is as it was."""
    c = e.const
    pcb = e.x(1)
    blockers = (c("PS_FREE") | c("PS_IN_RUNQ") | c("PS_RUNNING") | c("PS_SUSPENDED") |
                c("PS_EXITING"))
    wakes = e.u64(pcb) & blockers == 0
    prio = e.u32(pcb + c("PCB_PRIO"))
    queue = z3.If(z3.ULT(prio, c("RUNQ_NORMAL")), prio, z3.BitVecVal(c("RUNQ_NORMAL"), 32))
    block = z3.BitVecVal(e.symbol("sched_cores"), 64) + \
        z3.ZeroExt(32, e.u32(pcb + c("PCB_CORE"))) * c("CORE_SIZE")
    tail = block + c("CORE_QUEUES") + z3.ZeroExt(32, queue) * c("RUNQ_SIZE") + c("RUNQ_TAIL")
    return z3.If(wakes, x.u64(tail) == pcb, x.u64(tail) == e.u64(tail))


def _expire_walk(e, here):
    """At the head of the walk: x19 and x20 the core block and tick, x21 the timer looked
    at (0 at the end, else a PCB: the heap invariants say what a slot and a link hold),
    x23 the word pointing to it (a wheel slot, or a PCB's PCB_TIMER_NEXT), the frame as
    pushed."""
    return z3.And(here.x(19) == e.x(0), here.x(20) == e.x(1),
                  z3.Or(here.x(21) == 0, is_pcb(e, here.x(21))),
                  is_link_word(e, here.x(23)), here.sp == e.sp - 64,
                  z3.ULT(e.u64(e.x(0) + e.const("CORE_INDEX")), MAX_CORES),
                  is_core_block(e, e.x(0)))


def _ticks_in_step(e, here):
    """The clock and the next tick advance together: NOW by k, NEXT_TICK by k periods."""
    c = e.const
    block = e.sysreg("TPIDRRO_EL0")
    period = e.u64(block + c("CORE_TICK_PERIOD"))
    ticks = here.u64(block + c("CORE_NOW")) - e.u64(block + c("CORE_NOW"))
    return z3.And(here.u64(block + c("CORE_TICK_PERIOD")) == period,
                  here.u64(block + c("CORE_NEXT_TICK")) ==
                  e.u64(block + c("CORE_NEXT_TICK")) + ticks * period)


def _tick_loop(e, here):
    """At each due check: x19 this core's block, the frame as pushed, the clock in step."""
    block = e.sysreg("TPIDRRO_EL0")
    return z3.And(here.x(19) == block, here.sp == e.sp - 32, is_core_block(e, block),
                  _ticks_in_step(e, here))


def _tick_post(e, x):
    """Some number k of ticks ran: CORE_NOW went up by k and CORE_NEXT_TICK by k periods;
    the comparator is armed for the next tick."""
    block = e.sysreg("TPIDRRO_EL0")
    return z3.And(_ticks_in_step(e, x),
                  x.sysreg("CNTP_CVAL_EL0") == x.u64(block + e.const("CORE_NEXT_TICK")))


def _none_left_due(e, x):
    """No tick was left due: the last counter value it read is before the next tick. (A
    ghost: the counter reads are the call's own, which a caller's view does not have.)"""
    block = e.sysreg("TPIDRRO_EL0")
    return z3.ULT(x.last_read("CNTPCT_EL0"), x.u64(block + e.const("CORE_NEXT_TICK")))


# ---- sleep and periodic_wait: what they leave as they switch out (Contract.switch_out) ----

def _waiting(e, here, deadline):
    """This core's running process heads the list of tick `deadline` in its wheel, armed for
    that tick, and its state word has ACTIVE cleared (proc_state_block): it waits for the
    timer, not in a run queue."""
    c = e.const
    block = e.sysreg("TPIDRRO_EL0")
    pcb = e.u64(block + c("CORE_CURRENT"))
    slot = e.symbol("timer_wheels") + e.u64(block + c("CORE_INDEX")) * c("WHEEL_BYTES") + \
        (deadline & c("WHEEL_MASK")) * 8
    return z3.And(here.u64(slot) == pcb,
                  here.u64(pcb + c("PCB_TIMER_DEADLINE")) == deadline,
                  here.u32(pcb + c("PCB_TIMER_ARMED")) == 1,
                  here.u64(pcb) & c("PS_ACTIVE") == 0)


def _sleep_switch(e, here):
    """sleep(0) yields at once: the process's state word and timer as on entry. sleep(ms)
    waits, blocked, at the head of its deadline's list; the counter's value, read inside,
    is no input, so the deadline is stated against the clock: at least the next tick, in
    the code's 64-bit arithmetic."""
    c = e.const
    block = e.sysreg("TPIDRRO_EL0")
    pcb = e.u64(block + c("CORE_CURRENT"))
    deadline = here.u64(pcb + c("PCB_TIMER_DEADLINE"))
    return z3.If(e.x(0) == 0,
                 z3.And(here.u64(pcb) == e.u64(pcb),
                        deadline == e.u64(pcb + c("PCB_TIMER_DEADLINE")),
                        here.u32(pcb + c("PCB_TIMER_ARMED")) == e.u32(pcb + c("PCB_TIMER_ARMED"))),
                 z3.And(_waiting(e, here, deadline),
                        z3.UGE(deadline, e.u64(block + c("CORE_NOW")) + 1)))


def _periodic_switch(e, here):
    """The next deadline (periodic_next of the period x0, the last deadline and the current
    tick) is kept in the PCB, and the process waits for it."""
    c = e.const
    block = e.sysreg("TPIDRRO_EL0")
    pcb = e.u64(block + c("CORE_CURRENT"))
    last, now = e.u64(pcb + c("PCB_PERIOD_DEADLINE")), e.u64(block + c("CORE_NOW"))
    due = z3.If(last == 0, now, last) + e.x(0)
    deadline = z3.If(z3.UGT(due, now), due, now + e.x(0))
    return z3.And(here.u64(pcb + c("PCB_PERIOD_DEADLINE")) == deadline,
                  _waiting(e, here, deadline))


CONTRACTS = {
    "periodic_next": Contract(
        "the next periodic deadline: period x0 after the last deadline x1 (after the current "
        "tick x2 when x1 is 0), or x0 after x2 if that is not after x2",
        maychange=("x0", "x1", "nzcv"), post=_periodic_next_post),
    "timer_insert": Contract("arms PCB x0's timer for tick x1: it heads that tick's list in "
                             "this core's wheel", maychange=("x0", "x1", "x2", "x3", "x4", "x5")
                             + INSERTS, pre=_insert_pre, post=_insert_post),
    "timer_unlink": Contract("takes PCB x0's timer out of its list (pointwise: its "
                             "predecessor word and successor relinked, disarmed)",
                             maychange=("x1", "x2") + UNLINKS, pre=_unlink_pre,
                             post=unlink_effect),
    "timer_cancel": Contract("disarms PCB x0's timer if armed (as timer_unlink, counted in "
                             "this core's statistics) and returns 1; else 0, nothing changed",
                             maychange=("x0", "x1", "x2", "x3") + UNLINKS + (Region(
                                 lambda e: e.sysreg("TPIDRRO_EL0") +
                                 e.const("STAT_TIMER_CANCELS"), 8),),
                             pre=_cancel_pre, post=_cancel_post),
    "timer_tick_at": Contract("the first tick of core x0 due at or after counter value x1 "
                              "and after the current tick", maychange=("x0", "x1", "x2", "x3",
                                                                        "nzcv"),
                              pre=lambda e: e.u64(e.x(0) + e.const("CORE_TICK_PERIOD")) != 0,
                              post=tick_at_post),
    "timer_slot": Contract("the list head of tick x1 in core x0's wheel",
                           maychange=("x0", "x2"), post=slot_post),
    "timer_now": Contract("the ticks this core has counted: CORE_NOW of its block",
                          maychange=("x0",),
                          post=lambda e, x: x.x(0) == e.u64(e.sysreg("TPIDRRO_EL0") +
                                                            e.const("CORE_NOW"))),
    "timer_core_init": Contract(
        "starts the 1 ms tick of core block x0: period = CNTFRQ / 1000, tick 0 at the "
        "current count, the clock at 0, the next tick (and the comparator) one period on",
        maychange=AAPCS64_SCRATCH + TICK_FIELDS + ("CNTP_CVAL_EL0",), post=core_init_post),
    "timer_expire": Contract("fires the due timers of tick x1's slot on core x0: writes only "
                             "the runtime's PCBs, wheels, and lines 0 and 2 (queues, "
                             "statistics) of the core blocks", maychange=EXPIRY,
                             pre=_expire_pre,
                             invariants={".Ltimer_expire_entry": _expire_walk}),
    "timer_fire": Contract("fires PCB x1's timer, unlinked from core x0's wheel, due at tick "
                           "x2: counts the expiry and the latest lateness in core x0's "
                           "statistics, disarms it, wakes the process (proc_state_wake) and "
                           "enqueues it on its own core (sched_enqueue) if the wake says so; "
                           "writes only what timer_expire may",
                           maychange=EXPIRY, pre=_fire_pre,
                           ghost_post=lambda e, x: z3.And(_fire_post(e, x), _fire_enqueues(e, x))),
    "timer_tick": Contract("runs every tick now due and arms the next: for the k ticks it "
                           "runs, this core's clock goes up by k and its next tick by k "
                           "periods, none is left due when it last reads the counter, and "
                           "the comparator is armed for the next tick; writes "
                           "only what timer_expire may, the clock and the comparator",
                           maychange=EXPIRY + (CLOCK, "CNTP_CVAL_EL0"),
                           pre=lambda e: is_core_block(e, e.sysreg("TPIDRRO_EL0")),
                           post=_tick_post, ghost_post=_none_left_due,
                           invariants={".Ltimer_tick_due": _tick_loop}),
    "sleep": Contract("arms the caller's timer for a tick after the current one and "
                      "waits, blocked; returns 1 when it fired (sleep(0) only yields): what "
                      "it leaves on switching out is _sleep_switch",
                      maychange=SWITCHING, pre=process_pre, post=lambda e, x: x.x(0) == 1,
                      switch_out=_sleep_switch),
    "periodic_wait": Contract("keeps the caller's next periodic deadline (periodic_next) and "
                              "waits for it, blocked; returns 1 (_periodic_switch)",
                              maychange=SWITCHING, pre=process_pre,
                              post=lambda e, x: x.x(0) == 1, switch_out=_periodic_switch),
}
