"""Which registers a thread may still read: the liveness that lets threads.py drop a spin or
retry iteration that changed nothing (an await loop).

An iteration of a loop that wrote no memory and left every register the rest of the thread
may read (with the reads it depends on) as it found it, can be cut from a path: the path that
does not take it has the same future, so every execution with the iteration projects to an
allowed execution without it (its reads and barriers only ever add order). Only the facts
below are trusted, and each errs toward "live": a register an instruction is not known to
overwrite is taken to flow through it, one it may read is read.
"""

from __future__ import annotations

import re

from .program import operands

FLAGS, MONITOR = "NZCV", "MONITOR"     # the flags and the exclusive monitor, as registers

_REG = re.compile(r"\b([WX])(\d+)\b|\b(W?SP)\b", re.I)

# The first operand is written and not read.
_DEST = {"MOV", "MOVZ", "MOVN", "ADD", "ADDS", "SUB", "SUBS", "AND", "ANDS", "ORR", "EOR",
         "BIC", "BICS", "ORN", "EON", "LSL", "LSR", "ASR", "ROR", "LSLV", "LSRV", "ASRV",
         "RORV", "UBFX", "SBFX", "UBFM", "SBFM", "UBFIZ", "SBFIZ", "MUL", "MADD", "MSUB",
         "UDIV", "SDIV", "NEG", "NEGS", "MVN", "CSEL", "CSINC", "CSINV", "CSNEG", "CSET",
         "CSETM", "CINC", "CINV", "CNEG", "SXTB", "SXTH", "SXTW", "UXTB", "UXTH", "REV",
         "REV16", "REV32", "REV64", "CLZ", "RBIT", "ABS", "ADR", "ADRP"}
_SETS_FLAGS = {"CMP", "CMN", "TST", "ADDS", "SUBS", "ANDS", "BICS", "NEGS"}
_READS_FLAGS = {"CSEL", "CSINC", "CSINV", "CSNEG", "CSET", "CSETM", "CINC", "CINV", "CNEG"}
_LOAD = re.compile(r"LD(A?X?R|APR|UR|AR)(S?[BHW])?$")
_LOAD_PAIR = re.compile(r"LD(P|NP|PSW|XP|AXP|IAPP|AP)$")
_STORE_EXCL = re.compile(r"ST(L?)X(R[BH]?|P)$")
_SWAP_OR_OP = re.compile(r"(SWP|LD(ADD|EOR|SET|CLR))(A|L|AL)?[BH]?$")


def _regs(args: list[str]) -> set[str]:
    out = set()
    for a in args:
        for m in _REG.finditer(a):
            out.add("SP" if m.group(3) else f"X{m.group(2)}")
    return out


def effect(text: str) -> tuple[set[str], set[str]]:
    """(registers read, registers surely overwritten) by one instruction; the flags and the
    monitor count as registers. Unknown forms read everything they name and the flags."""
    op, args = operands(text)
    op = op.upper()
    first = _regs(args[:1])
    rest = _regs(args[1:])
    if op in _SETS_FLAGS and op not in _DEST:                 # CMP, CMN, TST
        return _regs(args), {FLAGS}
    if op in _DEST:
        reads = rest | (_only_if(op in _READS_FLAGS, FLAGS))
        writes = first | (_only_if(op in _SETS_FLAGS, FLAGS))
        return reads, writes
    if op in ("MOVK", "BFI", "BFXIL", "BFM"):
        return _regs(args), first
    if op.startswith("B.") or op in ("CBZ", "CBNZ", "TBZ", "TBNZ"):
        return _regs(args) | (_only_if(op.startswith("B."), FLAGS)), set()
    if op in ("B", "NOP", "WFE", "WFI", "SEV", "SEVL", "YIELD", "DMB", "DSB", "ISB"):
        return set(), set()
    if op == "BL":
        return set(), {"X30"}
    if op == "RET":
        return {"X30"} | _regs(args), set()
    if re.fullmatch(r"ST(L?R|UR|LUR|P|NP|LP|ILP)[BH]?", op):      # plain and release stores
        return _regs(args), set()
    if op == "CLREX":
        return set(), {MONITOR}
    if _LOAD.match(op):
        writes = first | ({MONITOR} if "X" in op[2:4] else set())
        return rest, writes - rest
    if _LOAD_PAIR.match(op):
        dests = _regs(args[:2])
        writes = dests | ({MONITOR} if "X" in op else set())
        return _regs(args[2:]), writes - _regs(args[2:])
    if _STORE_EXCL.match(op):
        return rest | {MONITOR}, (first | {MONITOR}) - rest
    if _SWAP_OR_OP.match(op):
        dest = _regs(args[1:2])
        return _regs(args[:1]) | _regs(args[2:]), dest - _regs(args[:1]) - _regs(args[2:])
    return _regs(args) | {FLAGS, MONITOR}, set()


def _only_if(cond: bool, name: str) -> set[str]:
    return {name} if cond else set()


def live_in(insns: list[str], successors: list[list[int]], at_end: set[str]) -> list[set[str]]:
    """For each instruction, the registers that may be read before being overwritten on some
    path from it. successors[i] lists i's next instructions; len(insns) is the thread's end,
    where `at_end` (the registers its final state shows) are live."""
    effects = [effect(t) for t in insns]
    live = [set() for _ in insns] + [set(at_end)]
    changed = True
    while changed:
        changed = False
        for i in reversed(range(len(insns))):
            out = set().union(*(live[j] for j in successors[i])) if successors[i] else set()
            reads, writes = effects[i]
            new = reads | (out - writes)
            if new != live[i]:
                live[i] = new
                changed = True
    return live
