/*
 * null_load - a reproduction: a process that loads from address 0 should
 * be killed like any other bad load, but the runtime's identity map makes
 * the whole first GiB (QEMU virt's flash and MMIO) Device memory, page 0
 * included, so the load reads the flash and the process carries on.
 *
 *   actly: result scenario=null_load killed=K returned=R
 * Expected killed=1 returned=0; observed killed=0 returned=1.
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "scenarios/results.inc"
    .include "scenarios/common.inc"

    NO_EXEC_STACK

.equ NULL_ADDR,             0x0
.equ SETTLE_MS,             5               /* long enough for the child to run and end */

    .section .rodata
    RESULT_STRINGS
.Lnl_str_name:              .asciz "null_load"
.Lnl_str_killed:            .asciz " killed="
.Lnl_str_returned:          .asciz " returned="

    .text

/* nl_child - a load through a null pointer. */
LFUNC nl_child
    mov     x1, #NULL_ADDR
    ldr     x0, [x1]
    COUNT_UP nl_returned                    /* reached only if the load did not fault */
    ret
ENDLFUNC nl_child

FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    LOAD_ADDR x0, nl_child
    mov     x1, #0
    mov     x2, #0
    bl      spawn
    mov     x0, #SETTLE_MS
    bl      sleep
    SUM_STAT x19, STAT_KILLED
    RESULT_BEGIN .Lnl_str_name
    RESULT_FIELD .Lnl_str_killed, x19
    RESULT_VAR .Lnl_str_returned, nl_returned
    RESULT_END
    bl      sched_print_stats
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss
LOBJECT nl_returned, CACHE_LINE
    .space  8
ENDOBJECT nl_returned
