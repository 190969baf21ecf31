"""Contracts of asm/yield.s: the two switch paths (proved as round trips), the calls that
switch through yield, suspend and resume, and the IRQ's work."""

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, NotCallable, RoundTrip

# A call that may switch: other processes run meanwhile, so memory may change, and it
# comes back with IRQs unmasked.
SWITCHING = AAPCS64_SCRATCH + (MEMORY, "DAIF")

CONTRACTS = {
    "yield": RoundTrip(
        "voluntary switch: saves the caller's callee-saved state in its PCB and enters the "
        "scheduler; resumed, it returns to x30 with x19-x29, sp and d8-d15 as they were and IRQs "
        "unmasked",
        kind="voluntary", save="yield", saved_at="sched_enter",
        restore="frame_resume_voluntary"),
    "frame_resume_voluntary": NotCallable(
        "the restore half of the voluntary switch, entered from sched_enter: proved with "
        "yield's round trip"),
    "irq_entry": RoundTrip(
        "involuntary switch: an IRQ from EL1t saves every GPR, SP_EL0, ELR/SPSR (NZCV, DAIF), "
        "FPCR, FPSR and q0-q31 in the frame; restoring it returns to the interrupted pc with "
        "all of them as they were",
        kind="involuntary", save="irq_entry", saved_at="irq_entry_saved",
        restore="frame_resume_full"),
    "frame_resume_full": NotCallable(
        "the restore half of the involuntary switch (ERET), entered from irq_entry or "
        "sched_enter: proved with irq_entry's round trip"),
    "fault_entry": NotCallable(
        "synchronous exception from EL1t, reached from the vector table: kills the running "
        "process and enters the scheduler; never returns"),
    "consume_reductions": Contract(
        "charges x0 reductions to the slice; yields when it is spent", maychange=SWITCHING),
    "irq_handle": Contract("the IRQ's work: acknowledges, runs the tick, decides preemption",
                           maychange=AAPCS64_SCRATCH + (MEMORY, "CNTP_CVAL_EL0")),
    "suspend": Contract("suspends a pid; a process suspending itself switches out",
                        maychange=SWITCHING),
}
