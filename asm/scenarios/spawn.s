/*
 * spawn - scenario (a): SPAWN_TOTAL processes spawned across every core;
 * each runs once, marks its own bit and exits.  Every one must be
 * accounted for: each bit set exactly once, each core ran its share, and
 * the schedulers' exit counts add up.
 *   actly: result scenario=spawn spawned=N ran=N duplicates=0 missing=0
 *          refused_retries=R cores=C
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "scenarios/results.inc"

    NO_EXEC_STACK

.equ SPAWN_TOTAL,           10000
.equ BITMAP_WORDS,          ((SPAWN_TOTAL + 63) / 64)

    .section .rodata
    RESULT_STRINGS
.Lspawn_str_name:           .asciz "spawn"
.Lspawn_str_spawned:        .asciz " spawned="
.Lspawn_str_ran:            .asciz " ran="
.Lspawn_str_dup:            .asciz " duplicates="
.Lspawn_str_missing:        .asciz " missing="
.Lspawn_str_retries:        .asciz " refused_retries="
.Lspawn_str_cores:          .asciz " cores="
.Lspawn_str_wrong_core:     .asciz " wrong_core="

    .text

/* spawn_child - process i: set bit i, count a run; check it runs on its core. */
LFUNC spawn_child
    PUSH2   x29, x30
    mov     x29, sp
    LOAD_ADDR x1, spawn_bitmap
    lsr     x2, x0, #6
    add     x1, x1, x2, lsl #3
    mov     x3, #1
    lsl     x3, x3, x0                      /* lsl uses the low 6 bits */
    ldsetal x3, x4, [x1]
    tst     x4, x3
    b.eq    .Lspawn_child_first
    LOAD_ADDR x1, spawn_duplicates
    mov     x2, #1
    stadd   x2, [x1]
.Lspawn_child_first:
    /* The core must be the one its affinity names: i mod cores. */
    LOAD_ADDR x1, boot_cores_started
    ldar    x1, [x1]
    udiv    x2, x0, x1
    msub    x2, x2, x1, x0
    mrs     x3, tpidrro_el0
    ldr     x3, [x3, #CORE_INDEX]
    cmp     x2, x3
    b.eq    .Lspawn_child_count
    LOAD_ADDR x1, spawn_wrong_core
    mov     x2, #1
    stadd   x2, [x1]
.Lspawn_child_count:
    LOAD_ADDR x1, spawn_ran
    mov     x2, #1
    staddl  x2, [x1]                        /* release: the bit above is seen first */
    POP2    x29, x30
    ret
ENDLFUNC spawn_child

FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    sub     sp, sp, #SPAWN_OPT_SIZE
    LOAD_ADDR x0, boot_cores_started
    ldar    x21, [x0]
    mov     x19, #0                         /* i */
    mov     x22, #0                         /* refused spawns, retried */
    mov     w0, #PRIO_NORMAL
    str     w0, [sp, #SPAWN_OPT_PRIO]
    str     wzr, [sp, #SPAWN_OPT_MIN_HEAP]
.Lscenario_main_spawn:
    mov     x0, #SPAWN_TOTAL
    cmp     x19, x0
    b.hs    .Lscenario_main_wait
    udiv    x1, x19, x21
    msub    x1, x1, x21, x19                /* i mod cores */
    mov     x2, #1
    lsl     x2, x2, x1
    str     x2, [sp, #SPAWN_OPT_AFFINITY]
    LOAD_ADDR x0, spawn_child
    mov     x1, x19
    mov     x2, sp
    bl      spawn
    cbnz    x0, .Lscenario_main_spawned
    add     x22, x22, #1                    /* table full: let the children run */
    bl      yield
    b       .Lscenario_main_spawn
.Lscenario_main_spawned:
    add     x19, x19, #1
    b       .Lscenario_main_spawn
.Lscenario_main_wait:
    LOAD_ADDR x0, spawn_ran
    ldar    x0, [x0]
    mov     x1, #SPAWN_TOTAL
    cmp     x0, x1
    b.hs    .Lscenario_main_exits
    mov     x0, #1
    bl      sleep
    b       .Lscenario_main_wait
.Lscenario_main_exits:
    /* A child counts itself as run before it returns into exit, and may be preempted in
     * between: wait until every core's exits add up, so the statistics are final. */
    LOAD_ADDR x0, sched_cores
    mov     x1, #0                          /* exits so far */
    mov     x2, #0                          /* core index */
.Lscenario_main_sum:
    cmp     x2, x21
    b.hs    .Lscenario_main_summed
    mov     x3, #CORE_SIZE
    madd    x3, x2, x3, x0
    ldr     x3, [x3, #STAT_EXITED]
    add     x1, x1, x3
    add     x2, x2, #1
    b       .Lscenario_main_sum
.Lscenario_main_summed:
    mov     x0, #SPAWN_TOTAL
    cmp     x1, x0
    b.hs    .Lscenario_main_count
    mov     x0, #1
    bl      sleep
    b       .Lscenario_main_exits
.Lscenario_main_count:
    /* Missing: bits not set among the first SPAWN_TOTAL. */
    mov     x20, #0
    mov     x23, #0
.Lscenario_main_bits:
    mov     x0, #SPAWN_TOTAL
    cmp     x23, x0
    b.hs    .Lscenario_main_report
    LOAD_ADDR x1, spawn_bitmap
    lsr     x2, x23, #6
    ldr     x1, [x1, x2, lsl #3]
    lsr     x1, x1, x23
    tbnz    x1, #0, .Lscenario_main_bit_set
    add     x20, x20, #1
.Lscenario_main_bit_set:
    add     x23, x23, #1
    b       .Lscenario_main_bits
.Lscenario_main_report:
    RESULT_BEGIN .Lspawn_str_name
    RESULT_FIELD .Lspawn_str_spawned, x19
    LOAD_ADDR x0, spawn_ran
    ldr     x24, [x0]
    RESULT_FIELD .Lspawn_str_ran, x24
    LOAD_ADDR x0, spawn_duplicates
    ldr     x24, [x0]
    RESULT_FIELD .Lspawn_str_dup, x24
    RESULT_FIELD .Lspawn_str_missing, x20
    LOAD_ADDR x0, spawn_wrong_core
    ldr     x24, [x0]
    RESULT_FIELD .Lspawn_str_wrong_core, x24
    RESULT_FIELD .Lspawn_str_retries, x22
    RESULT_FIELD .Lspawn_str_cores, x21
    RESULT_END
    bl      sched_print_stats
    add     sp, sp, #SPAWN_OPT_SIZE
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss
LOBJECT spawn_bitmap
    .space  BITMAP_WORDS * 8
ENDOBJECT spawn_bitmap
LOBJECT spawn_ran, CACHE_LINE
    .space  8
ENDOBJECT spawn_ran
LOBJECT spawn_duplicates, CACHE_LINE
    .space  8
ENDOBJECT spawn_duplicates
LOBJECT spawn_wrong_core, CACHE_LINE
    .space  8
ENDOBJECT spawn_wrong_core
