/*
 * board.s - board layer for QEMU "virt": the PL011 console.
 *
 * Everything above this layer prints through board_putc and never names a
 * peripheral address.  The UART is reached through the Device-nGnRE mapping
 * that boot.s installs (or, before the MMU is on, as Device-nGnRnE memory).
 */
    .include "macros.inc"
    .include "board.inc"

    NO_EXEC_STACK
    .text

/*
 * board_uart_init - put the PL011 into a known 8N1, FIFO-enabled, TX+RX
 * enabled state.  The baud-rate divisors are left as firmware set them
 * (QEMU ignores them).
 * In: none.  Out: none.  Clobbers: x0, x1, flags.
 * Ordering: waits for bytes already queued by earlier software to leave the
 * transmitter before reprogramming; the Device-nGnRE stores to the UART
 * reach it in program order, so no barrier is needed.
 * Callable (AAPCS64 leaf); call once, on one core, before any printing.
 */
FUNC board_uart_init
    MOV64   x0, BOARD_UART_BASE
.Lboard_uart_init_drain:
    ldr     w1, [x0, #PL011_FR]
    tbnz    w1, #PL011_FR_BUSY_BIT, .Lboard_uart_init_drain
    str     wzr, [x0, #PL011_CR]            /* the TRM wants it off while reprogrammed */
    mov     w1, #(PL011_LCR_H_WLEN_8 | PL011_LCR_H_FEN)
    str     w1, [x0, #PL011_LCR_H]
    mov     w1, #(PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE)
    str     w1, [x0, #PL011_CR]
    ret
ENDFUNC board_uart_init

/*
 * board_putc - send one byte to the console.
 * In: w0 = byte (bits above 7 ignored).  Out: none.
 * Clobbers: x0, x1, x2, flags.
 * Ordering: spins while the transmit FIFO is full, then writes DR; the FR
 * read and DR write go to the same Device-nGnRE peripheral and so stay in
 * program order without a barrier.  Not serialised between cores: callers
 * that need whole lines use print_lock.
 * Callable (AAPCS64 leaf).
 */
FUNC board_putc
    MOV64   x1, BOARD_UART_BASE
.Lboard_putc_wait:
    ldr     w2, [x1, #PL011_FR]
    tbnz    w2, #PL011_FR_TXFF_BIT, .Lboard_putc_wait
    and     w0, w0, #PL011_DR_DATA_MASK
    str     w0, [x1, #PL011_DR]
    ret
ENDFUNC board_putc

/*
 * board_uart_flush - wait until every byte written so far has left the UART
 * (used before powering off, so the last line is not cut short).
 * In: none.  Out: none.  Clobbers: x0, x1, flags.
 * Ordering: returns only once FR.BUSY reads clear, i.e. after all earlier
 * DR writes from this core have been transmitted.
 * Callable (AAPCS64 leaf).
 */
FUNC board_uart_flush
    MOV64   x0, BOARD_UART_BASE
.Lboard_uart_flush_wait:
    ldr     w1, [x0, #PL011_FR]
    tbnz    w1, #PL011_FR_BUSY_BIT, .Lboard_uart_flush_wait
    ret
ENDFUNC board_uart_flush

/*
 * board_gic_init - enable the GICv3 distributor with affinity routing.
 * Once, on core 0, before any core enables its interrupts.
 * In: none.  Out: none.  Clobbers: x0, x1, flags.  Callable (AAPCS64 leaf).
 */
FUNC board_gic_init
    MOV64   x0, BOARD_GICD_BASE
    mov     w1, #GICD_CTLR_ARE
    str     w1, [x0, #GICD_CTLR]            /* routing first, then the groups */
    mov     w1, #(GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP0 | GICD_CTLR_ENABLE_GRP1)
    str     w1, [x0, #GICD_CTLR]
.Lboard_gic_init_wait:
    ldr     w1, [x0, #GICD_CTLR]
    tbnz    w1, #GICD_CTLR_RWP_BIT, .Lboard_gic_init_wait
    ret
ENDFUNC board_gic_init

/*
 * board_irq_init_core - wake this core's redistributor, enable the timer PPI
 * and the wake-up SGI as group 1 interrupts, and open the CPU interface.  IRQs stay
 * masked in PSTATE; the caller unmasks them.
 * In: none.  Out: x0 = 1, or 0 if no redistributor matches this core.
 * Clobbers: x0-x5, flags.  Callable (AAPCS64 leaf).
 */
FUNC board_irq_init_core
    mrs     x1, mpidr_el1
    and     x2, x1, #MPIDR_AFF_MASK_LOW
    lsr     x1, x1, #MPIDR_AFF3_SHIFT
    and     x1, x1, #0xff
    orr     x2, x2, x1, lsl #24             /* Aff3.Aff2.Aff1.Aff0, as GICR_TYPER holds it */
    MOV64   x0, BOARD_GICR_BASE
.Lboard_irq_init_core_find:
    ldr     x3, [x0, #GICR_TYPER]
    lsr     x4, x3, #GICR_TYPER_AFF_SHIFT
    cmp     x4, x2
    b.eq    .Lboard_irq_init_core_found
    tbnz    x3, #GICR_TYPER_LAST_BIT, .Lboard_irq_init_core_none
    add     x0, x0, #GICR_STRIDE
    b       .Lboard_irq_init_core_find
.Lboard_irq_init_core_none:
    mov     x0, #0
    ret
.Lboard_irq_init_core_found:
    ldr     w3, [x0, #GICR_WAKER]
    bic     w3, w3, #GICR_WAKER_SLEEP
    str     w3, [x0, #GICR_WAKER]
.Lboard_irq_init_core_wake:
    ldr     w3, [x0, #GICR_WAKER]
    tbnz    w3, #GICR_WAKER_ASLEEP_BIT, .Lboard_irq_init_core_wake
    add     x0, x0, #GICR_SGI_OFFSET
    mov     w3, #GIC_ALL_GROUP1
    str     w3, [x0, #GICR_IGROUPR0]
    mov     w3, #GIC_PRIO_TIMER
    strb    w3, [x0, #(GICR_IPRIORITYR + BOARD_TIMER_INTID)]
    mov     w3, #GIC_PRIO_WAKE
    strb    w3, [x0, #(GICR_IPRIORITYR + BOARD_WAKE_INTID)]
    mov     w3, #(1 << BOARD_TIMER_INTID)
    orr     w3, w3, #(1 << BOARD_WAKE_INTID)
    str     w3, [x0, #GICR_ISENABLER0]
    mrs     x3, icc_sre_el1
    orr     x3, x3, #ICC_SRE_SRE
    msr     icc_sre_el1, x3
    isb                                     /* the system-register interface is on before its use */
    mov     x3, #ICC_PMR_ALL
    msr     icc_pmr_el1, x3
    msr     icc_bpr1_el1, xzr
    mov     x3, #ICC_IGRPEN1_ON
    msr     icc_igrpen1_el1, x3
    isb
    mov     x0, #1
    ret
ENDFUNC board_irq_init_core

/*
 * board_send_wake - interrupt the core whose MPIDR_EL1 is x0 with the
 * wake-up SGI (BOARD_WAKE_INTID), ending its WFI.
 * Clobbers: x1, x2.  Callable (AAPCS64 leaf).
 * Ordering: DSB first, so the core sees every earlier store (the enqueue)
 * once it takes the interrupt; a system register write is not ordered by
 * the memory barriers alone.
 */
FUNC board_send_wake
    and     x1, x0, #SGI1R_TARGETS_MASK
    mov     x2, #1
    lsl     x2, x2, x1                      /* TargetList bit for Aff0 mod 16 */
    ubfx    x1, x0, #4, #4
    orr     x2, x2, x1, lsl #SGI1R_RS_SHIFT
    ubfx    x1, x0, #MPIDR_AFF1_SHIFT, #8
    orr     x2, x2, x1, lsl #SGI1R_AFF1_SHIFT
    ubfx    x1, x0, #MPIDR_AFF2_SHIFT, #8
    orr     x2, x2, x1, lsl #SGI1R_AFF2_SHIFT
    ubfx    x1, x0, #MPIDR_AFF3_SHIFT, #8
    orr     x2, x2, x1, lsl #SGI1R_AFF3_SHIFT
    mov     x1, #BOARD_WAKE_INTID
    orr     x2, x2, x1, lsl #SGI1R_INTID_SHIFT
    dsb     ish
    msr     icc_sgi1r_el1, x2
    isb
    ret
ENDFUNC board_send_wake

/*
 * board_timer_set - arm this core's tick: interrupt when CNTPCT_EL0 >= x0.
 * In: x0 = compare value.  Out: none.  Clobbers: x1.
 * Callable (AAPCS64 leaf).
 */
FUNC board_timer_set
    msr     cntp_cval_el0, x0
    mov     x1, #CNTP_CTL_ENABLE
    msr     cntp_ctl_el0, x1
    isb                                     /* the new compare value applies before we go on */
    ret
ENDFUNC board_timer_set

/*
 * board_irq_ack - acknowledge the highest-priority pending IRQ.
 * Out: x0 = its INTID (GIC_INTID_SPURIOUS if none).  Callable (AAPCS64 leaf).
 */
FUNC board_irq_ack
    mrs     x0, icc_iar1_el1
    ret
ENDFUNC board_irq_ack

/*
 * board_irq_eoi - end of interrupt for the INTID in x0 (from board_irq_ack).
 * Callable (AAPCS64 leaf).
 */
FUNC board_irq_eoi
    msr     icc_eoir1_el1, x0
    isb                                     /* the priority drop applies before we go on */
    ret
ENDFUNC board_irq_eoi
