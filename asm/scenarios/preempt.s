/*
 * preempt - scenario (c): the 1 ms tick preempts a process that never
 * reaches a yield point.
 *
 * On every core a busy loop, pinned there and spawned first, spins on a
 * flag with no call at all.  Behind it on the same core WORKERS normal
 * processes each do ROUNDS rounds of work, yielding after each; the last
 * one to finish sets the flag.  A worker can only run while the busy loop
 * is mid-spin if the tick took the core from it; each round checks that
 * (a core counts as preempted when any round saw it).  The schedulers' involuntary counts (before and after,
 * per core) must have grown on every core.
 *
 *   actly: result scenario=preempt cores=C busy=C busy_done=C workers=W
 *          workers_done=W rounds_done=W*ROUNDS preempted_cores=C
 *          involuntary=N involuntary_min=M busy_spins_min=S refused=0
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "scenarios/results.inc"
    .include "scenarios/common.inc"

    NO_EXEC_STACK

.equ WORKERS,               3               /* per core */
.equ ROUNDS,                10              /* yields per worker */
.equ PER_CORE,              CACHE_LINE      /* each core's words on their own line */
.equ PC_STARTED,            0               /* the busy loop is spinning */
.equ PC_FLAG,               8               /* the workers are done: stop spinning */
.equ PC_FINISHED,           16              /* workers finished */
.equ PC_SAW_BUSY,           24              /* worker rounds run while the busy loop spun */
.equ PC_SPINS,              32              /* the busy loop's iterations */
.equ PC_INVOL_BEFORE,       40
.equ PER_CORE_SHIFT,        7

    .section .rodata
    RESULT_STRINGS
.Lpre_str_name:             .asciz "preempt"
.Lpre_str_cores:            .asciz " cores="
.Lpre_str_busy:             .asciz " busy="
.Lpre_str_busy_done:        .asciz " busy_done="
.Lpre_str_workers:          .asciz " workers="
.Lpre_str_workers_done:     .asciz " workers_done="
.Lpre_str_rounds:           .asciz " rounds_done="
.Lpre_str_preempted:        .asciz " preempted_cores="
.Lpre_str_invol:            .asciz " involuntary="
.Lpre_str_invol_min:        .asciz " involuntary_min="
.Lpre_str_spins_min:        .asciz " busy_spins_min="
.Lpre_str_refused:          .asciz " refused="

    .text

