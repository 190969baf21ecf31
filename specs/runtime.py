"""Contracts of asm/runtime.s. Functions not named here are callable under AAPCS64."""

from verify.spec import NotCallable

CONTRACTS = {
    "runtime_main": NotCallable("per-core main, entered once from boot on a fresh stack; never "
                                "returns (core 0 powers off, the others park)"),
    "runtime_exception": NotCallable("exception handler, reached from the vector table; reports "
                                     "and parks the core, never returns"),
}
