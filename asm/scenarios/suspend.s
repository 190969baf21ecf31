/*
 * suspend - scenario (e): suspend and resume (BEAM's suspend_process and
 * resume_process), driven by scenario_main on core 0 against processes on
 * core 1 mod cores.
 *
 *   1. A worker counts in a loop (consume_reductions: it yields now and
 *      then).  Suspended, it stops: once it is off its core its counter
 *      stays put over STILL_MS; resumed, it counts again.
 *   2. Suspended twice, it needs two resumes: after the first it is still
 *      stopped; a third resume is refused (not suspended).
 *   3. A stale pid: a process that exited, its slot taken by a new
 *      counting process.  suspend and resume of the old pid return 0 and
 *      do not touch the new occupant (it keeps counting; suspended by its
 *      own pid, it stays suspended through the stale resume).
 *   4. A process that suspends itself stays out until another resumes it;
 *      its suspend then returns 1.
 *
 *   actly: result scenario=suspend counted=1 suspend_ret=1 stopped=1
 *          resume_ret=1 resumed=1 double_suspend_rets=2 still_suspended=1
 *          double_resume_rets=2 double_resumed=1 extra_resume_ret=0
 *          slot_reused=1 stale_suspend_ret=0 stale_suspend_untouched=1
 *          stale_resume_ret=0 stale_resume_untouched=1 self_stayed=1
 *          self_resume_ret=1 self_resumed=1 self_suspend_ret=1 exited=2
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"
    .include "scenarios/results.inc"
    .include "scenarios/common.inc"

    NO_EXEC_STACK

.equ COUNT_REDS,            10              /* reductions per count: a yield every 400 */
.equ STILL_MS,              5               /* how long a stopped counter must stay put */
.equ POLL_LIMIT,            500             /* 1 ms polls before giving up on a change */
.equ WORKER_W,              0               /* counter indices */
.equ WORKER_X,              1
.equ COUNTER_STRIDE_SHIFT,  7               /* each counter on its own cache line */
.equ SELF_SUSPENDING,       1               /* su_self_state */
.equ SELF_RESUMED,          2
.equ PID_SLOT_MASK,         0xffffffff

/* Result slots, in su_results, in the order they are printed. */
.equ R_COUNTED,             0
.equ R_SUSPEND_RET,         1
.equ R_STOPPED,             2
.equ R_RESUME_RET,          3
.equ R_RESUMED,             4
.equ R_DOUBLE_SUSPEND,      5
.equ R_STILL_SUSPENDED,     6
.equ R_DOUBLE_RESUME,       7
.equ R_DOUBLE_RESUMED,      8
.equ R_EXTRA_RESUME,        9
.equ R_SLOT_REUSED,         10
.equ R_STALE_SUSPEND,       11
.equ R_STALE_SUSPEND_OK,    12
.equ R_STALE_RESUME,        13
.equ R_STALE_RESUME_OK,     14
.equ R_SELF_STAYED,         15
.equ R_SELF_RESUME_RET,     16
.equ R_SELF_RESUMED,        17
.equ R_SELF_SUSPEND_RET,    18
.equ R_EXITED,              19
.equ R_COUNT,               20

    .section .rodata
    RESULT_STRINGS
.Lsu_str_name:              .asciz "suspend"
/* The keys, R_COUNT of them in slot order, each NUL-terminated. */
.Lsu_keys:
    .asciz  " counted="
    .asciz  " suspend_ret="
    .asciz  " stopped="
    .asciz  " resume_ret="
    .asciz  " resumed="
    .asciz  " double_suspend_rets="
    .asciz  " still_suspended="
    .asciz  " double_resume_rets="
    .asciz  " double_resumed="
    .asciz  " extra_resume_ret="
    .asciz  " slot_reused="
    .asciz  " stale_suspend_ret="
    .asciz  " stale_suspend_untouched="
    .asciz  " stale_resume_ret="
    .asciz  " stale_resume_untouched="
    .asciz  " self_stayed="
    .asciz  " self_resume_ret="
    .asciz  " self_resumed="
    .asciz  " self_suspend_ret="
    .asciz  " exited="

    .text

