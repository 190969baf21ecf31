"""Contracts of asm/board/virt/board.s: the PL011 console, the GICv3 and the EL1 physical
timer of QEMU's virt board."""

import z3

from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, Region, Register

# The UART's MMIO page: the only memory the console functions may write.
UART = Region(lambda e: z3.BitVecVal(e.const("BOARD_UART_BASE"), 64), 0x1000)

# The console as the prover sees it: every byte stored to the PL011's data register, in order
# (a contract reads it as `view.stream("console")`; MAYCHANGE names it as CONSOLE).
# Two control registers whose order of writes matters are streams of their writes too: the
# distributor's GICD_CTLR (routing before the groups) and the PL011's UARTCR (off while the
# line is reprogrammed).
STREAMS = {"console": lambda e: e.const("BOARD_UART_BASE") + e.const("PL011_DR"),
           "gicd_ctlr": Register(lambda e: e.const("BOARD_GICD_BASE") + e.const("GICD_CTLR"), 4),
           "uart_cr": Register(lambda e: e.const("BOARD_UART_BASE") + e.const("PL011_CR"), 4)}
CONSOLE = "out:console"


def wrote(e, x, stream, *values):
    """The register's stream on return: the one on entry, then these writes."""
    return x.stream(stream) == z3.Concat(e.stream(stream),
                                         *[z3.Unit(z3.BitVecVal(v, 32)) for v in values])


def uart_base(e):
    return z3.BitVecVal(e.const("BOARD_UART_BASE"), 64)


def uart_reg(e, name):
    return z3.BitVecVal(e.const("BOARD_UART_BASE") + e.const(name), 64)


# The CPU interface registers board_irq_init_core programs, and the tick's comparator.
GIC_CPU = ("ICC_SRE_EL1", "ICC_PMR_EL1", "ICC_BPR1_EL1", "ICC_IGRPEN1_EL1")
TIMER = ("CNTP_CVAL_EL0", "CNTP_CTL_EL0")

# The redistributors of MAX_CORES cores, one GICR_STRIDE frame pair each.
MAX_CORES = 8
REDISTRIBUTORS = Region(lambda e: z3.BitVecVal(e.const("BOARD_GICR_BASE"), 64),
                        lambda e: z3.BitVecVal(e.const("GICR_STRIDE") * e.const("MAX_CORES"), 64))
REDISTRIBUTOR_WALK = MAX_CORES - 1   # jumps back to the walk's head: one per frame after the first


def _cpu_interface_open(e, x):
    """x0 = 1 with the CPU interface open (GICv3 fields: ICC_SRE_EL1.SRE, bit 0; every
    priority let through, PMR 0xFF; BPR1 0; group 1 enabled), or 0: no redistributor is this
    core's. (Which redistributor frame it programs is in the frame, not stated further.)"""
    return z3.Or(x.x(0) == 0, z3.And(
        x.x(0) == 1, x.sysreg("ICC_SRE_EL1") & 1 == 1, x.sysreg("ICC_PMR_EL1") == 0xFF,
        x.sysreg("ICC_BPR1_EL1") == 0, x.sysreg("ICC_IGRPEN1_EL1") == 1))


def sgi1r_wake(e, x):
    """ICC_SGI1R_EL1 as the GICv3 architecture lays it out (fields numbered here, not taken
    from board.inc, so a wrong constant there is caught): the wake-up SGI sent to exactly the
    core whose MPIDR is x0. TargetList [15:0] holds the one bit of Aff0 mod 16, RS [47:44] is
    Aff0 / 16, Aff1 [23:16], Aff2 [39:32] and Aff3 [55:48] are copied, INTID [27:24], and
    IRM [40] is 0 (targeted, not broadcast); every other bit is 0."""
    mpidr, v = e.x(0), x.sysreg("ICC_SGI1R_EL1")
    field = lambda bits, hi, lo: z3.Extract(hi, lo, bits)
    aff0 = field(mpidr, 7, 0)
    one = z3.BitVecVal(1, 16)
    return z3.And(field(v, 15, 0) == one << z3.ZeroExt(12, field(mpidr, 3, 0)),
                  field(v, 23, 16) == field(mpidr, 15, 8),
                  e.const("BOARD_WAKE_INTID") < 16,      # an SGI: INTID 0-15
                  field(v, 27, 24) == e.const("BOARD_WAKE_INTID"),
                  field(v, 31, 28) == 0,
                  field(v, 39, 32) == field(mpidr, 23, 16),
                  field(v, 43, 40) == 0,
                  field(v, 47, 44) == z3.Extract(7, 4, aff0),
                  field(v, 55, 48) == field(mpidr, 39, 32),
                  field(v, 63, 56) == 0)


