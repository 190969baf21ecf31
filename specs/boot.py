"""Contracts of asm/boot.s. Functions not named here are callable under AAPCS64."""

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, NotCallable

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

# System registers the EL2-to-EL1 drop programs before its ERET.
EL2_SETUP = ("HCR_EL2", "CNTHCTL_EL2", "CNTVOFF_EL2", "VPIDR_EL2", "VMPIDR_EL2", "CPTR_EL2",
             "SCTLR_EL1", "SPSR_EL2", "ELR_EL2", "ICC_SRE_EL2")

CONTRACTS.update({
    "boot_core_stack_top": Contract(
        "the top of core x0's boot stack: boot_stacks + (x0 + 1) * STACK_SIZE",
        maychange=("x0", "x1", "x2"),
        post=lambda e, x: x.x(0) == e.symbol("boot_stacks") + (e.x(0) + 1) * e.const("STACK_SIZE")),
    "psci_call": Contract(
        "an SMCCC call x0(x1..x3) to the firmware through the conduit boot recorded (SMC if "
        "boot_psci_conduit says so, else HVC): x0-x17 are the firmware's results, whatever it "
        "returns (not a function of the inputs: there is nothing more to state); memory and "
        "every other register are kept", maychange=tuple(f"x{i}" for i in range(18)) + ("nzcv",)),
    "boot_drop_to_el1": Contract(
        "at EL2, configures EL1 and returns to x30 at EL1 through ERET; at EL1, returns",
        # Stackless: at EL2 the ERET switches from SP_EL2 to SP_EL1, so sp is not kept.
        maychange=("x9", "nzcv", "sp", "SP_EL2", "DAIF", "CurrentEL") + EL2_SETUP,
        post=lambda entry, exit: exit.sysreg("CurrentEL") == 1 << 2,
    ),
    "boot_mmu_on": Contract(
        "turns the MMU and caches on with the boot page tables",
        maychange=AAPCS64_SCRATCH + (MEMORY, "CPACR_EL1", "MAIR_EL1", "TCR_EL1",
                                     "TTBR0_EL1", "SCTLR_EL1"),
        post=lambda entry, exit: exit.sysreg("SCTLR_EL1") & 0b101 == 0b101,  # M and C on
    ),
})

# Orderings no weak-memory harness checks (verify barriers lists them with these reasons).
UNCHECKED_ORDERING = {
    "boot_primary_entry": "not callable (boot entry: builds the page tables, turns the MMU "
                          "on, never returns); its STLR of the core count is written out as "
                          "harness code in rendezvous_started (specs/runtime.py), which "
                          "checks the reader; its DSB orders that store before SEV, an event "
                          "outside Arm's model",
    "secondary_entry": "not callable (PSCI entry with the MMU off): its barrier orders "
                       "system-register and translation-table state, outside the memory model",
    "boot_inval_dcache_range": "cache maintenance with the MMU and caches off: outside Arm's "
                               "memory model (which assumes coherent, cacheable memory)",
    "boot_mmu_on": "TLB, I-cache and translation-table ordering (herd's vmsa and ifetch "
                   "variants, which the checker does not implement)",
}
