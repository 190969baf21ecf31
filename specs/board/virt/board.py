"""Contracts of asm/board/virt/board.s: the PL011 console of QEMU's virt board."""

import z3

from verify.spec import AAPCS64_SCRATCH, Contract, Region

# The UART's MMIO page: the only memory the console functions may write.
UART = Region(lambda e: z3.BitVecVal(e.const("BOARD_UART_BASE"), 64), 0x1000)


def uart_reg(e, name):
    return z3.BitVecVal(e.const("BOARD_UART_BASE") + e.const(name), 64)


CONTRACTS = {
    "board_uart_init": Contract("enables the UART: 8-bit words, FIFOs, transmit and receive",
                                maychange=AAPCS64_SCRATCH + (UART,)),
    "board_putc": Contract(
        "writes the low byte of w0 to the data register once the transmit FIFO has room",
        maychange=AAPCS64_SCRATCH + (UART,),
        post=lambda e, x: x.u32(uart_reg(e, "PL011_DR")) == e.w(0) & 0xFF),
    "board_uart_flush": Contract("waits until the UART has sent everything; writes nothing",
                                 maychange=AAPCS64_SCRATCH),
}
