"""Contracts of asm/boot.s. Functions not named here are callable under AAPCS64."""

import z3

from verify.spec import (AAPCS64_SCRATCH, FIRMWARE, HVC_CALL, MEMORY, SMC_CALL, Contract,
                         NotCallable, Region, firmware_call, firmware_result)

MAX_CORES = 8       # asm/scheduler.inc

CONTRACTS = {
    "_start": NotCallable("image entry point: entered by the loader with no caller, no stack "
                          "and the MMU off; branches to boot_primary_entry"),
    "vectors": NotCallable("exception vector table: entered by the hardware on an exception, "
                           "not by a call"),
}

def walk(ptr, count, end, most: int, step: int = 8):
    """A table-filling loop's head: `count` entries (1 to `most`) are left, each `step` bytes,
    and `ptr` is the next, so the last ends at `end`: ptr lies in [end - step * most, end)."""
    start = end - step * most
    return z3.And(z3.ULE(1, count), z3.ULE(count, most), ptr + step * count == end,
                  z3.ULT(ptr - start, step * most), z3.URem(ptr - start, step) == 0)


def _page(symbol: str, pages: int | str = 1) -> Region:
    return Region(symbol, lambda e: z3.BitVecVal(
        (pages if isinstance(pages, int) else e.const(pages)) * e.const("PAGE_SIZE"), 64))


# The tables' entries are stated pointwise, for an arbitrary entry K (free in the invariants
# and the postcondition alike, so what is proved holds for every K).
ENTRY_K = z3.BitVec("entry_k", 64)


def _device_count(c) -> int:
    """The 2 MiB device blocks from BOARD_MMIO_START to the end of the device GiB."""
    return (c("BOARD_DEVICE_BASE") + c("L1_BLOCK_SIZE") - c("BOARD_MMIO_START")) >> \
        c("L2_BLOCK_SHIFT")


def _device_map(e, view, done):
    """boot_l1_table's device GiB points to boot_device_l2_table, whose entries from
    BOARD_MMIO_START's hold Device blocks of the same address, the first `done` of them."""
    c = e.const
    l2 = e.symbol("boot_device_l2_table")
    first = l2 + 8 * (c("BOARD_MMIO_START") >> c("L2_BLOCK_SHIFT"))
    return z3.And(view.u64(e.symbol("boot_l1_table") + 8 * c("DEVICE_FIRST_BLOCK")) ==
                  l2 | c("PTE_TYPE_TABLE"),
                  z3.Implies(z3.ULT(ENTRY_K, done), view.u64(first + 8 * ENTRY_K) ==
                             (c("BOARD_MMIO_START") + (ENTRY_K << c("L2_BLOCK_SHIFT"))) |
                             c("PTE_DEVICE_BLOCK")))


def _ram_map(e, view, done):
    """The first `done` of the RAM GiBs in boot_l1_table hold Normal blocks of the same
    address."""
    c = e.const
    block = c("RAM_FIRST_BLOCK") + ENTRY_K
    return z3.Implies(z3.ULT(ENTRY_K, done),
                      view.u64(e.symbol("boot_l1_table") + 8 * block) ==
                      (block << c("L1_BLOCK_SHIFT")) | c("PTE_NORMAL_BLOCK"))


def _device_fill(e, here):
    c = e.const
    end = e.symbol("boot_device_l2_table") + c("PAGE_SIZE")
    count = _device_count(c)
    done = count - here.x(3)
    return z3.And(here.x(0) == e.symbol("boot_l1_table"), here.x(4) == c("L1_BLOCK_SIZE"),
                  walk(here.x(1), here.x(3), end, count),
                  here.x(2) == (c("BOARD_MMIO_START") + (done << c("L2_BLOCK_SHIFT"))) |
                  c("PTE_DEVICE_BLOCK"),
                  _device_map(e, here, done))


