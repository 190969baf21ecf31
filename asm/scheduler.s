/*
 * scheduler.s - one scheduler per core, BEAM's way (docs/beam-model.md
 * §1-§5): three FIFO run queues (max, high, normal; low shares normal's
 * and is passed over RESCHEDULE_LOW - 1 times), BEAM's pick order, a
 * CONTEXT_REDS slice, an idle wait on the core's wake word, statistics.
 *
 * The scheduler runs at EL1t on its own per-core stack with IRQs masked.
 * It holds no context of its own: every switch out of a process ends in a
 * branch to sched_enter on a fresh scheduler stack, and every switch in
 * leaves it for good (frame_resume_voluntary or frame_resume_full).  An
 * idle core waits in WFI; the tick and other cores' wake-up SGIs end it.
 * TPIDRRO_EL0 holds the core's block address.
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"

    NO_EXEC_STACK

.equ RUNQ_SIZE_SHIFT,       5
.equ PRIO_LEN_SHIFT,        2               /* u32 per priority */
.equ CORE_SIZE_MUL,         CORE_SIZE

    .section .rodata
.Lsched_str_killed:         .asciz "actly: killed pid="
.Lsched_str_esr:            .asciz " esr="
.Lsched_str_far:            .asciz " far="
.Lsched_str_elr:            .asciz " elr="
.Lsched_str_stats:          .asciz "actly: stats core="
.Lsched_str_vol:            .asciz " voluntary="
.Lsched_str_invol:          .asciz " involuntary="
.Lsched_str_reds:           .asciz " reductions="
.Lsched_str_idle:           .asciz " idle_ticks="
.Lsched_str_spawned:        .asciz " spawned="
.Lsched_str_exited:         .asciz " exited="
.Lsched_str_killed_n:       .asciz " killed="
.Lsched_str_maxlen:         .asciz " max_len="
.Lsched_str_comma:          .asciz ","
.Lsched_str_ticks:          .asciz " ticks="
.Lsched_str_tins:           .asciz " timer_inserts="
.Lsched_str_tcan:           .asciz " timer_cancels="
.Lsched_str_texp:           .asciz " timer_expiries="
.Lsched_str_tlate:          .asciz " timer_late_max="

    .text

/* ---- Run queues ---------------------------------------------------------- */

/*
 * runq_push - append the PCB x1 at the tail of the run queue x0.
 * In: x0 = queue, x1 = PCB not in any queue.  Out: none.
 * Clobbers: x2, flags.  Callable (AAPCS64 leaf); the caller holds the lock.
 */
