"""Contracts of asm/timer.s. The blocking calls switch through yield."""

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract

SWITCHING = AAPCS64_SCRATCH + (MEMORY, "DAIF")

CONTRACTS = {
    "sleep": Contract("arms the caller's timer and waits; returns when it fired",
                      maychange=SWITCHING),
    "periodic_wait": Contract("waits for the caller's next period", maychange=SWITCHING),
}