/* pre_core_words - x0 = this core's words.  Clobbers: x1. */
LFUNC pre_core_words
    mrs     x0, tpidrro_el0
    ldr     x0, [x0, #CORE_INDEX]
    LOAD_ADDR x1, pre_cores
    add     x0, x1, x0, lsl #PER_CORE_SHIFT
    ret
ENDLFUNC pre_core_words

/*
 * pre_busy - spin until this core's flag is set: no call, no yield point;
 * only the tick can take the core away.
 */
LFUNC pre_busy
    PUSH2   x29, x30
    mov     x29, sp
    bl      pre_core_words
    mov     x1, #1
    stlr    x1, [x0]                        /* PC_STARTED */
    add     x2, x0, #PC_FLAG
    mov     x3, #0
.Lpre_busy_spin:
    add     x3, x3, #1
    ldar    x1, [x2]
    cbz     x1, .Lpre_busy_spin
    str     x3, [x0, #PC_SPINS]
    COUNT_UP pre_busy_done
    POP2    x29, x30
    ret
ENDLFUNC pre_busy

/* pre_worker - ROUNDS rounds of work, yielding after each; the last to finish sets the flag. */
LFUNC pre_worker
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    bl      pre_core_words
    mov     x19, x0
    mov     x20, #ROUNDS
.Lpre_worker_round:
    /* Running at all while the busy loop spins (it was queued first and
       comes back between our rounds): the tick took the core from it. */
    ldar    x1, [x19]                       /* PC_STARTED */
    add     x2, x19, #PC_FLAG
    ldar    x2, [x2]
    cbz     x1, .Lpre_worker_work
    cbnz    x2, .Lpre_worker_work
    add     x1, x19, #PC_SAW_BUSY
    mov     x2, #1
    staddl  x2, [x1]
.Lpre_worker_work:
    COUNT_UP pre_rounds
    bl      yield
    subs    x20, x20, #1
    b.ne    .Lpre_worker_round
    add     x1, x19, #PC_FINISHED
    mov     x2, #1
    ldaddal x2, x3, [x1]
    cmp     x3, #(WORKERS - 1)
    b.ne    .Lpre_worker_done
    add     x1, x19, #PC_FLAG
    stlr    x2, [x1]
.Lpre_worker_done:
    COUNT_UP pre_workers_done
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC pre_worker

/* pre_spawn_on - spawn entry x0 (arg 0) at normal priority on core x1. */
LFUNC pre_spawn_on
    PUSH2   x29, x30
    mov     x29, sp
    sub     sp, sp, #SPAWN_OPT_SIZE
    mov     w2, #PRIO_NORMAL
    str     w2, [sp, #SPAWN_OPT_PRIO]
    str     wzr, [sp, #SPAWN_OPT_MIN_HEAP]
    mov     x2, #1
    lsl     x2, x2, x1
    str     x2, [sp, #SPAWN_OPT_AFFINITY]
    mov     x1, #0
    mov     x2, sp
    bl      spawn
    cbnz    x0, .Lpre_spawn_on_done
    COUNT_UP pre_refused
.Lpre_spawn_on_done:
    add     sp, sp, #SPAWN_OPT_SIZE
    POP2    x29, x30
    ret
ENDLFUNC pre_spawn_on

FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    PUSH2   x25, x26
    CORES   x19
    /* Each core's involuntary count before. */
    mov     x20, #0
.Lscenario_main_before:
    mov     x0, x20
    bl      sched_core
    ldr     x1, [x0, #STAT_INVOLUNTARY]
    LOAD_ADDR x2, pre_cores
    add     x2, x2, x20, lsl #PER_CORE_SHIFT
    str     x1, [x2, #PC_INVOL_BEFORE]
    add     x20, x20, #1
    cmp     x20, x19
    b.lo    .Lscenario_main_before
    /* The busy loops first, so each is ahead of its core's workers. */
    mov     x20, #0
.Lscenario_main_busy:
    LOAD_ADDR x0, pre_busy
    mov     x1, x20
    bl      pre_spawn_on
    add     x20, x20, #1
    cmp     x20, x19
    b.lo    .Lscenario_main_busy
    mov     x20, #0
.Lscenario_main_workers:
    mov     x21, #WORKERS
.Lscenario_main_worker:
    LOAD_ADDR x0, pre_worker
    mov     x1, x20
    bl      pre_spawn_on
    subs    x21, x21, #1
    b.ne    .Lscenario_main_worker
    add     x20, x20, #1
    cmp     x20, x19
    b.lo    .Lscenario_main_workers
    /* Wait for everyone; sleeping queues us behind core 0's busy loop. */
    WAIT_AT_LEAST pre_busy_done, x19
    mov     x0, #WORKERS
    mul     x20, x19, x0
    WAIT_AT_LEAST pre_workers_done, x20
    /* Per core: preempted (a worker saw its busy loop spin), the involuntary
       switches since the start, the busy loop's spins. */
    mov     x21, #0                         /* cores where a worker saw it */
    mov     x22, #0                         /* involuntary, all cores */
    mov     x23, #-1                        /* fewest involuntary on a core */
    mov     x24, #-1                        /* fewest spins */
    mov     x25, #0
.Lscenario_main_core:
    LOAD_ADDR x26, pre_cores
    add     x26, x26, x25, lsl #PER_CORE_SHIFT
    ldr     x0, [x26, #PC_SAW_BUSY]
    cmp     x0, #0
    cinc    x21, x21, ne
    mov     x0, x25
    bl      sched_core
    ldr     x0, [x0, #STAT_INVOLUNTARY]
    ldr     x1, [x26, #PC_INVOL_BEFORE]
    sub     x0, x0, x1
    add     x22, x22, x0
    cmp     x0, x23
    csel    x23, x0, x23, lo
    ldr     x0, [x26, #PC_SPINS]
    cmp     x0, x24
    csel    x24, x0, x24, lo
    add     x25, x25, #1
    cmp     x25, x19
    b.lo    .Lscenario_main_core

    RESULT_BEGIN .Lpre_str_name
    RESULT_FIELD .Lpre_str_cores, x19
    RESULT_FIELD .Lpre_str_busy, x19
    RESULT_VAR .Lpre_str_busy_done, pre_busy_done
    RESULT_FIELD .Lpre_str_workers, x20
    RESULT_VAR .Lpre_str_workers_done, pre_workers_done
    RESULT_VAR .Lpre_str_rounds, pre_rounds
    RESULT_FIELD .Lpre_str_preempted, x21
    RESULT_FIELD .Lpre_str_invol, x22
    RESULT_FIELD .Lpre_str_invol_min, x23
    RESULT_FIELD .Lpre_str_spins_min, x24
    RESULT_VAR .Lpre_str_refused, pre_refused
    RESULT_END
    bl      sched_print_stats
    POP2    x25, x26
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss
LOBJECT pre_cores, CACHE_LINE
    .space  MAX_CORES * PER_CORE
ENDOBJECT pre_cores
LOBJECT pre_busy_done, CACHE_LINE
    .space  8
ENDOBJECT pre_busy_done
LOBJECT pre_workers_done, CACHE_LINE
    .space  8
ENDOBJECT pre_workers_done
LOBJECT pre_rounds, CACHE_LINE
    .space  8
ENDOBJECT pre_rounds
LOBJECT pre_refused, CACHE_LINE
    .space  8
ENDOBJECT pre_refused
