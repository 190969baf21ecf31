/*
 * runtime.s - what every core runs once boot.s is done: report itself,
 * meet the other cores at a rendezvous, then core 0 powers the system off
 * while the others park.  Also the handler for unexpected exceptions.
 */
    .include "macros.inc"

    NO_EXEC_STACK

.equ CURRENTEL_EL_SHIFT,    2           /* CurrentEL.EL is bits [3:2] */
.equ BOOT_CORE_INDEX,       0
.equ PSCI_SYSTEM_OFF,       0x84000008
.equ COUNTER_ALIGN,         64          /* each counter on its own cache line */
.equ U64_BYTES,             8

    .section .rodata
.Lruntime_str_core:         .asciz "actly: core "
.Lruntime_str_up_mpidr:     .asciz " up mpidr="
.Lruntime_str_midr:         .asciz " midr="
.Lruntime_str_el:           .asciz " el="
.Lruntime_str_rendezvous:   .asciz "actly: rendezvous "
.Lruntime_str_of:           .asciz " of "
.Lruntime_str_cores:        .asciz " cores"
.Lruntime_str_off:          .asciz "actly: system off"
.Lruntime_str_off_failed:   .asciz "actly: system off failed"
.Lruntime_str_exception:    .asciz "actly: exception core "
.Lruntime_str_esr:          .asciz " esr="
.Lruntime_str_elr:          .asciz " elr="
.Lruntime_str_far:          .asciz " far="

/* scenario_main's address in a scenario image, 0 in the product image (a weak symbol). */
LOBJECT runtime_scenario_entry, U64_BYTES
    .quad   scenario_main
ENDOBJECT runtime_scenario_entry

    .text

/*
 * runtime_main - per-core main, entered from boot.s on every core with MMU,
 * caches, stack and vectors set up.
 * In: x0 = core index (0 = boot core).
 * Prints one line "actly: core N up mpidr=... midr=... el=N" under the
 * print lock, counts itself in runtime_arrived, and waits until every core
 * boot.s started has either arrived or halted in runtime_exception.  Core 0
 * then prints the rendezvous and "system off" lines and calls PSCI
 * SYSTEM_OFF; the other cores park in WFE.
 * Ordering: a core's line is complete (released by print_unlock) before its
 * arrival is counted, so core 0's closing lines come after all core lines.
 * Not callable: never returns.
 */
    .weak   scenario_main

FUNC runtime_main
    mov     x19, x0                         /* never returns: nothing of the caller's to save */

    bl      print_lock
    LOAD_ADDR x0, .Lruntime_str_core
    bl      uart_puts
    mov     x0, x19
    bl      uart_put_dec
    LOAD_ADDR x0, .Lruntime_str_up_mpidr
    bl      uart_puts
    mrs     x0, mpidr_el1
    bl      uart_put_hex
    LOAD_ADDR x0, .Lruntime_str_midr
    bl      uart_puts
    mrs     x0, midr_el1
    bl      uart_put_hex
    LOAD_ADDR x0, .Lruntime_str_el
    bl      uart_puts
    mrs     x0, CurrentEL
    lsr     x0, x0, #CURRENTEL_EL_SHIFT
    bl      uart_put_dec
    bl      uart_newline
    bl      print_unlock

    /* Each core's scheduler block, interrupt controller and tick; core 0
       first sets up what is shared.  All before this core counts itself
       arrived, so after the rendezvous every scheduler is ready. */
    cbnz    x19, .Lruntime_main_core_init
    bl      proc_table_init
    bl      board_gic_init
.Lruntime_main_core_init:
    mov     x0, x19
    bl      sched_core_init

    LOAD_ADDR x0, runtime_arrived
    bl      runtime_count_up
    bl      runtime_wait_rendezvous         /* x0 = arrived, x1 = started */
    cmp     x19, #BOOT_CORE_INDEX
    b.ne    .Lruntime_main_secondary

    mov     x19, x0
    mov     x20, x1
    bl      print_lock
    LOAD_ADDR x0, .Lruntime_str_rendezvous
    bl      uart_puts
    mov     x0, x19
    bl      uart_put_dec
    LOAD_ADDR x0, .Lruntime_str_of
    bl      uart_puts
    mov     x0, x20
    bl      uart_put_dec
    LOAD_ADDR x0, .Lruntime_str_cores
    bl      uart_puts
    bl      uart_newline
    bl      print_unlock

    /* A scenario image (asm/scenarios/, built by `verify build --scenario`) runs its
       scenario_main as the first process, on core 0, and every core schedules; the
       product image has none (the pointer is 0) and powers off.  (An absolute pointer,
       because the linker turns adrp of a missing weak symbol into the current page
       rather than 0.) */
    LOAD_ADDR x0, runtime_scenario_entry
    ldr     x0, [x0]
    cbz     x0, .Lruntime_main_off
    LOAD_ADDR x0, runtime_first_process
    mov     x1, #0
    mov     x2, #0
    bl      spawn
    b       sched_start
.Lruntime_main_off:
    bl      runtime_power_off
.Lruntime_main_secondary:
    LOAD_ADDR x0, runtime_scenario_entry
    ldr     x0, [x0]
    cbnz    x0, sched_start                 /* a scenario: schedule */
.Lruntime_main_park:
    wfe                                     /* park: sleep between events, forever */
    b       .Lruntime_main_park
ENDFUNC runtime_main