FUNC runq_push
    str     xzr, [x1, #PCB_NEXT]
    ldr     x2, [x0, #RUNQ_TAIL]
    cbz     x2, .Lrunq_push_empty
    str     x1, [x2, #PCB_NEXT]
    b       .Lrunq_push_tail
.Lrunq_push_empty:
    str     x1, [x0, #RUNQ_HEAD]
.Lrunq_push_tail:
    str     x1, [x0, #RUNQ_TAIL]
    ldr     x2, [x0, #RUNQ_LEN]
    add     x2, x2, #1
    str     x2, [x0, #RUNQ_LEN]
    ret
ENDFUNC runq_push

/*
 * runq_pop - unlink the head of the run queue x0.
 * In: x0 = queue.  Out: x0 = the head PCB, or 0 if the queue is empty.
 * Clobbers: x1, x2, flags.  Callable (AAPCS64 leaf); the caller holds the lock.
 */
FUNC runq_pop
    ldr     x1, [x0, #RUNQ_HEAD]
    cbz     x1, .Lrunq_pop_empty
    ldr     x2, [x1, #PCB_NEXT]
    str     x2, [x0, #RUNQ_HEAD]
    cbnz    x2, .Lrunq_pop_count
    str     xzr, [x0, #RUNQ_TAIL]           /* it was the last one */
.Lrunq_pop_count:
    ldr     x2, [x0, #RUNQ_LEN]
    sub     x2, x2, #1
    str     x2, [x0, #RUNQ_LEN]
.Lrunq_pop_empty:
    mov     x0, x1
    ret
ENDFUNC runq_pop

/*
 * runq_choose - BEAM's pick order over a non-empty mask: the lowest set bit
 * wins (max, then high, then normal or low, which share the normal queue).
 * In: w0 = mask (MASK_*).  Out: w0 = queue index, or RUNQ_NONE.
 * Clobbers: x1, flags.  Callable (AAPCS64 leaf).
 */
FUNC runq_choose
    and     w0, w0, #MASK_ALL
    cbz     w0, .Lrunq_choose_none
    rbit    w0, w0
    clz     w0, w0                          /* index of the lowest set bit */
    mov     w1, #RUNQ_NORMAL
    cmp     w0, w1
    csel    w0, w0, w1, lo                  /* low (bit 3) uses the normal queue */
    ret
.Lrunq_choose_none:
    mov     w0, #RUNQ_NONE
    ret
ENDFUNC runq_choose

/* ---- Per-core blocks ------------------------------------------------------ */

/*
 * sched_core - x0 = the scheduler block of core index x0.
 * Clobbers: x1.  Callable (AAPCS64 leaf).
 */
FUNC sched_core
    mov     x1, #CORE_SIZE
    mul     x0, x0, x1
    LOAD_ADDR x1, sched_cores
    add     x0, x0, x1
    ret
ENDFUNC sched_core

/*
 * sched_enqueue - make the runnable PCB x1 (IN_RUNQ already set by its
 * state transition) wait in core x0's run queue for its priority.  A low
 * process gets RESCHEDULE_LOW passes, any other 1.  An enqueue on another
 * core interrupts that core with the wake-up SGI (it may idle in WFI).
 * In: x0 = core block, x1 = PCB.  Out: none.  Clobbers: x0-x17, flags.
 * IRQs are masked inside and restored.  Callable (AAPCS64).
 * Ordering: the queue is written under the core's lock; board_send_wake's
 * DSB puts the unlock before the interrupt, so the woken owner sees the queue.
 */
FUNC sched_enqueue
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    mrs     x21, daif
    msr     daifset, #2
    mov     x19, x0
    mov     x20, x1
    add     x0, x19, #CORE_LOCK
    bl      spin_lock
    ldr     w1, [x20, #PCB_PRIO]
    cmp     w1, #PRIO_LOW
    mov     w2, #1
    mov     w3, #RESCHEDULE_LOW
    csel    w2, w3, w2, eq
    str     w2, [x20, #PCB_SCHED_COUNT]
    mov     w3, #RUNQ_NORMAL
    cmp     w1, w3
    csel    w3, w1, w3, lo                  /* max, high, or the normal queue */
    add     x0, x19, #CORE_QUEUES
    add     x0, x0, x3, lsl #RUNQ_SIZE_SHIFT
    mov     x1, x20
    bl      runq_push
    ldr     w1, [x20, #PCB_PRIO]
    add     x2, x19, #CORE_PRIO_LEN
    ldr     w3, [x2, x1, lsl #PRIO_LEN_SHIFT]
    add     w3, w3, #1
    str     w3, [x2, x1, lsl #PRIO_LEN_SHIFT]
    add     x4, x19, #STAT_MAX_LEN
    ldr     w5, [x4, x1, lsl #PRIO_LEN_SHIFT]
    cmp     w3, w5
    csel    w5, w3, w5, hi
    str     w5, [x4, x1, lsl #PRIO_LEN_SHIFT]
    mov     w4, #1
    lsl     w4, w4, w1
    ldr     w5, [x19, #CORE_MASK]
    orr     w5, w5, w4
    str     w5, [x19, #CORE_MASK]
    add     x0, x19, #CORE_LOCK
    bl      spin_unlock
    mrs     x0, tpidrro_el0
    cmp     x0, x19
    b.eq    .Lsched_enqueue_done
    ldr     x0, [x19, #CORE_MPIDR]
    bl      board_send_wake                 /* an idle owner sleeps in WFI: interrupt it */
.Lsched_enqueue_done:
    msr     daif, x21
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC sched_enqueue

/*
 * sched_pick_step - one step of the pick, with core x0's lock held: the
 * queue runq_choose names; in the normal queue a head whose pass count,
 * decremented, is still positive and that has a successor goes to the tail
 * (x1 = 1: choose again); otherwise the head is taken off its
 * queue, its priority's length decremented and, at 0, its bit cleared from
 * the non-empty mask.  A mask naming an empty queue gives 0, as an empty
 * mask does: enqueue and pick keep the two in step under the lock.
 * In: x0 = core block, its lock held.  Out: x0 = the PCB taken, or 0;
 * x1 = 1 if the head was passed over (x0 then 0), else 0.
 * Clobbers: x0-x17, flags.  Callable (AAPCS64).
 */
FUNC sched_pick_step
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    ldr     w0, [x19, #CORE_MASK]
    bl      runq_choose
    cmp     x0, #RUNQ_NONE
    b.hs    .Lsched_pick_step_none
    add     x20, x19, #CORE_QUEUES
    add     x20, x20, x0, lsl #RUNQ_SIZE_SHIFT
    ldr     x1, [x20, #RUNQ_HEAD]
    cbz     x1, .Lsched_pick_step_none      /* the mask names an empty queue */
    cmp     w0, #RUNQ_NORMAL
    b.ne    .Lsched_pick_step_take
    ldr     w2, [x1, #PCB_SCHED_COUNT]
    sub     w2, w2, #1
    str     w2, [x1, #PCB_SCHED_COUNT]
    cbz     w2, .Lsched_pick_step_take
    ldr     x3, [x1, #PCB_NEXT]
    cbz     x3, .Lsched_pick_step_take
    mov     x0, x20                         /* passed over: head to tail */
    bl      runq_pop
    mov     x1, x0
    mov     x0, x20
    bl      runq_push
    mov     x0, #0
    mov     x1, #1
    b       .Lsched_pick_step_done
.Lsched_pick_step_take:
    mov     x0, x20
    bl      runq_pop
    ldr     w1, [x0, #PCB_PRIO]
    add     x2, x19, #CORE_PRIO_LEN
    ldr     w3, [x2, x1, lsl #PRIO_LEN_SHIFT]
    sub     w3, w3, #1
    str     w3, [x2, x1, lsl #PRIO_LEN_SHIFT]
    cbnz    w3, .Lsched_pick_step_taken
    mov     w4, #1
    lsl     w4, w4, w1
    ldr     w5, [x19, #CORE_MASK]
    bic     w5, w5, w4
    str     w5, [x19, #CORE_MASK]
.Lsched_pick_step_taken:
    mov     x1, #0
    b       .Lsched_pick_step_done
.Lsched_pick_step_none:
    mov     x0, #0
    mov     x1, #0
.Lsched_pick_step_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC sched_pick_step

/*
 * sched_pick - take the next process to run from core x0's queues, BEAM's
 * way: sched_pick_step under the core's lock until it takes a head or
 * finds none.  An entry whose state says it may not run (suspended,
 * exiting, waiting) is dropped and the pick made again.
 * In: x0 = core block.  Out: x0 = PCB, now RUNNING, or 0 if none.
 * Clobbers: x0-x17, flags.  Callable (AAPCS64) with IRQs masked.
 */
FUNC sched_pick
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
.Lsched_pick_lock:
    add     x0, x19, #CORE_LOCK
    bl      spin_lock
.Lsched_pick_choose:
    mov     x0, x19
    bl      sched_pick_step
    cbnz    x1, .Lsched_pick_choose         /* passed over: choose again */
    mov     x20, x0
    add     x0, x19, #CORE_LOCK
    bl      spin_unlock
    mov     x0, x20
    cbz     x20, .Lsched_pick_done
    bl      proc_state_run
    cbz     x0, .Lsched_pick_lock           /* a stale entry: dropped, pick again */
    mov     x0, x20
.Lsched_pick_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC sched_pick

/* ---- Start and the scheduling loop ----------------------------------------- */

/*
 * sched_core_init - set up this core's scheduler block, its interrupt
 * controller and its 1 ms tick.  IRQs stay masked.
 * In: x0 = core index.  Out: none.  Clobbers: x0-x17, flags.
 * Callable (AAPCS64), once per core before the rendezvous.
 */
FUNC sched_core_init
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x20, x0
    bl      sched_core
    mov     x19, x0
    msr     tpidrro_el0, x19
    str     x20, [x19, #CORE_INDEX]
    mrs     x0, mpidr_el1
    str     x0, [x19, #CORE_MPIDR]
    add     x0, x19, #CORE_IDLE_FRAME
    str     x0, [x19, #CORE_FRAME]
    LOAD_ADDR x0, sched_stacks
    add     x1, x20, #1
    mov     x2, #SCHED_STACK_SIZE
    madd    x0, x1, x2, x0
    str     x0, [x19, #CORE_SCHED_SP]
    bl      board_irq_init_core
    mov     x0, x19
    bl      timer_core_init
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC sched_core_init

/*
 * sched_start - leave the boot stack for good: run this core's scheduler.
 * The boot stack stays as SP_EL1, the exception stack.
 * Not callable: never returns.  In: IRQs masked, sched_core_init done.
 */
FUNC sched_start
    mrs     x0, tpidrro_el0
    ldr     x1, [x0, #CORE_SCHED_SP]
    msr     spsel, #0                       /* EL1t: from here sp is SP_EL0 */
    mov     sp, x1
    b       sched_enter
ENDFUNC sched_start

/*
 * sched_enter - the scheduling loop.  Entered by a branch from a switch-out
 * path (yield, sleep, exit, a preemption or a fault) on a fresh scheduler
 * stack at EL1t with IRQs masked; CORE_CURRENT is the process that left,
 * or 0.  It accounts for that process, re-enqueues or frees it, then picks
 * the next and resumes it; with nothing to run it waits for work.
 * Not callable: never returns.
 */
FUNC sched_enter
    mrs     x19, tpidrro_el0
    ldr     x20, [x19, #CORE_CURRENT]
    cbz     x20, .Lsched_enter_pick
    str     xzr, [x19, #CORE_CURRENT]
    add     x0, x19, #CORE_IDLE_FRAME
    str     x0, [x19, #CORE_FRAME]
    /* Credit the reductions it used: the slice less what is left. */
    ldr     x0, [x19, #CORE_BUDGET]
    mov     x1, #CONTEXT_REDS
    sub     x1, x1, x0
    ldr     x2, [x20, #PCB_REDS]
    add     x2, x2, x1
    str     x2, [x20, #PCB_REDS]
    ldr     x2, [x19, #STAT_REDUCTIONS]
    add     x2, x2, x1
    str     x2, [x19, #STAT_REDUCTIONS]
    ldr     x0, [x20, #PCB_STATE]
    tbnz    x0, #PS_EXITING_BIT, .Lsched_enter_exit
    mov     x0, x20
    bl      proc_state_out
    cbz     x0, .Lsched_enter_pick          /* waiting or suspended: stays out */
    ldr     w0, [x20, #PCB_CORE]
    bl      sched_core
    mov     x1, x20
    bl      sched_enqueue
    b       .Lsched_enter_pick
.Lsched_enter_exit:
    ldr     x0, [x20, #PCB_EXIT_REASON]
    cmp     x0, #EXIT_FAULT
    b.ne    .Lsched_enter_free
    mov     x0, x20
    bl      sched_report_kill
    ldr     x0, [x19, #STAT_KILLED]
    add     x0, x0, #1
    str     x0, [x19, #STAT_KILLED]
.Lsched_enter_free:
    ldr     x0, [x19, #STAT_EXITED]
    add     x0, x0, #1
    str     x0, [x19, #STAT_EXITED]
    mov     x0, x20
    bl      proc_free
.Lsched_enter_pick:
    mov     x0, x19
    bl      sched_pick
    cbz     x0, .Lsched_enter_idle
    str     x0, [x19, #CORE_CURRENT]
    add     x1, x0, #PCB_FRAME
    str     x1, [x19, #CORE_FRAME]
    mov     x2, #CONTEXT_REDS
    str     x2, [x19, #CORE_BUDGET]
    mrs     x2, cntpct_el0
    str     x2, [x19, #CORE_SLICE_START]
    ldr     w2, [x0, #PCB_FRAME_KIND]
    mov     x0, x1
    cbnz    w2, sched_resume_full
    b       frame_resume_voluntary
.Lsched_enter_idle:
    mov     x0, x19
    bl      sched_idle
    b       .Lsched_enter_pick
ENDFUNC sched_enter

/*
 * sched_resume_full - from the scheduler's stack to the exception stack,
 * then the full restore (which sets SP_EL0 from the frame).  Apart from
 * sched_enter, whose proof ends where it branches here.
 * In: x0 = the frame.  Not callable: never returns.
 */
FUNC sched_resume_full
    msr     spsel, #1
    b       frame_resume_full
ENDFUNC sched_resume_full

/*
 * sched_idle - wait until core x0 may have work: return at once if its
 * non-empty mask is set, else sleep in WFI until an interrupt is pending
 * (the tick, or the wake-up SGI another core sends after an enqueue here),
 * take it, and return.  The time spent goes to STAT_IDLE.
 * In: x0 = this core's block, IRQs masked.  Out: none, IRQs masked again.
 * Clobbers: x1-x3, flags.  Callable (AAPCS64 leaf).
 * Ordering: the look is made with IRQs masked, so a wake-up SGI sent after
 * it stays pending and ends the WFI at once: no wake-up is lost.  The
 * interrupt is taken at the ISB (an exception entry, context-synchronizing),
 * so the pick after it sees what the sender stored before its DSB.
 */
FUNC sched_idle
    mrs     x2, cntpct_el0
    ldr     w1, [x0, #CORE_MASK]
    cbnz    w1, .Lsched_idle_account
    wfi
    msr     daifclr, #2
    isb                                     /* the pending IRQ is taken here */
    msr     daifset, #2
.Lsched_idle_account:
    mrs     x1, cntpct_el0
    sub     x1, x1, x2
    ldr     x3, [x0, #STAT_IDLE]
    add     x3, x3, x1
    str     x3, [x0, #STAT_IDLE]
    ret
ENDFUNC sched_idle

/*
 * sched_report_kill - print "actly: killed pid=... esr=... far=... elr=..."
 * for a process stopped by a fault.
 * In: x0 = PCB.  Clobbers: x0-x17, flags.  Callable (AAPCS64).
 */
FUNC sched_report_kill
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    bl      print_lock
    LOAD_ADDR x0, .Lsched_str_killed
    bl      uart_puts
    ldr     x0, [x19, #PCB_PID]
    bl      uart_put_hex
    LOAD_ADDR x0, .Lsched_str_esr
    bl      uart_puts
    ldr     x0, [x19, #PCB_FAULT_ESR]
    bl      uart_put_hex
    LOAD_ADDR x0, .Lsched_str_far
    bl      uart_puts
    ldr     x0, [x19, #PCB_FAULT_FAR]
    bl      uart_put_hex
    LOAD_ADDR x0, .Lsched_str_elr
    bl      uart_puts
    ldr     x0, [x19, #PCB_FAULT_ELR]
    bl      uart_put_hex
    bl      uart_newline
    bl      print_unlock
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC sched_report_kill

/* ---- Statistics ------------------------------------------------------------ */

/* sched_print_field - print the string x0 then the decimal value x1 (no lock). */
LFUNC sched_print_field
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x1
    bl      uart_puts
    mov     x0, x19
    bl      uart_put_dec
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC sched_print_field

/*
 * sched_print_stats - one line per running core:
 *   actly: stats core=N voluntary=.. involuntary=.. reductions=.. idle_ticks=..
 *   spawned=.. exited=.. killed=.. max_len=max,high,normal,low ticks=..
 *   timer_inserts=.. timer_cancels=.. timer_expiries=.. timer_late_max=..
 * Other cores' counters are read as they stand (single-copy atomic words).
 * In: none.  Clobbers: x0-x17, flags.  Callable (AAPCS64), by a process
 * (it masks IRQs around each line, as the console requires).
 */
FUNC sched_print_stats
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    mov     x20, #0
.Lsched_print_stats_core:
    LOAD_ADDR x0, boot_cores_started
    ldar    x1, [x0]
    cmp     x20, x1
    b.hs    .Lsched_print_stats_done
    mov     x0, x20
    bl      sched_core
    mov     x19, x0
    bl      console_lock
    LOAD_ADDR x0, .Lsched_str_stats
    mov     x1, x20
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_vol
    ldr     x1, [x19, #STAT_VOLUNTARY]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_invol
    ldr     x1, [x19, #STAT_INVOLUNTARY]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_reds
    ldr     x1, [x19, #STAT_REDUCTIONS]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_idle
    ldr     x1, [x19, #STAT_IDLE]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_spawned
    ldr     x1, [x19, #STAT_SPAWNED]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_exited
    ldr     x1, [x19, #STAT_EXITED]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_killed_n
    ldr     x1, [x19, #STAT_KILLED]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_maxlen
    ldr     w1, [x19, #STAT_MAX_LEN]
    bl      sched_print_field
    mov     x21, #1
.Lsched_print_stats_len:
    LOAD_ADDR x0, .Lsched_str_comma
    add     x1, x19, #STAT_MAX_LEN
    ldr     w1, [x1, x21, lsl #PRIO_LEN_SHIFT]
    bl      sched_print_field
    add     x21, x21, #1
    cmp     x21, #PRIO_LEVELS
    b.lo    .Lsched_print_stats_len
    LOAD_ADDR x0, .Lsched_str_ticks
    ldr     x1, [x19, #CORE_NOW]            /* the clock counts the ticks */
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_tins
    ldr     x1, [x19, #STAT_TIMER_INSERTS]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_tcan
    ldr     x1, [x19, #STAT_TIMER_CANCELS]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_texp
    ldr     x1, [x19, #STAT_TIMER_EXPIRIES]
    bl      sched_print_field
    LOAD_ADDR x0, .Lsched_str_tlate
    ldr     x1, [x19, #STAT_TIMER_LATE_MAX]
    bl      sched_print_field
    bl      uart_newline
    bl      console_unlock
    add     x20, x20, #1
    b       .Lsched_print_stats_core
.Lsched_print_stats_done:
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC sched_print_stats

    .bss

/* One scheduler block per core, each on its own cache lines. */
OBJECT sched_cores, CACHE_LINE
    .space  MAX_CORES * CORE_SIZE
ENDOBJECT sched_cores

/* The scheduler's own stack per core (SP_EL0 while it runs). */
LOBJECT sched_stacks, 16
    .space  MAX_CORES * SCHED_STACK_SIZE
ENDOBJECT sched_stacks
