"""What the path of one thread is made of: values (numbers, addresses, code addresses,
instructions), the registers' values with the reads they depend on, memory events, and the
path itself (a Run)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .parse import LitmusError

MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Addr:
    loc: str
    offset: int = 0

    def __str__(self):
        return self.loc if not self.offset else f"{self.loc}+{self.offset}"


@dataclass(frozen=True)
class Val:
    v: object                        # int or Addr
    taint: frozenset = frozenset()   # ids of the reads it depends on; ("pick", id) through CSEL


@dataclass
class Event:
    id: int
    tid: int
    kind: str                        # "R", "W" or "F"
    loc: str | None = None
    value: object = None
    tags: frozenset = frozenset()    # A, Q, L, X (exclusive), amo, NoRet; a fence's name
    addr: frozenset = frozenset()    # reads this access's address depends on
    data: frozenset = frozenset()    # reads a write's value depends on
    ctrl: frozenset = frozenset()    # reads a branch before it depended on
    line: int = 0
    text: str = ""
    size: int = 8                    # bytes
    pair: int | None = None          # the other half of a single-copy-atomic pair access
    sca: int | None = None           # mixed-size: the access this part of it belongs to
    where: str = ""                  # a harness's: the asm/file.s:line it came from


@dataclass
class Run:
    """One path through one thread: its events in program order, its rmw pairs and its final
    registers; `reads` gives the value each read returned (in order)."""
    events: list[Event]
    rmw: list[tuple[int, int]]
    regs: dict[str, object]
    error: LitmusError | None = None   # the path stopped here: an error if it is ever allowed
    cut: str | None = None             # not a path: one was cut here, past the unroll limit
    awaited: str | None = None         # not a path: an await iteration ended it here
    fault: tuple[str, str] | None = None  # the thread stopped on this fault: (where, kind)
    blocked: int | None = None         # harnesses: the thread sleeps in WFI; the id of the
                                       # read of its interrupt line that found none pending


class Fault(Exception):
    """An instruction that takes an exception; with no handler (`Variant=fatal`) its thread
    stops there, and the fault is part of the final state."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class Blocked:
    """The next place of a harness's WFI that found no interrupt pending: its thread sleeps
    there, woken by a later wake-up or never."""


BLOCKED = Blocked()


def interrupt_line(tid: int) -> str:
    """The location a harness models core `tid`'s pending wake-up interrupt as: an SGI to
    the core writes it, the core's WFI waits until it reads it set."""
    return f"irq_P{tid}"


class Stuck(Exception):
    """A path that cannot go on (an access through a register that holds no address). It is
    an error only if an allowed execution takes that path, as in herd."""

    def __init__(self, error: LitmusError):
        super().__init__(str(error))
        self.error = error


class _Unread:
    """The value of a read nothing ever uses (its register is dead at once): decide() lets
    it read from any write its location has, and chooses which after coherence."""

    def __repr__(self):
        return "unread"


UNREAD = _Unread()


# A store-exclusive's status is not a known constant (herd leaves it symbolic until the
# execution is chosen), though no dependency runs through it: it is marked in the taint by
# this entry, which the model's dependencies ignore.
STATUS = frozenset({("status",)})


class Arrays(dict):
    """Array name -> element size in bytes, with each array's length. Under herd's mixed
    variant, `regions` gives every data location's size in bytes (an array's: all its
    elements): accesses are then places `name+offset` in them (see `place`)."""

    def __init__(self):
        super().__init__()
        self.lengths: dict[str, int] = {}
        self.regions: dict[str, int] | None = None

    def count(self, name: str) -> int:
        return self.lengths[name]


PLACE = re.compile(r"(.+)\+(\d+)$")


def place(loc: str | None) -> tuple[str, int] | None:
    """(region, byte offset) of a mixed-size access's location `name+offset`; None for any
    other location (code, or a location outside the mixed variant)."""
    m = PLACE.match(loc) if loc else None
    return (m.group(1), int(m.group(2))) if m else None


def footprint_values(held: set, offset: int, size: int) -> list[int]:
    """The values a read of `size` bytes at `offset` may return when the writes to its
    location (and its initial value) are `held`: (offset, size, value) triples. The read's
    bytes fall into groups that the same writes cover; every group comes from one write
    (single-copy atomicity: the model forbids a read that takes two of its bytes from two
    writes that both cover them), bytes little-endian."""
    covering: dict[int, frozenset] = {}
    for b in range(offset, offset + size):
        covering[b] = frozenset((o, s) for o, s, _ in held if o <= b < o + s)
    groups: dict[frozenset, list[int]] = {}
    for b, key in covering.items():
        groups.setdefault(key, []).append(b)
    partial = {0}
    for key, bytes_ in groups.items():
        if not key:
            raise ValueError(f"byte {bytes_[0]} holds no value")
        options = set()
        for o, s, v in held:
            if (o, s) in key:
                options.add(sum(((v >> (8 * (b - o))) & 0xFF) << (8 * (b - offset))
                                for b in bytes_))
        partial = {p | x for p in partial for x in options}
    return sorted(partial)
