/*
 * bench - instruction counts of runtime operations, for `verify bench`.
 *
 * Run under QEMU with -icount shift=0, where PMU event 0x08 (instructions retired) counts
 * exactly: the same build gives the same figures on every run.  scenario_main runs as the
 * first process (normal priority, core 0, IRQs unmasked, the 1 ms tick running), and with
 * -icount shift=0 a tick comes every ~1,000,000 instructions.  Each benchmark prints
 *   actly: result bench=<name> instructions=<per op> runs=<N> [batches=<B>] [spread=<S>]
 * Figures of a call include its bl and ret; a measured loop's own bookkeeping (counters,
 * branches, argument moves) and the cost of reading the counter are subtracted.  Ticks are
 * kept out in one of three ways, named at each benchmark:
 *   - masked: IRQs masked around the measurement, so no tick lands in it;
 *   - batches: batches of the operation are run until BENCH_BATCHES of them saw no tick
 *     (timer_now unchanged across the batch); the figure is the fewest instructions of
 *     those, batches=B how many there were and spread=S the most less the fewest (0: every
 *     tick-free batch counted the same);
 *   - samples: each tick is one sample, taken apart exactly (involuntary_switch, tick),
 *     SPIN_SAMPLES of each; spread as above.
 * Where a tick lands can vary from run to run (seen with QEMU 7.2), so which batches and
 * ticks are kept varies; the figures, and how many are kept, do not.
 */
    .include "macros.inc"
    .include "process.inc"
    .include "scheduler.inc"

    NO_EXEC_STACK

.equ PMU_INST_RETIRED,      0x08        /* architectural event: instruction retired */
.equ PMCR_E,                1           /* enable the counters */
.equ PMCR_P,                2           /* reset the event counters */
.equ PMCNTEN_COUNTER0,      1
.equ CALL_AND_RETURN,       2           /* blr + ret of the measured call */
.equ NO_BATCHES,            0           /* bench_print: the figure is not from batches */
.equ NO_SPREAD,             -1          /* bench_print: print no spread */
.equ BENCH_RUNS,            1000        /* calls of a masked benchmark */
.equ BENCH_BATCHES,         10          /* tick-free batches of a batched benchmark */
.equ BENCH_ATTEMPTS,        100         /* batches run at most, to find them */

/* voluntary_switch: YIELDS_PER_BATCH yields by each of two processes = 2x switches. */
.equ YIELDS_PER_BATCH,      50
.equ YIELD_LOOP,            2           /* per switch: the resumed side's subs+b.ne or ldr+cbz */

/* spawn_exit: a batch of SPAWN_BATCH spawns, then one wait for all of them. */
.equ SPAWN_BATCH,           1000
.equ SPAWN_BATCH_LOOP,      6           /* per spawn: LOAD_ADDR (2), 2 movs, subs, b.ne */
.equ SPAWN_BATCH_WAIT,      3           /* per batch: mov x21, mov x0, cbnz */

/* spawn_exit_wait: SPAWN_WAIT_PAIRS spawns, each waited for before the next. */
.equ SPAWN_WAIT_PAIRS,      20
.equ SPAWN_WAIT_LOOP,       9           /* per pair: LOAD_ADDR (2), 3 movs, cbnz, subs, b.ne, mov */

/* timer_insert_expire: the moves that pass the arguments of the two calls. */
.equ TIMER_ARG_MOVES,       4
.equ TIMER_AHEAD,           1           /* arm for the next tick: the slot is empty */
.equ SLEEPER_MS,            (1 << 20)   /* the sleeper's own timer: never due in the run */

