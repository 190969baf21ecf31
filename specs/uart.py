"""Contracts of asm/uart.s: printing (which writes only the UART) and the print lock."""

import z3

from verify.harness.spec import Harness, call, code
from verify.spec import AAPCS64_SCRATCH, Contract, Region

UART = Region(lambda e: z3.BitVecVal(e.const("BOARD_UART_BASE"), 64), 0x1000)
LOCK = Region("uart_print_lock_word", 4)
PRINTS = AAPCS64_SCRATCH + (UART,)


def lock_word(view):
    return view.u32(view.symbol("uart_print_lock_word"))


CONTRACTS = {
    "uart_puts": Contract("prints a NUL-terminated string", maychange=PRINTS),
    "uart_put_hex": Contract("prints x0 as 0x and 16 hex digits", maychange=PRINTS),
    "uart_put_dec": Contract("prints x0 in decimal", maychange=PRINTS),
    "uart_newline": Contract("prints a line feed", maychange=PRINTS),
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
