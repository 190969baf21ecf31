"""System ordering: the barriers that system-register writes, cache and TLB maintenance, SEV
and SGIs need, which Arm's memory model (and so the weak-memory engine) does not cover.

The Arm ARM's rules, checked on every path through a function's code (a may-analysis over
its control-flow graph, so a rule broken on any path is reported):

- a write to a system register that changes context (translation, vectors, the GIC's CPU
  interface, the timer, the PMU) takes effect only at a context synchronization event: an
  ISB, an ERET, or an exception entry. A function leaves none pending where it returns,
  calls or jumps out (its caller cannot know it must synchronize), and none that the next
  instruction depends on (an ICC_* access after the ICC_SRE write that enables them; an
  MMU enable or TLB invalidation after a TTBR/TCR/MAIR write). Direct reads and writes of
  the same register, PSTATE fields, ELR, SPSR, SP_EL0, the TPIDRs and ICC_PMR_EL1 (self-
  synchronizing, GICv3) are in program order and need none;
- TLB, instruction-cache and data-cache maintenance completes only at a DSB; an IC
  invalidation is seen by instruction fetch only after a later ISB (IC; DSB; ISB);
- stores before a DC IVAC, a new translation table base taking effect (a TTBR write at
  its ISB), a SEV or an SGI (ICC_SGI1R_EL1 write) must be complete, so a DSB of inner- or full-system shareability
  separates them (a DMB does not order these non-memory effects). A function's entry counts
  as a store: its caller's stores are not seen here;
- unmasking interrupts (MSR DAIFClr) and masking them again needs a context
  synchronization event between the two, or a pending interrupt need not be taken.

The check reads only instruction words; it assumes nothing about values, so it is sound for
the rules it states and says nothing beyond them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cache import pc_target
from .ordering import barrier_kind
from .overlay import SYSREGS, _sysreg_fields
from .program import Function, Program

# Registers whose writes take effect directly, in program order (no synchronization needed).
DIRECT = {"DAIF", "SP_EL0", "SPSR_EL1", "ELR_EL1", "SPSR_EL2", "ELR_EL2", "TPIDR_EL1",
          "TPIDRRO_EL0", "FPSR", "ESR_EL1", "FAR_EL1",
          "ICC_PMR_EL1"}   # GICv3: PMR writes are self-synchronizing
TRANSLATION = {"TTBR0_EL1", "TTBR1_EL1", "TCR_EL1", "MAIR_EL1"}
TABLE_BASE = {"TTBR0_EL1", "TTBR1_EL1"}
ENTRY = -1
STORE_COMPLETING = {"SY", "ST", "ISH", "ISHST", "OSH", "OSHST"}   # DSB domains enough for
# another core or the table walker
# A DSB completes maintenance only when it waits for reads and writes alike (not the ST or
# LD forms), and broadcast maintenance only in a domain that reaches the other cores.
MAINTENANCE_COMPLETING = {"SY", "ISH", "OSH", "NSH"}


@dataclass(frozen=True)
class Violation:
    addr: int           # where the rule is broken
    cause: int | None   # the instruction that left the obligation; None: the caller's stores
    rule: str

    def describe(self, program: Program) -> str:
        cause = "the caller's stores, before entry" if self.cause is None else \
            f"{program.line(self.cause)} `{program.instruction(self.cause).text}`"
        return f"{program.line(self.addr)} `{program.instruction(self.addr).text}`: " \
               f"{self.rule} (from {cause})"


@dataclass(frozen=True)
class _State:
    unsynced: frozenset = frozenset()     # (register, addr) written, no context sync since
    incomplete: frozenset = frozenset()   # (kind, addr, broadcast) not completed by a DSB
    fetch_stale: frozenset = frozenset()  # addr of a completed IC, no ISB since
    store: int | None = None              # a store not completed by a DSB (ENTRY: the caller's)
    unmasked: frozenset = frozenset()     # addr of a DAIFClr, no context sync since

    def join(self, other: "_State") -> "_State":
        return _State(self.unsynced | other.unsynced, self.incomplete | other.incomplete,
                      self.fetch_stale | other.fetch_stale,
                      self.store if self.store is not None else other.store,
                      self.unmasked | other.unmasked)


def _cause(store: int) -> int | None:
    return None if store == ENTRY else store


def _is_store(word: int) -> bool:
    """A load/store-group encoding that writes memory: L (bit 22) clear, or an atomic
    read-modify-write (LSE, CAS); and DC ZVA. Conservative: prefetches count as stores."""
    if word & 0xFFFFFFE0 == 0xD50B7420:
        return True     # DC ZVA
    if word & 0x0A000000 != 0x08000000:
        return False
    if word & 0x3F200C00 == 0x38200000 or word & 0x3FA07C00 == 0x08A07C00 or \
            word & 0xBFA07C00 == 0x08207C00:
        return True     # LSE atomics, CAS, CASP
    return not (word >> 22) & 1


def _sysreg(word: int) -> tuple[str, bool] | None:
    """(register name, is a write) for MRS/MSR (register); None otherwise."""
    if word & 0xFFD00000 != 0xD5100000:
        return None
    entry = SYSREGS.get(_sysreg_fields(word))
    name = entry[0] if entry else "S%d_%d_C%d_C%d_%d" % _sysreg_fields(word)
    return name, not (word >> 21) & 1


def _maintenance(word: int) -> tuple[str, bool] | None:
    """(kind, broadcast) of a cache or TLB maintenance instruction. Only TLBI by the local
    forms (CRm 7) and IC IALLU act on this core alone; the rest reach other observers."""
    if word & 0xFFF80000 != 0xD5080000:
        return None
    op1, crn, crm, op2 = (word >> 16) & 7, (word >> 12) & 0xF, (word >> 8) & 0xF, \
        (word >> 5) & 7
    if crn in (8, 9):                             # TLBI (and its nXS forms)
        return "TLBI", crm != 7
    if crn == 7 and crm in (1, 5):
        return "IC", (op1, crm, op2) != (0, 5, 0)
    if crn == 7 and crm in (6, 10, 11, 12, 13, 14):   # DC by VA or set/way
        return ("DC IVAC" if (crm, op2) == (6, 1) else "DC"), True
    return None     # DC ZVA is a store (below); AT has no rule here


def _daif_imm(word: int) -> str | None:
    if word & 0xFFF8F01F == 0xD500401F and (word >> 16) & 7 == 3:
        return {6: "set", 7: "clr"}.get((word >> 5) & 7)
    return None


def _boundary(state: _State, addr: int, what: str) -> list[Violation]:
    out = [Violation(addr, a, f"{name} written and not synchronized (no ISB) before {what}")
           for name, a in state.unsynced]
    out += [Violation(addr, a, f"{kind} not completed (no DSB) before {what}")
            for kind, a, _ in state.incomplete]
    out += [Violation(addr, a, f"instructions fetched before the IC invalidation completed "
                               f"may still run: no ISB before {what}") for a in state.fetch_stale]
    return out


def _step(word: int, addr: int, s: _State, out: list[Violation]) -> _State:
    barrier = barrier_kind(word)
    if barrier == "ISB" or word == 0xD69F03E0:      # ISB, ERET: context synchronization
        out += [Violation(addr, a, f"{kind} not completed (no DSB) before the "
                                   f"{'ISB that was to make it visible' if barrier else 'ERET'}")
                for kind, a, _ in s.incomplete if kind in ("TLBI", "IC") or not barrier]
        if s.store is not None:
            out += [Violation(addr, _cause(s.store), f"the {name} write takes effect while a "
                                                     f"store (a translation table entry) may "
                                                     f"not be complete: no DSB between")
                    for name, a in s.unsynced if name in TABLE_BASE]
        return _State(incomplete=s.incomplete, store=s.store)
    if barrier is not None and barrier.startswith("DSB"):
        domain = barrier.split()[1]      # an unknown one (SSBB, PSSBB: "#0", "#4") completes none
        done = frozenset(m for m in s.incomplete if domain in MAINTENANCE_COMPLETING
                         and (domain != "NSH" or not m[2]))
        ic = frozenset(a for kind, a, _ in done if kind == "IC")
        return _State(s.unsynced, s.incomplete - done, s.fetch_stale | ic,
                      None if domain in STORE_COMPLETING else s.store, s.unmasked)
    if s.fetch_stale and barrier is None:
        out += [Violation(addr, a, "runs after an IC invalidation with no ISB between: it may "
                                   "be a stale instruction") for a in s.fetch_stale]
        s = _State(s.unsynced, s.incomplete, frozenset(), s.store, s.unmasked)
    daif = _daif_imm(word)
    if daif == "clr":
        return _State(s.unsynced, s.incomplete, s.fetch_stale, s.store, s.unmasked | {addr})
    if daif == "set":
        out += [Violation(addr, a, "interrupts masked again with no context synchronization "
                                   "since they were unmasked: a pending one need not be taken")
                for a in s.unmasked]
        return _State(s.unsynced, s.incomplete, s.fetch_stale, s.store)
    found = _maintenance(word)
    if found is not None:
        maint, broadcast = found
        if maint == "TLBI":
            out += [Violation(addr, a, f"TLB invalidated while the {name} write is not "
                                       f"synchronized: it may use the old context")
                    for name, a in s.unsynced if name in TRANSLATION]
        if maint == "DC IVAC" and s.store is not None:
            out.append(Violation(addr, _cause(s.store), "cache line invalidated while a store may "
                                                "not be complete (no DSB between)"))
        return _State(s.unsynced, s.incomplete | {(maint, addr, broadcast)}, s.fetch_stale,
                      s.store, s.unmasked)
    access = _sysreg(word)
    if access is not None:
        name, write = access
        for reg, a in s.unsynced:
            if reg.startswith("ICC_SRE") and name.startswith("ICC_") and name != reg:
                out.append(Violation(addr, a, f"{name} accessed before the {reg} write that "
                                              f"enables the GIC's system registers is "
                                              f"synchronized"))
            if name == "SCTLR_EL1" and write and reg in TRANSLATION:
                out.append(Violation(addr, a, f"MMU control written while the {reg} write is "
                                              f"not synchronized"))
        if write and name == "ICC_SGI1R_EL1" and s.store is not None:
            out.append(Violation(addr, _cause(s.store), "SGI sent while a store may not be complete: "
                                                "the target may not see it (no DSB between)"))
        if write and name == "DAIF":     # may mask again, and may unmask
            out += [Violation(addr, a, "interrupts may be masked again with no context "
                                       "synchronization since they were unmasked: a pending "
                                       "one need not be taken") for a in s.unmasked]
            return _State(s.unsynced, s.incomplete, s.fetch_stale, s.store, frozenset({addr}))
        if write and name not in DIRECT:
            return _State(s.unsynced | {(name, addr)}, s.incomplete, s.fetch_stale, s.store,
                          s.unmasked)
        return s
    if word == 0xD503209F and s.store is not None:     # SEV
        out.append(Violation(addr, _cause(s.store), "event sent while a store may not be complete: a "
                                            "woken core may not see it (no DSB between)"))
    if _is_store(word):
        return _State(s.unsynced, s.incomplete, s.fetch_stale, addr, s.unmasked)
    return s


def _successors(func: Function, addr: int, word: int) -> tuple[list[int], str | None]:
    """(successors inside the function, what leaves it here: None, or a description)."""
    nxt = addr + 4
    if word & 0xFE000000 == 0xD6000000:          # branches to a register, PAC forms too
        opc = (word >> 21) & 0xF
        if opc == 4:
            return [], None                      # ERET: synchronizes; the path ends
        if opc in (1, 9):
            return [nxt], "the indirect call"
        return [], "the return" if opc == 2 else "the indirect branch"
    if word & 0xFFE0001F in (0xD4000002, 0xD4000003):
        return [nxt], "the firmware call"
    target = pc_target(word, addr)
    if word & 0xFC000000 == 0x94000000:          # BL
        if func.contains(target):                # a local subroutine, and what follows it
            return [target, nxt], None
        return [nxt], "the call"
    if word & 0xFC000000 == 0x14000000:          # B
        return ([target], None) if func.contains(target) else ([], "the tail call")
    if target is not None and (word & 0xFF000010 == 0x54000000 or
                               word & 0x7E000000 in (0x34000000, 0x36000000)):
        succ = [nxt] + ([target] if func.contains(target) else [])
        return succ, None if func.contains(target) else "the branch out"
    return [nxt], None


NOP = 0xD503201F


def needed_by(program: Program, addr: int) -> list[Violation]:
    """What breaks if the instruction at addr (a barrier) were a NOP: the rules the function
    keeps with it and breaks without it."""
    func = program.function_at(addr)
    kept = set(check(program, func))
    return [v for v in check(program, func, {addr: NOP}) if v not in kept]


def check(program: Program, func: Function, replace: dict[int, int] | None = None
          ) -> list[Violation]:
    """Every broken rule on some path through the function, each reported once; `replace`
    puts other words at some addresses (a barrier dropped, for the barrier report)."""
    words = {i.addr: i.word for i in program.instructions(func)} | (replace or {})
    states: dict[int, _State] = {func.addr: _State(store=ENTRY)}
    todo, found = [func.addr], {}
    while todo:
        addr = todo.pop()
        if addr not in words:
            continue
        out: list[Violation] = []
        word = words[addr]
        after = _step(word, addr, states[addr], out)
        succ, leaves = _successors(func, addr, word)
        if leaves:
            out += _boundary(after, addr, leaves)
            if succ:                             # a call: the callee synchronized what it
                # wrote, and may have stored; an interrupt window stays open across it
                after = _State(store=addr, unmasked=after.unmasked)
        if any(nxt not in words for nxt in succ):
            out += _boundary(after, addr, "the end of the function's code")
        for v in out:
            found.setdefault((v.addr, v.cause, v.rule), v)
        for nxt in succ:
            joined = after if nxt not in states else states[nxt].join(after)
            if nxt not in states or joined != states[nxt]:
                states[nxt] = joined
                todo.append(nxt)
    return sorted(found.values(), key=lambda v: (v.addr, v.cause))