/* involuntary_switch and tick: the spin loop, SPIN_LOOP instructions from read to read. */
.equ SPIN_LOOP,             9
.equ SPIN_LOOP_BYTES,       (SPIN_LOOP * 4)
.equ SPIN_PUBLISH_INDEX,    2           /* read index of the stp: at 1-2 the old read stands */
.equ SPIN_SAMPLES,          8           /* samples to take of each */
.equ SPIN_MARKER,           1           /* in the owner word: the record was reset */
/* The shared spin record (bench_spin_block). */
.equ SPIN_LAST_COUNT,       0           /* the last read, by anyone */
.equ SPIN_LAST_OWNER,       8           /* the PCB that made it (| SPIN_MARKER: reset) */
.equ SPIN_DONE,             16
.equ SPIN_SWITCH,           24          /* a sample set: count, min, max */
.equ SPIN_TICK,             48
.equ SAMPLE_COUNT,          0
.equ SAMPLE_MIN,            8
.equ SAMPLE_MAX,            16
.equ SPIN_BLOCK_SIZE,       72

    .section .rodata
.Lbench_str_head:           .asciz "actly: result bench="
.Lbench_str_instructions:   .asciz " instructions="
.Lbench_str_runs:           .asciz " runs="
.Lbench_str_batches:        .asciz " batches="
.Lbench_str_spread:         .asciz " spread="
.Lbench_str_lock:           .asciz "print_lock+print_unlock"
.Lbench_str_voluntary:      .asciz "voluntary_switch"
.Lbench_str_involuntary:    .asciz "involuntary_switch"
.Lbench_str_tick:           .asciz "tick"
.Lbench_str_spawn:          .asciz "spawn_exit"
.Lbench_str_spawn_wait:     .asciz "spawn_exit_wait"
.Lbench_str_timer:          .asciz "timer_insert_expire"

/* COUNT_START reg: reg = instructions retired so far (earlier ones retired first). */
.macro COUNT_START reg
    isb
    mrs     \reg, pmevcntr0_el0
.endm

/* COUNT_STOP reg, start: reg = instructions retired since COUNT_START start. */
.macro COUNT_STOP reg, start
    isb
    mrs     \reg, pmevcntr0_el0
    sub     \reg, \reg, \start
.endm

    .text

/* ---- Output ---------------------------------------------------------------------- */

/*
 * bench_print - print one result line under the console lock.
 * In: x0 = name, x1 = instructions per op, x2 = runs, x3 = batches or NO_BATCHES,
 * x4 = spread or NO_SPREAD.  Clobbers: x0-x17, flags.
 */
LFUNC bench_print
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    mov     x22, x3
    mov     x23, x4
    bl      console_lock
    LOAD_ADDR x0, .Lbench_str_head
    bl      uart_puts
    mov     x0, x19
    bl      uart_puts
    LOAD_ADDR x0, .Lbench_str_instructions
    bl      uart_puts
    mov     x0, x20
    bl      uart_put_dec
    LOAD_ADDR x0, .Lbench_str_runs
    bl      uart_puts
    mov     x0, x21
    bl      uart_put_dec
    cbz     x22, .Lbench_print_spread
    LOAD_ADDR x0, .Lbench_str_batches
    bl      uart_puts
    mov     x0, x22
    bl      uart_put_dec
.Lbench_print_spread:
    cmn     x23, #1                         /* NO_SPREAD */
    b.eq    .Lbench_print_end
    LOAD_ADDR x0, .Lbench_str_spread
    bl      uart_puts
    mov     x0, x23
    bl      uart_put_dec
.Lbench_print_end:
    bl      uart_newline
    bl      console_unlock
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_print

/* ---- Common pieces --------------------------------------------------------------- */

/* bench_read_cost - x0 = instructions COUNT_START + COUNT_STOP count with nothing between. */
LFUNC bench_read_cost
    COUNT_START x1
    COUNT_STOP x0, x1
    ret
ENDLFUNC bench_read_cost

/* bench_nothing - returns at once: the baseline a measured call is compared with. */
LFUNC bench_nothing
    ret
ENDLFUNC bench_nothing

/* bench_child - a spawned child that returns at once (a normal exit). */
LFUNC bench_child
    ret
ENDLFUNC bench_child

/*
 * bench_wait_exit - yield until the process x0 has exited (its pid is stale).
 * Clobbers: x0-x18, flags.
 */
LFUNC bench_wait_exit
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
.Lbench_wait_exit_poll:
    bl      yield
    mov     x0, x19
    bl      proc_lookup
    cbnz    x0, .Lbench_wait_exit_poll
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_wait_exit

