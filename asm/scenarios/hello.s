/*
 * hello - the smallest scenario: core 0 reports one machine-readable result line after the
 * rendezvous. Scenario programs print `actly: result key=value ...` lines, which the tests
 * read back (verify/qemu.py: results).
 */
    .include "macros.inc"

    NO_EXEC_STACK

    .section .rodata
.Lhello_str_result:         .asciz "actly: result scenario=hello status=pass"

    .text

/*
 * scenario_main - called once by runtime_main on core 0 after every core arrived.
 * In: none.  Out: none.  Clobbers: x0-x17 (AAPCS64 caller-saved), flags.
 * Callable (AAPCS64).
 */
FUNC scenario_main
    PUSH2   x29, x30
    mov     x29, sp
    bl      print_lock
    LOAD_ADDR x0, .Lhello_str_result
    bl      uart_puts
    bl      uart_newline
    bl      print_unlock
    POP2    x29, x30
    ret
ENDFUNC scenario_main
