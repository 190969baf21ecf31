/*
 * sleepers - scenario (d): the timer wheel under 1,000 sleepers.
 *
 * Sleeper i runs on core i mod cores and sleeps a pseudo-random 1..MS_MAX
 * ms (an LCG).  It reads CNTPCT_EL0 just before sleep (IRQs masked from
 * there, as sleep masks them anyway, so no tick falls in between) and
 * again when it runs after waking; its deadline is call + ms * period
 * (CORE_TICK_PERIOD counter ticks per ms).  Checks:
 *   early        wake before the deadline (must never happen)
 *   late_max_us  the largest wake - deadline, and late_over_tick how many
 *                exceed one tick period
 *   tick_early   the tick the wheel filed it under (PCB_TIMER_DEADLINE) was
 *                due before the deadline (never), tick_late a whole tick or
 *                more after it (only if the read before sleep and sleep's
 *                own were that far apart); dispatch_max_us the longest from
 *                that tick being due to the sleeper running
 *   order        in wake order (a global sequence number taken at wake):
 *                on each core the due ticks never go back (order_violations;
 *                a sleeper the tick preempted before it took its number,
 *                which only a host stall of the vCPU can cause, is left
 *                out and counted in wake_preempted); over all cores a sleeper's deadline is
 *                at most one tick earlier than the latest already woken
 *                (order_violations_global: the cores' ticks are not in
 *                step, and QEMU's vCPUs can be stalled by the host)
 * Two periodic processes (high priority, cores 0 and 1 mod cores) wait
 * PERIODS periods of PERIOD_MS: each wake must be at or after its tick
 * (CORE_TICK_BASE + deadline tick * period); successive deadline ticks are
 * PERIOD_MS apart (periodic_steps_exact), never less (a missed period is
 * skipped, so more is possible); the spacing of the wakes is reported.
 *
 *   actly: result scenario=sleepers sleepers=1000 woke=1000 early=0
 *          late_max_us=L late_over_tick=K tick_early=0 tick_late=0
 *          dispatch_max_us=D order_violations=0
 *          order_violations_global=G wake_preempted=P periodic_waits=20
 *          periodic_early=0
 *          periodic_steps_exact=18 periodic_steps_short=0
 *          periodic_spacing_min_us=A periodic_spacing_max_us=B
 *          timer_inserts=I timer_expiries=I timer_cancels=0 timer_late_max=0
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "scenarios/results.inc"
    .include "scenarios/common.inc"

    NO_EXEC_STACK

.equ SLEEPERS,              1000
.equ MS_MAX,                300
.equ LCG_MUL,               6364136223846793005   /* Knuth's MMIX LCG */
.equ LCG_ADD,               1442695040888963407
.equ LCG_SEED,              12345
.equ LCG_SHIFT,             33                    /* use the high bits */
.equ SPAWN_BATCH,           8                     /* sleepers spawned per ms, a power of 2 */
.equ PERIODIC,              2
.equ PERIODS,               10
.equ PERIOD_MS,             5
.equ US_PER_MS,             1000
.equ SLEEPER_REC,           64                    /* one record per sleeper */
.equ SLEEPER_REC_SHIFT,     6
.equ REC_MS,                0
.equ REC_CALL,              8
.equ REC_DEADLINE,          16
.equ REC_WAKE,              24
.equ REC_CORE,              32
.equ REC_DUE,               40                    /* when the tick its timer fired at was due */
.equ REC_PREEMPTED,         48                    /* preempted before it took its wake number */
.equ PERIODIC_REC_SHIFT,    8                     /* PERIODS wakes + deadlines, 256 bytes */
.equ PREC_WAKE,             0                     /* u64 x PERIODS */
.equ PREC_TICK,             (PERIODS * 8)         /* u64 x PERIODS: the deadline tick */
.equ PREC_BASE,             (2 * PERIODS * 8)     /* its core's tick base and period */
.equ PREC_PERIOD,           (PREC_BASE + 8)
/* sl_checks: what the checks found. */
.equ CHK_EARLY,             0
.equ CHK_LATE_US,           8
.equ CHK_OVER,              16
.equ CHK_ORDER,             24
.equ CHK_ORDER_GLOBAL,      32
.equ CHK_PWAITS,            40
.equ CHK_PEARLY,            48
.equ CHK_PSTEPS,            56
.equ CHK_PMIN,              64
.equ CHK_PMAX,              72
.equ CHK_PSHORT,            80
.equ CHK_TICK_EARLY,        88
.equ CHK_TICK_LATE,         96
.equ CHK_DISPATCH_US,       104
.equ CHK_WAKE_PREEMPTED,    112
.equ CHK_SIZE,              120

    .section .rodata
    RESULT_STRINGS
