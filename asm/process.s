/*
 * process.s - lightweight processes: the process table with
 * generation-checked pids, stacks from a pool with a guard page below each,
 * spawn and exit, and the state word (process.inc) with its transitions.
 *
 * The state word changes only through the proc_state_* functions below,
 * each one CAS (LDAXR/STLXR) loop implementing one row of BEAM's state
 * machine (docs/beam-model.md §2); specs/process.py states each row and
 * `verify all` proves it.  The generation in its top half makes a pid
 * check and a transition one atomic step: a stale pid never reaches a new
 * occupant of its slot.
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"

    NO_EXEC_STACK

.equ PS_WAKE_BLOCKERS,      (PS_IN_RUNQ | PS_RUNNING | PS_SUSPENDED | PS_EXITING)
.equ PS_RUN_MASK,           (PS_ACTIVE | PS_RUNNING | PS_SUSPENDED | PS_EXITING | PS_FREE)
.equ PS_OUT_MASK,           (PS_ACTIVE | PS_IN_RUNQ | PS_SUSPENDED | PS_EXITING | PS_FREE)
.equ PS_RESUME_MASK,        (PS_ACTIVE | PS_RUNNING | PS_IN_RUNQ | PS_EXITING)
.equ PS_SUSPEND_FIELD,      0xffff0000
.equ PS_LOW_HALF,           0xffffffff

    .text

/* ---- State transitions ------------------------------------------------------
 * Each: In x0 = PCB (and x1 = expected generation where named).  The loop
 * retries when the store-exclusive fails.  Clobbers x0-x5, flags.
 * Ordering: LDAXR/STLXR - acquire and release, so what a core did before a
 * transition is visible to the core that observes it.  Callable (leaf). */

/*
 * proc_state_spawn - FREE -> ACTIVE|IN_RUNQ, keeping the generation.
 * Out: x0 = 1, or 0 (word unchanged) if the slot was not free.
 */
FUNC proc_state_spawn
.Lproc_state_spawn_retry:
    ldaxr   x1, [x0]
    tbz     x1, #PS_FREE_BIT, .Lproc_state_spawn_refuse 
    lsr     x2, x1, #PS_GEN_SHIFT
    lsl     x2, x2, #PS_GEN_SHIFT
    orr     x2, x2, #PS_RUNNABLE
    stlxr   w3, x2, [x0]
    cbnz    w3, .Lproc_state_spawn_retry
    mov     x0, #1
    ret
.Lproc_state_spawn_refuse:
    clrex
    mov     x0, #0
    ret
ENDFUNC proc_state_spawn

/*
 * proc_state_wake - set ACTIVE (a timer fired, or later a message came).
 * If nothing else holds it (queued, running, suspended, exiting) it also
 * becomes IN_RUNQ and the caller must enqueue it.  A free slot is left alone.
 * Out: x0 = 1 if the caller must enqueue, else 0.
 */
FUNC proc_state_wake
.Lproc_state_wake_retry:
    ldaxr   x1, [x0]
    tbnz    x1, #PS_FREE_BIT, .Lproc_state_wake_refuse
    orr     x2, x1, #PS_ACTIVE
    mov     x4, #0
    tst     x1, #PS_WAKE_BLOCKERS
    b.ne    .Lproc_state_wake_store
    orr     x2, x2, #PS_IN_RUNQ
    mov     x4, #1
.Lproc_state_wake_store:
    stlxr   w3, x2, [x0]
    cbnz    w3, .Lproc_state_wake_retry
    mov     x0, x4
    ret
.Lproc_state_wake_refuse:
    clrex
    mov     x0, #0
    ret
ENDFUNC proc_state_wake

/*
 * proc_state_block - clear ACTIVE: the running process is about to wait.
 * Out: none.
 */
FUNC proc_state_block
.Lproc_state_block_retry:
    ldaxr   x1, [x0]
    bic     x2, x1, #PS_ACTIVE
    stlxr   w3, x2, [x0]
    cbnz    w3, .Lproc_state_block_retry
    ret
ENDFUNC proc_state_block

/*
 * proc_state_run - the pick: clear IN_RUNQ; if the process is ACTIVE and
 * not running, suspended, exiting or free, set RUNNING.
 * Out: x0 = 1 if it may run now, 0 if the entry was stale (dropped).
 */
