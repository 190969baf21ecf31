"""Contracts of asm/lock.s: the spinlock takes and releases only the lock word."""

from verify.harness.spec import Harness, call, code
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

# Concurrent behaviour (verify/harness): each core takes the lock, adds one to a counter in
# the critical section and releases it. A final count below the number of cores means two
# critical sections overlapped, or one did not see the previous one's write.
CRITICAL_SECTION = code("LDR X9,[{count}]", "ADD X9,X9,#1", "STR X9,[{count}]")


def counting(cores: int) -> Harness:
    return Harness(f"spin_lock_{cores}",
                   f"{cores} cores count under spin_lock/spin_unlock: mutual exclusion, and "
                   f"each critical section sees the previous one's write",
                   objects={"lock": 4, "count": 8},
                   cores=[[call("spin_lock", x0="lock"), CRITICAL_SECTION,
                           call("spin_unlock", x0="lock")]] * cores,
                   condition=f"forall (count={cores} /\\ lock=0)")


HARNESSES = [counting(2), counting(3)]