.Lsl_str_name:              .asciz "sleepers"
.Lsl_str_sleepers:          .asciz " sleepers="
.Lsl_str_woke:              .asciz " woke="
.Lsl_str_early:             .asciz " early="
.Lsl_str_late_max:          .asciz " late_max_us="
.Lsl_str_over:              .asciz " late_over_tick="
.Lsl_str_order:             .asciz " order_violations="
.Lsl_str_tick_early:        .asciz " tick_early="
.Lsl_str_tick_late:         .asciz " tick_late="
.Lsl_str_dispatch:          .asciz " dispatch_max_us="
.Lsl_str_order_global:      .asciz " order_violations_global="
.Lsl_str_wake_preempted:    .asciz " wake_preempted="
.Lsl_str_pwaits:            .asciz " periodic_waits="
.Lsl_str_pearly:            .asciz " periodic_early="
.Lsl_str_psteps:            .asciz " periodic_steps_exact="
.Lsl_str_pshort:            .asciz " periodic_steps_short="
.Lsl_str_pmin:              .asciz " periodic_spacing_min_us="
.Lsl_str_pmax:              .asciz " periodic_spacing_max_us="
.Lsl_str_tins:              .asciz " timer_inserts="
.Lsl_str_texp:              .asciz " timer_expiries="
.Lsl_str_tcan:              .asciz " timer_cancels="
.Lsl_str_tlate:             .asciz " timer_late_max="
.Lsl_str_refused:           .asciz " refused="

    .text