# GICv3 redistributor layout (the architecture's offsets, numbered here so that a wrong constant
# in board.inc is caught): GICR_TYPER in the RD frame, the SGI frame 64 KiB above it.
TYPER, WAKER, SGI_FRAME = 0x08, 0x14, 0x10000
IGROUPR0, ISENABLER0, IPRIORITYR = 0x80, 0x100, 0x400
WAKER_PROCESSOR_SLEEP, WAKER_CHILDREN_ASLEEP, TYPER_LAST = 1 << 1, 1 << 2, 1 << 4


def _frame(e, i):
    return z3.BitVecVal(e.const("BOARD_GICR_BASE") + i * e.const("GICR_STRIDE"), 64)


def _walk_ends(e, x):
    """The redistributor walk as the GICv3 architecture defines it: frames in order until the
    one whose GICR_TYPER.Affinity_Value (bits 63:32, Aff3.Aff2.Aff1.Aff0) is this core's
    MPIDR, or the one marked Last (bit 4). x0 = 1 exactly when this core's frame is found
    before the last; that frame is then programmed: awake (WAKER.ProcessorSleep and
    ChildrenAsleep clear), every SGI and PPI in group 1, the tick and the wake-up SGI at their
    priorities and enabled."""
    mpidr = e.sysreg("MPIDR_EL1")
    mine = z3.Concat(z3.Extract(39, 32, mpidr), z3.Extract(23, 0, mpidr))
    typer = [e.u64(_frame(e, i) + TYPER) for i in range(MAX_CORES)]
    match = [z3.Extract(63, 32, t) == mine for t in typer]
    last = [t & TYPER_LAST != 0 for t in typer]
    before = lambda k: [z3.And(z3.Not(match[j]), z3.Not(last[j])) for j in range(k)]
    timer, wake = e.const("BOARD_TIMER_INTID"), e.const("BOARD_WAKE_INTID")

    def programmed(k):
        rd, sgi = _frame(e, k), _frame(e, k) + SGI_FRAME
        return z3.And(x.u32(rd + WAKER) & (WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP) == 0,
                      x.u32(sgi + IGROUPR0) == 0xFFFFFFFF,
                      x.mem(sgi + IPRIORITYR + timer, 1) == e.const("GIC_PRIO_TIMER"),
                      x.mem(sgi + IPRIORITYR + wake, 1) == e.const("GIC_PRIO_WAKE"),
                      x.u32(sgi + ISENABLER0) == (1 << timer) | (1 << wake))
    found = [z3.And(match[k], *before(k)) for k in range(MAX_CORES)]
    none = [z3.And(z3.Not(match[k]), last[k], *before(k)) for k in range(MAX_CORES)]
    return z3.Or(z3.And(x.x(0) == 1, z3.Or([z3.And(found[k], programmed(k))
                                             for k in range(MAX_CORES)])),
                 z3.And(x.x(0) == 0, z3.Or(none)))


