"""Contracts of asm/uart.s: printing (which writes only the UART) and the print lock."""

import z3

from verify.harness.spec import Harness, call, code
from verify.spec import AAPCS64_SCRATCH, Contract, Region

UART = Region(lambda e: z3.BitVecVal(e.const("BOARD_UART_BASE"), 64), 0x1000)
LOCK = Region("uart_print_lock_word", 4)
PRINTS = AAPCS64_SCRATCH + (UART, "out:console")   # the UART, and so the console


def lock_word(view):
    return view.u32(view.symbol("uart_print_lock_word"))


# What a print sends is what the console stream (specs/board/virt/board.py, STREAMS) gains.
def printed(e, x, *pieces):
    """The console on return is the console on entry followed by `pieces` (bytes). Its
    length is stated first, on its own: a count that is off is then a quick counterexample."""
    before, after = e.stream("console"), x.stream("console")
    return z3.And(z3.Length(after) == z3.Length(before) + len(pieces),
                  after == z3.Concat(before, *[z3.Unit(b) for b in pieces]))


def _text(s: str) -> list:
    return [z3.BitVecVal(ord(ch), 8) for ch in s]


def _hex_digit(nibble):
    return z3.If(z3.ULT(nibble, 10), nibble + ord("0"), nibble - 10 + ord("a"))


def _hex(e, x):
    """'0x' and the 16 nibbles of x0, the top one first, each 0-9 or a-f."""
    v = e.x(0)
    nibbles = [z3.ZeroExt(4, z3.Extract(4 * i + 3, 4 * i, v)) for i in reversed(range(16))]
    return printed(e, x, *_text("0x"), *[_hex_digit(n) for n in nibbles])


DIGITS = 20     # 2^64 - 1 has 20 decimal digits


def _decimal(e, x):
    """x0's decimal digits, no leading zero: k of them where 10^(k-1) <= x0 < 10^k (one, a
    0, for x0 = 0). Digit i is what is left above the power 10^(k-1-i), divided by it: long
    division, the remainder taken as the value less the digit times the power."""
    v = e.x(0)
    cases = []
    for k in range(DIGITS, 0, -1):
        rest, digits = v, []
        for i in range(k):
            power = z3.BitVecVal(10 ** (k - 1 - i), 64)
            digit = z3.UDiv(rest, power)
            digits.append(z3.Extract(7, 0, digit) + ord("0"))
            rest = rest - digit * power
        cases.append((z3.UGE(v, 10 ** (k - 1)) if k > 1 else z3.BoolVal(True), digits))
    out = printed(e, x, *cases[-1][1])
    for at_least, digits in reversed(cases[:-1]):
        out = z3.If(at_least, printed(e, x, *digits), out)
    return out


CONTRACTS = {
    "uart_puts": Contract("prints a NUL-terminated string (which bytes it sends, the boot "
                          "scenarios read: z3's sequence theory did not prove an invariant "
                          "over the string in memory in minutes)", maychange=PRINTS),
    # What the two number printers send is proved (ghost_post) but not handed to their
    # callers, which state nothing of what they print yet and would each pay for the terms.
    "uart_put_hex": Contract(
        "prints x0 as 0x and 16 lower-case hex digits, the top nibble first",
        maychange=PRINTS, ghost_post=_hex,
        loop_bound=(16, "the loop prints exactly 16 nibbles: its counter steps from 60 down "
                        "by 4 and nothing else writes it")),
    "uart_put_dec": Contract(
        "prints x0 in decimal without leading zeros (see _decimal)",
        maychange=PRINTS, ghost_post=_decimal,
        loop_bound=(DIGITS + 1, "the power of ten starts at 10^19 and each iteration of "
                                "either loop divides it by 10: at most 20 iterations in all, so "
                                "no path reaches the bound")),
    "uart_newline": Contract("prints a line feed", maychange=PRINTS,
                             post=lambda e, x: printed(e, x, z3.BitVecVal(0x0A, 8))),
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
