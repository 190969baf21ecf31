/*
 * yield.s - leaving and resuming a process: the voluntary switch (yield,
 * consume_reductions, and the blocking calls), suspend and resume, and the
 * involuntary switch, where the 1 ms tick preempts a process whose slice
 * is spent even if it never reaches a yield point.
 *
 * Both switch paths save into the PCB's frame (process.inc) and resume from
 * one; `verify all` proves each as a round trip (save A, restore B, save B,
 * restore A gives A back).  Switching out always ends in a branch to
 * sched_enter on the scheduler's own stack.
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "board.inc"

    NO_EXEC_STACK

.equ SPSR_MODE_MASK,        0xf
.equ SPSR_MODE_EL1T,        0x4             /* EL1 with SP_EL0: a process or the scheduler */
.equ RESUME_ENQUEUE,        2               /* proc_state_resume: the caller enqueues */

    .text

/* ---- The voluntary switch ----------------------------------------------------- */

/*
 * yield - offer the core: the caller goes to the tail of its run queue and
 * the scheduler picks (BEAM's erlang:yield/0).  It returns when the process
 * is next picked, with the AAPCS64 callee-saved state as it was: x19-x29,
 * sp, d8-d15, and to x30.
 * Clobbers: x0-x18, flags, the other SIMD state.  Callable by a process.
 * Also the switch-out of sleep and of a suspend of oneself: they branch here
 * with IRQs masked, having already cleared ACTIVE or set SUSPENDED.
 */
