"""Contracts of asm/lock.s: the spinlock takes and releases only the lock word."""

from verify.spec import Contract, Region

LOCK = Region(lambda e: e.x(0), 4)


def word(e, x):
    return x.u32(e.x(0))


CONTRACTS = {
    "spin_lock": Contract("returns holding the lock word at x0",
                          maychange=("x1", "x2", "nzcv", LOCK),
                          post=lambda e, x: word(e, x) == e.const("LOCK_HELD")),
    "spin_unlock": Contract("releases the lock word at x0", maychange=(LOCK,),
                            post=lambda e, x: word(e, x) == e.const("LOCK_FREE")),
}