/*
 * bench_stop_partner - set bench_stop, let the partner x0 see it and exit, clear it.
 * Clobbers: x0-x18, flags.
 */
LFUNC bench_stop_partner
    PUSH2   x29, x30
    mov     x29, sp
    LOAD_ADDR x1, bench_stop
    mov     x2, #1
    str     x2, [x1]
    bl      bench_wait_exit
    LOAD_ADDR x1, bench_stop
    str     xzr, [x1]
    POP2    x29, x30
    ret
ENDLFUNC bench_stop_partner

/* ---- Masked: a call repeated with IRQs masked -------------------------------------- */

/* bench_lock_pair - one uncontended print_lock and print_unlock. */
LFUNC bench_lock_pair
    PUSH2   x29, x30
    mov     x29, sp
    bl      print_lock
    bl      print_unlock
    POP2    x29, x30
    ret
ENDLFUNC bench_lock_pair

/*
 * bench_count - instructions retired while calling x0 BENCH_RUNS times.
 * In: x0 = function.  Out: x0 = instructions.  Clobbers: x0-x17, flags.
 */
LFUNC bench_count
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    mov     x19, x0
    mov     x20, #BENCH_RUNS
    COUNT_START x21
.Lbench_count_loop:
    blr     x19
    subs    x20, x20, #1
    b.ne    .Lbench_count_loop
    COUNT_STOP x0, x21
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_count

/*
 * bench_call - measure the function at x0 (masked) and print its result line named x1:
 * BENCH_RUNS calls, less as many calls of bench_nothing, plus the call and return.
 * Clobbers: x0-x17, flags.
 */
LFUNC bench_call
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    mov     x20, x1
    mrs     x21, daif
    msr     daifset, #2                     /* masked: no tick inside the count */
    bl      bench_count
    mov     x19, x0
    LOAD_ADDR x0, bench_nothing
    bl      bench_count
    msr     daif, x21
    sub     x19, x19, x0
    mov     x1, #BENCH_RUNS
    udiv    x19, x19, x1
    add     x1, x19, #CALL_AND_RETURN
    mov     x0, x20
    mov     x2, #BENCH_RUNS
    mov     x3, #NO_BATCHES
    mov     x4, #NO_SPREAD
    bl      bench_print
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_call

/* ---- Batches: keep the batches no tick landed in ----------------------------------- */

/*
 * bench_batches - run the batch function x0 until BENCH_BATCHES batches saw no tick (or
 * BENCH_ATTEMPTS ran); a batch returns the instructions it counted (COUNT_STOP).  Batches
 * across which timer_now changed saw a tick and are dropped.  Out: x0 = fewest
 * instructions of a kept batch, x1 = most, x2 = batches kept.  Clobbers: x0-x18, flags.
 */
LFUNC bench_batches
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    PUSH2   x25, x26
    mov     x19, x0
    mov     x20, #BENCH_ATTEMPTS
    mov     x21, #-1                        /* fewest */
    mov     x22, #0                         /* most */
    mov     x23, #0                         /* kept */
.Lbench_batches_run:
    bl      timer_now
    mov     x24, x0
    blr     x19
    mov     x25, x0
    bl      timer_now
    cmp     x0, x24
    b.ne    .Lbench_batches_next            /* a tick came: its handling is in the count */
    cmp     x25, x21
    csel    x21, x25, x21, lo
    cmp     x25, x22
    csel    x22, x25, x22, hi
    add     x23, x23, #1
    cmp     x23, #BENCH_BATCHES
    b.hs    .Lbench_batches_done
.Lbench_batches_next:
    subs    x20, x20, #1
    b.ne    .Lbench_batches_run
.Lbench_batches_done:
    mov     x0, x21
    mov     x1, x22
    mov     x2, x23
    POP2    x25, x26
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_batches