def _ram_fill(e, here):
    c = e.const
    end = e.symbol("boot_l1_table") + 8 * (c("RAM_FIRST_BLOCK") + c("RAM_BLOCKS"))
    done = c("RAM_BLOCKS") - here.x(3)
    return z3.And(walk(here.x(1), here.x(3), end, c("RAM_BLOCKS")),
                  here.x(4) == c("L1_BLOCK_SIZE"),
                  here.x(2) == ((c("RAM_FIRST_BLOCK") + done) << c("L1_BLOCK_SHIFT")) |
                  c("PTE_NORMAL_BLOCK"),
                  _device_map(e, here, _device_count(c)), _ram_map(e, here, done))


def _tables_built(e, x):
    c = e.const
    return z3.And(_device_map(e, x, _device_count(c)), _ram_map(e, x, c("RAM_BLOCKS")))


def _pool_index(e) -> int:
    """The level-2 index of the 2 MiB block where proc_stack_pool starts."""
    return (e.symbol("proc_stack_pool") >> e.const("L2_BLOCK_SHIFT")) % e.const("TABLE_ENTRIES")


def _pool_gib(e) -> int:
    """The 1 GiB block that holds proc_stack_pool, as an address."""
    shift = e.const("L1_BLOCK_SHIFT")
    return (e.symbol("proc_stack_pool") >> shift) << shift


def _pool_l1(e, view):
    """boot_l1_table's entry for the pool's GiB points to boot_l2_table."""
    c = e.const
    return view.u64(e.symbol("boot_l1_table") + 8 * (e.symbol("proc_stack_pool") >>
                                                      c("L1_BLOCK_SHIFT"))) == \
        e.symbol("boot_l2_table") | c("PTE_TYPE_TABLE")


def _pool_l2_map(e, view, blocks, tables):
    """Entry K of boot_l2_table: below `blocks`, the GiB's Normal 2 MiB block K, except the
    first `tables` of the pool's own, which point to their level-3 tables."""
    c = e.const
    k = ENTRY_K
    first = _pool_index(e)
    table = z3.And(z3.ULE(first, k), z3.ULT(k - first, tables))
    return z3.Implies(z3.ULT(k, blocks), view.u64(e.symbol("boot_l2_table") + 8 * k) == z3.If(
        table, (e.symbol("boot_l3_tables") + (k - first) * c("PAGE_SIZE")) | c("PTE_TYPE_TABLE"),
        (_pool_gib(e) + (k << c("L2_BLOCK_SHIFT"))) | c("PTE_NORMAL_BLOCK")))


def _pool_l3_map(e, view, slots):
    """The first `slots` slots of the pool in boot_l3_tables: slot K's guard page invalid
    (0), its stack page a Normal page of the same address."""
    c = e.const
    k = ENTRY_K
    l3 = e.symbol("boot_l3_tables")
    page = e.symbol("proc_stack_pool") + c("PROC_GUARD_SIZE") + k * c("PROC_STACK_SLOT")
    return z3.Implies(z3.ULT(k, slots), z3.And(
        view.u64(l3 + 16 * k) == 0, view.u64(l3 + 16 * k + 8) == page | c("PTE_NORMAL_PAGE")))


def _pool_l2_fill(e, here):
    c = e.const
    l2 = e.symbol("boot_l2_table")
    done = c("TABLE_ENTRIES") - here.x(6)
    return z3.And(here.x(0) == e.symbol("proc_stack_pool"), here.x(2) == l2,
                  walk(here.x(5), here.x(6), l2 + c("PAGE_SIZE"), c("TABLE_ENTRIES")),
                  here.x(4) == (_pool_gib(e) + (done << c("L2_BLOCK_SHIFT"))) |
                  c("PTE_NORMAL_BLOCK"),
                  _pool_l1(e, here), _pool_l2_map(e, here, done, 0))


def _pool_tables_fill(e, here):
    c = e.const
    end = e.symbol("boot_l2_table") + 8 * (_pool_index(e) + c("POOL_L3_TABLES"))
    done = c("POOL_L3_TABLES") - here.x(10)
    return z3.And(here.x(0) == e.symbol("proc_stack_pool"),
                  here.x(7) == e.symbol("boot_l3_tables"),
                  walk(here.x(5), here.x(10), end, c("POOL_L3_TABLES")),
                  here.x(8) == e.symbol("boot_l3_tables") + done * c("PAGE_SIZE"),
                  _pool_l1(e, here), _pool_l2_map(e, here, c("TABLE_ENTRIES"), done))