FUNC proc_state_run
.Lproc_state_run_retry:
    ldaxr   x1, [x0]
    bic     x2, x1, #PS_IN_RUNQ
    mov     x4, #0
    mov     x5, #PS_RUN_MASK
    and     x5, x1, x5
    cmp     x5, #PS_ACTIVE
    b.ne    .Lproc_state_run_store
    orr     x2, x2, #PS_RUNNING
    mov     x4, #1
.Lproc_state_run_store:
    stlxr   w3, x2, [x0]
    cbnz    w3, .Lproc_state_run_retry
    mov     x0, x4
    ret
ENDFUNC proc_state_run

/*
 * proc_state_out - schedule-out: clear RUNNING; if the process is still
 * ACTIVE and not queued, suspended, exiting or free, set IN_RUNQ.
 * Out: x0 = 1 if the caller must re-enqueue it, else 0.
 */
FUNC proc_state_out
.Lproc_state_out_retry:
    ldaxr   x1, [x0]
    bic     x2, x1, #PS_RUNNING
    mov     x4, #0
    mov     x5, #PS_OUT_MASK
    and     x5, x1, x5
    cmp     x5, #PS_ACTIVE
    b.ne    .Lproc_state_out_store
    orr     x2, x2, #PS_IN_RUNQ
    mov     x4, #1
.Lproc_state_out_store:
    stlxr   w3, x2, [x0]
    cbnz    w3, .Lproc_state_out_retry
    mov     x0, x4
    ret
ENDFUNC proc_state_out

/*
 * proc_state_suspend - count one more suspend and set SUSPENDED, if the
 * generation is x1 and the process is neither free nor exiting.
 * Out: x0 = 1 if done, 0 if refused (word unchanged).
 */
FUNC proc_state_suspend
.Lproc_state_suspend_retry:
    ldaxr   x2, [x0]
    cmp     x1, x2, lsr #PS_GEN_SHIFT
    b.ne    .Lproc_state_suspend_refuse
    tst     x2, #(PS_FREE | PS_EXITING)
    b.ne    .Lproc_state_suspend_refuse
    ubfx    x4, x2, #PS_SUSPEND_SHIFT, #16
    mov     x5, #PS_SUSPEND_MAX
    cmp     x4, x5
    b.eq    .Lproc_state_suspend_refuse
    add     x4, x2, #PS_SUSPEND_ONE
    orr     x4, x4, #PS_SUSPENDED
    stlxr   w3, x4, [x0]
    cbnz    w3, .Lproc_state_suspend_retry
    mov     x0, #1
    ret
.Lproc_state_suspend_refuse:
    clrex
    mov     x0, #0
    ret
ENDFUNC proc_state_suspend

/*
 * proc_state_resume - undo one suspend of generation x1.  At a count of 0
 * SUSPENDED is cleared, and an ACTIVE process that is neither running,
 * queued nor exiting becomes IN_RUNQ for the caller to enqueue.
 * Out: x0 = 0 refused (wrong generation, free, not suspended), 1 done,
 * 2 done and the caller must enqueue it.
 */
FUNC proc_state_resume
.Lproc_state_resume_retry:
    ldaxr   x2, [x0]
    cmp     x1, x2, lsr #PS_GEN_SHIFT
    b.ne    .Lproc_state_resume_refuse
    tbnz    x2, #PS_FREE_BIT, .Lproc_state_resume_refuse
    ubfx    x4, x2, #PS_SUSPEND_SHIFT, #16
    cbz     x4, .Lproc_state_resume_refuse
    sub     x4, x2, #PS_SUSPEND_ONE
    mov     x5, #1
    tst     x4, #PS_SUSPEND_FIELD
    b.ne    .Lproc_state_resume_store       /* still suspended by someone else */
    bic     x4, x4, #PS_SUSPENDED
    mov     x3, #PS_RESUME_MASK
    and     x3, x4, x3
    cmp     x3, #PS_ACTIVE
    b.ne    .Lproc_state_resume_store
    orr     x4, x4, #PS_IN_RUNQ
    mov     x5, #2
.Lproc_state_resume_store:
    stlxr   w3, x4, [x0]
    cbnz    w3, .Lproc_state_resume_retry
    mov     x0, x5
    ret
