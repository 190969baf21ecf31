/*
 * priority - scenario (b): BEAM's pick order on one core.
 *
 * A max-priority setup process pinned to core 0 builds the run queues
 * while it holds the core, then sleeps, so what runs next is decided by
 * sched_pick alone.  Every process logs an id each time it runs.
 *
 * Phase A spawns, in reverse priority order: one low, 8 normals (which
 * yield until the low one has run), 3 high, 3 max.  sched_pick takes every
 * max, then every high, then the normal queue: the low process at its head
 * is passed over (moved to the tail) each time it is reached while others
 * queue behind it, RESCHEDULE_LOW - 1 = 7 times, so the 8 normals run 7
 * full rounds before it.  The expected log is exactly
 *   M0 M1 M2 H3 H4 H5 (N6..N13) x7 L14 N6..N13
 * (the last round: each normal sees the low one has run and exits).
 * Phase B: one low and one yielding normal: the low runs after exactly 7
 * runs of the normal, then the normal once more.
 *
 *   actly: result scenario=priority ran=17 order_ok=1 log_ok=1 log_len=80
 *          low_passed_over=7 low_passed_over_max=7 normal_runs_before_low=56
 *          low_after_runs=7
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "scenarios/results.inc"
    .include "scenarios/common.inc"

    NO_EXEC_STACK

.equ N_MAX,                 3
.equ N_HIGH,                3
.equ N_NORMAL,              8
.equ ID_MAX0,               0
.equ ID_HIGH0,              (ID_MAX0 + N_MAX)
.equ ID_NORMAL0,            (ID_HIGH0 + N_HIGH)
.equ ID_LOW,                (ID_NORMAL0 + N_NORMAL)
.equ ID_LOW_B,              (ID_LOW + 1)
.equ ID_NORMAL_B,           (ID_LOW_B + 1)
.equ IDS,                   (ID_NORMAL_B + 1)
.equ PHASE_A_PROCS,         (ID_LOW + 1)
.equ PASSES,                (RESCHEDULE_LOW - 1)
.equ LOG_MAX,               256
.equ CORE0_ONLY,            1               /* affinity mask: core 0 */
.equ STATE_ON_CORE,         (PS_RUNNING | PS_IN_RUNQ)

    .section .rodata
    RESULT_STRINGS
.Lprio_str_name:            .asciz "priority"
.Lprio_str_ran:             .asciz " ran="
.Lprio_str_order:           .asciz " order_ok="
.Lprio_str_log_ok:          .asciz " log_ok="
.Lprio_str_log_len:         .asciz " log_len="
.Lprio_str_passed:          .asciz " low_passed_over="
.Lprio_str_passed_max:      .asciz " low_passed_over_max="
.Lprio_str_before:          .asciz " normal_runs_before_low="
.Lprio_str_after:           .asciz " low_after_runs="
.Lprio_str_refused:         .asciz " refused="

/* The log sched_pick must produce, one id per run. */
.Lprio_expected:
    .byte   0, 1, 2, 3, 4, 5
    .rept   PASSES
    .byte   6, 7, 8, 9, 10, 11, 12, 13
    .endr
    .byte   ID_LOW
    .byte   6, 7, 8, 9, 10, 11, 12, 13
    .rept   PASSES
    .byte   ID_NORMAL_B
    .endr
    .byte   ID_LOW_B, ID_NORMAL_B
.Lprio_expected_end:
.equ EXPECTED_LEN,          (.Lprio_expected_end - .Lprio_expected)

    .text

/*
 * prio_record - log one run of process x0: its id at the next sequence
 * number, its first sequence number (+1) and its run count.
 * Clobbers: x1-x4.  All runs are on core 0, one at a time.
 */
LFUNC prio_record
    LOAD_ADDR x1, prio_seq
    mov     x2, #1
    ldaddal x2, x3, [x1]
    cmp     x3, #LOG_MAX
    b.hs    .Lprio_record_first
    LOAD_ADDR x1, prio_log
    strb    w0, [x1, x3]
