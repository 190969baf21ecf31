"""Ordering classes of memory accesses and kinds of barriers, decoded from the encoding.

VEX gives every barrier the same fence and turns acquire/release into a generic fence around
a plain access, so the class of each access comes from the instruction word itself, by the
Arm ARM's encoding tables. The weak-memory checks and specs read these.
"""

from __future__ import annotations

from dataclasses import dataclass

PLAIN = "plain"
ACQUIRE = "acquire"           # LDAR, LDAXR, LDA* RMW
ACQUIRE_PC = "acquire-pc"     # LDAPR, LDAPUR (RCpc)
RELEASE = "release"           # STLR, STLXR, STLUR, *L RMW
LIMITED = "limited-ordering"  # LDLAR/STLLR (LORegions)

BARRIER_OPTIONS = {0b1111: "SY", 0b1110: "ST", 0b1101: "LD", 0b1011: "ISH", 0b1010: "ISHST",
                   0b1001: "ISHLD", 0b0111: "NSH", 0b0110: "NSHST", 0b0101: "NSHLD",
                   0b0011: "OSH", 0b0010: "OSHST", 0b0001: "OSHLD"}


@dataclass(frozen=True)
class AccessClass:
    """How one instruction accesses memory, for ordering purposes."""
    order: str = PLAIN              # for loads and stores alike
    exclusive: bool = False         # LDXR/STXR family
    rmw: bool = False               # single-instruction atomic read-modify-write (LSE)
    acquire: bool = False           # the read half is acquire (or acquire-PC for LDAPR)
    release: bool = False           # the write half is release

    def describe(self) -> str:
        parts = [self.order]
        if self.exclusive:
            parts.append("exclusive")
        if self.rmw:
            parts.append("RMW" + ("A" if self.acquire else "") + ("L" if self.release else ""))
        return " ".join(parts)


def barrier_kind(word: int) -> str | None:
    """'DMB ISH', 'DSB SY', 'ISB', or None for anything that is not a barrier."""
    if word & 0xFFFFF01F != 0xD503301F:
        return None
    op2, crm = (word >> 5) & 7, (word >> 8) & 0xF
    if op2 == 6:
        return "ISB"
    if op2 in (4, 5):
        name = "DSB" if op2 == 4 else "DMB"
        return f"{name} {BARRIER_OPTIONS.get(crm, f'#{crm}')}"
    return None


def access_class(word: int) -> AccessClass:
    """The ordering class of a memory-access encoding (PLAIN for ordinary loads/stores)."""
    # CAS: size 0010001 L 1 Rs o0 11111 Rn Rt; CASP: 0 sz 0010000 L 1 Rs o0 11111 Rn Rt.
    # L (bit 22) makes the read acquire, o0 (bit 15) the write release.
    if word & 0x3FA07C00 == 0x08A07C00 or word & 0xBFA07C00 == 0x08207C00:
        acquire, release = bool((word >> 22) & 1), bool((word >> 15) & 1)
        return AccessClass(ACQUIRE if acquire else (RELEASE if release else PLAIN), rmw=True,
                           acquire=acquire, release=release)
    # Load/store exclusive and ordered: size 001000 o2 L o1 Rs o0 Rt2 Rn Rt
    if word & 0x3F000000 == 0x08000000:
        o2, load, o0 = (word >> 23) & 1, (word >> 22) & 1, (word >> 15) & 1
        if o2:  # LDAR/STLR (o0=1) and LDLAR/STLLR (o0=0)
            if not o0:
                return AccessClass(LIMITED, acquire=bool(load), release=not load)
            return AccessClass(ACQUIRE if load else RELEASE, acquire=bool(load),
                               release=not load)
        # exclusives, single (o1=0) or pair (o1=1): LDAXR/STLXR when o0 is set
        if load:
            return AccessClass(ACQUIRE if o0 else PLAIN, exclusive=True, acquire=bool(o0))
        return AccessClass(RELEASE if o0 else PLAIN, exclusive=True, release=bool(o0))
    # LSE atomic memory operations and LDAPR: size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt
    if word & 0x3F200C00 == 0x38200000:
        a, r = (word >> 23) & 1, (word >> 22) & 1
        o3, opc = (word >> 15) & 1, (word >> 12) & 7
        if o3 and opc == 0b100:
            return AccessClass(ACQUIRE_PC, acquire=True)  # LDAPR
        return AccessClass(ACQUIRE if a else (RELEASE if r else PLAIN), rmw=True,
                           acquire=bool(a), release=bool(r))
    # LDAPUR/STLUR: size 011001 opc 0 imm9 00 Rn Rt
    if word & 0x3F200C00 == 0x19000000:
        opc = (word >> 22) & 3
        return AccessClass(RELEASE, release=True) if opc == 0 else AccessClass(ACQUIRE_PC,
                                                                              acquire=True)
    return AccessClass()
