"""Contracts of asm/uart.s: printing (which writes only the UART) and the print lock."""

import z3

from verify.harness.spec import Harness, call, code
from verify.spec import AAPCS64_SCRATCH, Contract, Region

UART = Region(lambda e: z3.BitVecVal(e.const("BOARD_UART_BASE"), 64), 0x1000)
LOCK = Region("uart_print_lock_word", 4)
PRINTS = AAPCS64_SCRATCH + (UART,)


def lock_word(view):
    return view.u32(view.symbol("uart_print_lock_word"))


# What a print leaves in the PL011's data register (offset 0, PL011 TRM) is the last byte
# sent; the earlier ones are gone from memory, so a contract states the last one, and the
# boot scenarios (tests/test_boot.py, tests/test_scenarios.py) read the whole text.
def last_sent(e, x):
    return x.u32(z3.BitVecVal(e.const("BOARD_UART_BASE"), 64))


def _hex_digit(nibble):
    return z3.If(z3.ULT(nibble, 10), nibble + ord("0"), nibble - 10 + ord("a"))


CONTRACTS = {
    "uart_puts": Contract("prints a NUL-terminated string (the text is read by the boot "
                          "scenarios; there is no last byte to state for an empty one)",
                          maychange=PRINTS),
    "uart_put_hex": Contract(
        "prints x0 as 0x and 16 hex digits: the last is its low nibble, 0-9 or a-f",
        maychange=PRINTS,
        post=lambda e, x: last_sent(e, x) == _hex_digit(z3.Extract(31, 0, e.x(0)) & 0xF),
        loop_bound=(16, "the loop prints exactly 16 nibbles: its counter steps from 60 down "
                        "by 4 and nothing else writes it")),
    "uart_put_dec": Contract("prints x0 in decimal without leading zeros (the digits are "
                             "read by the boot scenarios; a loop invariant for the last digit "
                             "is not yet proved)", maychange=PRINTS),
    "uart_newline": Contract("prints a line feed", maychange=PRINTS,
                             post=lambda e, x: last_sent(e, x) == 0x0A),
    "print_lock": Contract(
        "takes the print lock: it returns holding it",
        maychange=AAPCS64_SCRATCH + (LOCK,),
        post=lambda e, x: lock_word(x) == e.const("LOCK_HELD")),
    "console_lock": Contract(
        "masks IRQs and takes the print lock (for processes)",
        maychange=AAPCS64_SCRATCH + (LOCK, "DAIF"),
        post=lambda e, x: z3.And(lock_word(x) == e.const("LOCK_HELD"),
                                 x.sysreg("DAIF") & 0x80 != 0)),
    "console_unlock": Contract(
        "releases the print lock and unmasks IRQs (for processes)",
        maychange=AAPCS64_SCRATCH + (LOCK, "DAIF"),
        post=lambda e, x: z3.And(lock_word(x) == e.const("LOCK_FREE"),
                                 x.sysreg("DAIF") & 0x80 == 0)),
    "print_unlock": Contract(
        "releases the print lock", maychange=AAPCS64_SCRATCH + (LOCK,),
        post=lambda e, x: lock_word(x) == e.const("LOCK_FREE")),
}


# Concurrent behaviour (verify/harness): two cores count under the print lock, taken as the
# scheduler takes it (print_lock) and as a process takes it (console_lock, which also masks
# IRQs). A count below 2 means the critical sections overlapped or one missed the other's
# write.
CRITICAL_SECTION = code("LDR X9,[{count}]", "ADD X9,X9,#1", "STR X9,[{count}]")


def counting(lock: str, unlock: str) -> Harness:
    return Harness(f"{lock}_2", f"two cores count under {lock}/{unlock}: mutual exclusion, and "
                   f"each critical section sees the previous one's write",
                   objects={"count": 8},
                   cores=[[call(lock), CRITICAL_SECTION, call(unlock)]] * 2,
                   condition="forall (count=2 /\\ uart_print_lock_word=0)")


HARNESSES = [counting("print_lock", "print_unlock"), counting("console_lock", "console_unlock")]
