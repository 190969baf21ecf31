"""Contracts of asm/runtime.s. Functions not named here are callable under AAPCS64."""

from verify.spec import NotCallable

CONTRACTS = {
    "runtime_main": NotCallable("per-core main, entered once from boot on a fresh stack; never "
                                "returns (core 0 powers off or schedules, the others park or "
                                "schedule)"),
    "runtime_first_process": NotCallable("the entry of the scenario image's first process: "
                                         "runs scenario_main, then powers off; never returns"),
    "runtime_power_off": NotCallable("powers the system off (PSCI SYSTEM_OFF); never returns"),
    "runtime_exception": NotCallable("exception handler, reached from the vector table; reports "
                                     "and parks the core, never returns"),
}