/* SET_RESULT slot, reg: su_results[slot] = reg.  Clobbers x16. */
.macro SET_RESULT slot, reg
    LOAD_ADDR x16, su_results
    str     \reg, [x16, #((\slot) * 8)]
.endm

/* su_counter_addr - x0 = the address of counter x0.  Clobbers: x1. */
LFUNC su_counter_addr
    LOAD_ADDR x1, su_counters
    add     x0, x1, x0, lsl #COUNTER_STRIDE_SHIFT
    ret
ENDLFUNC su_counter_addr

/* su_counter - count in counter x0 until its stop word (next to it) is set. */
LFUNC su_counter
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    bl      su_counter_addr
    mov     x19, x0
.Lsu_counter_count:
    ldr     x1, [x19]
    add     x1, x1, #1
    stlr    x1, [x19]
    add     x1, x19, #8                     /* the stop word */
    ldar    x1, [x1]
    cbnz    x1, .Lsu_counter_exit
    mov     x0, #COUNT_REDS
    bl      consume_reductions
    b       .Lsu_counter_count
.Lsu_counter_exit:
    COUNT_UP su_exited
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC su_counter

/* su_short - exits at once: its pid goes stale. */
LFUNC su_short
    ret
ENDLFUNC su_short

/* su_self - suspend itself; record what suspend returned once resumed. */
LFUNC su_self
    PUSH2   x29, x30
    mov     x29, sp
    mov     x0, #SELF_SUSPENDING
    STORE_VAR x0, su_self_state
    bl      self
    bl      suspend
    STORE_VAR x0, su_self_ret
    mov     x0, #SELF_RESUMED
    STORE_VAR x0, su_self_state
    POP2    x29, x30
    ret
ENDLFUNC su_self

/* su_spawn - spawn entry x0 with arg x1 on core 1 mod cores.  Out: x0 = pid. */
LFUNC su_spawn
    PUSH2   x29, x30
    mov     x29, sp
    sub     sp, sp, #SPAWN_OPT_SIZE
    mov     w2, #PRIO_NORMAL
    str     w2, [sp, #SPAWN_OPT_PRIO]
    str     wzr, [sp, #SPAWN_OPT_MIN_HEAP]
    CORES   x2
    mov     x3, #1
    udiv    x4, x3, x2
    msub    x4, x4, x2, x3                  /* 1 mod cores */
    lsl     x3, x3, x4
    str     x3, [sp, #SPAWN_OPT_AFFINITY]
    mov     x2, sp
    bl      spawn
    add     sp, sp, #SPAWN_OPT_SIZE
    POP2    x29, x30
    ret
ENDLFUNC su_spawn

/*
 * su_wait_out - wait until process x0 is off its core (a suspended process
 * stops at its next switch out).  Out: x0 = 1, or 0 if it never was.
 */
LFUNC su_wait_out
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    mov     x20, #POLL_LIMIT
.Lsu_wait_out_poll:
    mov     x0, x19
    bl      proc_lookup
    cbz     x0, .Lsu_wait_out_no
    ldar    x0, [x0]                        /* PCB_STATE */
    tst     x0, #PS_RUNNING
    b.eq    .Lsu_wait_out_yes
    subs    x20, x20, #1
    b.eq    .Lsu_wait_out_no
    mov     x0, #1
    bl      sleep
    b       .Lsu_wait_out_poll
.Lsu_wait_out_yes:
    mov     x0, #1
    b       .Lsu_wait_out_done
.Lsu_wait_out_no:
    mov     x0, #0
.Lsu_wait_out_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC su_wait_out

/* su_still - x0 = 1 if counter x0 does not move over STILL_MS, else 0. */
LFUNC su_still
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    bl      su_counter_addr
    mov     x19, x0
    ldar    x20, [x19]
    mov     x0, #STILL_MS
    bl      sleep
    ldar    x0, [x19]
    cmp     x0, x20
    cset    x0, eq
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC su_still

/* su_moves - x0 = 1 once counter x0 changes (polled for up to POLL_LIMIT ms), else 0. */
LFUNC su_moves
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    bl      su_counter_addr
    mov     x19, x0
    ldar    x20, [x19]
    mov     x21, #POLL_LIMIT
.Lsu_moves_poll:
    mov     x0, #1
    bl      sleep
    ldar    x0, [x19]
    cmp     x0, x20
    b.ne    .Lsu_moves_yes
    subs    x21, x21, #1
    b.ne    .Lsu_moves_poll
    mov     x0, #0
    b       .Lsu_moves_done
.Lsu_moves_yes:
    mov     x0, #1
.Lsu_moves_done:
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC su_moves

/* su_wait_state - x0 = 1 once su_self_state is x0 (up to POLL_LIMIT ms), else 0. */
LFUNC su_wait_state
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    mov     x20, #POLL_LIMIT
.Lsu_wait_state_poll:
    LOAD_VAR x0, su_self_state
    cmp     x0, x19
    b.eq    .Lsu_wait_state_yes
    subs    x20, x20, #1
    b.eq    .Lsu_wait_state_no
    mov     x0, #1
    bl      sleep
    b       .Lsu_wait_state_poll
.Lsu_wait_state_yes:
    mov     x0, #1
    b       .Lsu_wait_state_done
.Lsu_wait_state_no:
    mov     x0, #0
.Lsu_wait_state_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC su_wait_state

FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24

    /* 1. Suspend stops the worker, resume restarts it. */
    LOAD_ADDR x0, su_counter
    mov     x1, #WORKER_W
    bl      su_spawn
    mov     x19, x0                         /* W */
    mov     x0, #WORKER_W
    bl      su_moves
    SET_RESULT R_COUNTED, x0
    mov     x0, x19
    bl      suspend
    SET_RESULT R_SUSPEND_RET, x0
    mov     x0, x19
    bl      su_wait_out
    mov     x20, x0
    mov     x0, #WORKER_W
    bl      su_still
    and     x0, x0, x20
    SET_RESULT R_STOPPED, x0
    mov     x0, x19
    bl      resume
    SET_RESULT R_RESUME_RET, x0
    mov     x0, #WORKER_W
    bl      su_moves
    SET_RESULT R_RESUMED, x0

    /* 2. Twice suspended: one resume is not enough. */
    mov     x0, x19
    bl      suspend
    mov     x20, x0
    mov     x0, x19
    bl      suspend
    add     x20, x20, x0
    SET_RESULT R_DOUBLE_SUSPEND, x20
    mov     x0, x19
    bl      su_wait_out
    mov     x0, x19
    bl      resume
    mov     x20, x0
    mov     x0, #WORKER_W
    bl      su_still
    SET_RESULT R_STILL_SUSPENDED, x0
    mov     x0, x19
    bl      resume
    add     x20, x20, x0
    SET_RESULT R_DOUBLE_RESUME, x20
    mov     x0, #WORKER_W
    bl      su_moves
    SET_RESULT R_DOUBLE_RESUMED, x0
    mov     x0, x19
    bl      resume
    SET_RESULT R_EXTRA_RESUME, x0

    /* 3. A stale pid, its slot taken again. */
    LOAD_ADDR x0, su_short
    mov     x1, #0
    bl      su_spawn
    mov     x20, x0                         /* S: soon stale */
    mov     x21, #POLL_LIMIT
.Lscenario_main_stale:
    mov     x0, x20
    bl      proc_lookup
    cbz     x0, .Lscenario_main_freed
    subs    x21, x21, #1
    b.eq    .Lscenario_main_freed
    mov     x0, #1
    bl      sleep
    b       .Lscenario_main_stale
.Lscenario_main_freed:
    LOAD_ADDR x0, su_counter
    mov     x1, #WORKER_X
    bl      su_spawn
    mov     x21, x0                         /* X: the slot's new occupant */
    and     x0, x20, #PID_SLOT_MASK
    and     x1, x21, #PID_SLOT_MASK
    cmp     x0, x1
    ccmp    x20, x21, #0, eq                /* same slot, other generation */
    cset    x0, ne
    SET_RESULT R_SLOT_REUSED, x0
    mov     x0, x20
    bl      suspend
    SET_RESULT R_STALE_SUSPEND, x0
    mov     x0, #WORKER_X
    bl      su_moves
    SET_RESULT R_STALE_SUSPEND_OK, x0
    mov     x0, x21
    bl      suspend
    mov     x0, x21
    bl      su_wait_out
    mov     x0, x20
    bl      resume
    SET_RESULT R_STALE_RESUME, x0
    mov     x0, #WORKER_X
    bl      su_still
    SET_RESULT R_STALE_RESUME_OK, x0
    mov     x0, x21
    bl      resume

    /* 4. A process that suspends itself. */
    LOAD_ADDR x0, su_self
    mov     x1, #0
    bl      su_spawn
    mov     x22, x0                         /* Y */
    mov     x0, #SELF_SUSPENDING
    bl      su_wait_state
    mov     x23, x0
    mov     x0, x22
    bl      su_wait_out
    and     x23, x23, x0
    mov     x0, #STILL_MS
    bl      sleep
    LOAD_VAR x0, su_self_state
    cmp     x0, #SELF_SUSPENDING
    cset    x0, eq
    and     x23, x23, x0
    SET_RESULT R_SELF_STAYED, x23
    mov     x0, x22
    bl      resume
    SET_RESULT R_SELF_RESUME_RET, x0
    mov     x0, #SELF_RESUMED
    bl      su_wait_state
    SET_RESULT R_SELF_RESUMED, x0
    LOAD_VAR x0, su_self_ret
    SET_RESULT R_SELF_SUSPEND_RET, x0

    /* Stop both counters and see them exit. */
    mov     x0, #WORKER_W
    bl      su_counter_addr
    mov     x1, #1
    add     x0, x0, #8
    stlr    x1, [x0]
    mov     x0, #WORKER_X
    bl      su_counter_addr
    mov     x1, #1
    add     x0, x0, #8
    stlr    x1, [x0]
    mov     x23, #2
    WAIT_AT_LEAST su_exited, x23
    LOAD_VAR x0, su_exited
    SET_RESULT R_EXITED, x0

    /* The result line: R_COUNT fields, keys in slot order. */
    RESULT_BEGIN .Lsu_str_name
    LOAD_ADDR x23, .Lsu_keys
    mov     x24, #0
.Lscenario_main_field:
    LOAD_ADDR x0, su_results
    ldr     x21, [x0, x24, lsl #U64_SHIFT]
    mov     x0, x23
    bl      uart_puts
    mov     x0, x21
    bl      uart_put_dec
    /* Next key: past this one's NUL. */
.Lscenario_main_key_end:
    ldrb    w0, [x23], #1
    cbnz    w0, .Lscenario_main_key_end
    add     x24, x24, #1
    cmp     x24, #R_COUNT
    b.lo    .Lscenario_main_field
    RESULT_END
    bl      sched_print_stats
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss
LOBJECT su_counters, CACHE_LINE                 /* per worker: count, then stop word */
    .space  2 << COUNTER_STRIDE_SHIFT
ENDOBJECT su_counters
LOBJECT su_results
    .space  R_COUNT * 8
ENDOBJECT su_results
LOBJECT su_self_state, CACHE_LINE
    .space  8
ENDOBJECT su_self_state
LOBJECT su_self_ret, CACHE_LINE
    .space  8
ENDOBJECT su_self_ret
LOBJECT su_exited, CACHE_LINE
    .space  8
ENDOBJECT su_exited