def _pool_pages_fill(e, here):
    """Two entries a slot: its guard page and its stack page."""
    c = e.const
    end = e.symbol("boot_l3_tables") + 16 * c("MAX_PROCS")
    done = c("MAX_PROCS") - here.x(10)
    return z3.And(walk(here.x(7), here.x(10), end, c("MAX_PROCS"), step=16),
                  here.x(8) == e.symbol("proc_stack_pool") + c("PROC_GUARD_SIZE") +
                  done * c("PROC_STACK_SLOT"),
                  here.x(9) == c("PTE_NORMAL_PAGE"),
                  _pool_l1(e, here),
                  _pool_l2_map(e, here, c("TABLE_ENTRIES"), c("POOL_L3_TABLES")),
                  _pool_l3_map(e, here, done))


def _pool_mapped(e, x):
    c = e.const
    return z3.And(_pool_l1(e, x), _pool_l2_map(e, x, c("TABLE_ENTRIES"), c("POOL_L3_TABLES")),
                  _pool_l3_map(e, x, c("MAX_PROCS")))


TABLE_REGS = tuple(f"x{i}" for i in range(5)) + ("nzcv",)


def _mmu_on(e, x):
    """The translation regime boot_mmu_on sets (fields as the Arm ARM numbers them): TCR_EL1
    the boot layout with IPS (bits 34:32) the smaller of ID_AA64MMFR0_EL1.PARange (bits 3:0)
    and 48 bits (5); MAIR_EL1 the two attributes; TTBR0_EL1 boot_l1_table; FP/SIMD untrapped
    (CPACR_EL1.FPEN, bits 21:20, 0b11); SCTLR_EL1 with M, C and I (bits 0, 2, 12) on."""
    parange = z3.ZeroExt(60, z3.Extract(3, 0, e.sysreg("ID_AA64MMFR0_EL1")))
    ips = z3.If(z3.ULE(parange, 5), parange, z3.BitVecVal(5, 64))
    sctlr = x.sysreg("SCTLR_EL1")
    return z3.And(x.sysreg("TCR_EL1") == e.const("TCR_EL1_BASE") | (ips << 32),
                  x.sysreg("MAIR_EL1") == e.const("MAIR_EL1_VALUE"),
                  x.sysreg("TTBR0_EL1") == e.symbol("boot_l1_table"),
                  x.sysreg("CPACR_EL1") & (3 << 20) == 3 << 20,
                  sctlr & 0b1000000000101 == 0b1000000000101,
                  sctlr == e.const("SCTLR_EL1_MMU_ON"))


def _el1_configured(e, x):
    """Entered at EL2, what EL1 gets before the ERET, as the Arm ARM numbers the fields:
    HCR_EL2.RW (bit 31) so EL1 is AArch64; CNTHCTL_EL2.EL1PCTEN and EL1PCEN (bits 0, 1) so EL1
    has the physical counter and timer; a zero virtual offset; EL1's MIDR and MPIDR the real
    ones; CPTR_EL2 trapping no FP/SIMD (TFP, bit 10, clear); ICC_SRE_EL2 with SRE, DFB, DIB
    and Enable (bits 0-3) so EL1 reaches the GIC's system registers; EL1's MMU off (SCTLR_EL1.M,
    bit 0, clear)."""
    at_el2 = e.sysreg("CurrentEL") == 2 << 2
    return z3.Implies(at_el2, z3.And(
        x.sysreg("HCR_EL2") & (1 << 31) != 0, x.sysreg("HCR_EL2") == e.const("HCR_EL2_VALUE"),
        x.sysreg("CNTHCTL_EL2") == e.sysreg("CNTHCTL_EL2") | 0b11,
        x.sysreg("CNTVOFF_EL2") == 0,
        x.sysreg("VPIDR_EL2") == e.sysreg("MIDR_EL1"),
        x.sysreg("VMPIDR_EL2") == e.sysreg("MPIDR_EL1"),
        x.sysreg("CPTR_EL2") & (1 << 10) == 0, x.sysreg("CPTR_EL2") == e.const("CPTR_EL2_RES1"),
        x.sysreg("ICC_SRE_EL2") == 0xF,
        x.sysreg("SCTLR_EL1") & 1 == 0, x.sysreg("SCTLR_EL1") == e.const("SCTLR_EL1_MMU_OFF")))