.Lproc_state_resume_refuse:
    clrex
    mov     x0, #0
    ret
ENDFUNC proc_state_resume

/*
 * proc_state_exit - the process stops: set EXITING, clear ACTIVE,
 * SUSPENDED and the suspend count.  Out: none.
 */
FUNC proc_state_exit
.Lproc_state_exit_retry:
    ldaxr   x1, [x0]
    and     x2, x1, #~PS_SUSPEND_FIELD
    bic     x2, x2, #PS_ACTIVE
    bic     x2, x2, #PS_SUSPENDED
    orr     x2, x2, #PS_EXITING
    stlxr   w3, x2, [x0]
    cbnz    w3, .Lproc_state_exit_retry
    ret
ENDFUNC proc_state_exit

/*
 * proc_state_free - the slot is released: FREE with the next generation,
 * so every pid of the old occupant is stale from here on.  Out: none.
 */
FUNC proc_state_free
.Lproc_state_free_retry:
    ldaxr   x1, [x0]
    lsr     x2, x1, #PS_GEN_SHIFT
    add     x2, x2, #1
    lsl     x2, x2, #PS_GEN_SHIFT
    orr     x2, x2, #PS_FREE
    stlxr   w3, x2, [x0]
    cbnz    w3, .Lproc_state_free_retry
    ret
ENDFUNC proc_state_free

/* ---- The table ------------------------------------------------------------- */

/*
 * proc_table_init - every slot free at generation 1, on the free list in
 * index order, with its stack bounds.  Once, on core 0, before any spawn.
 * In: none.  Clobbers: x0-x8, flags.  Callable (AAPCS64 leaf).
 */
FUNC proc_table_init
    LOAD_ADDR x0, proc_pcbs
    LOAD_ADDR x1, proc_stack_pool
    mov     x2, #0                          /* slot index */
    mov     x3, #1
    lsl     x3, x3, #PS_GEN_SHIFT           /* generation 1 */
    mov     x8, #MAX_PROCS
