/*
 * board.s - board layer for QEMU "virt": the PL011 console.
 *
 * Everything above this layer prints through board_putc and never names a
 * peripheral address.  The UART is reached through the Device-nGnRE mapping
 * that boot.s installs (or, before the MMU is on, as Device-nGnRnE memory).
 */
    .include "macros.inc"
    .include "board.inc"

    NO_EXEC_STACK
    .text

/*
 * board_uart_init - put the PL011 into a known 8N1, FIFO-enabled, TX+RX
 * enabled state.  The baud-rate divisors are left as firmware set them
 * (QEMU ignores them).
 * In: none.  Out: none.  Clobbers: x0, x1, flags.
 * Ordering: waits for bytes already queued by earlier software to leave the
 * transmitter before reprogramming; the Device-nGnRE stores to the UART
 * reach it in program order, so no barrier is needed.
 * Callable (AAPCS64 leaf); call once, on one core, before any printing.
 */
FUNC board_uart_init
    MOV64   x0, BOARD_UART_BASE
.Lboard_uart_init_drain:
    ldr     w1, [x0, #PL011_FR]
    tbnz    w1, #PL011_FR_BUSY_BIT, .Lboard_uart_init_drain
    str     wzr, [x0, #PL011_CR]            /* the TRM wants it off while reprogrammed */
    mov     w1, #(PL011_LCR_H_WLEN_8 | PL011_LCR_H_FEN)
    str     w1, [x0, #PL011_LCR_H]
    mov     w1, #(PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE)
    str     w1, [x0, #PL011_CR]
    ret
ENDFUNC board_uart_init

/*
 * board_putc - send one byte to the console.
 * In: w0 = byte (bits above 7 ignored).  Out: none.
 * Clobbers: x0, x1, x2, flags.
 * Ordering: spins while the transmit FIFO is full, then writes DR; the FR
 * read and DR write go to the same Device-nGnRE peripheral and so stay in
 * program order without a barrier.  Not serialised between cores: callers
 * that need whole lines use print_lock.
 * Callable (AAPCS64 leaf).
 */
FUNC board_putc
    MOV64   x1, BOARD_UART_BASE
.Lboard_putc_wait:
    ldr     w2, [x1, #PL011_FR]
    tbnz    w2, #PL011_FR_TXFF_BIT, .Lboard_putc_wait
    and     w0, w0, #PL011_DR_DATA_MASK
    str     w0, [x1, #PL011_DR]
    ret
ENDFUNC board_putc

/*
 * board_uart_flush - wait until every byte written so far has left the UART
 * (used before powering off, so the last line is not cut short).
 * In: none.  Out: none.  Clobbers: x0, x1, flags.
 * Ordering: returns only once FR.BUSY reads clear, i.e. after all earlier
 * DR writes from this core have been transmitted.
 * Callable (AAPCS64 leaf).
 */
FUNC board_uart_flush
    MOV64   x0, BOARD_UART_BASE
.Lboard_uart_flush_wait:
    ldr     w1, [x0, #PL011_FR]
    tbnz    w1, #PL011_FR_BUSY_BIT, .Lboard_uart_flush_wait
    ret
ENDFUNC board_uart_flush