# System registers the EL2-to-EL1 drop programs before its ERET.
EL2_SETUP = ("HCR_EL2", "CNTHCTL_EL2", "CNTVOFF_EL2", "VPIDR_EL2", "VMPIDR_EL2", "CPTR_EL2",
             "SCTLR_EL1", "SPSR_EL2", "ELR_EL2", "ICC_SRE_EL2")

def _psci(conduit, e, x0, x1, x2, x3, calls):
    """`calls` (a firmware stream) with psci_call(x0, x1, x2, x3) appended: through SMC when
    the recorded conduit (boot_psci_conduit's value) is PSCI_CONDUIT_SMC, else HVC."""
    smc = conduit == e.const("PSCI_CONDUIT_SMC")
    via = z3.If(smc, z3.BitVecVal(SMC_CALL, 8), z3.BitVecVal(HVC_CALL, 8))
    return z3.Concat(calls, z3.Unit(firmware_call(via, e.const("SMCCC_IMM"), x0, x1, x2, x3)))


def _psci_post(e, x):
    calls = _psci(e.u64(e.symbol("boot_psci_conduit")), e, e.x(0), e.x(1), e.x(2), e.x(3),
                  e.stream(FIRMWARE))
    return z3.And(x.stream(FIRMWARE) == calls, x.x(0) == firmware_result(calls))


def _secondaries_steps(e, conduit=None):
    """For k = FIRST_SECONDARY_AFF0 .. MAX_CORES: the firmware stream and the count of cores
    running once the CPU_ONs below Aff0 = k are made. Each CPU_ON, for Aff0 = k in this core's
    cluster (MPIDR_EL1's Aff3..Aff1), enters secondary_entry with the count so far as its
    context id; a start the firmware answers PSCI_SUCCESS to counts one more. `conduit`: the
    recorded conduit, boot_psci_conduit's value on entry unless given."""
    c = e.const
    if conduit is None:
        conduit = e.u64(e.symbol("boot_psci_conduit"))
    cluster = e.sysreg("MPIDR_EL1") & c("MPIDR_AFF_UPPER_MASK")
    calls, running = e.stream(FIRMWARE), z3.BitVecVal(c("BOOT_CORE_INDEX") + 1, 64)
    steps = {c("FIRST_SECONDARY_AFF0"): (calls, running)}
    for aff0 in range(c("FIRST_SECONDARY_AFF0"), MAX_CORES):
        calls = _psci(conduit, e, c("PSCI_CPU_ON_64"), cluster | aff0,
                      e.symbol("secondary_entry"), running, calls)
        started = z3.Extract(31, 0, firmware_result(calls)) == c("PSCI_SUCCESS")
        running = z3.If(started, running + 1, running)
        steps[aff0 + 1] = (calls, running)
    return steps


def _secondaries_loop(e, here):
    """At the loop's head, Aff0 = x19 is next: the calls below it made, x20 cores running,
    x21 this core's cluster, the frame as pushed, the conduit as on entry."""
    c = e.const
    conduit = e.symbol("boot_psci_conduit")
    return z3.And(here.x(21) == e.sysreg("MPIDR_EL1") & c("MPIDR_AFF_UPPER_MASK"),
                  here.sp == e.sp - 48, here.u64(conduit) == e.u64(conduit),
                  z3.Or(*[z3.And(here.x(19) == k, here.x(20) == running,
                                 here.stream(FIRMWARE) == calls)
                          for k, (calls, running) in _secondaries_steps(e).items()]))


