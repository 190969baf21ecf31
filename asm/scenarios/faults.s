/*
 * faults - scenario (f): a process that faults is killed and reported,
 * and the others run on.
 *
 * On every core three faulting processes - a load from address 0, a load
 * from an address outside the memory map, a recursion that runs its stack
 * into the guard page below it - and SURVIVORS processes that work
 * (consume_reductions, yield, sleep) over ROUNDS rounds, spawned first so
 * that the faults come while they are mid-way.  The scheduler prints an
 * `actly: killed pid=.. esr=.. far=..` line per kill and counts it
 * (STAT_KILLED); a faulting process must never reach the code after its
 * fault.
 *
 *   actly: result scenario=faults cores=C faulters=3C killed=3C
 *          survivors=S survivors_done=S rounds_done=S*ROUNDS
 *          fault_returned=0 exited=E refused=0
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "scenarios/results.inc"
    .include "scenarios/common.inc"

    NO_EXEC_STACK

.equ SURVIVORS,             3               /* per core */
.equ ROUNDS,                20
.equ ROUND_REDS,            1000            /* reductions charged per round */
.equ FAULT_KINDS,           3               /* null, unmapped, stack overflow */
.equ NO_RAM_ADDR,           0x100000000     /* 4 GiB: mapped as RAM, but -m 1G puts none there */
.equ UNMAPPED_ADDR,         0x4000000000    /* 256 GiB: inside the 39-bit VA, beyond the map */
.equ FRAME_PAD,             64              /* bytes each recursion level adds */

    .section .rodata
    RESULT_STRINGS
.Lfa_str_name:              .asciz "faults"
.Lfa_str_cores:             .asciz " cores="
.Lfa_str_faulters:          .asciz " faulters="
.Lfa_str_killed:            .asciz " killed="
.Lfa_str_survivors:         .asciz " survivors="
.Lfa_str_survivors_done:    .asciz " survivors_done="
.Lfa_str_rounds:            .asciz " rounds_done="
.Lfa_str_returned:          .asciz " fault_returned="
.Lfa_str_exited:            .asciz " exited="
.Lfa_str_refused:           .asciz " refused="

    .text

/* fa_load_no_ram - a load from an address outside RAM. */
LFUNC fa_load_no_ram
    MOV64   x1, NO_RAM_ADDR
    ldr     x0, [x1]
    COUNT_UP fa_returned                    /* never: the load kills it */
    ret
ENDLFUNC fa_load_no_ram

/* fa_load_unmapped - a load from an address no page table maps. */
LFUNC fa_load_unmapped
    MOV64   x1, UNMAPPED_ADDR
    ldr     x0, [x1]
    COUNT_UP fa_returned
    ret
ENDLFUNC fa_load_unmapped

/* fa_recurse - push a frame and recurse, for ever: the stack runs into its guard page. */
LFUNC fa_recurse
    PUSH2   x29, x30
    mov     x29, sp
    sub     sp, sp, #FRAME_PAD
    str     x0, [sp]                        /* touch the new frame */
    add     x0, x0, #1
    bl      fa_recurse
    add     sp, sp, #FRAME_PAD
    POP2    x29, x30
    COUNT_UP fa_returned
    ret
ENDLFUNC fa_recurse

/* fa_survivor - ROUNDS rounds of work, each ending in a yield point of another kind. */
LFUNC fa_survivor
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, #0
.Lfa_survivor_round:
    COUNT_UP fa_rounds
    and     x0, x19, #3
    cmp     x0, #1
    b.eq    .Lfa_survivor_yield
    cmp     x0, #2
    b.eq    .Lfa_survivor_sleep
    mov     x0, #ROUND_REDS
    bl      consume_reductions
    b       .Lfa_survivor_next
.Lfa_survivor_yield:
    bl      yield
    b       .Lfa_survivor_next
.Lfa_survivor_sleep:
    mov     x0, #1
    bl      sleep
.Lfa_survivor_next:
    add     x19, x19, #1
    cmp     x19, #ROUNDS
    b.lo    .Lfa_survivor_round
    COUNT_UP fa_survivors_done
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC fa_survivor

/* fa_spawn_on - spawn entry x0 (arg 0) at normal priority on core x1. */
LFUNC fa_spawn_on
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
    cbnz    x0, .Lfa_spawn_on_done
    COUNT_UP fa_refused
.Lfa_spawn_on_done:
    add     sp, sp, #SPAWN_OPT_SIZE
    POP2    x29, x30
    ret
ENDLFUNC fa_spawn_on

FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    CORES   x19
    /* The survivors first, then the faulters behind them, on every core. */
    mov     x20, #0
.Lscenario_main_core:
    mov     x21, #SURVIVORS
.Lscenario_main_survivor:
    LOAD_ADDR x0, fa_survivor
    mov     x1, x20
    bl      fa_spawn_on
    subs    x21, x21, #1
    b.ne    .Lscenario_main_survivor
    LOAD_ADDR x0, fa_load_no_ram
    mov     x1, x20
    bl      fa_spawn_on
    LOAD_ADDR x0, fa_load_unmapped
    mov     x1, x20
    bl      fa_spawn_on
    LOAD_ADDR x0, fa_recurse
    mov     x1, x20
    bl      fa_spawn_on
    add     x20, x20, #1
    cmp     x20, x19
    b.lo    .Lscenario_main_core
    /* Every survivor done, every faulter killed. */
    mov     x0, #SURVIVORS
    mul     x20, x19, x0
    WAIT_AT_LEAST fa_survivors_done, x20
    mov     x0, #FAULT_KINDS
    mul     x21, x19, x0
.Lscenario_main_kills:
    SUM_STAT x22, STAT_KILLED
    cmp     x22, x21
    b.hs    .Lscenario_main_report
    mov     x0, #1
    bl      sleep
    b       .Lscenario_main_kills
.Lscenario_main_report:
    RESULT_BEGIN .Lfa_str_name
    RESULT_FIELD .Lfa_str_cores, x19
    RESULT_FIELD .Lfa_str_faulters, x21
    RESULT_FIELD .Lfa_str_killed, x22
    RESULT_FIELD .Lfa_str_survivors, x20
    RESULT_VAR .Lfa_str_survivors_done, fa_survivors_done
    RESULT_VAR .Lfa_str_rounds, fa_rounds
    RESULT_VAR .Lfa_str_returned, fa_returned
    SUM_STAT x22, STAT_EXITED
    RESULT_FIELD .Lfa_str_exited, x22
    RESULT_VAR .Lfa_str_refused, fa_refused
    RESULT_END
    bl      sched_print_stats
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss
LOBJECT fa_survivors_done, CACHE_LINE
    .space  8
ENDOBJECT fa_survivors_done
LOBJECT fa_rounds, CACHE_LINE
    .space  8
ENDOBJECT fa_rounds
LOBJECT fa_returned, CACHE_LINE
    .space  8
ENDOBJECT fa_returned
LOBJECT fa_refused, CACHE_LINE
    .space  8
ENDOBJECT fa_refused
