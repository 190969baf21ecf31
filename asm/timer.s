/*
 * timer.s - each core's 1 ms tick and its timer wheel (docs/beam-model.md
 * §13): WHEEL_SLOTS lists of one tick each.  A timer sits in the slot of
 * its deadline tick modulo the wheel; the tick that reaches the slot fires
 * the timers that are due and leaves later rounds' timers where they are.
 * Insert and cancel are O(1) (a list with back-pointers), expiry is O(1)
 * per slot plus the timers in it.
 *
 * A timer belongs to the core that armed it and is touched only there,
 * with IRQs masked.  Tick k is due at CORE_TICK_BASE + k * period; a timer
 * for counter value d fires at the first tick at or after d, so never
 * early and less than one tick late (plus the IRQ's own latency).
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"

    NO_EXEC_STACK

.equ WHEEL_SHIFT,           15              /* log2(WHEEL_BYTES): one wheel per core */
.equ SLOT_SHIFT,            3               /* 8-byte list heads */

    .text

/*
 * timer_core_init - start the 1 ms tick of the core whose block is x0.
 * Clobbers: x0-x17, flags.  Callable (AAPCS64), IRQs masked.
 */
FUNC timer_core_init
    PUSH2   x29, x30
    mov     x29, sp
    mrs     x1, cntfrq_el0
    mov     x2, #TICK_HZ
    udiv    x1, x1, x2
    str     x1, [x0, #CORE_TICK_PERIOD]
    mrs     x2, cntpct_el0
    str     x2, [x0, #CORE_TICK_BASE]
    str     xzr, [x0, #CORE_NOW]
    add     x2, x2, x1
    str     x2, [x0, #CORE_NEXT_TICK]
    mov     x0, x2
    bl      board_timer_set
    POP2    x29, x30
    ret
ENDFUNC timer_core_init

/*
 * timer_slot - x0 = the list head of tick x1 in core x0's wheel.
 * Clobbers: x2.  Callable (AAPCS64 leaf).
 */
FUNC timer_slot
    ldr     x2, [x0, #CORE_INDEX]
    LOAD_ADDR x0, timer_wheels
    add     x0, x0, x2, lsl #WHEEL_SHIFT
    and     x2, x1, #WHEEL_MASK
    add     x0, x0, x2, lsl #SLOT_SHIFT
    ret
ENDFUNC timer_slot

/*
 * timer_insert - arm the timer of PCB x0 for tick x1 on this core.
 * In: x0 = PCB (its timer not armed), x1 = tick.  Clobbers: x0-x5.
 * Callable (AAPCS64 leaf), IRQs masked.
 */
FUNC timer_insert
    mov     x4, x0
    str     x1, [x4, #PCB_TIMER_DEADLINE]
    mrs     x5, tpidrro_el0
    mov     x0, x5
    mov     x3, x30
    bl      timer_slot
    mov     x30, x3
    ldr     x1, [x0]
    str     x1, [x4, #PCB_TIMER_NEXT]
    str     x0, [x4, #PCB_TIMER_PPREV]
    cbz     x1, .Ltimer_insert_first
    add     x2, x4, #PCB_TIMER_NEXT
    str     x2, [x1, #PCB_TIMER_PPREV]
.Ltimer_insert_first:
    str     x4, [x0]
    mov     w1, #1
    str     w1, [x4, #PCB_TIMER_ARMED]
    ldr     x1, [x5, #STAT_TIMER_INSERTS]
    add     x1, x1, #1
    str     x1, [x5, #STAT_TIMER_INSERTS]
    ret
ENDFUNC timer_insert

/*
 * timer_unlink - take the armed timer of PCB x0 out of its slot.
 * Clobbers: x1, x2.  Callable (AAPCS64 leaf), on its core, IRQs masked.
 */
FUNC timer_unlink
    ldr     x1, [x0, #PCB_TIMER_NEXT]
    ldr     x2, [x0, #PCB_TIMER_PPREV]
    str     x1, [x2]
    cbz     x1, .Ltimer_unlink_last
    str     x2, [x1, #PCB_TIMER_PPREV]
.Ltimer_unlink_last:
    str     wzr, [x0, #PCB_TIMER_ARMED]
    ret
ENDFUNC timer_unlink

/*
 * timer_cancel - disarm the timer of PCB x0 if it is armed.
 * Out: x0 = 1 if it was armed, else 0.  Clobbers: x0-x3.
 * Callable (AAPCS64), on the timer's core, IRQs masked.
 */
FUNC timer_cancel
    ldr     w1, [x0, #PCB_TIMER_ARMED]
    cbz     w1, .Ltimer_cancel_none
    mov     x3, x30
    bl      timer_unlink
    mov     x30, x3
    mrs     x1, tpidrro_el0
    ldr     x2, [x1, #STAT_TIMER_CANCELS]
    add     x2, x2, #1
    str     x2, [x1, #STAT_TIMER_CANCELS]
    mov     x0, #1
    ret
.Ltimer_cancel_none:
    mov     x0, #0
    ret
ENDFUNC timer_cancel

/*
 * timer_expire - fire the due timers in tick x1's slot of core x0 (each
 * unlinked, then timer_fire).  The walk keeps the word that points to the
 * current timer (the slot, or the PCB_TIMER_NEXT of the last timer kept),
 * so a fired timer is unlinked through it, not through its own back-pointer.
 * Clobbers: x0-x17, flags.  Callable (AAPCS64), on that core, IRQs masked.
 */
FUNC timer_expire
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    mov     x19, x0
    mov     x20, x1
    bl      timer_slot
    mov     x23, x0                         /* the word that points to x21 */
    ldr     x21, [x23]
.Ltimer_expire_entry:
    cbz     x21, .Ltimer_expire_done
    ldr     x22, [x21, #PCB_TIMER_NEXT]
    ldr     x0, [x21, #PCB_TIMER_DEADLINE]
    cmp     x0, x20
    b.hi    .Ltimer_expire_keep             /* a later round of the wheel */
    str     x22, [x23]                      /* unlink: the word skips it */
    cbz     x22, .Ltimer_expire_last
    str     x23, [x22, #PCB_TIMER_PPREV]
.Ltimer_expire_last:
    mov     x0, x19
    mov     x1, x21
    mov     x2, x20
    bl      timer_fire
    b       .Ltimer_expire_next
.Ltimer_expire_keep:
    add     x23, x21, #PCB_TIMER_NEXT
.Ltimer_expire_next:
    mov     x21, x22
    b       .Ltimer_expire_entry
.Ltimer_expire_done:
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC timer_expire

/*
 * timer_fire - the timer of PCB x1, due at tick x2 and already unlinked from
 * core x0's wheel, fires: the core counts it and how late it came, the timer
 * is disarmed, the process woken (proc_state_wake) and enqueued on its own
 * core if that says so.
 * Clobbers: x0-x17, flags.  Callable (AAPCS64), on core x0, IRQs masked.
 */
FUNC timer_fire
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    mov     x20, x1
    ldr     x0, [x20, #PCB_TIMER_DEADLINE]
    sub     x0, x2, x0
    ldr     x1, [x19, #STAT_TIMER_LATE_MAX]
    cmp     x0, x1
    csel    x1, x0, x1, hi
    str     x1, [x19, #STAT_TIMER_LATE_MAX]
    ldr     x1, [x19, #STAT_TIMER_EXPIRIES]
    add     x1, x1, #1
    str     x1, [x19, #STAT_TIMER_EXPIRIES]
    str     wzr, [x20, #PCB_TIMER_ARMED]
    mov     x0, x20
    bl      proc_state_wake
    cbz     x0, .Ltimer_fire_done
    ldr     w0, [x20, #PCB_CORE]
    bl      sched_core
    mov     x1, x20
    bl      sched_enqueue
.Ltimer_fire_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC timer_fire

/*
 * timer_tick - the tick interrupt's work: for every tick now due, advance
 * CORE_NOW and expire its slot; then arm the comparator for the next tick.
 * Deadlines advance by whole periods, so the tick does not drift.
 * Clobbers: x0-x17, flags.  Callable (AAPCS64), IRQs masked.
 */
FUNC timer_tick
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mrs     x19, tpidrro_el0
.Ltimer_tick_due:
    mrs     x0, cntpct_el0
    ldr     x1, [x19, #CORE_NEXT_TICK]
    cmp     x0, x1
    b.lo    .Ltimer_tick_done
    ldr     x2, [x19, #CORE_TICK_PERIOD]
    add     x1, x1, x2
    str     x1, [x19, #CORE_NEXT_TICK]
    ldr     x20, [x19, #CORE_NOW]
    add     x20, x20, #1
    str     x20, [x19, #CORE_NOW]
    mov     x0, x19
    mov     x1, x20
    bl      timer_expire
    b       .Ltimer_tick_due
.Ltimer_tick_done:
    ldr     x0, [x19, #CORE_NEXT_TICK]
    bl      board_timer_set
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC timer_tick

/*
 * timer_tick_at - the first tick of core x0 due at or after counter value x1,
 * and after the current tick.  Out: x0 = tick.  Clobbers: x1-x3, flags.
 * Callable (AAPCS64 leaf).
 */
FUNC timer_tick_at
    ldr     x2, [x0, #CORE_TICK_BASE]
    ldr     x3, [x0, #CORE_TICK_PERIOD]
    sub     x1, x1, x2
    add     x1, x1, x3
    sub     x1, x1, #1
    udiv    x1, x1, x3                      /* ceil((d - base) / period) */
    ldr     x2, [x0, #CORE_NOW]
    add     x2, x2, #1
    cmp     x1, x2
    csel    x0, x1, x2, hs
    ret
ENDFUNC timer_tick_at

/*
 * sleep - the calling process waits at least x0 ms (counted from now on
 * the counter), then runs again; sleep(0) is a yield.
 * Out: x0 = 1.  Clobbers: x0-x18, flags (as yield).  Callable by a process.
 */
FUNC sleep
    cbz     x0, yield
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    msr     daifset, #2
    mrs     x19, tpidrro_el0
    ldr     x1, [x19, #CORE_TICK_PERIOD]
    mrs     x2, cntpct_el0
    madd    x1, x0, x1, x2                  /* the deadline, in counter ticks */
    mov     x0, x19
    bl      timer_tick_at
    mov     x1, x0
    ldr     x0, [x19, #CORE_CURRENT]
    bl      timer_insert
    ldr     x0, [x19, #CORE_CURRENT]
    bl      proc_state_block
    POP2    x19, x20
    POP2    x29, x30
    b       yield                           /* switches out: not ACTIVE, so not re-enqueued */
ENDFUNC sleep

/*
 * periodic_wait - run every x0 ms: waits until the tick one period after
 * the one this process last woke for (the first call counts from now).
 * Deadlines advance by whole periods, so a periodic task does not drift; a
 * period missed entirely is skipped rather than run late twice.
 * Out: x0 = 1.  Clobbers: x0-x18, flags (as yield).  Callable by a process.
 */
FUNC periodic_wait
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    msr     daifset, #2
    mrs     x19, tpidrro_el0
    ldr     x20, [x19, #CORE_CURRENT]
    ldr     x1, [x20, #PCB_PERIOD_DEADLINE]
    ldr     x2, [x19, #CORE_NOW]
    bl      periodic_next
    mov     x1, x0
    str     x1, [x20, #PCB_PERIOD_DEADLINE]
    mov     x0, x20
    bl      timer_insert
    mov     x0, x20
    bl      proc_state_block
    POP2    x19, x20
    POP2    x29, x30
    b       yield
ENDFUNC periodic_wait

/*
 * periodic_next - the tick a periodic process waits for next: one period
 * x0 after its last deadline x1 (after the current tick x2 on the first
 * call, x1 = 0), or one period after x2 if that is already past.
 * Out: x0 = tick.  Clobbers: x1, flags.  Callable (AAPCS64 leaf).
 */
FUNC periodic_next
    cmp     x1, #0
    csel    x1, x2, x1, eq                  /* first call: from the current tick */
    add     x1, x1, x0
    cmp     x1, x2
    b.hi    .Lperiodic_next_done
    add     x1, x2, x0                      /* missed: the next whole period from now */
.Lperiodic_next_done:
    mov     x0, x1
    ret
ENDFUNC periodic_next

/*
 * timer_now - x0 = ticks (ms) this core has counted since its scheduler
 * started.  Clobbers: none.  Callable (AAPCS64 leaf).
 */
FUNC timer_now
    mrs     x0, tpidrro_el0
    ldr     x0, [x0, #CORE_NOW]
    ret
ENDFUNC timer_now

    .bss

/* One wheel per core: WHEEL_SLOTS list heads (first PCB, or 0). */
LOBJECT timer_wheels, CACHE_LINE
    .space  MAX_CORES * WHEEL_BYTES
ENDOBJECT timer_wheels