def _secondaries_post(e, x):
    """Every CPU_ON made (_secondaries_steps); x0 = the cores running at the end."""
    calls, running = _secondaries_steps(e)[MAX_CORES]
    return z3.And(x.stream(FIRMWARE) == calls, x.x(0) == running)


def _booted(e, here, core):
    """What core `core` has where it enters runtime_main: x0 its index, sp the top of its boot
    stack, TPIDR_EL1 its index, VBAR_EL1 the vectors, EL1 with the boot translation regime
    on (SCTLR_EL1 and TTBR0_EL1 as boot_mmu_on sets them)."""
    c = e.const
    return z3.And(here.x(0) == core,
                  here.sp == e.symbol("boot_stacks") + (core + 1) * c("STACK_SIZE"),
                  here.sysreg("TPIDR_EL1") == core,
                  here.sysreg("VBAR_EL1") == e.symbol("vectors"),
                  here.sysreg("CurrentEL") == c("EL1") << 2,
                  here.sysreg("SCTLR_EL1") == c("SCTLR_EL1_MMU_ON"),
                  here.sysreg("TTBR0_EL1") == e.symbol("boot_l1_table"))


def _primary_handoff(e, here):
    """Core 0 enters runtime_main booted (_booted), having recorded the EL it was entered at
    and the conduit that implies (SMC from EL2, where the firmware is at EL3, else HVC),
    started the secondaries (_secondaries_steps, through that conduit) and published the
    count of cores running in boot_cores_started."""
    c = e.const
    el = z3.LShR(e.sysreg("CurrentEL"), 2)
    conduit = z3.If(el == c("EL2"), z3.BitVecVal(c("PSCI_CONDUIT_SMC"), 64),
                    z3.BitVecVal(c("PSCI_CONDUIT_HVC"), 64))
    calls, running = _secondaries_steps(e, conduit)[MAX_CORES]
    return z3.And(_booted(e, here, c("BOOT_CORE_INDEX")),
                  here.u64(e.symbol("boot_entry_el")) == el,
                  here.u64(e.symbol("boot_psci_conduit")) == conduit,
                  here.stream(FIRMWARE) == calls,
                  here.u64(e.symbol("boot_cores_started")) == running)


def _secondary_handoff(e, here):
    """A secondary with an index below MAX_CORES (the context id x0) enters runtime_main
    booted (_booted); with any other it parks."""
    return z3.And(z3.ULT(e.x(0), MAX_CORES), _booted(e, here, e.x(0)))


FIRMWARE_CALLS = tuple(f"x{i}" for i in range(18)) + ("nzcv", "out:" + FIRMWARE)