/*
 * bench_batched - measure the batch function x1 and print the line named x0:
 * (fewest instructions - counter reads - x3 * ops - x4) / ops per op.
 * In: x0 = name, x1 = batch function, x2 = ops per batch, x3 = loop instructions per op,
 * x4 = loop instructions per batch.  Clobbers: x0-x18, flags.
 */
LFUNC bench_batched
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    mov     x19, x0
    mov     x20, x2
    mul     x21, x2, x3
    add     x21, x21, x4                    /* the loop's own instructions */
    mov     x0, x1
    bl      bench_batches
    mov     x22, x0
    sub     x23, x1, x0                     /* spread */
    mov     x24, x2
    bl      bench_read_cost
    sub     x1, x22, x0
    sub     x1, x1, x21
    udiv    x1, x1, x20
    mov     x0, x19
    mov     x2, x20
    mov     x3, x24
    mov     x4, x23
    bl      bench_print
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_batched

/* ---- voluntary_switch ------------------------------------------------------------
 * Two processes on core 0 take turns through yield: one switch is from a bl yield in
 * one process to the return from yield in the other (save, sched_enter re-enqueues the
 * caller, pick, frame_resume_voluntary).  Batches.                                   */

/* bench_yield_partner - yield until bench_stop is set (2 instructions between yields). */
LFUNC bench_yield_partner
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    LOAD_ADDR x19, bench_stop
.Lbench_yield_partner_loop:
    bl      yield
    ldr     x0, [x19]
    cbz     x0, .Lbench_yield_partner_loop
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_yield_partner

/* bench_yield_batch - YIELDS_PER_BATCH yields, each answered by one of the partner's. */
LFUNC bench_yield_batch
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, #YIELDS_PER_BATCH
    COUNT_START x20
.Lbench_yield_batch_loop:
    bl      yield
    subs    x19, x19, #1
    b.ne    .Lbench_yield_batch_loop
    COUNT_STOP x0, x20
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_yield_batch

LFUNC bench_voluntary
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    LOAD_ADDR x0, bench_yield_partner
    mov     x1, #0
    mov     x2, #0
    bl      spawn
    mov     x19, x0
    bl      yield                           /* the partner starts and waits in its yield */
    LOAD_ADDR x0, .Lbench_str_voluntary
    LOAD_ADDR x1, bench_yield_batch
    mov     x2, #(2 * YIELDS_PER_BATCH)
    mov     x3, #YIELD_LOOP
    mov     x4, #0
    bl      bench_batched
    mov     x0, x19
    bl      bench_stop_partner
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_voluntary

/* ---- spawn_exit and spawn_exit_wait -------------------------------------------------
 * The child returns at once.  Per pair: the spawn call, the child's first resume
 * (proc_start), its return, exit, the scheduler freeing the slot, and the parent's share
 * of the switches that let it run and come back to the parent.  Batches.
 *   spawn_exit (BEAM's 1a): SPAWN_BATCH spawns back to back, then one yield and
 *     proc_lookup of the last pid (FIFO: the children all ran and exited before the
 *     parent is picked again): per pair, one spawn, one switch to the next process,
 *     one exit, and 1/SPAWN_BATCH of the parent's yield and poll.
 *   spawn_exit_wait (sequential): spawn, then yield and proc_lookup until the pid is
 *     stale, one child at a time: per pair, a spawn, the parent's yield (switch to
 *     the child), the child's exit and the switch back, and one proc_lookup.         */

LFUNC bench_spawn_batch
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    mov     x19, #SPAWN_BATCH
    COUNT_START x20
.Lbench_spawn_batch_spawn:
    LOAD_ADDR x0, bench_child
    mov     x1, #0
    mov     x2, #0
    bl      spawn
    subs    x19, x19, #1
    b.ne    .Lbench_spawn_batch_spawn
    mov     x21, x0                         /* the last child: it exits last */
.Lbench_spawn_batch_wait:
    bl      yield
    mov     x0, x21
    bl      proc_lookup
    cbnz    x0, .Lbench_spawn_batch_wait
    COUNT_STOP x0, x20
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_spawn_batch

LFUNC bench_spawn_wait_batch
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    mov     x19, #SPAWN_WAIT_PAIRS
    COUNT_START x20