/* sl_sleeper - sleeper x0: sleep its ms, record call, deadline, wake, core and wake order. */
LFUNC sl_sleeper
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    LOAD_ADDR x19, sl_recs
    add     x19, x19, x0, lsl #SLEEPER_REC_SHIFT
    mov     x20, x0
    mrs     x1, tpidrro_el0
    ldr     x2, [x1, #CORE_INDEX]
    str     x2, [x19, #REC_CORE]
    ldr     x2, [x1, #CORE_TICK_PERIOD]
    ldr     x0, [x19, #REC_MS]
    msr     daifset, #2                     /* sleep masks them too: nothing in between */
    mrs     x3, cntpct_el0
    madd    x2, x0, x2, x3
    stp     x3, x2, [x19, #REC_CALL]        /* REC_CALL, REC_DEADLINE */
    bl      sleep                           /* resumes us with IRQs unmasked */
    mrs     x3, cntpct_el0
    LOAD_ADDR x1, sl_seq
    mov     x2, #1
    ldaddal x2, x6, [x1]                    /* the wake order: at once, before anything else */
    str     x3, [x19, #REC_WAKE]
    LOAD_ADDR x1, sl_order
    str     w20, [x1, x6, lsl #2]
    /* The tick the wheel filed it under (still in our PCB), and when that was due. */
    mrs     x1, tpidrro_el0
    ldr     x2, [x1, #CORE_CURRENT]
    ldr     w4, [x2, #PCB_FRAME_KIND]       /* FULL only if the tick preempted us since sleep */
    str     x4, [x19, #REC_PREEMPTED]
    ldr     x2, [x2, #PCB_TIMER_DEADLINE]
    ldr     x4, [x1, #CORE_TICK_BASE]
    ldr     x5, [x1, #CORE_TICK_PERIOD]
    madd    x2, x2, x5, x4
    str     x2, [x19, #REC_DUE]
    COUNT_UP sl_woke                        /* release: the record is seen first */
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC sl_sleeper

/* sl_periodic - periodic process x0: PERIODS waits of PERIOD_MS, each wake and deadline tick recorded. */
LFUNC sl_periodic
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    LOAD_ADDR x19, sl_periodic_recs
    add     x19, x19, x0, lsl #PERIODIC_REC_SHIFT
    mrs     x1, tpidrro_el0
    ldr     x2, [x1, #CORE_TICK_BASE]
    ldr     x3, [x1, #CORE_TICK_PERIOD]
    stp     x2, x3, [x19, #PREC_BASE]
    mov     x20, #0
.Lsl_periodic_wait:
    mov     x0, #PERIOD_MS
    bl      periodic_wait
    mrs     x3, cntpct_el0
    add     x1, x19, #PREC_WAKE
    str     x3, [x1, x20, lsl #U64_SHIFT]
    mrs     x1, tpidrro_el0
    ldr     x1, [x1, #CORE_CURRENT]
    ldr     x1, [x1, #PCB_PERIOD_DEADLINE]   /* the tick it waited for */
    add     x2, x19, #PREC_TICK
    str     x1, [x2, x20, lsl #U64_SHIFT]
    add     x20, x20, #1
    cmp     x20, #PERIODS
    b.lo    .Lsl_periodic_wait
    COUNT_UP sl_periodic_done
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC sl_periodic

/* sl_spawn - spawn entry x0 with arg x1 at priority w2 on core x3. */
LFUNC sl_spawn
    PUSH2   x29, x30
    mov     x29, sp
    sub     sp, sp, #SPAWN_OPT_SIZE
    str     w2, [sp, #SPAWN_OPT_PRIO]
    str     wzr, [sp, #SPAWN_OPT_MIN_HEAP]
    mov     x4, #1
    lsl     x4, x4, x3
    str     x4, [sp, #SPAWN_OPT_AFFINITY]
    mov     x2, sp
    bl      spawn
    cbnz    x0, .Lsl_spawn_done
    COUNT_UP sl_refused
.Lsl_spawn_done:
    add     sp, sp, #SPAWN_OPT_SIZE
    POP2    x29, x30
    ret
ENDLFUNC sl_spawn

/*
 * sl_check_sleepers - the sleepers' checks, into sl_checks.
 * Clobbers: x0-x17, flags.
 */
LFUNC sl_check_sleepers
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    PUSH2   x25, x26
    PUSH2   x27, x28
    mrs     x0, tpidrro_el0
    ldr     x28, [x0, #CORE_TICK_PERIOD]    /* the same on every core */
    LOAD_ADDR x19, sl_recs
    mov     x20, #0                         /* early */
    mov     x21, #0                         /* latest wake - deadline */
    mov     x22, #0                         /* over one tick */
    mov     x23, #0                         /* i */
    mov     x25, #0                         /* tick before the deadline */
    mov     x26, #0                         /* tick a whole period or more after it */
    mov     x27, #0                         /* latest wake after its tick */
.Lsl_check_late:
    add     x0, x19, x23, lsl #SLEEPER_REC_SHIFT
    ldr     x1, [x0, #REC_DEADLINE]
    ldr     x2, [x0, #REC_WAKE]
    subs    x3, x2, x1
    b.hs    .Lsl_check_not_early
    add     x20, x20, #1
    mov     x3, #0
.Lsl_check_not_early:
    cmp     x3, x21
    csel    x21, x3, x21, hi
    cmp     x3, x28
    cinc    x22, x22, hi
    /* The tick chosen: not before the deadline, less than a tick after. */
    ldr     x4, [x0, #REC_DUE]
    cmp     x4, x1
    cinc    x25, x25, lo
    sub     x5, x4, x1
    cmp     x5, x28
    cinc    x26, x26, hs
    /* From the tick being due to the sleeper running: the IRQ and the queue. */
    subs    x5, x2, x4
    csel    x5, xzr, x5, lo
    cmp     x5, x27
    csel    x27, x5, x27, hi
    add     x23, x23, #1
    cmp     x23, #SLEEPERS
    b.lo    .Lsl_check_late
    LOAD_ADDR x0, sl_checks
    str     x25, [x0, #CHK_TICK_EARLY]
    str     x26, [x0, #CHK_TICK_LATE]
    mov     x1, #US_PER_MS
    mul     x27, x27, x1
    udiv    x27, x27, x28
    str     x27, [x0, #CHK_DISPATCH_US]
    /* Wake order against the running latest deadline, per core and overall. */
    LOAD_ADDR x24, sl_core_latest
    mov     x0, #0
.Lsl_check_clear:
    str     xzr, [x24, x0, lsl #U64_SHIFT]
    add     x0, x0, #1
    cmp     x0, #MAX_CORES
    b.lo    .Lsl_check_clear
    mov     x25, #0                         /* violations on a core */
    mov     x26, #0                         /* violations overall */
    mov     x27, #0                         /* latest deadline overall */
    LOAD_VAR x23, sl_seq
    mov     x0, #SLEEPERS
    cmp     x23, x0
    csel    x23, x0, x23, hi
    mov     x1, #0                          /* position in wake order */
    mov     x9, #0                          /* preempted before their number */
.Lsl_check_order:
    cmp     x1, x23
    b.hs    .Lsl_check_store
    LOAD_ADDR x2, sl_order
    ldr     w2, [x2, x1, lsl #2]
    add     x2, x19, x2, lsl #SLEEPER_REC_SHIFT
    ldr     x3, [x2, #REC_DEADLINE]
    ldr     x4, [x2, #REC_CORE]
    ldr     x7, [x2, #REC_DUE]
    ldr     x8, [x2, #REC_PREEMPTED]
    add     x5, x3, x28                     /* one tick of slack */
    cmp     x5, x27
    cinc    x26, x26, lo
    cmp     x3, x27
    csel    x27, x3, x27, hi
    /* On its core: the ticks the timers fired at, in order, no slack
       (leaving out a sleeper preempted before it took its number). */
    cbz     x8, .Lsl_check_order_core
    add     x9, x9, #1
    b       .Lsl_check_order_next
.Lsl_check_order_core:
    ldr     x6, [x24, x4, lsl #U64_SHIFT]
    cmp     x7, x6
    cinc    x25, x25, lo
    csel    x6, x7, x6, hi
    str     x6, [x24, x4, lsl #U64_SHIFT]
.Lsl_check_order_next:
    add     x1, x1, #1
    b       .Lsl_check_order
.Lsl_check_store:
    LOAD_ADDR x0, sl_checks
    str     x20, [x0, #CHK_EARLY]
    mov     x1, #US_PER_MS
    mul     x21, x21, x1
    udiv    x21, x21, x28
    str     x21, [x0, #CHK_LATE_US]
    str     x22, [x0, #CHK_OVER]
    str     x25, [x0, #CHK_ORDER]
    str     x26, [x0, #CHK_ORDER_GLOBAL]
    str     x9, [x0, #CHK_WAKE_PREEMPTED]
    POP2    x27, x28
    POP2    x25, x26
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC sl_check_sleepers

/*
 * sl_check_periodic - the periodic processes' checks, into sl_checks.
 * Clobbers: x0-x17, flags.
 */
LFUNC sl_check_periodic
    LOAD_ADDR x0, sl_periodic_recs
    mov     x1, #0                          /* process */
    mov     x2, #0                          /* waits done */
    mov     x3, #0                          /* early */
    mov     x4, #0                          /* steps of exactly PERIOD_MS ticks */
    mov     x15, #0                         /* steps shorter than PERIOD_MS */
    mov     x5, #-1                         /* least spacing */
    mov     x6, #0                          /* most spacing */
.Lsl_check_periodic_proc:
    add     x7, x0, x1, lsl #PERIODIC_REC_SHIFT
    ldp     x8, x9, [x7, #PREC_BASE]        /* base, period */
    mov     x10, #0                         /* wait */
.Lsl_check_periodic_wait:
    add     x11, x7, #PREC_WAKE
    ldr     x12, [x11, x10, lsl #U64_SHIFT]
    add     x11, x7, #PREC_TICK
    ldr     x13, [x11, x10, lsl #U64_SHIFT]
    cbz     x12, .Lsl_check_periodic_next   /* never woke */
    add     x2, x2, #1
    madd    x14, x13, x9, x8                /* when its tick was due */
    cmp     x12, x14
    cinc    x3, x3, lo
    cbz     x10, .Lsl_check_periodic_next
    sub     x11, x10, #1
    add     x14, x7, #PREC_TICK
    ldr     x14, [x14, x11, lsl #U64_SHIFT]
    sub     x14, x13, x14
    cmp     x14, #PERIOD_MS
    cinc    x4, x4, eq
    cinc    x15, x15, lo
    add     x14, x7, #PREC_WAKE
    ldr     x14, [x14, x11, lsl #U64_SHIFT]
    sub     x14, x12, x14
    cmp     x14, x5
    csel    x5, x14, x5, lo
    cmp     x14, x6
    csel    x6, x14, x6, hi
.Lsl_check_periodic_next:
    add     x10, x10, #1
    cmp     x10, #PERIODS
    b.lo    .Lsl_check_periodic_wait
    add     x1, x1, #1
    cmp     x1, #PERIODIC
    b.lo    .Lsl_check_periodic_proc
    mov     x10, #US_PER_MS
    mul     x5, x5, x10
    udiv    x5, x5, x9
    mul     x6, x6, x10
    udiv    x6, x6, x9
    LOAD_ADDR x0, sl_checks
    str     x2, [x0, #CHK_PWAITS]
    str     x3, [x0, #CHK_PEARLY]
    str     x4, [x0, #CHK_PSTEPS]
    str     x15, [x0, #CHK_PSHORT]
    str     x5, [x0, #CHK_PMIN]
    str     x6, [x0, #CHK_PMAX]
    ret
ENDLFUNC sl_check_periodic

FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    CORES   x19
    /* The timeouts, 1..MS_MAX ms. */
    LOAD_ADDR x20, sl_recs
    MOV64   x21, LCG_SEED
    MOV64   x22, LCG_MUL
    MOV64   x23, LCG_ADD
    mov     x24, #MS_MAX
    mov     x0, #0
.Lscenario_main_ms:
    madd    x21, x21, x22, x23
    lsr     x1, x21, #LCG_SHIFT
    udiv    x2, x1, x24
    msub    x1, x2, x24, x1
    add     x1, x1, #1
    add     x2, x20, x0, lsl #SLEEPER_REC_SHIFT
    str     x1, [x2, #REC_MS]
    add     x0, x0, #1
    cmp     x0, #SLEEPERS
    b.lo    .Lscenario_main_ms
    /* The periodic processes first, high priority: they are not kept
       waiting behind sleepers woken at the same tick. */
    mov     x20, #0
.Lscenario_main_periodic:
    udiv    x3, x20, x19
    msub    x3, x3, x19, x20                /* core j mod cores */
    LOAD_ADDR x0, sl_periodic
    mov     x1, x20
    mov     w2, #PRIO_HIGH
    bl      sl_spawn
    add     x20, x20, #1
    cmp     x20, #PERIODIC
    b.lo    .Lscenario_main_periodic
    /* A few at a time: a sleeper woken behind hundreds of first runs in
       its core's queue would measure the queue, not the timer. */
    mov     x20, #0
.Lscenario_main_spawn:
    tst     x20, #(SPAWN_BATCH - 1)
    b.ne    .Lscenario_main_spawn_one
    mov     x0, #1
    bl      sleep
.Lscenario_main_spawn_one:
    udiv    x3, x20, x19
    msub    x3, x3, x19, x20                /* core i mod cores */
    LOAD_ADDR x0, sl_sleeper
    mov     x1, x20
    mov     w2, #PRIO_NORMAL
    bl      sl_spawn
    add     x20, x20, #1
    cmp     x20, #SLEEPERS
    b.lo    .Lscenario_main_spawn
    mov     x20, #SLEEPERS
    WAIT_AT_LEAST sl_woke, x20
    mov     x20, #PERIODIC
    WAIT_AT_LEAST sl_periodic_done, x20
    bl      sl_check_sleepers
    bl      sl_check_periodic
    /* Timer statistics over the cores; our last sleep has fired too. */
    SUM_STAT x20, STAT_TIMER_INSERTS
    SUM_STAT x21, STAT_TIMER_EXPIRIES
    SUM_STAT x22, STAT_TIMER_CANCELS
    mov     x23, #0
    mov     x0, #0
.Lscenario_main_late:
    cmp     x0, x19
    b.hs    .Lscenario_main_report
    mov     x24, x0
    bl      sched_core
    ldr     x1, [x0, #STAT_TIMER_LATE_MAX]
    cmp     x1, x23
    csel    x23, x1, x23, hi
    add     x0, x24, #1
    b       .Lscenario_main_late
.Lscenario_main_report:
    mov     x24, #SLEEPERS
    RESULT_BEGIN .Lsl_str_name
    RESULT_FIELD .Lsl_str_sleepers, x24
    RESULT_VAR .Lsl_str_woke, sl_woke
    RESULT_VAR .Lsl_str_early, sl_checks + CHK_EARLY
    RESULT_VAR .Lsl_str_late_max, sl_checks + CHK_LATE_US
    RESULT_VAR .Lsl_str_over, sl_checks + CHK_OVER
    RESULT_VAR .Lsl_str_tick_early, sl_checks + CHK_TICK_EARLY
    RESULT_VAR .Lsl_str_tick_late, sl_checks + CHK_TICK_LATE
    RESULT_VAR .Lsl_str_dispatch, sl_checks + CHK_DISPATCH_US
    RESULT_VAR .Lsl_str_order, sl_checks + CHK_ORDER
    RESULT_VAR .Lsl_str_order_global, sl_checks + CHK_ORDER_GLOBAL
    RESULT_VAR .Lsl_str_wake_preempted, sl_checks + CHK_WAKE_PREEMPTED
    RESULT_VAR .Lsl_str_pwaits, sl_checks + CHK_PWAITS
    RESULT_VAR .Lsl_str_pearly, sl_checks + CHK_PEARLY
    RESULT_VAR .Lsl_str_psteps, sl_checks + CHK_PSTEPS
    RESULT_VAR .Lsl_str_pshort, sl_checks + CHK_PSHORT
    RESULT_VAR .Lsl_str_pmin, sl_checks + CHK_PMIN
    RESULT_VAR .Lsl_str_pmax, sl_checks + CHK_PMAX
    RESULT_FIELD .Lsl_str_tins, x20
    RESULT_FIELD .Lsl_str_texp, x21
    RESULT_FIELD .Lsl_str_tcan, x22
    RESULT_FIELD .Lsl_str_tlate, x23
    RESULT_VAR .Lsl_str_refused, sl_refused
    RESULT_END
    bl      sched_print_stats
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss
LOBJECT sl_recs, CACHE_LINE
    .space  SLEEPERS * SLEEPER_REC
ENDOBJECT sl_recs
LOBJECT sl_order
    .space  SLEEPERS * 4
ENDOBJECT sl_order
LOBJECT sl_periodic_recs, CACHE_LINE
    .space  PERIODIC << PERIODIC_REC_SHIFT
ENDOBJECT sl_periodic_recs
LOBJECT sl_core_latest
    .space  MAX_CORES * 8
ENDOBJECT sl_core_latest
LOBJECT sl_checks
    .space  CHK_SIZE
ENDOBJECT sl_checks
LOBJECT sl_seq, CACHE_LINE
    .space  8
ENDOBJECT sl_seq
LOBJECT sl_woke, CACHE_LINE
    .space  8
ENDOBJECT sl_woke
LOBJECT sl_periodic_done, CACHE_LINE
    .space  8
ENDOBJECT sl_periodic_done
LOBJECT sl_refused, CACHE_LINE
    .space  8
ENDOBJECT sl_refused
