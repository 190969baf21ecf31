"""Instruction audit: is each instruction's meaning one the verifier trusts?

An instruction is modelled when the overlay (`overlay.py`) has a rule for its encoding, or
when VEX decodes it and every piece of its IR has a trusted meaning in `semantics`. Two VEX behaviours make that check need the raw encoding too:
system instructions (MRS/MSR of EL1 registers, SYS, most hints) lift to an empty block, and
some lift to helper calls with hidden effects. An empty lift of a system instruction is
therefore *not* a no-op but an unmodelled instruction.

For an unmodelled instruction the audit also says how exploration may go on soundly
(`Recovery`): the verdict of the function can then never be PROVED, but a violation that
holds whatever the instruction did is still reported as FAILED.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pyvex
import z3

from .machine import State, Step, fresh
from .overlay import Rule, rule_for
from .program import Instruction
from .semantics import Unmodelled


class Recovery(enum.Enum):
    HAVOC_RT = "its destination register Rt takes an unknown value"
    NO_GPR_EFFECT = "it changes no general-purpose register, SP or memory"
    SMCCC = "firmware call: x0-x17 take unknown values (SMC Calling Convention)"
    STOP = "paths through it are not explored"


@dataclass(frozen=True)
class AuditResult:
    modelled: bool
    reason: str = ""
    recovery: Recovery = Recovery.STOP
    rule: Rule | None = None      # the overlay's trusted rule, when it has one


MODELLED = AuditResult(True)

HINT_NAMES = {0: "nop", 1: "yield", 2: "wfe", 3: "wfi", 4: "sev", 5: "sevl"}


def _is_system(word: int) -> bool:
    return word & 0xFFC00000 == 0xD5000000


def classify_system(word: int) -> tuple[str, Recovery]:
    """Name the kind of a system-class encoding and the sound way past it if unmodelled."""
    if word & 0xFFFFF01F == 0xD503201F:
        hint = (word >> 5) & 0x7F
        return f"hint {HINT_NAMES.get(hint, hint)}", Recovery.NO_GPR_EFFECT
    if word & 0xFFFFF01F == 0xD503301F:
        return "barrier or clrex", Recovery.NO_GPR_EFFECT
    if word & 0xFFF8F01F == 0xD500401F:
        op1, op2 = (word >> 16) & 7, (word >> 5) & 7
        if (op1, op2) == (0, 5):
            return "msr spsel (switches the stack pointer)", Recovery.STOP
        return "msr to a PSTATE field", Recovery.NO_GPR_EFFECT
    if word & 0xFFF80000 == 0xD5080000:
        if word & 0xFFFFFFE0 == 0xD50B7420:
            return "dc zva (zeroes memory)", Recovery.STOP
        op1, crn, crm = (word >> 16) & 7, (word >> 12) & 0xF, (word >> 8) & 0xF
        if op1 == 0 and crn == 7 and crm in (6, 10, 14):
            # dc isw, csw, cisw: an invalidate by set/way may drop dirty lines of any address
            return "dc by set/way (may change memory anywhere)", Recovery.STOP
        return "sys (cache, TLB or address-translation maintenance)", Recovery.NO_GPR_EFFECT
    if word & 0xFFF00000 == 0xD5300000 or word & 0xFFF80000 == 0xD5280000:
        return "mrs (system register read)", Recovery.HAVOC_RT
    if word & 0xFFF00000 == 0xD5100000:
        if word & 0xFFFFFFE0 == 0xD5184100:  # msr sp_el0: the stack pointer when SPSel=0
            return "msr sp_el0", Recovery.STOP
        return "msr (system register write)", Recovery.NO_GPR_EFFECT
    return "system instruction", Recovery.STOP


def _exception_generating(word: int) -> tuple[str, Recovery] | None:
    if word & 0xFF000000 != 0xD4000000:
        return None
    opc, ll = (word >> 21) & 7, word & 3
    if opc == 0 and ll in (2, 3):
        return ("hvc" if ll == 2 else "smc"), Recovery.SMCCC
    return "exception-generating instruction", Recovery.STOP


def _has_effect(irsb: pyvex.IRSB) -> bool:
    pc = irsb.arch.registers["pc"][0]
    for stmt in irsb.statements:
        if isinstance(stmt, (pyvex.stmt.IMark, pyvex.stmt.NoOp, pyvex.stmt.AbiHint)):
            continue
        if isinstance(stmt, pyvex.stmt.WrTmp):
            continue
        if isinstance(stmt, pyvex.stmt.Put) and stmt.offset == pc:
            continue
        return True
    return False


def audit(insn: Instruction) -> AuditResult:
    word = insn.word
    rule = rule_for(word)
    if rule is not None:
        return AuditResult(True, rule=rule)
    gen = _exception_generating(word)
    if gen is not None:
        kind, recovery = gen
        return AuditResult(False, f"{kind}: leaves this core; no trusted semantics", recovery)
    if insn.irsb is None:
        return AuditResult(False, "VEX cannot decode it", Recovery.STOP)
    if _is_system(word):
        kind, recovery = classify_system(word)
        if word == 0xD503201F:  # nop
            return MODELLED
        if not _has_effect(insn.irsb):
            return AuditResult(False, f"{kind}: VEX lifts it to nothing", recovery)
    exits = {insn.irsb.jumpkind} | {stmt.jumpkind for stmt in insn.irsb.statements
                                    if isinstance(stmt, pyvex.stmt.Exit)}
    odd = sorted(exits - {"Ijk_Boring", "Ijk_Call", "Ijk_Ret", "Ijk_SigFPE_IntDiv"})
    if odd:  # VEX's divide-by-zero exit is dropped by Step: AArch64 has no such trap
        return AuditResult(False, f"VEX gives it a {', '.join(odd)} exit (a trap or an "
                           "emulator exit), not ordinary control flow", Recovery.STOP)
    try:  # run it once on an unconstrained state: every piece of its IR must be modelled
        Step(_scratch_state(insn.addr), insn.irsb, word).run()
    except Unmodelled as exc:
        recovery = classify_system(word)[1] if _is_system(word) else Recovery.STOP
        return AuditResult(False, f"{exc} has no trusted meaning", recovery)
    return MODELLED


def _scratch_state(addr: int) -> State:
    """An unconstrained state, but with the flags thunk in VEX's canonical form."""
    state = State({}, None, [], addr)
    state.set_reg("cc_op", z3.ZeroExt(60, fresh("cc_op", 4)))
    return state