.Lproc_table_init_slot:
    orr     x4, x3, #PS_FREE
    str     x4, [x0, #PCB_STATE]
    orr     x4, x3, x2
    str     x4, [x0, #PCB_PID]
    add     x5, x2, #1
    cmp     x5, x8
    mov     x6, #PROC_NIL
    csel    x5, x5, x6, lo
    str     x5, [x0, #PCB_FREE_NEXT]
    add     x6, x1, #PROC_GUARD_SIZE
    str     x6, [x0, #PCB_STACK_LO]
    add     x1, x1, #PROC_STACK_SLOT
    str     x1, [x0, #PCB_STACK_HI]
    add     x0, x0, #PCB_SIZE
    add     x2, x2, #1
    cmp     x2, x8
    b.lo    .Lproc_table_init_slot
    LOAD_ADDR x0, proc_free_head
    str     xzr, [x0]
    ret
ENDFUNC proc_table_init

/*
 * proc_pcb - x0 = the PCB of slot index x0 (< MAX_PROCS).
 * Clobbers: x1.  Callable (AAPCS64 leaf).
 */
FUNC proc_pcb
    mov     x1, #PCB_SIZE
    mul     x0, x0, x1
    LOAD_ADDR x1, proc_pcbs
    add     x0, x0, x1
    ret
ENDFUNC proc_pcb

/*
 * proc_lookup - the PCB a pid names, if the pid is current.
 * In: x0 = pid.  Out: x0 = PCB whose state word carries the pid's
 * generation and is not free, or 0.  Clobbers: x1-x3, flags.
 * Ordering: acquire load of the state word.  The answer can go stale at
 * once; callers act through a generation-checked transition.
 * Callable (AAPCS64 leaf).
 */
FUNC proc_lookup
    mov     w1, w0                          /* slot index */
    cmp     x1, #MAX_PROCS
    b.hs    .Lproc_lookup_none
    mov     x2, #PCB_SIZE
    mul     x1, x1, x2
    LOAD_ADDR x2, proc_pcbs
    add     x1, x1, x2
    ldar    x2, [x1]                        /* PCB_STATE is at offset 0 */
    tbnz    x2, #PS_FREE_BIT, .Lproc_lookup_none  
    lsr     x2, x2, #PS_GEN_SHIFT
    cmp     x2, x0, lsr #PID_GEN_SHIFT
    b.ne    .Lproc_lookup_none
    mov     x0, x1
    ret
.Lproc_lookup_none:
    mov     x0, #0
    ret
ENDFUNC proc_lookup

/*
 * proc_alloc - take a free slot.  Out: x0 = its PCB (still FREE), or 0 if
 * the table is full.  Clobbers: x0-x17, flags.  Callable (AAPCS64); IRQs
 * are masked inside and restored.
 */
FUNC proc_alloc
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mrs     x20, daif
    msr     daifset, #2
    LOAD_ADDR x0, proc_free_lock
    bl      spin_lock
    LOAD_ADDR x1, proc_free_head
    ldr     x0, [x1]
    mov     x19, #0
    mov     x2, #PROC_NIL
    cmp     x0, x2
    b.eq    .Lproc_alloc_unlock
    bl      proc_pcb
    mov     x19, x0
    ldr     x2, [x19, #PCB_FREE_NEXT]
    LOAD_ADDR x1, proc_free_head
    str     x2, [x1]
.Lproc_alloc_unlock:
    LOAD_ADDR x0, proc_free_lock
    bl      spin_unlock
    msr     daif, x20
    mov     x0, x19
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC proc_alloc

/*
 * proc_free - release the slot of an exited process: new generation, FREE,
 * back on the free list.  Called by the scheduler once it has left the
 * process's stack.  In: x0 = PCB.  Clobbers: x0-x17, flags.
 * Callable (AAPCS64) with IRQs masked.
 */
FUNC proc_free
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    bl      proc_state_free
    ldr     x0, [x19, #PCB_STATE]
    lsr     x0, x0, #PS_GEN_SHIFT
    ldr     x1, [x19, #PCB_PID]
    mov     w1, w1                          /* slot index */
    orr     x20, x1, x0, lsl #PID_GEN_SHIFT
    str     x20, [x19, #PCB_PID]            /* the next occupant's pid */
    LOAD_ADDR x0, proc_free_lock
    bl      spin_lock
    LOAD_ADDR x1, proc_free_head
    ldr     x2, [x1]
    str     x2, [x19, #PCB_FREE_NEXT]
    mov     w2, w20
    str     x2, [x1]
    LOAD_ADDR x0, proc_free_lock
    bl      spin_unlock
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC proc_free

/* ---- Spawn and exit ------------------------------------------------------------ */

/*
 * spawn - start a process running entry(arg).
 * In: x0 = entry, x1 = arg, x2 = options (process.inc SPAWN_OPT_*) or 0
 * for the defaults: normal priority, any core, no minimum heap.
 * Out: x0 = pid, or 0 if refused: a priority above PRIO_LOW, a min_heap
 * above PROC_HEAP_MAX, an affinity naming no running core, a full table.
 * The child goes to the caller's core if its mask allows (BEAM spawns on
 * the parent's scheduler), else to the lowest core it allows; the parent
 * keeps running.  Clobbers: x0-x17, flags.  Callable (AAPCS64).
 */
FUNC spawn
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    mov     x19, x0
    mov     x20, x1
    mov     w21, #PRIO_NORMAL
    mov     w22, #0
    mov     x23, #0
    cbz     x2, .Lspawn_checked_opts
    ldr     w21, [x2, #SPAWN_OPT_PRIO]
    ldr     w22, [x2, #SPAWN_OPT_MIN_HEAP]
    ldr     x23, [x2, #SPAWN_OPT_AFFINITY]
.Lspawn_checked_opts:
    cmp     w21, #PRIO_LOW
    b.hi    .Lspawn_refuse
    mov     w0, #PROC_HEAP_MAX
    cmp     w22, w0
    b.hi    .Lspawn_refuse
    LOAD_ADDR x0, boot_cores_started
    ldar    x0, [x0]
    mov     x1, #1
    lsl     x1, x1, x0
    sub     x1, x1, #1                      /* running cores */
    cmp     x23, #0
    csel    x23, x1, x23, eq
    and     x23, x23, x1
    cbz     x23, .Lspawn_refuse
    mrs     x0, tpidrro_el0
    ldr     x24, [x0, #CORE_INDEX]
    lsr     x0, x23, x24
    tbnz    x0, #0, .Lspawn_core_chosen
    rbit    x0, x23
    clz     x24, x0                         /* the lowest core it allows */
.Lspawn_core_chosen:
    bl      proc_alloc
    cbz     x0, .Lspawn_refuse
    mov     x1, x0
    str     w21, [x1, #PCB_PRIO]
    str     x23, [x1, #PCB_AFFINITY]
    str     w24, [x1, #PCB_CORE]
    str     w22, [x1, #PCB_MIN_HEAP]
    str     xzr, [x1, #PCB_REDS]
    str     xzr, [x1, #PCB_EXIT_REASON]
    str     wzr, [x1, #PCB_TIMER_ARMED]
    str     xzr, [x1, #PCB_USER]
    str     xzr, [x1, #PCB_PERIOD_DEADLINE]
    str     wzr, [x1, #PCB_FRAME_KIND]      /* FRAME_KIND_VOLUNTARY */
    add     x2, x1, #PCB_FRAME
    stp     x19, x20, [x2, #FRAME_X19]      /* proc_start calls x19(x20) */
    LOAD_ADDR x3, proc_start
    stp     xzr, x3, [x2, #FRAME_X29]
    ldr     x3, [x1, #PCB_STACK_HI]
    str     x3, [x2, #FRAME_SP]
    mov     x19, x1
    mov     x0, x19
    bl      proc_state_spawn                /* the stores above are released with it */
    mov     x0, x24
    bl      sched_core
    mov     x20, x0
    add     x1, x20, #STAT_SPAWNED
    mov     x2, #1
    stadd   x2, [x1]                        /* the target core may count too: atomic */
    mov     x0, x20
    mov     x1, x19
    bl      sched_enqueue
    ldr     x0, [x19, #PCB_PID]
    b       .Lspawn_done
.Lspawn_refuse:
    mov     x0, #0
.Lspawn_done:
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC spawn

/*
 * proc_start - where a new process begins: its first resume returns here
 * (x30 of its first frame) with x19 = entry, x20 = arg, IRQs unmasked.
 * A return from entry is a normal exit.
 * Not callable: reached only by that first resume.
 */
FUNC proc_start
    mov     x0, x20
    blr     x19
    mov     x0, #EXIT_NORMAL
    b       exit
ENDFUNC proc_start

/*
 * exit - the calling process ends with reason x0.  Its stack and slot are
 * freed by the scheduler; every pid of it becomes stale.
 * In: x0 = reason.  Never returns.  Callable by a process.
 */
FUNC exit
    msr     daifset, #2
    mrs     x9, tpidrro_el0
    ldr     x10, [x9, #CORE_CURRENT]
    str     x0, [x10, #PCB_EXIT_REASON]
    mov     x0, x10
    bl      proc_state_exit
    mrs     x9, tpidrro_el0
    ldr     x10, [x9, #CORE_SCHED_SP]
    mov     sp, x10                         /* off the process's stack for good */
    b       sched_enter
ENDFUNC exit

/*
 * self - x0 = the calling process's pid.  Clobbers: x1.
 * Callable (AAPCS64 leaf) by a process.
 */
FUNC self
    mrs     x1, tpidrro_el0
    ldr     x1, [x1, #CORE_CURRENT]
    ldr     x0, [x1, #PCB_PID]
    ret
ENDFUNC self

    .bss

/* The process table: MAX_PROCS PCBs. */
OBJECT proc_pcbs, PCB_ALIGN
    .space  MAX_PROCS * PCB_SIZE
ENDOBJECT proc_pcbs

/* The stack pool: slot i is a guard page then a stack, for PCB i.  2 MiB
   aligned, so boot.s maps it with whole level-3 tables. */
OBJECT proc_stack_pool, 0x200000
    .space  PROC_STACK_POOL_SIZE
ENDOBJECT proc_stack_pool

LOBJECT proc_free_lock, CACHE_LINE
    .space  CACHE_LINE
ENDOBJECT proc_free_lock

/* Index of the first free slot, or PROC_NIL. */
LOBJECT proc_free_head
    .space  8
ENDOBJECT proc_free_head