FUNC yield
    msr     daifset, #2
    mrs     x9, tpidrro_el0
    ldr     x10, [x9, #CORE_CURRENT]
    add     x11, x10, #PCB_FRAME
    stp     x19, x20, [x11, #FRAME_X19]
    stp     x21, x22, [x11, #(FRAME_X19 + 16)]
    stp     x23, x24, [x11, #(FRAME_X19 + 32)]
    stp     x25, x26, [x11, #(FRAME_X19 + 48)]
    stp     x27, x28, [x11, #(FRAME_X19 + 64)]
    stp     x29, x30, [x11, #FRAME_X29]
    mov     x12, sp
    str     x12, [x11, #FRAME_SP]
    str     d8, [x11, #FRAME_Q8]
    str     d9, [x11, #(FRAME_Q8 + 16)]
    str     d10, [x11, #(FRAME_Q8 + 32)]
    str     d11, [x11, #(FRAME_Q8 + 48)]
    str     d12, [x11, #(FRAME_Q8 + 64)]
    str     d13, [x11, #(FRAME_Q8 + 80)]
    str     d14, [x11, #(FRAME_Q8 + 96)]
    str     d15, [x11, #(FRAME_Q8 + 112)]
    str     wzr, [x10, #PCB_FRAME_KIND]     /* FRAME_KIND_VOLUNTARY */
    ldr     x12, [x9, #STAT_VOLUNTARY]
    add     x12, x12, #1
    str     x12, [x9, #STAT_VOLUNTARY]
    ldr     x12, [x9, #CORE_SCHED_SP]
    mov     sp, x12
    b       sched_enter
ENDFUNC yield

/*
 * frame_resume_voluntary - continue a process saved by yield: reload its
 * callee-saved state and return into it with IRQs unmasked and x0 = 1.
 * In: x0 = its frame.  Never returns.  Reached by a branch from sched_enter.
 */
FUNC frame_resume_voluntary
    ldp     x19, x20, [x0, #FRAME_X19]
    ldp     x21, x22, [x0, #(FRAME_X19 + 16)]
    ldp     x23, x24, [x0, #(FRAME_X19 + 32)]
    ldp     x25, x26, [x0, #(FRAME_X19 + 48)]
    ldp     x27, x28, [x0, #(FRAME_X19 + 64)]
    ldp     x29, x30, [x0, #FRAME_X29]
    ldr     x9, [x0, #FRAME_SP]
    mov     sp, x9
    ldr     d8, [x0, #FRAME_Q8]
    ldr     d9, [x0, #(FRAME_Q8 + 16)]
    ldr     d10, [x0, #(FRAME_Q8 + 32)]
    ldr     d11, [x0, #(FRAME_Q8 + 48)]
    ldr     d12, [x0, #(FRAME_Q8 + 64)]
    ldr     d13, [x0, #(FRAME_Q8 + 80)]
    ldr     d14, [x0, #(FRAME_Q8 + 96)]
    ldr     d15, [x0, #(FRAME_Q8 + 112)]
    mov     x0, #1                          /* what yield and the blocking calls return */
    msr     daifclr, #2
    ret
ENDFUNC frame_resume_voluntary

/*
 * consume_reductions - charge x0 reductions to the slice (BEAM's budget
 * check, i_test_yield).  At 0 or below the process yields.
 * In: x0 = reductions.  Clobbers: x0-x18, flags (as yield).
 * Callable by a process.
 */
FUNC consume_reductions
    msr     daifset, #2                     /* the budget is the core's: no tick in between */
    mrs     x9, tpidrro_el0
    ldr     x10, [x9, #CORE_BUDGET]
    sub     x10, x10, x0
    str     x10, [x9, #CORE_BUDGET]
    cmp     x10, #0
    b.le    yield
    msr     daifclr, #2
    ret
ENDFUNC consume_reductions

/* ---- Suspend and resume -------------------------------------------------------- */

/*
 * suspend - suspend the process pid (BEAM's erlang:suspend_process/1): it
 * stops at its next switch out, or is dropped when picked, until resumed
 * as many times as it was suspended.  A process that suspends itself
 * switches out at once.
 * In: x0 = pid.  Out: x0 = 1, or 0 if the pid is stale or the process exits.
 * Clobbers: x0-x18, flags.  Callable by a process.
 */
FUNC suspend
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    bl      proc_lookup
    cbz     x0, .Lsuspend_done
    mov     x20, x0
    lsr     x1, x19, #PID_GEN_SHIFT
    bl      proc_state_suspend
    cbz     x0, .Lsuspend_done
    mrs     x1, tpidrro_el0
    ldr     x1, [x1, #CORE_CURRENT]
    cmp     x1, x20
    b.ne    .Lsuspend_done
    POP2    x19, x20
    POP2    x29, x30
    b       yield                           /* itself: out until resumed; returns 1 then */
.Lsuspend_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC suspend

/*
 * resume - undo one suspend of pid; at the last one a waiting-to-run
 * process is enqueued on its core again.
 * In: x0 = pid.  Out: x0 = 1, or 0 if the pid is stale or not suspended.
 * Clobbers: x0-x18, flags.  Callable (AAPCS64).
 */
FUNC resume
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    bl      proc_lookup
    cbz     x0, .Lresume_done
    mov     x20, x0
    lsr     x1, x19, #PID_GEN_SHIFT
    bl      proc_state_resume
    cmp     x0, #RESUME_ENQUEUE
    b.ne    .Lresume_done
    ldr     w0, [x20, #PCB_CORE]
    bl      sched_core
    mov     x1, x20
    bl      sched_enqueue
    mov     x0, #1
.Lresume_done:
    cmp     x0, #0
    cset    x0, ne
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC resume

/* ---- The involuntary switch ------------------------------------------------------ */

/*
 * irq_entry - IRQ taken from EL1t (a process, or the idle scheduler), on
 * the core's exception stack (SP_EL1).  Saves the whole interrupted state
 * where CORE_FRAME points (the running process's frame, or the idle frame):
 * x0-x30, SP_EL0, ELR_EL1, SPSR_EL1 (with NZCV and DAIF), FPCR, FPSR,
 * q0-q31.  irq_handle then says whether to resume it or switch.
 * Not callable: reached from the vector table.
 */
FUNC irq_entry
    stp     x0, x1, [sp, #-16]!
    mrs     x1, tpidrro_el0
    ldr     x0, [x1, #CORE_FRAME]
    stp     x2, x3, [x0, #(FRAME_X0 + 16)]
    stp     x4, x5, [x0, #(FRAME_X0 + 32)]
    stp     x6, x7, [x0, #(FRAME_X0 + 48)]
    stp     x8, x9, [x0, #(FRAME_X0 + 64)]
    stp     x10, x11, [x0, #(FRAME_X0 + 80)]
    stp     x12, x13, [x0, #(FRAME_X0 + 96)]
    stp     x14, x15, [x0, #(FRAME_X0 + 112)]
    stp     x16, x17, [x0, #(FRAME_X0 + 128)]
    stp     x18, x19, [x0, #(FRAME_X0 + 144)]
    stp     x20, x21, [x0, #(FRAME_X0 + 160)]
    stp     x22, x23, [x0, #(FRAME_X0 + 176)]
    stp     x24, x25, [x0, #(FRAME_X0 + 192)]
    stp     x26, x27, [x0, #(FRAME_X0 + 208)]
    stp     x28, x29, [x0, #(FRAME_X0 + 224)]
    str     x30, [x0, #FRAME_X30]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0, #FRAME_X0]
    mrs     x2, sp_el0
    str     x2, [x0, #FRAME_SP]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [x0, #FRAME_ELR]
    mrs     x2, fpcr
    mrs     x3, fpsr
    stp     x2, x3, [x0, #FRAME_FPCR]
    stp     q0, q1, [x0, #(FRAME_Q0 + 0)]
    stp     q2, q3, [x0, #(FRAME_Q0 + 32)]
    stp     q4, q5, [x0, #(FRAME_Q0 + 64)]
    stp     q6, q7, [x0, #(FRAME_Q0 + 96)]
    stp     q8, q9, [x0, #(FRAME_Q0 + 128)]
    stp     q10, q11, [x0, #(FRAME_Q0 + 160)]
    stp     q12, q13, [x0, #(FRAME_Q0 + 192)]
    stp     q14, q15, [x0, #(FRAME_Q0 + 224)]
    stp     q16, q17, [x0, #(FRAME_Q0 + 256)]
    stp     q18, q19, [x0, #(FRAME_Q0 + 288)]
    stp     q20, q21, [x0, #(FRAME_Q0 + 320)]
    stp     q22, q23, [x0, #(FRAME_Q0 + 352)]
    stp     q24, q25, [x0, #(FRAME_Q0 + 384)]
    stp     q26, q27, [x0, #(FRAME_Q0 + 416)]
    stp     q28, q29, [x0, #(FRAME_Q0 + 448)]
    stp     q30, q31, [x0, #(FRAME_Q0 + 480)]
irq_entry_saved:
    bl      irq_handle                      /* x0 = the frame to resume, or 0: switch */
    cbz     x0, .Lirq_entry_switch
    b       frame_resume_full
.Lirq_entry_switch:
    mrs     x1, tpidrro_el0
    ldr     x2, [x1, #CORE_SCHED_SP]
    msr     spsel, #0                       /* the frame holds SP_EL0: reuse it for the scheduler */
    mov     sp, x2
    b       sched_enter
ENDFUNC irq_entry

/*
 * frame_resume_full - restore a whole frame saved by irq_entry and return
 * into it with ERET.  In: x0 = frame; SPSel = 1 (the exception stack).
 * Never returns.  Reached by a branch from irq_entry or sched_enter.
 */
FUNC frame_resume_full
    ldp     q0, q1, [x0, #(FRAME_Q0 + 0)]
    ldp     q2, q3, [x0, #(FRAME_Q0 + 32)]
    ldp     q4, q5, [x0, #(FRAME_Q0 + 64)]
    ldp     q6, q7, [x0, #(FRAME_Q0 + 96)]
    ldp     q8, q9, [x0, #(FRAME_Q0 + 128)]
    ldp     q10, q11, [x0, #(FRAME_Q0 + 160)]
    ldp     q12, q13, [x0, #(FRAME_Q0 + 192)]
    ldp     q14, q15, [x0, #(FRAME_Q0 + 224)]
    ldp     q16, q17, [x0, #(FRAME_Q0 + 256)]
    ldp     q18, q19, [x0, #(FRAME_Q0 + 288)]
    ldp     q20, q21, [x0, #(FRAME_Q0 + 320)]
    ldp     q22, q23, [x0, #(FRAME_Q0 + 352)]
    ldp     q24, q25, [x0, #(FRAME_Q0 + 384)]
    ldp     q26, q27, [x0, #(FRAME_Q0 + 416)]
    ldp     q28, q29, [x0, #(FRAME_Q0 + 448)]
    ldp     q30, q31, [x0, #(FRAME_Q0 + 480)]
    ldp     x2, x3, [x0, #FRAME_FPCR]
    msr     fpcr, x2
    msr     fpsr, x3
    ldr     x2, [x0, #FRAME_SP]
    msr     sp_el0, x2
    ldp     x2, x3, [x0, #FRAME_ELR]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x2, x3, [x0, #(FRAME_X0 + 16)]
    ldp     x4, x5, [x0, #(FRAME_X0 + 32)]
    ldp     x6, x7, [x0, #(FRAME_X0 + 48)]
    ldp     x8, x9, [x0, #(FRAME_X0 + 64)]
    ldp     x10, x11, [x0, #(FRAME_X0 + 80)]
    ldp     x12, x13, [x0, #(FRAME_X0 + 96)]
    ldp     x14, x15, [x0, #(FRAME_X0 + 112)]
    ldp     x16, x17, [x0, #(FRAME_X0 + 128)]
    ldp     x18, x19, [x0, #(FRAME_X0 + 144)]
    ldp     x20, x21, [x0, #(FRAME_X0 + 160)]
    ldp     x22, x23, [x0, #(FRAME_X0 + 176)]
    ldp     x24, x25, [x0, #(FRAME_X0 + 192)]
    ldp     x26, x27, [x0, #(FRAME_X0 + 208)]
    ldp     x28, x29, [x0, #(FRAME_X0 + 224)]
    ldr     x30, [x0, #FRAME_X30]
    ldp     x0, x1, [x0, #FRAME_X0]
    eret
ENDFUNC frame_resume_full

/*
 * irq_handle - the IRQ's work, between save and restore: the tick runs the
 * timer wheel, then preempts the running process if its slice began a
 * tick period or more ago (the backstop of docs/beam-model.md §7).  A
 * preempted process is charged 4 reductions per µs it ran (erts_time2reds).
 * In: x0 = the saved frame.  Out: x0 = the frame to resume (the same), or
 * 0 to switch: the running process was preempted and is FULL-saved.
 * Clobbers: x0-x17, flags.  Callable (AAPCS64), IRQs masked.
 */
FUNC irq_handle
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    bl      board_irq_ack
    mov     x20, x0
    cmp     x0, #GIC_INTID_SPURIOUS
    b.eq    .Lirq_handle_resume
    cmp     x0, #BOARD_TIMER_INTID
    b.ne    .Lirq_handle_eoi                /* the wake-up SGI: only ends a WFI */
    bl      timer_tick
    mov     x0, x20
    bl      board_irq_eoi
    mrs     x1, tpidrro_el0
    ldr     x2, [x1, #CORE_CURRENT]
    cbz     x2, .Lirq_handle_resume
    mrs     x3, cntpct_el0
    ldr     x4, [x1, #CORE_SLICE_START]
    sub     x3, x3, x4
    ldr     x5, [x1, #CORE_TICK_PERIOD]
    cmp     x3, x5
    b.lo    .Lirq_handle_resume
    /* Preempt: charge the time it ran, CONTEXT_REDS per tick period. */
    mov     x6, #CONTEXT_REDS
    mul     x3, x3, x6
    udiv    x3, x3, x5
    ldr     x6, [x1, #CORE_BUDGET]
    sub     x6, x6, x3
    str     x6, [x1, #CORE_BUDGET]
    mov     w6, #FRAME_KIND_FULL
    str     w6, [x2, #PCB_FRAME_KIND]
    ldr     x6, [x1, #STAT_INVOLUNTARY]
    add     x6, x6, #1
    str     x6, [x1, #STAT_INVOLUNTARY]
    mov     x0, #0
    b       .Lirq_handle_done
.Lirq_handle_eoi:
    bl      board_irq_eoi
.Lirq_handle_resume:
    mov     x0, x19
.Lirq_handle_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC irq_handle

/*
 * fault_entry - a synchronous exception from EL1t.  In a process (a bad
 * load, a stack overflow into its guard page) the process is killed: the
 * fault is recorded in its PCB, it exits with EXIT_FAULT, and the scheduler
 * reports it and runs the others.  Anywhere else it is a runtime bug:
 * runtime_exception halts the core.
 * Not callable: reached from the vector table, on the exception stack.
 */
FUNC fault_entry
    mrs     x0, tpidrro_el0
    ldr     x1, [x0, #CORE_CURRENT]
    cbz     x1, runtime_exception
    mrs     x2, esr_el1
    str     x2, [x1, #PCB_FAULT_ESR]
    mrs     x2, far_el1
    str     x2, [x1, #PCB_FAULT_FAR]
    mrs     x2, elr_el1
    str     x2, [x1, #PCB_FAULT_ELR]
    mov     x2, #EXIT_FAULT
    str     x2, [x1, #PCB_EXIT_REASON]
    mov     x0, x1
    bl      proc_state_exit
    mrs     x1, tpidrro_el0
    ldr     x2, [x1, #CORE_SCHED_SP]
    msr     spsel, #0
    mov     sp, x2
    b       sched_enter
ENDFUNC fault_entry