.Lprio_record_first:
    LOAD_ADDR x1, prio_first
    ldr     x2, [x1, x0, lsl #U64_SHIFT]
    cbnz    x2, .Lprio_record_runs
    add     x2, x3, #1
    str     x2, [x1, x0, lsl #U64_SHIFT]
.Lprio_record_runs:
    LOAD_ADDR x1, prio_runs
    ldr     x2, [x1, x0, lsl #U64_SHIFT]
    add     x2, x2, #1
    str     x2, [x1, x0, lsl #U64_SHIFT]
    ret
ENDLFUNC prio_record

/* prio_once - a max or high process: log one run and exit. */
LFUNC prio_once
    PUSH2   x29, x30
    mov     x29, sp
    bl      prio_record
    COUNT_UP prio_done
    POP2    x29, x30
    ret
ENDLFUNC prio_once

/* prio_normal - log a run and yield, until the low process of its phase has run. */
LFUNC prio_normal
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
.Lprio_normal_run:
    mov     x0, x19
    bl      prio_record
    LOAD_VAR x0, prio_low_ran
    cbnz    x0, .Lprio_normal_exit
    bl      yield
    b       .Lprio_normal_run
.Lprio_normal_exit:
    COUNT_UP prio_done
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC prio_normal

/* prio_low - log one run, note how often each process had run by now, and exit. */
LFUNC prio_low
    PUSH2   x29, x30
    mov     x29, sp
    bl      prio_record
    LOAD_ADDR x1, prio_runs
    LOAD_ADDR x2, prio_snapshot
    sub     x0, x0, #ID_LOW                 /* the phase: its own snapshot */
    mov     x3, #(IDS * 8)
    madd    x2, x0, x3, x2
    mov     x3, #0
.Lprio_low_copy:
    ldr     x4, [x1, x3, lsl #U64_SHIFT]
    str     x4, [x2, x3, lsl #U64_SHIFT]
    add     x3, x3, #1
    cmp     x3, #IDS
    b.lo    .Lprio_low_copy
    mov     x0, #1
    STORE_VAR x0, prio_low_ran
    COUNT_UP prio_done
    POP2    x29, x30
    ret
ENDLFUNC prio_low

/*
 * prio_spawn - spawn entry x0 with arg (id) x1 at priority w2 on core 0.
 * A refusal is counted.  Clobbers: x0-x17, flags.
 */
LFUNC prio_spawn
    PUSH2   x29, x30
    mov     x29, sp
    sub     sp, sp, #SPAWN_OPT_SIZE
    str     w2, [sp, #SPAWN_OPT_PRIO]
    str     wzr, [sp, #SPAWN_OPT_MIN_HEAP]
    mov     x3, #CORE0_ONLY
    str     x3, [sp, #SPAWN_OPT_AFFINITY]
    mov     x2, sp
    bl      spawn
    cbnz    x0, .Lprio_spawn_done
    COUNT_UP prio_refused
.Lprio_spawn_done:
    add     sp, sp, #SPAWN_OPT_SIZE
    POP2    x29, x30
    ret
ENDLFUNC prio_spawn

/*
 * prio_setup - the max-priority process on core 0 that builds both phases
 * and finally resumes scenario_main (pid x0), which suspended itself.
 */
LFUNC prio_setup
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    /* scenario_main must be out of core 0's queues before they are built:
       had the tick preempted it, it would sit in the normal queue. */
.Lprio_setup_main_out:
    mov     x0, x19
    bl      proc_lookup
    cbz     x0, .Lprio_setup_phase_a
    ldar    x0, [x0]                        /* PCB_STATE */
    tst     x0, #STATE_ON_CORE
    b.eq    .Lprio_setup_phase_a
    mov     x0, #1
    bl      sleep
    b       .Lprio_setup_main_out
.Lprio_setup_phase_a:
    /* Reverse priority order: the pick, not the spawn order, decides. */
    LOAD_ADDR x0, prio_low
    mov     x1, #ID_LOW
    mov     w2, #PRIO_LOW
    bl      prio_spawn
    mov     x20, #ID_NORMAL0
.Lprio_setup_normals:
    LOAD_ADDR x0, prio_normal
    mov     x1, x20
    mov     w2, #PRIO_NORMAL
    bl      prio_spawn
    add     x20, x20, #1
    cmp     x20, #ID_LOW
    b.lo    .Lprio_setup_normals
    mov     x20, #ID_HIGH0
.Lprio_setup_highs:
    LOAD_ADDR x0, prio_once
    mov     x1, x20
    mov     w2, #PRIO_HIGH
    bl      prio_spawn
    add     x20, x20, #1
    cmp     x20, #ID_NORMAL0
    b.lo    .Lprio_setup_highs
    mov     x20, #ID_MAX0
.Lprio_setup_maxes:
    LOAD_ADDR x0, prio_once
    mov     x1, x20
    mov     w2, #PRIO_MAX
    bl      prio_spawn
    add     x20, x20, #1
    cmp     x20, #ID_HIGH0
    b.lo    .Lprio_setup_maxes
    /* Sleeping hands the core to the queues just built; waking again (as
       max) does not touch the normal queue's order. */
    mov     x20, #PHASE_A_PROCS
    WAIT_AT_LEAST prio_done, x20
    /* Phase B: one low, one normal behind it. */
    STORE_VAR xzr, prio_low_ran
    LOAD_ADDR x0, prio_low
    mov     x1, #ID_LOW_B
    mov     w2, #PRIO_LOW
    bl      prio_spawn
    LOAD_ADDR x0, prio_normal
    mov     x1, #ID_NORMAL_B
    mov     w2, #PRIO_NORMAL
    bl      prio_spawn
    mov     x20, #IDS
    WAIT_AT_LEAST prio_done, x20
    mov     x0, x19
    bl      resume
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC prio_setup

/*
 * prio_first_range - over ids [x0, x1): x0 = the lowest first-run
 * sequence number (+1), x1 = the highest, x2 = how many never ran.
 * Clobbers: x3-x6.
 */
LFUNC prio_first_range
    LOAD_ADDR x3, prio_first
    mov     x4, #-1                         /* lowest */
    mov     x5, #0                          /* highest */
    mov     x2, #0
.Lprio_first_range_id:
    cmp     x0, x1
    b.hs    .Lprio_first_range_done
    ldr     x6, [x3, x0, lsl #U64_SHIFT]
    cbnz    x6, .Lprio_first_range_ran
    add     x2, x2, #1
.Lprio_first_range_ran:
    cmp     x6, x4
    csel    x4, x6, x4, lo
    cmp     x6, x5
    csel    x5, x6, x5, hi
    add     x0, x0, #1
    b       .Lprio_first_range_id
.Lprio_first_range_done:
    mov     x0, x4
    mov     x1, x5
    ret
ENDLFUNC prio_first_range

FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    PUSH2   x25, x26
    PUSH2   x27, x28
    bl      self
    mov     x1, x0
    LOAD_ADDR x0, prio_setup
    mov     w2, #PRIO_MAX
    bl      prio_spawn
    bl      self
    bl      suspend                         /* out until prio_setup is done */

    /* ran: ids with a first run. */
    mov     x0, #0
    mov     x1, #IDS
    bl      prio_first_range
    mov     x19, #IDS
    sub     x19, x19, x2
    /* order_ok: every max first < every high < every normal < the low (phase A). */
    mov     x0, #ID_MAX0
    mov     x1, #ID_HIGH0
    bl      prio_first_range
    mov     x20, x1                         /* the latest max */
    mov     x0, #ID_HIGH0
    mov     x1, #ID_NORMAL0
    bl      prio_first_range
    mov     x21, #1
    cmp     x20, x0
    csel    x21, xzr, x21, hs
    mov     x20, x1                         /* the latest high */
    mov     x0, #ID_NORMAL0
    mov     x1, #ID_LOW
    bl      prio_first_range
    cmp     x20, x0
    csel    x21, xzr, x21, hs
    mov     x20, x1                         /* the latest normal */
    mov     x0, #ID_LOW
    mov     x1, #ID_LOW_B
    bl      prio_first_range
    cmp     x20, x0
    csel    x21, xzr, x21, hs
    /* log_ok: the log is exactly the expected one. */
    LOAD_VAR x22, prio_seq
    mov     x23, #1
    cmp     x22, #EXPECTED_LEN
    csel    x23, xzr, x23, ne
    LOAD_ADDR x1, prio_log
    LOAD_ADDR x2, .Lprio_expected
    mov     x3, #0
.Lscenario_main_log:
    cmp     x3, #EXPECTED_LEN
    b.hs    .Lscenario_main_passes
    ldrb    w4, [x1, x3]
    ldrb    w5, [x2, x3]
    cmp     w4, w5
    csel    x23, xzr, x23, ne
    add     x3, x3, #1
    b       .Lscenario_main_log
.Lscenario_main_passes:
    /* Phase A: how many times each normal had run when the low one ran. */
    LOAD_ADDR x1, prio_snapshot
    mov     x24, #-1                        /* fewest */
    mov     x25, #0                         /* most */
    mov     x26, #0                         /* in all */
    mov     x3, #ID_NORMAL0
.Lscenario_main_snap:
    ldr     x4, [x1, x3, lsl #U64_SHIFT]
    cmp     x4, x24
    csel    x24, x4, x24, lo
    cmp     x4, x25
    csel    x25, x4, x25, hi
    add     x26, x26, x4
    add     x3, x3, #1
    cmp     x3, #ID_LOW
    b.lo    .Lscenario_main_snap
    LOAD_ADDR x1, prio_snapshot
    ldr     x27, [x1, #((IDS + ID_NORMAL_B) * 8)]

    RESULT_BEGIN .Lprio_str_name
    RESULT_FIELD .Lprio_str_ran, x19
    RESULT_FIELD .Lprio_str_order, x21
    RESULT_FIELD .Lprio_str_log_ok, x23
    RESULT_FIELD .Lprio_str_log_len, x22
    RESULT_FIELD .Lprio_str_passed, x24
    RESULT_FIELD .Lprio_str_passed_max, x25
    RESULT_FIELD .Lprio_str_before, x26
    RESULT_FIELD .Lprio_str_after, x27
    RESULT_VAR .Lprio_str_refused, prio_refused
    RESULT_END
    bl      sched_print_stats
    POP2    x27, x28
    POP2    x25, x26
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss
LOBJECT prio_seq, CACHE_LINE
    .space  8
ENDOBJECT prio_seq
LOBJECT prio_done, CACHE_LINE
    .space  8
ENDOBJECT prio_done
LOBJECT prio_low_ran, CACHE_LINE
    .space  8
ENDOBJECT prio_low_ran
LOBJECT prio_refused, CACHE_LINE
    .space  8
ENDOBJECT prio_refused
LOBJECT prio_first
    .space  IDS * 8
ENDOBJECT prio_first
LOBJECT prio_runs
    .space  IDS * 8
ENDOBJECT prio_runs
LOBJECT prio_snapshot                       /* phase A's, then phase B's */
    .space  2 * IDS * 8
ENDOBJECT prio_snapshot
LOBJECT prio_log
    .space  LOG_MAX
ENDOBJECT prio_log
