/*
 * bench - instruction counts of runtime operations, for `verify bench`.
 *
 * Run under QEMU with -icount shift=0, where PMU event 0x08 (instructions retired) counts
 * exactly. Each benchmark calls an operation RUNS times through bench_count and reports
 *   actly: result bench=<name> instructions=<per call> runs=<RUNS>
 * where the per-call figure includes the call and return (a call to a function that only
 * returns is measured the same way and subtracted, then its 2 instructions added back).
 */
    .include "macros.inc"

    NO_EXEC_STACK

.equ BENCH_RUNS,            1000
.equ PMU_INST_RETIRED,      0x08        /* architectural event: instruction retired */
.equ PMCR_E,                1           /* enable the counters */
.equ PMCR_P,                2           /* reset the event counters */
.equ PMCNTEN_COUNTER0,      1
.equ CALL_AND_RETURN,       2           /* blr + ret of the measured call */

    .section .rodata
.Lbench_str_head:           .asciz "actly: result bench="
.Lbench_str_instructions:   .asciz " instructions="
.Lbench_str_runs:           .asciz " runs="
.Lbench_str_lock:           .asciz "print_lock+print_unlock"

    .text

/* bench_nothing - returns at once: the baseline a measured call is compared with. */
LFUNC bench_nothing
    ret
ENDLFUNC bench_nothing

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
    isb                                     /* earlier instructions retire before the read */
    mrs     x21, pmevcntr0_el0
.Lbench_count_loop:
    blr     x19
    subs    x20, x20, #1
    b.ne    .Lbench_count_loop
    isb
    mrs     x22, pmevcntr0_el0
    sub     x0, x22, x21
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_count

/*
 * bench_report - measure the function at x0 and print its result line named by x1.
 * In: x0 = function, x1 = name.  Clobbers: x0-x17, flags.
 */
LFUNC bench_report
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x20, x1
    bl      bench_count
    mov     x19, x0
    LOAD_ADDR x0, bench_nothing
    bl      bench_count
    sub     x19, x19, x0
    mov     x1, #BENCH_RUNS
    udiv    x19, x19, x1
    add     x19, x19, #CALL_AND_RETURN
    LOAD_ADDR x0, .Lbench_str_head
    bl      uart_puts
    mov     x0, x20
    bl      uart_puts
    LOAD_ADDR x0, .Lbench_str_instructions
    bl      uart_puts
    mov     x0, x19
    bl      uart_put_dec
    LOAD_ADDR x0, .Lbench_str_runs
    bl      uart_puts
    mov     x0, #BENCH_RUNS
    bl      uart_put_dec
    bl      uart_newline
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC bench_report

/*
 * scenario_main - set up PMU counter 0 for instructions retired, then run each benchmark.
 * Called once by runtime_main on core 0.  Clobbers: x0-x17, flags.
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
    bl      bench_report
    POP2    x29, x30
    ret
ENDFUNC scenario_main
