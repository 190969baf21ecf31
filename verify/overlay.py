"""Trusted semantics for the instructions VEX lacks or gets wrong.

Each rule is decoded from the raw encoding (Arm ARM field layouts) and states the
instruction's effect on registers, memory and the system-register file. Rules exist for:

- LSE atomics: LD<op> (ADD, CLR, EOR, SET, SMAX, SMIN, UMAX, UMIN), ST<op> aliases, SWP, CAS,
  in every size and every acquire/release form;
- RCpc: LDAPR, LDAPUR/LDAPURS, STLUR; exclusive pairs LDXP/LDAXP/STXP/STLXP;
- MRS/MSR over a symbolic system-register file (`SYSREGS` says how each register behaves),
  MSR DAIFSet/DAIFClr, ERET, hints (NOP, YIELD, WFE, WFI, SEV, SEVL), cache and TLB
  maintenance, and HVC/SMC firmware calls under the SMC Calling Convention.

An encoding with no rule here falls through to VEX, and the audit refuses it if VEX cannot
model it either: no instruction is ever a silent no-op.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

import z3

from .machine import (FIRMWARE, HVC_CALL, SMC_CALL, STREAM, Effect, MemAccess, State,
                      firmware_call, firmware_result, fresh, reg_offset)
from .ordering import access_class

MASK64 = 2 ** 64 - 1


class Kind(enum.Enum):
    STORAGE = "reads return the last value written; unknown until written"
    CONSTANT = "an unknown value, the same for every read on a path; not writable"
    CORE_ID = "an unknown core identity whose Aff0 is below the configured core count"
    CURRENT_EL = "the exception level, EL1 or EL2 unless an ERET changed it"
    VOLATILE = "a fresh unknown value at every read (hardware changes it)"
    COUNTER = "a fresh value at every read, never below the previous read"
    WRITE_ONLY = "writes only (they signal hardware); no read"


# (op0, op1, CRn, CRm, op2) -> (name, kind). Registers not listed have no trusted rule.
SYSREGS: dict[tuple[int, int, int, int, int], tuple[str, Kind]] = {
    (3, 0, 0, 0, 0): ("MIDR_EL1", Kind.CONSTANT),
    (3, 0, 0, 0, 5): ("MPIDR_EL1", Kind.CORE_ID),
    (3, 0, 0, 7, 0): ("ID_AA64MMFR0_EL1", Kind.CONSTANT),
    (3, 0, 4, 2, 2): ("CurrentEL", Kind.CURRENT_EL),
    (3, 3, 4, 2, 1): ("DAIF", Kind.STORAGE),
    (3, 0, 4, 1, 0): ("SP_EL0", Kind.STORAGE),
    (3, 0, 4, 0, 0): ("SPSR_EL1", Kind.STORAGE),
    (3, 0, 4, 0, 1): ("ELR_EL1", Kind.STORAGE),
    (3, 0, 5, 2, 0): ("ESR_EL1", Kind.STORAGE),
    (3, 0, 6, 0, 0): ("FAR_EL1", Kind.STORAGE),
    (3, 0, 12, 0, 0): ("VBAR_EL1", Kind.STORAGE),
    (3, 0, 1, 0, 0): ("SCTLR_EL1", Kind.STORAGE),
    (3, 0, 1, 0, 2): ("CPACR_EL1", Kind.STORAGE),
    (3, 0, 2, 0, 0): ("TTBR0_EL1", Kind.STORAGE),
    (3, 0, 2, 0, 1): ("TTBR1_EL1", Kind.STORAGE),
    (3, 0, 2, 0, 2): ("TCR_EL1", Kind.STORAGE),
    (3, 0, 10, 2, 0): ("MAIR_EL1", Kind.STORAGE),
    (3, 0, 13, 0, 4): ("TPIDR_EL1", Kind.STORAGE),
    (3, 3, 13, 0, 3): ("TPIDRRO_EL0", Kind.STORAGE),
    # FPSR: VEX keeps only its QC bit (as `qcflag`); the rule keeps the rest (_fpsr_*).
    (3, 3, 4, 4, 1): ("FPSR", Kind.STORAGE),
    (3, 4, 0, 0, 0): ("VPIDR_EL2", Kind.STORAGE),
    (3, 4, 0, 0, 5): ("VMPIDR_EL2", Kind.STORAGE),
    (3, 4, 1, 0, 0): ("SCTLR_EL2", Kind.STORAGE),
    (3, 4, 1, 1, 0): ("HCR_EL2", Kind.STORAGE),
    (3, 4, 1, 1, 2): ("CPTR_EL2", Kind.STORAGE),
    (3, 4, 4, 0, 0): ("SPSR_EL2", Kind.STORAGE),
    (3, 4, 4, 0, 1): ("ELR_EL2", Kind.STORAGE),
    (3, 4, 12, 0, 0): ("VBAR_EL2", Kind.STORAGE),
    (3, 4, 12, 9, 5): ("ICC_SRE_EL2", Kind.STORAGE),
    (3, 4, 14, 0, 3): ("CNTVOFF_EL2", Kind.STORAGE),
    (3, 4, 14, 1, 0): ("CNTHCTL_EL2", Kind.STORAGE),
    (3, 3, 14, 0, 0): ("CNTFRQ_EL0", Kind.CONSTANT),
    (3, 3, 14, 0, 1): ("CNTPCT_EL0", Kind.COUNTER),
    (3, 3, 14, 0, 2): ("CNTVCT_EL0", Kind.COUNTER),
    (3, 3, 14, 2, 0): ("CNTP_TVAL_EL0", Kind.VOLATILE),
    (3, 3, 14, 2, 1): ("CNTP_CTL_EL0", Kind.VOLATILE),
    (3, 3, 14, 2, 2): ("CNTP_CVAL_EL0", Kind.STORAGE),
    (3, 3, 14, 3, 0): ("CNTV_TVAL_EL0", Kind.VOLATILE),
    (3, 3, 14, 3, 1): ("CNTV_CTL_EL0", Kind.VOLATILE),
    (3, 3, 14, 3, 2): ("CNTV_CVAL_EL0", Kind.STORAGE),
    (3, 0, 4, 6, 0): ("ICC_PMR_EL1", Kind.STORAGE),
    (3, 0, 12, 12, 0): ("ICC_IAR1_EL1", Kind.VOLATILE),
    (3, 0, 12, 12, 1): ("ICC_EOIR1_EL1", Kind.WRITE_ONLY),
    (3, 0, 12, 12, 3): ("ICC_BPR1_EL1", Kind.STORAGE),
    (3, 0, 12, 12, 4): ("ICC_CTLR_EL1", Kind.STORAGE),
    (3, 0, 12, 12, 5): ("ICC_SRE_EL1", Kind.STORAGE),
    (3, 0, 12, 12, 7): ("ICC_IGRPEN1_EL1", Kind.STORAGE),
    (3, 0, 12, 11, 5): ("ICC_SGI1R_EL1", Kind.WRITE_ONLY),
    # Not storage: PMCR_EL0.P/C are write-only (read as 0) and N, IDCODE, IMP read-only;
    # PMCNTENSET_EL0 is write-1-to-set (writing 0 leaves a counter enabled).
    (3, 3, 9, 12, 0): ("PMCR_EL0", Kind.VOLATILE),
    (3, 3, 9, 12, 1): ("PMCNTENSET_EL0", Kind.VOLATILE),
    (3, 3, 9, 13, 0): ("PMCCNTR_EL0", Kind.COUNTER),
    (3, 3, 9, 14, 0): ("PMUSERENR_EL0", Kind.STORAGE),
    (3, 3, 14, 8, 0): ("PMEVCNTR0_EL0", Kind.COUNTER),
    (3, 3, 14, 12, 0): ("PMEVTYPER0_EL0", Kind.STORAGE),
}

SYSREG_KINDS = {name: kind for name, kind in SYSREGS.values()}

# A cache line as large as any core's (Apple's are 128 bytes): what DC IVAC may discard.
CACHE_LINE = 128
HINTS = {0: "nop", 1: "yield", 2: "wfe", 3: "wfi", 4: "sev", 5: "sevl"}
# SMC Calling Convention: a call may change x0-x17; x18-x30, sp and memory are preserved.
SMCCC_RESULT_REGS = 18


@dataclass(frozen=True)
class MachineConfig:
    max_cores: int = 8   # MPIDR_EL1.Aff0 is below this


@dataclass(frozen=True)
class Rule:
    family: str
    summary: str                      # what the rule says the instruction does
    run: Callable[["Exec"], None]
    assumption: str = ""              # what the rule takes on trust beyond the Arm ARM
    # False when the rule's unknowns (a counter, a discarded cache line) cannot be given to
    # a concrete replay; firmware results can (the replay writes them).
    replayable: bool = True


class Exec:
    """One instruction executed by a rule: register, memory and system-register access."""

    def __init__(self, state: State, addr: int, word: int, config: MachineConfig):
        self.state, self.addr, self.word, self.config = state, addr, word, config
        self.effect = Effect(addr)
        self.jumpkind = "Ijk_Boring"
        self.target: z3.BitVecRef = z3.BitVecVal(addr + 4, 64)
        self.order = access_class(word)

    def field(self, lo: int, width: int) -> int:
        return (self.word >> lo) & ((1 << width) - 1)

    # -- registers -------------------------------------------------------------------------
    def x(self, n: int, bits: int = 64) -> z3.BitVecRef:
        """Xn/Wn as a data operand: register 31 is the zero register."""
        if n == 31:
            return z3.BitVecVal(0, bits)
        return z3.Extract(bits - 1, 0, self.state.reg(f"x{n}"))

    def base(self, n: int) -> z3.BitVecRef:
        """Xn as an address base: register 31 is SP."""
        return self.state.reg("sp") if n == 31 else self.state.reg(f"x{n}")

    def set_x(self, n: int, value: z3.BitVecRef) -> None:
        if n == 31:
            return
        if value.size() < 64:
            value = z3.ZeroExt(64 - value.size(), value)
        self.state.set_reg(f"x{n}", z3.simplify(value))
        self.effect.regs_written.append(f"x{n}")

    # -- memory ------------------------------------------------------------------------------
    def load(self, addr: z3.BitVecRef, nbytes: int, kind: str = "load") -> z3.BitVecRef:
        addr = z3.simplify(addr)
        value = self.state.load(addr, nbytes)
        self.effect.accesses.append(MemAccess(kind, addr, nbytes, value, self.order))
        return value

    def store(self, addr: z3.BitVecRef, value: z3.BitVecRef, kind: str = "store",
              cond: z3.BoolRef | None = None) -> None:
        addr = z3.simplify(addr)
        self.state.store(addr, value, cond)
        self.effect.accesses.append(MemAccess(kind, addr, value.size() // 8, value, self.order,
                                              cond))

    # -- system registers ----------------------------------------------------------------------
    def sysreg(self, name: str, kind: Kind) -> z3.BitVecRef:
        sys = self.state.sysregs
        if kind == Kind.VOLATILE:     # each read its own value; the last kept for contracts
            sys[f"{name}.last"] = value = fresh(name, 64)
            return value
        if kind == Kind.COUNTER:  # kept under its own key: the last value read, not state
            value, last = fresh(name, 64), sys.get(f"{name}.last")
            if last is not None:
                self.state.constraints.append(z3.UGE(value, last))
            sys[f"{name}.last"] = value
            return value
        first_use = name not in sys
        value = self.state.sysreg_value(name)
        if first_use and kind == Kind.CORE_ID:
            self.state.constraints.append(z3.ULT(z3.Extract(7, 0, value),
                                                 self.config.max_cores))
        if first_use and name in WRITABLE_BITS:   # the other bits read as 0
            self.state.constraints.append(value & ~z3.BitVecVal(WRITABLE_BITS[name], 64) == 0)
        if first_use and kind == Kind.CURRENT_EL:
            self.state.constraints.append(z3.Or(value == 1 << 2, value == 2 << 2))
        return value

    def set_sysreg(self, name: str, value: z3.BitVecRef) -> None:
        self.state.sysregs[name] = z3.simplify(value)
        self.effect.regs_written.append(name)


# -- LSE atomics ---------------------------------------------------------------------------
def _lse_op(opc: int, old, s):
    return [lambda: old + s, lambda: old & ~s, lambda: old ^ s, lambda: old | s,
            lambda: z3.If(old > s, old, s), lambda: z3.If(old < s, old, s),
            lambda: z3.If(z3.UGT(old, s), old, s), lambda: z3.If(z3.ULT(old, s), old, s)][opc]()


LSE_NAMES = ["add", "clr", "eor", "set", "smax", "smin", "umax", "umin"]


def _atomic_op(ex: Exec) -> None:
    nbytes = 1 << ex.field(30, 2)
    rs, rn, rt, opc = ex.field(16, 5), ex.field(5, 5), ex.field(0, 5), ex.field(12, 3)
    addr, operand = ex.base(rn), ex.x(rs, 8 * nbytes)
    old = ex.load(addr, nbytes, "rmw-load")
    ex.store(addr, _lse_op(opc, old, operand), "rmw-store")
    ex.set_x(rt, old)


def _swap(ex: Exec) -> None:
    nbytes = 1 << ex.field(30, 2)
    rs, rn, rt = ex.field(16, 5), ex.field(5, 5), ex.field(0, 5)
    addr, new = ex.base(rn), ex.x(rs, 8 * nbytes)
    old = ex.load(addr, nbytes, "rmw-load")
    ex.store(addr, new, "rmw-store")
    ex.set_x(rt, old)


def _cas(ex: Exec) -> None:
    nbytes = 1 << ex.field(30, 2)
    rs, rn, rt = ex.field(16, 5), ex.field(5, 5), ex.field(0, 5)
    addr = ex.base(rn)
    expected, new = ex.x(rs, 8 * nbytes), ex.x(rt, 8 * nbytes)
    old = ex.load(addr, nbytes, "rmw-load")
    ex.store(addr, new, "rmw-store", cond=old == expected)  # no write when the compare fails
    ex.set_x(rs, old)


def _ldapr(ex: Exec) -> None:
    nbytes = 1 << ex.field(30, 2)
    ex.set_x(ex.field(0, 5), ex.load(ex.base(ex.field(5, 5)), nbytes))


def _rcpc_unscaled(ex: Exec) -> None:
    nbytes, opc = 1 << ex.field(30, 2), ex.field(22, 2)
    imm = ex.field(12, 9)
    offset = imm - (1 << 9) if imm & (1 << 8) else imm
    addr = ex.base(ex.field(5, 5)) + offset
    rt = ex.field(0, 5)
    if opc == 0:
        ex.store(addr, ex.x(rt, 8 * nbytes))
        return
    value = ex.load(addr, nbytes)
    if opc == 2:
        value = z3.SignExt(64 - 8 * nbytes, value)
    elif opc == 3:
        value = z3.SignExt(32 - 8 * nbytes, value)
    ex.set_x(rt, value)


def _exclusive_pair(ex: Exec) -> None:
    esize = 4 << ex.field(30, 1)
    rs, rt2, rn, rt = ex.field(16, 5), ex.field(10, 5), ex.field(5, 5), ex.field(0, 5)
    addr = ex.base(rn)
    state = ex.state
    if ex.field(22, 1):  # LDXP / LDAXP: arm the monitor for both elements
        first = ex.load(addr, esize, "load-exclusive")
        second = ex.load(addr + esize, esize, "load-exclusive")
        ex.set_x(rt, first)
        ex.set_x(rt2, second)
        state.monitor = (z3.simplify(addr), 2 * esize)
        return
    # STXP / STLXP: succeeds only on the armed address and size; may fail at any time
    ok = state.store_exclusive_outcome(z3.simplify(addr), 2 * esize)
    pair = z3.Concat(ex.x(rt2, 8 * esize), ex.x(rt, 8 * esize))
    ex.store(addr, pair, "store-exclusive", cond=ok == 1)
    ex.set_x(rs, z3.ZeroExt(31, ~ok))  # status: 0 on success, 1 on failure


# -- system instructions -----------------------------------------------------------------------
def _sysreg_fields(word: int) -> tuple[int, int, int, int, int]:
    return (2 + ((word >> 19) & 1), (word >> 16) & 7, (word >> 12) & 0xF, (word >> 8) & 0xF,
            (word >> 5) & 7)


def _mrs(name: str, kind: Kind):
    def run(ex: Exec) -> None:
        value = _fpsr_read(ex) if name == "FPSR" else ex.sysreg(name, kind)
        ex.set_x(ex.field(0, 5), value)
    return run


FPSR_QC = 1 << 27
# Registers with bits that writes do not keep: DAIF is PSTATE.{D,A,I,F} (bits 9:6); FPSR keeps
# N, Z, C, V, QC (31:27) and the cumulative exception flags IDC, IXC-IOC (7, 4:0), as QEMU
# does (unicorn agrees in verify difftest).
WRITABLE_BITS = {"DAIF": 0x3C0, "FPSR": 0xF800009F}


def _fpsr_read(ex: Exec) -> z3.BitVecRef:
    """FPSR as the rule keeps it, with QC from VEX's `qcflag` (which VEX's saturating SIMD
    instructions set), so both views stay one register."""
    qc = ex.state.reg("qcflag")
    qc_set = z3.If(qc != 0, z3.BitVecVal(FPSR_QC, 64), z3.BitVecVal(0, 64))
    return (ex.sysreg("FPSR", Kind.STORAGE) & ~z3.BitVecVal(FPSR_QC, 64)) | qc_set


def _msr(name: str):
    def run(ex: Exec) -> None:
        value = ex.x(ex.field(0, 5))
        if name == "FPSR":
            bit = z3.LShR(value, 27) & 1
            ex.state.set_reg("qcflag", z3.Concat(bit, bit))
        if name in WRITABLE_BITS:
            value = value & WRITABLE_BITS[name]
        ex.set_sysreg(name, value)
    return run


def _daif_imm(set_bits: bool):
    def run(ex: Exec) -> None:
        bits = z3.BitVecVal(ex.field(8, 4) << 6, 64)
        daif = ex.sysreg("DAIF", Kind.STORAGE)
        ex.set_sysreg("DAIF", (daif | bits) if set_bits else (daif & ~bits))
    return run


def _no_effect(ex: Exec) -> None:
    return None


def _dc_ivac(ex: Exec) -> None:
    # Invalidating a line may throw away writes not yet cleaned: its bytes become unknown.
    line = ex.base(ex.field(0, 5)) & ~z3.BitVecVal(CACHE_LINE - 1, 64)
    ex.store(line, fresh("discarded_line", 8 * CACHE_LINE), "cache-invalidate")


def _firmware_call(ex: Exec) -> None:
    # The call joins the firmware stream; x0 is what the firmware answers to that history.
    conduit = SMC_CALL if ex.field(0, 2) == 3 else HVC_CALL
    stream = STREAM + FIRMWARE
    calls = z3.Concat(ex.state.sysreg_value(stream), z3.Unit(firmware_call(
        conduit, ex.field(5, 16), *(ex.x(r) for r in range(4)))))
    ex.set_sysreg(stream, calls)
    ex.effect.firmware = {}
    for r in range(SMCCC_RESULT_REGS):
        value = firmware_result(calls) if r == 0 else fresh(f"firmware_x{r}", 64)
        ex.effect.firmware[r] = value
        ex.set_x(r, value)


def _eret(ex: Exec) -> None:
    el_now = z3.simplify(ex.sysreg("CurrentEL", Kind.CURRENT_EL))
    el = ex.state.single_value(el_now)
    if el not in (1 << 2, 2 << 2):
        raise Unruled("eret from an exception level the path does not pin down")
    el >>= 2
    spsr = ex.sysreg(f"SPSR_EL{el}", Kind.STORAGE)
    mode = ex.state.single_value(z3.Extract(4, 0, spsr))
    if mode is None or mode & 0b10000:
        raise Unruled("eret with a target mode the path does not pin down, or to AArch32")
    target_el, use_sp_elx = mode >> 2, mode & 1
    if target_el > el:
        raise Unruled("eret to a higher exception level")
    # The stack pointer is banked: save this level's, switch to the target's.
    ex.set_sysreg(f"SP_EL{el}", ex.state.reg("sp"))
    ex.state.set_reg("sp", ex.sysreg(f"SP_EL{target_el}" if use_sp_elx else "SP_EL0",
                                     Kind.STORAGE))
    ex.state.set_reg("cc_op", z3.BitVecVal(0, 64))  # NZCV comes back from SPSR
    ex.state.set_reg("cc_dep1", z3.ZeroExt(32, z3.Extract(31, 28, spsr)) << 28)
    ex.set_sysreg("DAIF", spsr & 0x3C0)
    ex.set_sysreg("CurrentEL", z3.BitVecVal(target_el << 2, 64))
    ex.target = ex.sysreg(f"ELR_EL{el}", Kind.STORAGE)
    ex.jumpkind = "Ijk_Ret"


class Unruled(Exception):
    """The rule applies to this encoding, but not in this state; the path ends UNKNOWN."""


# -- decoding ------------------------------------------------------------------------------------
SUFFIX = {0: "b", 1: "h", 2: "", 3: ""}


def _ordering_suffix(acquire: int, release: int) -> str:
    return ("a" if acquire else "") + ("l" if release else "")


def rule_for(word: int) -> Rule | None:
    """The trusted rule for this encoding, or None if the overlay has none."""
    # LSE atomic memory operations, SWP, LDAPR: size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt
    if word & 0x3F200C00 == 0x38200000:
        a, r, o3, opc = (word >> 23) & 1, (word >> 22) & 1, (word >> 15) & 1, (word >> 12) & 7
        size = SUFFIX[(word >> 30) & 3]
        order = _ordering_suffix(a, r)
        if not o3:
            return Rule("LSE atomic", f"ld{LSE_NAMES[opc]}{order}{size}: atomically Rt = "
                        f"[Rn]; [Rn] = [Rn] {LSE_NAMES[opc]} Rs", _atomic_op)
        if opc == 0:
            return Rule("LSE atomic", f"swp{order}{size}: atomically Rt = [Rn]; [Rn] = Rs",
                        _swap)
        if opc == 0b100 and a and not r and (word >> 16) & 0x1F == 0x1F:
            return Rule("RCpc", f"ldapr{size}: Rt = [Rn], acquire-PC", _ldapr)
        return None
    # CAS: size 0010001 L 1 Rs o0 11111 Rn Rt
    if word & 0x3FA07C00 == 0x08A07C00:
        order = _ordering_suffix((word >> 22) & 1, (word >> 15) & 1)
        return Rule("LSE atomic", f"cas{order}{SUFFIX[(word >> 30) & 3]}: atomically if "
                    "[Rn] == Rs then [Rn] = Rt; Rs = old [Rn]", _cas)
    # LDAPUR/LDAPURS/STLUR: size 011001 opc 0 imm9 00 Rn Rt
    if word & 0x3F200C00 == 0x19000000:
        size, opc = (word >> 30) & 3, (word >> 22) & 3
        if (size == 3 and opc >= 2) or (size == 2 and opc == 3):
            return None
        name = ["stlur", "ldapur", "ldapurs", "ldapurs"][opc] + SUFFIX[size]
        return Rule("RCpc", f"{name}: unscaled-offset access, release/acquire-PC",
                    _rcpc_unscaled)
    # LDXP/LDAXP/STXP/STLXP: 1 sz 0010000 L 1 Rs o0 Rt2 Rn Rt
    if word & 0xBFA00000 == 0x88200000:
        load = (word >> 22) & 1
        name = ("ld" if load else "st") + ("a" if load and (word >> 15) & 1 else "") + \
            ("l" if not load and (word >> 15) & 1 else "") + "xp"
        return Rule("exclusive pair", f"{name}: exclusive access to two registers; the store "
                    "may fail at any time and only succeeds on the armed address",
                    _exclusive_pair)
    if word & 0xFFFFF01F == 0xD503201F:  # hints
        hint = (word >> 5) & 0x7F
        if hint in HINTS:
            what = {"wfe": "may return at any time (spurious wake-ups included)",
                    "wfi": "may return at any time (spurious wake-ups included)"}
            return Rule("hint", f"{HINTS[hint]}: no register or memory effect; "
                        f"{what.get(HINTS[hint], 'a hint to the hardware')}", _no_effect)
        return None
    if word & 0xFFF8F01F == 0xD500401F:  # MSR (immediate) to PSTATE fields
        op1, op2 = (word >> 16) & 7, (word >> 5) & 7
        if (op1, op2) == (3, 6):
            return Rule("system register", "msr daifset: DAIF |= imm << 6", _daif_imm(True))
        if (op1, op2) == (3, 7):
            return Rule("system register", "msr daifclr: DAIF &= ~(imm << 6)", _daif_imm(False))
        return None
    if word & 0xFFF80000 == 0xD5080000:  # SYS: cache and TLB maintenance
        op1, crn, crm, op2 = (word >> 16) & 7, (word >> 12) & 0xF, (word >> 8) & 0xF, \
            (word >> 5) & 7
        if (op1, crn, crm, op2) == (0, 7, 6, 1):
            return Rule("maintenance", "dc ivac: the cache line's bytes become unknown "
                        "(dirty data may be discarded)", _dc_ivac, replayable=False)
        if crn == 8 or (crn, crm) in ((7, 1), (7, 5)) or \
                (crn == 7 and (op1, crm, op2) in ((3, 10, 1), (3, 11, 1), (3, 14, 1))):
            return Rule("maintenance", "tlbi/ic/dc clean: no effect on register or memory "
                        "values", _no_effect,
                        assumption="translation is the boot identity map, unchanged")
        return None
    if word & 0xFFD00000 == 0xD5100000:  # MRS (L=1) / MSR (L=0) register forms
        entry = SYSREGS.get(_sysreg_fields(word))
        if entry is None:
            return None
        name, kind = entry
        if (word >> 21) & 1:
            if kind == Kind.WRITE_ONLY:
                return None
            return Rule("system register", f"mrs {name}: {kind.value}", _mrs(name, kind),
                        replayable=kind not in (Kind.VOLATILE, Kind.COUNTER))
        if kind in (Kind.CONSTANT, Kind.CORE_ID, Kind.CURRENT_EL, Kind.COUNTER) or \
                name == "ICC_IAR1_EL1":  # read-only: an MSR to it is UNDEFINED
            return None
        return Rule("system register", f"msr {name}: {kind.value}", _msr(name))
    if word & 0xFFE0001F in (0xD4000002, 0xD4000003):  # HVC, SMC
        return Rule("firmware call", "hvc/smc: the call (conduit, immediate, x0-x3) joins "
                    "the firmware stream; x0-x17 take unknown values",
                    _firmware_call, assumption="the firmware follows the SMC Calling "
                    "Convention: it preserves x18-x30, sp and memory")
    if word == 0xD69F03E0:
        return Rule("exception return", "eret: pc = ELR_ELn, PSTATE from SPSR_ELn, banked sp",
                    _eret, assumption="SP_ELx is selected at EL1 and EL2 (SPSel = 1)")
    return None


def execute(rule: Rule, state: State, addr: int, word: int,
            config: MachineConfig) -> tuple[State, Effect, str, z3.BitVecRef]:
    ex = Exec(state, addr, word, config)
    rule.run(ex)
    state.put(reg_offset("pc"), ex.target)
    return state, ex.effect, ex.jumpkind, ex.target