.Lbench_spawn_wait_spawn:
    LOAD_ADDR x0, bench_child
    mov     x1, #0
    mov     x2, #0
    bl      spawn
    mov     x21, x0
.Lbench_spawn_wait_poll:
    bl      yield
    mov     x0, x21
    bl      proc_lookup
    cbnz    x0, .Lbench_spawn_wait_poll
    subs    x19, x19, #1
    b.ne    .Lbench_spawn_wait_spawn
    COUNT_STOP x0, x20
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_spawn_wait_batch

/* ---- timer_insert_expire -------------------------------------------------------------
 * One timer armed and fired: timer_insert of a sleeping process's timer for the next
 * tick, then timer_expire of that tick's slot, which unlinks it, wakes the process
 * (proc_state_wake) and enqueues it (sched_enqueue).  Both are called directly, with IRQs
 * masked (as the tick would run timer_expire), on a partner process that sleeps with a
 * timer far in the future: its timer is cancelled first (not counted), so the slot holds
 * just the one timer.  The tick interrupt and the switches are not included (`tick` and
 * `involuntary_switch` have those).  Masked; summed over BENCH_RUNS.                   */

/* bench_sleeper - sleep SLEEPER_MS at a time until bench_stop is set. */
LFUNC bench_sleeper
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    LOAD_ADDR x19, bench_stop
.Lbench_sleeper_loop:
    mov     x0, #SLEEPER_MS
    bl      sleep
    ldr     x0, [x19]
    cbz     x0, .Lbench_sleeper_loop
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_sleeper

LFUNC bench_timer
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    PUSH2   x25, x26
    LOAD_ADDR x0, bench_sleeper
    mov     x1, #0
    mov     x2, #0
    bl      spawn
    mov     x19, x0                         /* its pid */
    bl      proc_lookup
    mov     x20, x0                         /* its PCB */
    mov     x21, #BENCH_RUNS
    mov     x22, #0                         /* instructions, summed */