CONTRACTS = {
    "board_irq_ack": Contract(
        "acknowledges the highest pending interrupt: x0 is what ICC_IAR1_EL1 reads (a read "
        "with a side effect on the GIC, so its value is not a function of any input; nothing "
        "else changes)", maychange=("x0",),
        ghost_post=lambda e, x: x.x(0) == x.last_read("ICC_IAR1_EL1")),
    "board_irq_eoi": Contract("ends interrupt x0: ICC_EOIR1_EL1 written with it",
                              maychange=("ICC_EOIR1_EL1",),
                              post=lambda e, x: x.sysreg("ICC_EOIR1_EL1") == e.x(0)),
    "board_send_wake": Contract("sends the wake-up SGI to the core whose MPIDR is x0",
                                maychange=("x1", "x2", "ICC_SGI1R_EL1"), post=sgi1r_wake),
    "board_gic_init": Contract(
        "enables the distributor: GICD_CTLR gets ARE (bit 4, affinity routing with one "
        "security state) alone first, as the GICv3 architecture requires before the groups, "
        "then ARE, EnableGrp1 (bit 1) and EnableGrp0 (bit 0) (its fields as the architecture "
        "numbers them); it writes only GICD_CTLR",
        maychange=("x0", "x1", "nzcv", "out:gicd_ctlr", Region(lambda e: z3.BitVecVal(
            e.const("BOARD_GICD_BASE"), 64), 4)),
        post=lambda e, x: z3.And(x.u32(z3.BitVecVal(e.const("BOARD_GICD_BASE"), 64)) == 0x13,
                                 wrote(e, x, "gicd_ctlr", 0x10, 0x13))),
    "board_irq_init_core": Contract(
        "wakes this core's redistributor, enables the tick and the wake-up SGI, opens the CPU "
        "interface; writes only the redistributors' MMIO",
        maychange=("x0", "x1", "x2", "x3", "x4", "nzcv", REDISTRIBUTORS) + GIC_CPU,
        post=_cpu_interface_open,
        # the device's words the model keeps as memory: proved, not handed to callers
        ghost_post=_walk_ends,
        loop_bound=(REDISTRIBUTOR_WALK, "the walk looks at one redistributor per core, and "
                    "the runtime runs at most MAX_CORES cores; the wait on GICR_WAKER re-reads "
                    "a device word, and a later read is as unknown as the first one")),
    "board_timer_set": Contract(
        "arms the tick for the compare value x0: CNTP_CTL_EL0 written with ENABLE (bit 0) "
        "set and IMASK (bit 1) clear, as the Arm ARM numbers them",
        maychange=("x1",) + TIMER,
        post=lambda e, x: z3.And(x.sysreg("CNTP_CVAL_EL0") == e.x(0),
                                 x.sysreg("CNTP_CTL_EL0") == 1)),
    "board_uart_init": Contract(
        "enables the UART: UARTLCR_H (offset 0x2C) 8-bit words (WLEN, bits 6:5 = 3) and FIFOs "
        "(FEN, bit 4); UARTCR (0x30) UARTEN (bit 0), TXE (bit 8) and RXE (bit 9), as the "
        "PL011 TRM numbers them, written 0 first (the UART off while reprogrammed)",
        maychange=AAPCS64_SCRATCH + (UART, "out:uart_cr"),
        post=lambda e, x: z3.And(x.u32(uart_base(e) + 0x2C) == 0x70,
                                 x.u32(uart_base(e) + 0x30) == 0x301,
                                 # off while the line is programmed, as the TRM asks
                                 wrote(e, x, "uart_cr", 0, 0x301)),
        # it drained the transmitter first: UARTFR (0x18) read BUSY (bit 3) clear
        ghost_post=lambda e, x: x.u32(uart_base(e) + 0x18) & 0x8 == 0),
    "board_putc": Contract(
        "sends the low byte of w0: the console gets it, and the data register holds it, once "
        "the transmit FIFO has room",
        maychange=AAPCS64_SCRATCH + (UART, CONSOLE),
        post=lambda e, x: z3.And(
            x.u32(uart_reg(e, "PL011_DR")) == e.w(0) & 0xFF,
            x.stream("console") == z3.Concat(e.stream("console"),
                                             z3.Unit(z3.Extract(7, 0, e.x(0))))),
        # it waited for room: UARTFR (0x18) read TXFF (bit 5) clear
        ghost_post=lambda e, x: x.u32(uart_base(e) + 0x18) & 0x20 == 0),
    "board_uart_flush": Contract(
        "waits until the UART has sent everything (UARTFR, offset 0x18, reads BUSY, bit 3, "
        "clear); writes nothing", maychange=AAPCS64_SCRATCH,
        # a device word the model keeps as memory: proved, not handed to callers (who would
        # learn a fact about the device's state on entry)
        ghost_post=lambda e, x: x.u32(uart_base(e) + 0x18) & 0x8 == 0),
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
