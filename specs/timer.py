"""Contracts of asm/timer.s. The blocking calls switch through yield."""

import z3

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, Region

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
    offset = block - e.symbol("sched_cores")
    return z3.And(z3.ULT(offset, e.const("MAX_CORES") * e.const("CORE_SIZE")),
                  z3.URem(offset, e.const("CORE_SIZE")) == 0)


CONTRACTS = {
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
                             "statistics) of the core blocks", maychange=EXPIRY),
    "timer_tick": Contract("runs every tick now due and arms the next: writes only what "
                           "timer_expire may, this core's clock and the comparator",
                           maychange=EXPIRY + (CLOCK, "CNTP_CVAL_EL0"),
                           pre=lambda e: is_core_block(e, e.sysreg("TPIDRRO_EL0"))),
    "sleep": Contract("arms the caller's timer and waits; returns when it fired",
                      maychange=SWITCHING),
    "periodic_wait": Contract("waits for the caller's next period", maychange=SWITCHING),
}
