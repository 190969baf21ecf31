"""Contracts of asm/timer.s. The blocking calls switch through yield."""

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract

SWITCHING = AAPCS64_SCRATCH + (MEMORY, "DAIF")

TICKING = AAPCS64_SCRATCH + (MEMORY, "CNTP_CVAL_EL0")

CONTRACTS = {
    "timer_core_init": Contract("starts this core's 1 ms tick", maychange=TICKING),
    "timer_tick": Contract("runs every tick now due and arms the next", maychange=TICKING),
    "sleep": Contract("arms the caller's timer and waits; returns when it fired",
                      maychange=SWITCHING),
    "periodic_wait": Contract("waits for the caller's next period", maychange=SWITCHING),
}
