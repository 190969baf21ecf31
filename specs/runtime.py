"""Contracts of asm/runtime.s. Functions not named here are callable under AAPCS64."""

import z3

from verify.harness.spec import Harness, call, code
from verify.spec import Contract, NotCallable, Region

MAX_CORES = 8       # asm/scheduler.inc


def _scenario(e):
    """The scenario's entry (0 in the product image, which has none)."""
    return e.u64(e.symbol("runtime_scenario_entry"))


def _main_handoff(e, x, boot_core: bool, scenario: bool):
    """Where runtime_main leaves for `sched_start` (a scenario's cores) or `runtime_power_off`
    (the boot core without a scenario): only on such a core and with such an image; its
    scheduler block is TPIDRRO_EL0 (sched_core_init); the boot core has built the process
    table, another core has left it alone. The boot core, with a scenario, has spawned
    runtime_first_process with argument 0 and the default (normal) priority into the table's
    first slot, which the table's build put at the head of the free list (or was refused)."""
    c = e.const
    core = e.x(0)
    head = e.symbol("proc_free_head")
    own = [x.sysreg("TPIDRRO_EL0") == e.symbol("sched_cores") + core * c("CORE_SIZE"),
           (core == c("BOOT_CORE_INDEX")) if boot_core else (core != c("BOOT_CORE_INDEX")),
           (_scenario(e) != 0) if scenario else (_scenario(e) == 0)]
    if not boot_core:
        return z3.And(*own, x.u64(head) == e.u64(head))
    if not scenario:
        return z3.And(*own, x.u64(head) == 0)
    first = z3.BitVecVal(e.symbol("proc_pcbs"), 64)
    frame = first + c("PCB_FRAME")
    return z3.And(*own, z3.Implies(x.x(0) != 0, z3.And(
        x.x(0) == x.u64(first + c("PCB_PID")),
        x.u64(frame + c("FRAME_X19")) == e.symbol("runtime_first_process"),
        x.u64(frame + c("FRAME_X19") + 8) == 0,
        x.u32(first + c("PCB_PRIO")) == c("PRIO_NORMAL"))))


CONTRACTS = {
    "runtime_main": Contract(
        "per-core main, entered once from boot with core index x0 on a fresh stack; never "
        "returns: core 0 sets up what is shared (the process table) and then spawns the "
        "scenario's first process or powers off; every core sets up its own scheduler; with a "
        "scenario every core schedules, without one the others park",
        # boot's hand-off publishes at most MAX_CORES cores (boot_start_secondaries counts
        # at most one per Aff0 below it); before that the word is .bss's zero
        pre=lambda e: z3.And(z3.ULT(e.x(0), MAX_CORES),
                             z3.ULE(e.u64(e.symbol("boot_cores_started")), MAX_CORES)),
        handoff={"sched_start": lambda e, x: z3.If(
                     e.x(0) == e.const("BOOT_CORE_INDEX"),
                     _main_handoff(e, x, boot_core=True, scenario=True),
                     _main_handoff(e, x, boot_core=False, scenario=True)),
                 "runtime_power_off": lambda e, x: _main_handoff(e, x, boot_core=True,
                                                                 scenario=False)},
        parks=lambda e: z3.And(e.x(0) != e.const("BOOT_CORE_INDEX"), _scenario(e) == 0)),
    "runtime_first_process": NotCallable("the entry of the scenario image's first process: "
                                         "runs scenario_main, then powers off; never returns"),
    "runtime_power_off": NotCallable("powers the system off (PSCI SYSTEM_OFF); never returns"),
    "runtime_count_up": Contract(
        "adds 1 to the counter at x0 (atomically: the rendezvous harnesses below check it "
        "among cores) and returns the new count",
        maychange=("x0", "x1", "x2", Region(lambda e: e.x(0), 8)),
        post=lambda e, x: z3.And(x.u64(e.x(0)) == e.u64(e.x(0)) + 1,
                                 x.x(0) == e.u64(e.x(0)) + 1)),
    "runtime_wait_rendezvous": Contract(
        "returns once boot has published a core count and the arrived and halted cores make "
        "it up: x0 the arrived count, x1 the started count (sequentially the words it waits "
        "on never change; the rendezvous harnesses below check the wait among cores)",
        maychange=("x0", "x1", "x2", "x3", "x4", "x5", "x6", "nzcv"),
        # proved, not handed to callers: sequentially the counts are entry memory, which
        # other cores change (a caller would learn a fact about entry memory)
        ghost_post=lambda e, x: z3.And(
            x.x(0) == e.u64(e.symbol("runtime_arrived")),
            x.x(1) == e.u64(e.symbol("boot_cores_started")), x.x(1) != 0,
            z3.UGE(x.x(0) + e.u64(e.symbol("runtime_halted")), x.x(1)))),
    "runtime_exception": NotCallable("exception handler, reached from the vector table; reports "
                                     "and parks the core, never returns"),
}


# Concurrent behaviour (verify/harness): the boot rendezvous. Each core writes something,
# counts itself in runtime_arrived (runtime_count_up) and waits (runtime_wait_rendezvous);
# once out of the wait it must see what every counted core wrote before being counted.
def _rendezvous_core(mine: str, other: str):
    return [code("MOV X9,#1", f"STR X9,[{{{mine}}}]"),
            call("runtime_count_up", x0="runtime_arrived"),
            call("runtime_wait_rendezvous"),
            code(f"LDR X10,[{{{other}}}]")]


HARNESSES = [
    Harness("rendezvous_2",
            "two cores count themselves and wait for each other: after the wait each sees "
            "what the other wrote before it was counted",
            objects={"d0": 8, "d1": 8}, init={"boot_cores_started": 2},
            cores=[_rendezvous_core("d0", "d1"), _rendezvous_core("d1", "d0")],
            condition="forall (0:X10=1 /\\ 1:X10=1 /\\ runtime_arrived=2)"),
    # boot_primary_entry is not callable (it builds the page tables and never returns), so
    # its publication of the core count (STLR to boot_cores_started) is written out here as
    # the harness's own code: this checks the waiting side, runtime_wait_rendezvous.
    Harness("rendezvous_started",
            "a core waiting in the rendezvous for the published core count sees what the "
            "publishing core wrote before publishing it",
            objects={"d0": 8},
            cores=[[code("MOV X9,#1", "STR X9,[{d0}]", "MOV X9,#1",
                         "STLR X9,[{boot_cores_started}]")],
                   [call("runtime_count_up", x0="runtime_arrived"),
                    call("runtime_wait_rendezvous"), code("LDR X10,[{d0}]")]],
            condition="forall (1:X10=1)"),
]
