"""Contracts of asm/boot.s. Functions not named here are callable under AAPCS64."""

from verify.spec import NotCallable

CONTRACTS = {
    "_start": NotCallable("image entry point: entered by the loader with no caller, no stack "
                          "and the MMU off; branches to boot_primary_entry"),
    "boot_primary_entry": NotCallable("core 0's boot path: runs once from _start with no "
                                      "stack and never returns"),
    "secondary_entry": NotCallable("PSCI CPU_ON entry of a secondary core: no caller, no stack, "
                                   "MMU off; never returns"),
    "vectors": NotCallable("exception vector table: entered by the hardware on an exception, "
                           "not by a call"),
}
