"""Contracts of asm/timer.s. The blocking calls switch through yield."""

import z3

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, Region

SWITCHING = AAPCS64_SCRATCH + (MEMORY, "DAIF")

TICKING = AAPCS64_SCRATCH + (MEMORY, "CNTP_CVAL_EL0")

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


CONTRACTS = {
    "timer_core_init": Contract(
        "starts the 1 ms tick of core block x0: period = CNTFRQ / 1000, tick 0 at the "
        "current count, the clock at 0, the next tick (and the comparator) one period on",
        maychange=AAPCS64_SCRATCH + TICK_FIELDS + ("CNTP_CVAL_EL0",), post=core_init_post),
    "timer_tick": Contract("runs every tick now due and arms the next", maychange=TICKING),
    "sleep": Contract("arms the caller's timer and waits; returns when it fired",
                      maychange=SWITCHING),
    "periodic_wait": Contract("waits for the caller's next period", maychange=SWITCHING),
}
