/*
 * uart.s - board-free console printing on top of board_putc, and the print
 * lock that keeps lines from different cores whole.
 *
 * None of these functions takes the print lock by itself: a caller that
 * wants an uninterrupted line brackets it with print_lock / print_unlock.
 */
    .include "macros.inc"

    NO_EXEC_STACK

.equ ASCII_NUL,         0x00
.equ ASCII_LF,          0x0a
.equ ASCII_ZERO,        0x30            /* '0' */
.equ ASCII_X,           0x78            /* 'x' */
.equ ASCII_A_LOWER,     0x61            /* 'a' */

.equ CHAR_BYTES,        1
.equ NIBBLE_BITS,       4
.equ NIBBLE_MASK,       0xf
.equ HEX_TOP_SHIFT,     60              /* shift that brings the top nibble of 64 bits down */
.equ DECIMAL_BASE,      10
/* The largest power of ten below 2^64: the place of the first of up to 20 digits. */
.equ DEC_TOP_POWER,     10000000000000000000

.equ LOCK_FREE,         0
.equ LOCK_HELD,         1
.equ LOCK_ALIGN,        64              /* own cache line: no false sharing with other data */

    .text

/*
 * uart_puts - print a NUL-terminated string.
 * In: x0 = string address.  Out: none.
 * Clobbers: x0-x17 (AAPCS64 caller-saved), flags.
 * Ordering: bytes leave in string order; not serialised against other cores.
 * Callable (AAPCS64).
 */
FUNC uart_puts
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
.Luart_puts_loop:
    ldrb    w0, [x19], #CHAR_BYTES
    cbz     w0, .Luart_puts_done
    bl      board_putc
    b       .Luart_puts_loop
.Luart_puts_done:
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC uart_puts

/*
 * uart_put_hex - print a 64-bit value as "0x" and 16 lower-case hex digits.
 * In: x0 = value.  Out: none.
 * Clobbers: x0-x17 (AAPCS64 caller-saved), flags.
 * Ordering: as uart_puts.  Callable (AAPCS64).
 */
FUNC uart_put_hex
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0
    mov     w0, #ASCII_ZERO
    bl      board_putc
    mov     w0, #ASCII_X
    bl      board_putc
    mov     x20, #HEX_TOP_SHIFT
.Luart_put_hex_loop:
    lsr     x0, x19, x20
    and     x0, x0, #NIBBLE_MASK
    add     x1, x0, #ASCII_ZERO
    add     x2, x0, #(ASCII_A_LOWER - DECIMAL_BASE)
    cmp     x0, #DECIMAL_BASE
    csel    x0, x1, x2, lo                  /* 0-9 or a-f */
    bl      board_putc
    subs    x20, x20, #NIBBLE_BITS
    b.ge    .Luart_put_hex_loop
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC uart_put_hex

/*
 * uart_put_dec - print an unsigned 64-bit value in decimal, no padding.
 * In: x0 = value.  Out: none.
 * Clobbers: x0-x17 (AAPCS64 caller-saved), flags.
 * Ordering: as uart_puts.  Callable (AAPCS64).
 * Digits come from dividing by falling powers of ten, so nothing is stored
 * through a moving pointer and the verifier can summarise both loops.
 */
FUNC uart_put_dec
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    mov     x19, x0                         /* what is left to print */
    MOV64   x20, DEC_TOP_POWER              /* power of ten of the current digit */
.Luart_put_dec_skip:                        /* drop leading zeros, keep the units digit */
    cmp     x20, #1
    b.ls    .Luart_put_dec_digit
    cmp     x19, x20
    b.hs    .Luart_put_dec_digit
    mov     x9, #DECIMAL_BASE
    udiv    x20, x20, x9
    b       .Luart_put_dec_skip
.Luart_put_dec_digit:
    udiv    x0, x19, x20                    /* this digit */
    msub    x19, x0, x20, x19               /* the rest */
    add     w0, w0, #ASCII_ZERO
    bl      board_putc
    mov     x9, #DECIMAL_BASE
    udiv    x20, x20, x9
    cbnz    x20, .Luart_put_dec_digit
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDFUNC uart_put_dec

/*
 * uart_newline - end the current line (a single LF; QEMU's stdio and
 * common terminals add the CR).
 * In: none.  Out: none.  Clobbers: x0-x17 (AAPCS64 caller-saved), flags.
 * Callable (AAPCS64).
 */
FUNC uart_newline
    PUSH2   x29, x30
    mov     x29, sp
    mov     w0, #ASCII_LF
    bl      board_putc
    POP2    x29, x30
    ret
ENDFUNC uart_newline

/*
 * print_lock - take the console lock (spinning, WFE between attempts).
 * In: none.  Out: none.  Clobbers: x0-x2, flags.
 * Ordering: acquire - nothing the caller does after it returns (including
 * UART writes) is performed before the lock is held.
 * Not re-entrant: a core that already holds it deadlocks.  Needs the MMU
 * on (exclusive access to Normal memory).  Callable (AAPCS64 leaf).
 */
FUNC print_lock
    LOAD_ADDR x0, uart_print_lock_word
    mov     w1, #LOCK_HELD
    sevl                                    /* first WFE below must not sleep */
.Lprint_lock_wait:
    wfe                                     /* woken when the holder's release store clears our monitor */
.Lprint_lock_try:
    ldaxr   w2, [x0]                        /* acquire: critical section stays after this load */
    cmp     w2, #LOCK_FREE
    b.ne    .Lprint_lock_wait
    stxr    w2, w1, [x0]                    /* no release needed: ordering comes from the ldaxr */
    cbnz    w2, .Lprint_lock_try            /* lost the reservation: retry at once */
    ret
ENDFUNC print_lock

/*
 * print_unlock - release the console lock taken by print_lock.
 * In: none.  Out: none.  Clobbers: x0.
 * Ordering: release - every access made while holding the lock (the
 * printed line) is observed before the lock is seen free; the store also
 * clears waiters' exclusive monitors, waking them from WFE.
 * Callable (AAPCS64 leaf).
 */
FUNC print_unlock
    LOAD_ADDR x0, uart_print_lock_word
    stlr    wzr, [x0]                       /* release: the line is out before the lock is free */
    ret
ENDFUNC print_unlock

/*
 * console_lock - the print lock for a process: IRQs are masked while it is
 * held, so no process is ever preempted holding it (the scheduler and the
 * fault report print with IRQs masked too, and would wait on it forever).
 * In: none.  Out: none.  Clobbers: x0-x2, flags.  Callable (AAPCS64) by a
 * process, which runs with IRQs unmasked.
 */
FUNC console_lock
    msr     daifset, #2
    b       print_lock
ENDFUNC console_lock

/*
 * console_unlock - release the print lock taken by console_lock and unmask
 * IRQs again.  Clobbers: x0.  Callable (AAPCS64) by a process.
 */
FUNC console_unlock
    PUSH2   x29, x30
    mov     x29, sp
    bl      print_unlock
    msr     daifclr, #2
    POP2    x29, x30
    ret
ENDFUNC console_unlock

    .bss

/* LOCK_FREE or LOCK_HELD. */
LOBJECT uart_print_lock_word, LOCK_ALIGN
    .space  LOCK_ALIGN
ENDOBJECT uart_print_lock_word