.Lbench_timer_run:
    bl      yield                           /* the sleeper runs into sleep again */
    ldr     w0, [x20, #PCB_TIMER_ARMED]
    cbz     w0, .Lbench_timer_run
    cmp     x21, #1
    b.ne    .Lbench_timer_measure
    LOAD_ADDR x0, bench_stop                /* the last run: the woken sleeper returns */
    mov     x1, #1
    str     x1, [x0]
.Lbench_timer_measure:
    msr     daifset, #2
    mov     x0, x20
    bl      timer_cancel
    bl      timer_now
    add     x23, x0, #TIMER_AHEAD
    mrs     x24, tpidrro_el0                /* this core's block */
    COUNT_START x25
    mov     x0, x20
    mov     x1, x23
    bl      timer_insert
    mov     x0, x24
    mov     x1, x23
    bl      timer_expire
    COUNT_STOP x26, x25
    msr     daifclr, #2
    add     x22, x22, x26
    subs    x21, x21, #1
    b.ne    .Lbench_timer_run
    mov     x0, x19
    bl      bench_wait_exit
    LOAD_ADDR x0, bench_stop
    str     xzr, [x0]
    bl      bench_read_cost
    add     x0, x0, #TIMER_ARG_MOVES
    mov     x1, #BENCH_RUNS
    msub    x22, x0, x1, x22                /* less the reads and moves of every run */
    udiv    x1, x22, x1
    LOAD_ADDR x0, .Lbench_str_timer
    mov     x2, #BENCH_RUNS
    mov     x3, #NO_BATCHES
    mov     x4, #NO_SPREAD
    bl      bench_print
    POP2    x25, x26
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_timer

/* ---- involuntary_switch and tick ------------------------------------------------------
 * Two busy processes on core 0 spin in bench_spin, each read of the counter published in
 * one shared record with the reader's PCB.  Between two reads with no interrupt lie
 * exactly SPIN_LOOP instructions.  A slice runs from its pick, so the tick preempts every
 * second time: the other ticks return to the process they interrupted.
 *   tick: a read that follows the same process's read by more than SPIN_LOOP: the tick
 *     came between them and returned to the same point, so the jump less SPIN_LOOP is
 *     the whole tick: exception entry, irq_entry's full save, irq_handle (acknowledge,
 *     timer_tick with an empty wheel slot, end of interrupt, the slice check),
 *     frame_resume_full and eret.
 *   involuntary_switch: a read that follows the other process's: the tick preempted it
 *     and resumed this one.  The interrupted point of each is in its saved frame (ELR),
 *     which gives exactly how many loop instructions the other ran after its read and
 *     this one ran before its read; less those, the jump is the tick that preempts (as
 *     above, with the slice charged) plus the switch: sched_enter accounting and
 *     re-enqueueing the preempted process, the pick, and frame_resume_full of the other.
 * A sample whose points are not both in the loop, or whose record is stale, is dropped.
 * Samples: SPIN_SAMPLES of each; the figure is the fewest, spread the most less it.  */

/*
 * bench_spin_record - add the sample x4 to the sample set x0 (count, min, max), unless
 * it has SPIN_SAMPLES already.  Clobbers: x1, flags.
 */
LFUNC bench_spin_record
    ldr     x1, [x0, #SAMPLE_COUNT]
    cmp     x1, #SPIN_SAMPLES
    b.hs    .Lbench_spin_record_full
    add     x1, x1, #1
    str     x1, [x0, #SAMPLE_COUNT]
    ldr     x1, [x0, #SAMPLE_MIN]
    cmp     x4, x1
    csel    x1, x4, x1, lo
    str     x1, [x0, #SAMPLE_MIN]
    ldr     x1, [x0, #SAMPLE_MAX]
    cmp     x4, x1
    csel    x1, x4, x1, hi
    str     x1, [x0, #SAMPLE_MAX]
.Lbench_spin_record_full:
    ret
ENDLFUNC bench_spin_record

/*
 * bench_spin_index - where the last interrupt of the spinning process x0 came (its
 * frame's ELR, which irq_entry writes at every interrupt), as a read index: 0 at the
 * mrs, SPIN_LOOP - 1 at the isb before it.  In: x1 = .Lbench_spin_top.
 * Out: x0 = the index, or -1 if it was not in the loop.
 * Clobbers: x1, x2, flags.
 */
LFUNC bench_spin_index
    ldr     x2, [x0, #(PCB_FRAME + FRAME_ELR)]
    sub     x2, x2, x1
    cmp     x2, #SPIN_LOOP_BYTES
    b.hs    .Lbench_spin_index_none
    lsr     x2, x2, #2                      /* loop index: the isb is 0 */
    mov     x1, #(SPIN_LOOP - 1)
    subs    x2, x2, #1
    csel    x0, x1, x2, lo
    ret
.Lbench_spin_index_none:
    mov     x0, #-1
    ret
ENDLFUNC bench_spin_index

/*
 * bench_spin - spin reading the counter until SPIN_SAMPLES involuntary switches and as
 * many ticks are recorded in bench_spin_block.  Clobbers: x0-x18, flags.  Called by a process.
 */
LFUNC bench_spin
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    PUSH2   x23, x24
    bl      self
    bl      proc_lookup
    mov     x20, x0                         /* this process's PCB */
    LOAD_ADDR x19, bench_spin_block
    LOAD_ADDR x21, .Lbench_spin_top
.Lbench_spin_top:                           /* SPIN_LOOP instructions from read to read */
    isb                                     /* the read comes after all before it */
.Lbench_spin_read:                          /* read index 0 (loop index 1) */
    mrs     x1, pmevcntr0_el0
    ldp     x2, x3, [x19, #SPIN_LAST_COUNT]
    stp     x1, x20, [x19, #SPIN_LAST_COUNT]
    sub     x4, x1, x2
    cmp     x3, x20
    ccmp    x4, #SPIN_LOOP, #0, eq          /* eq: its own last read, SPIN_LOOP ago */
    b.ne    .Lbench_spin_event
    b       .Lbench_spin_top
.Lbench_spin_event:
    /* SPIN_MARKER: this read restarts the record (2 instructions, as the loop's path). */
    tbnz    x3, #0, .Lbench_spin_top
    isb                                     /* a read SPIN_LOOP after the loop's, as if */
    mrs     x10, pmevcntr0_el0              /* the loop had gone round once more */
    msr     daifset, #2
    ldr     x5, [x19, #SPIN_DONE]
    cbnz    x5, .Lbench_spin_done
    mov     x22, x10
    cmp     x3, x20
    b.ne    .Lbench_spin_switch
    /* Its own last read: a tick came between and returned to the point it interrupted
       (its frame's ELR).  Dropped if that was at read index 2: then it may have been a
       preemption after which the stale read was published. */
    mov     x0, x20
    mov     x1, x21
    bl      bench_spin_index
    cmp     x0, #SPIN_PUBLISH_INDEX
    b.eq    .Lbench_spin_rearm
    cmn     x0, #1
    b.eq    .Lbench_spin_rearm
    sub     x4, x4, #SPIN_LOOP
    add     x0, x19, #SPIN_TICK
    bl      bench_spin_record
    b       .Lbench_spin_full
.Lbench_spin_switch:
    /* x3 = the preempted process (x2 its published read): both frames must be full saves
       taken in the loop. */
    mov     x23, x2
    ldr     w5, [x3, #PCB_FRAME_KIND]
    cmp     w5, #FRAME_KIND_FULL
    b.ne    .Lbench_spin_rearm
    ldr     w5, [x20, #PCB_FRAME_KIND]
    cmp     w5, #FRAME_KIND_FULL
    b.ne    .Lbench_spin_rearm
    mov     x0, x3
    mov     x1, x21
    bl      bench_spin_index
    cmn     x0, #1
    b.eq    .Lbench_spin_rearm
    mov     x6, x0                          /* its read index i */
    mov     x0, x20
    mov     x1, x21
    bl      bench_spin_index
    cmn     x0, #1
    b.eq    .Lbench_spin_rearm
    cmp     x0, #SPIN_PUBLISH_INDEX         /* it loaded the record before it was preempted */
    b.eq    .Lbench_spin_rearm
    mov     x7, x0                          /* this one's read index j */
    /* The preempted one ran from its published read to its interrupt: i instructions,
       a whole trip if i = 0, and a trip more if it had read but not yet published
       (i = 1, 2).  This one ran from its resume to x10: SPIN_LOOP - j, and a trip more
       if it resumed past the publication (j > 2): its own next read came first. */
    mov     x8, #SPIN_LOOP
    cmp     x6, #0
    csel    x6, x8, x6, eq
    cmp     x6, #SPIN_PUBLISH_INDEX
    add     x9, x6, #SPIN_LOOP
    csel    x6, x9, x6, ls
    sub     x9, x8, x7
    cmp     x7, #SPIN_PUBLISH_INDEX
    add     x8, x9, #SPIN_LOOP
    csel    x9, x8, x9, hi
    sub     x4, x22, x23
    sub     x4, x4, x6
    sub     x4, x4, x9
    add     x0, x19, #SPIN_SWITCH
    bl      bench_spin_record
.Lbench_spin_full:
    ldr     x5, [x19, #(SPIN_SWITCH + SAMPLE_COUNT)]
    cmp     x5, #SPIN_SAMPLES
    b.lo    .Lbench_spin_rearm
    ldr     x5, [x19, #(SPIN_TICK + SAMPLE_COUNT)]
    cmp     x5, #SPIN_SAMPLES
    b.lo    .Lbench_spin_rearm
    mov     x5, #1
    str     x5, [x19, #SPIN_DONE]
.Lbench_spin_rearm:
    /* This handler ran between reads: the next read only restarts the record. */
    orr     x5, x20, #SPIN_MARKER
    str     x5, [x19, #SPIN_LAST_OWNER]
    msr     daifclr, #2
    b       .Lbench_spin_top
.Lbench_spin_done:
    msr     daifclr, #2
    POP2    x23, x24
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_spin

/* bench_spin_partner - the second spinning process. */
LFUNC bench_spin_partner
    PUSH2   x29, x30
    mov     x29, sp
    bl      bench_spin
    POP2    x29, x30
    ret
ENDLFUNC bench_spin_partner

/*
 * bench_spin_print - print the sample set x1 as the line named x0.
 * Clobbers: x0-x17, flags.
 */
LFUNC bench_spin_print
    ldr     x2, [x1, #SAMPLE_COUNT]
    ldr     x4, [x1, #SAMPLE_MAX]
    ldr     x1, [x1, #SAMPLE_MIN]
    sub     x4, x4, x1
    mov     x3, #NO_BATCHES
    b       bench_print
ENDLFUNC bench_spin_print

LFUNC bench_involuntary
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    LOAD_ADDR x19, bench_spin_block
    mov     x0, #SPIN_MARKER
    str     x0, [x19, #SPIN_LAST_OWNER]
    str     xzr, [x19, #SPIN_DONE]
    mov     x0, #-1
    str     xzr, [x19, #(SPIN_SWITCH + SAMPLE_COUNT)]
    str     x0, [x19, #(SPIN_SWITCH + SAMPLE_MIN)]
    str     xzr, [x19, #(SPIN_SWITCH + SAMPLE_MAX)]
    str     xzr, [x19, #(SPIN_TICK + SAMPLE_COUNT)]
    str     x0, [x19, #(SPIN_TICK + SAMPLE_MIN)]
    str     xzr, [x19, #(SPIN_TICK + SAMPLE_MAX)]
    LOAD_ADDR x0, bench_spin_partner
    mov     x1, #0
    mov     x2, #0
    bl      spawn
    mov     x20, x0
    bl      bench_spin
    mov     x0, x20
    bl      bench_wait_exit                 /* it sees SPIN_DONE at its next tick */
    LOAD_ADDR x0, .Lbench_str_involuntary
    add     x1, x19, #SPIN_SWITCH
    bl      bench_spin_print
    LOAD_ADDR x0, .Lbench_str_tick
    add     x1, x19, #SPIN_TICK
    bl      bench_spin_print
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_involuntary

/*
 * scenario_main - set up PMU counter 0 for instructions retired, then run each benchmark.
 * Runs as the first process, on core 0.  Clobbers: x0-x17, flags.
 */
FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    mov     x0, #PMU_INST_RETIRED
    msr     pmevtyper0_el0, x0
    mov     x0, #PMCNTEN_COUNTER0
    msr     pmcntenset_el0, x0
    mrs     x0, pmcr_el0
    orr     x0, x0, #(PMCR_E | PMCR_P)
    msr     pmcr_el0, x0
    isb                                     /* the counter runs before the first read */
    LOAD_ADDR x0, bench_lock_pair
    LOAD_ADDR x1, .Lbench_str_lock
    bl      bench_call
    bl      bench_voluntary
    bl      bench_involuntary
    LOAD_ADDR x0, .Lbench_str_spawn
    LOAD_ADDR x1, bench_spawn_batch
    mov     x2, #SPAWN_BATCH
    mov     x3, #SPAWN_BATCH_LOOP
    mov     x4, #SPAWN_BATCH_WAIT
    bl      bench_batched
    LOAD_ADDR x0, .Lbench_str_spawn_wait
    LOAD_ADDR x1, bench_spawn_wait_batch
    mov     x2, #SPAWN_WAIT_PAIRS
    mov     x3, #SPAWN_WAIT_LOOP
    mov     x4, #0
    bl      bench_batched
    bl      bench_timer
    POP2    x29, x30
    ret
ENDFUNC scenario_main

    .bss

/* Set to end a partner process's loop. */
LOBJECT bench_stop, CACHE_LINE
    .space  8
ENDOBJECT bench_stop

/* The spin loop's shared record and samples. */
LOBJECT bench_spin_block, CACHE_LINE
    .space  SPIN_BLOCK_SIZE
ENDOBJECT bench_spin_block