CONTRACTS.update({
    "boot_primary_entry": Contract(
        "core 0's boot path, run once from _start with no stack: hands off to runtime_main "
        "booted, the entry EL and PSCI conduit recorded, the secondaries started and counted",
        handoff={"runtime_main": _primary_handoff}, before_invariants=True),
    "secondary_entry": Contract(
        "PSCI CPU_ON entry of a secondary core (no caller, no stack, MMU off; x0 the context "
        "id boot_start_secondaries gave, its core index): hands off to runtime_main booted, "
        "or parks if the index has no stack",
        handoff={"runtime_main": _secondary_handoff},
        parks=lambda e: z3.UGE(e.x(0), MAX_CORES)),
    "boot_core_stack_top": Contract(
        "the top of core x0's boot stack: boot_stacks + (x0 + 1) * STACK_SIZE",
        maychange=("x0", "x1", "x2"),
        post=lambda e, x: x.x(0) == e.symbol("boot_stacks") + (e.x(0) + 1) * e.const("STACK_SIZE")),
    "psci_call": Contract(
        "one SMCCC call x0(x1..x3) to the firmware through the conduit boot recorded (SMC if "
        "boot_psci_conduit says so, else HVC), with SMCCC_IMM; x0 is the firmware's answer, "
        "x1-x17 whatever it leaves; memory and every other register are kept",
        maychange=FIRMWARE_CALLS, post=_psci_post),
    "boot_start_secondaries": Contract(
        "PSCI CPU_ON for Aff0 = 1..7 of this core's cluster, in order, entering "
        "secondary_entry with consecutive core indices (1 and up, one per start the firmware "
        "accepted) as context ids; x0 = the cores running, core 0 included",
        maychange=AAPCS64_SCRATCH + ("out:" + FIRMWARE,), post=_secondaries_post,
        invariants={".Lboot_start_secondaries_loop": _secondaries_loop}),
    "boot_drop_to_el1": Contract(
        "at EL2, configures EL1 and returns to x30 at EL1 through ERET; at EL1, returns",
        # Stackless: at EL2 the ERET switches from SP_EL2 to SP_EL1, so sp is not kept.
        maychange=("x9", "nzcv", "sp", "SP_EL2", "DAIF", "CurrentEL") + EL2_SETUP,
        post=lambda entry, exit: exit.sysreg("CurrentEL") == 1 << 2,
        ghost_post=_el1_configured,
    ),
    "boot_build_tables": Contract(
        "fills boot_l1_table and boot_device_l2_table with the identity map: the device GiB "
        "through the level-2 table, Device 2 MiB blocks from BOARD_MMIO_START; the RAM GiBs "
        "as Normal blocks (pointwise, for any entry); writes nothing else",
        maychange=TABLE_REGS + (_page("boot_l1_table"), _page("boot_device_l2_table")),
        ghost_post=_tables_built,
        invariants={".Lboot_build_tables_device": _device_fill,
                    ".Lboot_build_tables_ram": _ram_fill}),
    "boot_map_stack_pool": Contract(
        "maps proc_stack_pool's GiB through boot_l2_table (Normal 2 MiB blocks) and the pool "
        "through boot_l3_tables: each slot's guard page invalid, its stack page a Normal page "
        "(pointwise, for any entry); boot_l1_table's entry points there; writes nothing else",
        ghost_post=_pool_mapped,
        maychange=tuple(f"x{i}" for i in range(14)) + ("nzcv", _page("boot_l1_table"),
                                                       _page("boot_l2_table"),
                                                       _page("boot_l3_tables", "POOL_L3_TABLES")),
        invariants={".Lboot_map_stack_pool_l2": _pool_l2_fill,
                    ".Lboot_map_stack_pool_table": _pool_tables_fill,
                    ".Lboot_map_stack_pool_slot": _pool_pages_fill}),
    "boot_inval_dcache_range": Contract(
        "invalidates the data cache lines covering [x0, x1)",
        maychange=("x0", "x1", "x2", "x3", "nzcv", MEMORY),
        cache_maintenance="it runs once at boot with the MMU and caches off, where DC IVAC "
        "drops lines that no store went through and memory keeps what was stored"),
    "boot_mmu_on": Contract(
        "turns the MMU and caches on with the boot page tables",
        maychange=AAPCS64_SCRATCH + (MEMORY, "CPACR_EL1", "MAIR_EL1", "TCR_EL1",
                                     "TTBR0_EL1", "SCTLR_EL1"),
        post=_mmu_on,
    ),
})

# Orderings no weak-memory harness checks (verify barriers lists them with these reasons).
UNCHECKED_ORDERING = {
    "boot_primary_entry": "entry code, proved sequentially to its hand-off (boot: builds "
                          "the page tables, turns the MMU on, never returns); its STLR of the "
                          "core count is written out as "
                          "harness code in rendezvous_started (specs/runtime.py), which "
                          "checks the reader; its DSB orders that store before SEV, an event "
                          "outside Arm's model",
    "secondary_entry": "entry code (PSCI entry with the MMU off): its barrier orders "
                       "system-register and translation-table state, outside the memory model",
    "boot_inval_dcache_range": "cache maintenance with the MMU and caches off: outside Arm's "
                               "memory model (which assumes coherent, cacheable memory)",
    "boot_mmu_on": "TLB, I-cache and translation-table ordering (herd's vmsa and ifetch "
                   "variants, which the checker does not implement)",
}
