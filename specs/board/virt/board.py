"""Contracts of asm/board/virt/board.s: the PL011 console, the GICv3 and the EL1 physical
timer of QEMU's virt board."""

import z3

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, Region

# The UART's MMIO page: the only memory the console functions may write.
UART = Region(lambda e: z3.BitVecVal(e.const("BOARD_UART_BASE"), 64), 0x1000)


def uart_reg(e, name):
    return z3.BitVecVal(e.const("BOARD_UART_BASE") + e.const(name), 64)


# The CPU interface registers board_irq_init_core programs, and the tick's comparator.
GIC_CPU = ("ICC_SRE_EL1", "ICC_PMR_EL1", "ICC_BPR1_EL1", "ICC_IGRPEN1_EL1")
TIMER = ("CNTP_CVAL_EL0",)

# The redistributors of MAX_CORES cores, one GICR_STRIDE frame pair each.
MAX_CORES = 8
REDISTRIBUTORS = Region(lambda e: z3.BitVecVal(e.const("BOARD_GICR_BASE"), 64),
                        lambda e: z3.BitVecVal(e.const("GICR_STRIDE") * e.const("MAX_CORES"), 64))
REDISTRIBUTOR_WALK = MAX_CORES - 1   # jumps back to the walk's head: one per frame after the first

CONTRACTS = {
    "board_gic_init": Contract("enables the distributor (writes only the GIC's MMIO)",
                               maychange=AAPCS64_SCRATCH + (MEMORY,)),
    "board_irq_init_core": Contract(
        "wakes this core's redistributor, enables the tick and the wake-up SGI, opens the CPU "
        "interface; writes only the redistributors' MMIO",
        maychange=("x0", "x1", "x2", "x3", "x4", "nzcv", REDISTRIBUTORS) + GIC_CPU,
        loop_bound=(REDISTRIBUTOR_WALK, "the walk looks at one redistributor per core, and "
                    "the runtime runs at most MAX_CORES cores; the wait on GICR_WAKER re-reads "
                    "a device word, and a later read is as unknown as the first one")),
    "board_timer_set": Contract("arms the tick for the compare value x0",
                                maychange=("x1",) + TIMER,
                                post=lambda e, x: x.sysreg("CNTP_CVAL_EL0") == e.x(0)),
    "board_uart_init": Contract("enables the UART: 8-bit words, FIFOs, transmit and receive",
                                maychange=AAPCS64_SCRATCH + (UART,)),
    "board_putc": Contract(
        "writes the low byte of w0 to the data register once the transmit FIFO has room",
        maychange=AAPCS64_SCRATCH + (UART,),
        post=lambda e, x: x.u32(uart_reg(e, "PL011_DR")) == e.w(0) & 0xFF),
    "board_uart_flush": Contract("waits until the UART has sent everything; writes nothing",
                                 maychange=AAPCS64_SCRATCH),
}

# Orderings no weak-memory harness checks (verify barriers lists them with these reasons).
UNCHECKED_ORDERING = {
    "board_send_wake": "its DSB ISH orders the caller's unlock of the run queue before the "
                       "wake-up SGI, a write of ICC_SGI1R_EL1: a system register, outside "
                       "Arm's memory model (and the litmus checker has no rule for it)",
    "board_irq_init_core": "its ISBs make GIC system-register writes take effect: "
                           "instruction-stream and system-register ordering, outside the "
                           "memory model",
    "board_timer_set": "its ISB makes the timer's system-register writes take effect: "
                       "outside the memory model",
}