/*
 * runtime_first_process - the scenario image's first process: runs
 * scenario_main, then powers the system off.
 * Not callable: the entry of a spawned process; never returns.
 */
FUNC runtime_first_process
    LOAD_ADDR x0, runtime_scenario_entry
    ldr     x0, [x0]
    blr     x0
    bl      runtime_power_off
ENDFUNC runtime_first_process

/*
 * runtime_power_off - print "actly: system off", drain the UART and power
 * off with PSCI SYSTEM_OFF; if that fails, say so and park this core.
 * Not callable: never returns.
 */
FUNC runtime_power_off
    msr     daifset, #2                     /* nothing may interrupt the last line */
    bl      print_lock
    LOAD_ADDR x0, .Lruntime_str_off
    bl      uart_puts
    bl      uart_newline
    bl      board_uart_flush                /* last byte out before the power goes */
    MOV64   x0, PSCI_SYSTEM_OFF
    bl      psci_call                       /* returns only on failure */
    LOAD_ADDR x0, .Lruntime_str_off_failed
    bl      uart_puts
    bl      uart_newline
    bl      print_unlock
.Lruntime_power_off_park:
    wfe                                     /* park: sleep between events, forever */
    b       .Lruntime_power_off_park
ENDFUNC runtime_power_off

/*
 * runtime_count_up - atomically add 1 to the 64-bit counter at x0 and wake
 * WFE waiters.  Stackless leaf.  Out: x0 = new value.  Clobbers: x0-x2.
 * Ordering: release - the caller's earlier accesses are observed before
 * the increment.
 */
LFUNC runtime_count_up
.Lruntime_count_up_retry:
    ldaxr   x1, [x0]                        /* exclusive load; acquire keeps later accesses after it */
    add     x1, x1, #1
    stlxr   w2, x1, [x0]                    /* release: earlier output ordered before the count */
    cbnz    w2, .Lruntime_count_up_retry
    dsb     ish                             /* new count visible to all cores before the event wakes them */
    sev                                     /* wake cores waiting in runtime_wait_rendezvous */
    mov     x0, x1
    ret
ENDLFUNC runtime_count_up

/*
 * runtime_wait_rendezvous - wait until boot has published the number of
 * cores it started and arrived + halted cores reach it.
 * Stackless leaf.  Out: x0 = cores arrived, x1 = cores started.
 * Clobbers: x0-x6, flags.
 * Ordering: acquire loads - whatever a core did before being counted is
 * visible to the caller on return.
 */
LFUNC runtime_wait_rendezvous
    LOAD_ADDR x3, boot_cores_started
    LOAD_ADDR x4, runtime_arrived
    LOAD_ADDR x5, runtime_halted
.Lruntime_wait_rendezvous_check:
    ldar    x1, [x3]                        /* acquire: pairs with boot's stlr of the count */
    cbz     x1, .Lruntime_wait_rendezvous_sleep
    ldar    x0, [x4]                        /* acquire: pairs with the counters' stlxr */
    ldar    x2, [x5]                        /* acquire: pairs with runtime_exception's stlxr */
    add     x6, x0, x2
    cmp     x6, x1
    b.hs    .Lruntime_wait_rendezvous_done
.Lruntime_wait_rendezvous_sleep:
    wfe                                     /* a SEV after any counter update ends this */
    b       .Lruntime_wait_rendezvous_check
.Lruntime_wait_rendezvous_done:
    ret
ENDLFUNC runtime_wait_rendezvous

/*
 * runtime_exception - common target of every vector entry.  Prints
 * "actly: exception core N esr=0x... elr=0x... far=0x..." under the print
 * lock, counts the core as halted (so the rendezvous does not wait for it)
 * and parks this core forever; the other cores go on.
 * In: the exception state (ESR/ELR/FAR_EL1), TPIDR_EL1 = core index, the
 * interrupted sp.  Clobbers everything; never returns.
 * Not callable: reached only by a branch from the vector table.
 * Limitation: a fault taken while this core holds the print lock deadlocks
 * the console for every core.
 */
FUNC runtime_exception
    mrs     x19, esr_el1                    /* capture before anything else can fault */
    mrs     x20, elr_el1
    mrs     x21, far_el1
    mrs     x22, tpidr_el1
    bl      print_lock
    LOAD_ADDR x0, .Lruntime_str_exception
    bl      uart_puts
    mov     x0, x22
    bl      uart_put_dec
    LOAD_ADDR x0, .Lruntime_str_esr
    bl      uart_puts
    mov     x0, x19
    bl      uart_put_hex
    LOAD_ADDR x0, .Lruntime_str_elr
    bl      uart_puts
    mov     x0, x20
    bl      uart_put_hex
    LOAD_ADDR x0, .Lruntime_str_far
    bl      uart_puts
    mov     x0, x21
    bl      uart_put_hex
    bl      uart_newline
    bl      print_unlock
    LOAD_ADDR x0, runtime_halted
    bl      runtime_count_up
.Lruntime_exception_park:
    wfe                                     /* park: this core stays halted */
    b       .Lruntime_exception_park
ENDFUNC runtime_exception

    .bss

/* Cores that reached the rendezvous. */
LOBJECT runtime_arrived, COUNTER_ALIGN
    .space  U64_BYTES
ENDOBJECT runtime_arrived

/* Cores stopped by runtime_exception. */
LOBJECT runtime_halted, COUNTER_ALIGN
    .space  U64_BYTES
ENDOBJECT runtime_halted
