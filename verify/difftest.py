"""Differential test of the verifier's instruction semantics against unicorn.

For every distinct encoding in the image's functions, plus a generated set covering every
encoding family the overlay models, the instruction is run from many random states both
through the verifier's own semantics (the overlay rule when `overlay.rule_for` has one, else
VEX over `machine.State`, exactly as the explorer runs it) and on unicorn's `max` CPU. The
results must agree on x0-x30, sp, the next pc, NZCV, q0-q31, the system registers the
instruction writes, and every byte of memory either side wrote.

How it stays fast: the semantics run ONCE per encoding, on symbolic inputs; the Z3 terms of
every output are then compiled into a straight-line Python function over integers, which is
evaluated on each concrete state. The compiled code is cross-checked against Z3's own
evaluation on the first states of every encoding and on every state that disagrees, so a
reported mismatch is one of the semantics, never of the compiler.

Nondeterminism: an output may contain values the semantics leave open (a store-exclusive's
success bit, a fresh system-register value, the bytes of an invalidated cache line). A state
matches when SOME assignment of those values, together with the path's constraints, makes
every output equal to unicorn's. An open value that is itself an output is bound to
unicorn's value; what is left, if narrow (at most 8 bits), is enumerated; anything else goes
to a Z3 check for that state.

Random states follow s2n-bignum's idea of random bit density: each register independently
is all zeros, all ones, sparse, dense, an edge value or uniform, with registers sometimes
copied from one another so that equalities (compare-and-swap success, Z flags) are common.
Base registers point into a scratch buffer with random content, aligned for atomic,
exclusive and ordered accesses (unaligned ones fault on real hardware); any other page an
access reaches is mapped on demand with content both sides agree on.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import json
import multiprocessing
import operator
import os
import random
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import capstone
import pyvex
import z3
from capstone import arm64 as cs_arm64
from unicorn import (UC_ARCH_ARM64, UC_HOOK_MEM_READ_UNMAPPED, UC_HOOK_MEM_WRITE_UNMAPPED,
                     UC_MODE_ARM, UC_PROT_ALL, Uc, UcError)
from unicorn import arm64_const as uc

from . import overlay, semantics
from .audit import audit
from .machine import ARCH, State, Step, initial_memory
from .ordering import access_class
from .program import Instruction, Program

PAGE = 0x1000
MASK64 = (1 << 64) - 1
SCRATCH = 0x1000_0000          # random data every base register points into
SCRATCH_SIZE = 0x4000
SCRATCH_CENTER = SCRATCH + SCRATCH_SIZE // 2
GENERATED_AT = 0x4100_0800     # where generated encodings are placed
POOL_SIZE = 1 << 20            # random bytes that memory content is drawn from
ENUMERATE_BITS = 8             # open values up to this many bits are enumerated
CROSS_CHECK_STATES = 2         # states per encoding whose compiled result Z3 re-evaluates
MAX_MISMATCHES_PER_ENCODING = 3

GPRS = [f"x{i}" for i in range(31)] + ["sp"]
QREGS = [f"q{i}" for i in range(32)]
_NO_Q = [0] * len(QREGS)                 # the SIMD inputs of a plan with raw_q
_NO_Q_OUTPUTS = dict.fromkeys(QREGS, 0)  # and unicorn's outputs, as the evaluator gives them


# -- results ---------------------------------------------------------------------------------
@dataclass
class Mismatch:
    word: int
    text: str
    variant: str
    where: str                                   # image address, or "generated"
    inputs: dict[str, int]                       # the registers the instruction reads
    differences: list[tuple[str, int | str, int | str]]   # (what, ours, unicorn)

    def describe(self) -> str:
        head = f"0x{self.word:08x} {self.text}" + (f" [{self.variant}]" if self.variant else "")
        ins = ", ".join(f"{k}=0x{v:x}" for k, v in self.inputs.items())
        diffs = "; ".join(f"{w}: ours {_show(o)} vs unicorn {_show(u)}"
                          for w, o, u in self.differences)
        return f"{head} ({self.where})\n    inputs: {ins}\n    differs: {diffs}"


@dataclass
class Skipped:
    word: int
    text: str
    reason: str
    where: str = ""
    variant: str = ""


@dataclass
class DiffReport:
    encodings_tested: int = 0        # encodings (with their variants) run on random states
    variants_tested: int = 0
    states_run: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    elapsed: float = 0.0
    cut_short: bool = False          # the budget ran out: the run is NOT complete
    states_per_encoding: int = 0
    z3_checks: int = 0               # states whose open values needed a solver
    encodings_planned: int = 0
    from_image: int = 0              # of encodings_tested, those found in the image
    errors: list[str] = field(default_factory=list)   # harness failures: the run failed
    # how some encodings were compared less than fully, and why (unicorn's limits)
    restrictions: dict[str, list[str]] = field(default_factory=dict)
    coverage_gaps: list[str] = field(default_factory=list)   # ways out no state took

    @property
    def complete(self) -> bool:
        return not self.cut_short

    @property
    def rate(self) -> float:
        return self.states_run / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        status = (f"CUT SHORT by the budget (incomplete: {self.encodings_tested} of "
                  f"{self.encodings_planned} encodings)") if self.cut_short else "complete"
        return (f"difftest: {self.encodings_tested} encodings ({self.from_image} from the "
                f"image, {self.encodings_tested - self.from_image} generated; "
                f"{self.variants_tested} with variants) x {self.states_per_encoding} states = "
                f"{self.states_run} states "
                f"in {self.elapsed:.1f}s ({self.rate:,.0f} states/s), "
                f"{len(self.mismatches)} mismatches, {len(self.skipped)} skipped, "
                f"{len(self.errors)} harness errors, "
                f"{self.z3_checks} solver checks; {status}")


def _show(v) -> str:
    return f"0x{v:x}" if isinstance(v, int) else str(v)


# -- what to test ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    word: int
    addr: int
    where: str
    variant: str = ""
    prefix: int | None = None        # run on unicorn just before (arms the monitor)
    spsr_mode: int | None = None     # ERET: the SPSR_EL1.M the state holds


_cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
_cs.detail = True


def _disasm(word: int, addr: int):
    return next(_cs.disasm(word.to_bytes(4, "little"), addr), None)


def _text(word: int, addr: int) -> str:
    insn = _disasm(word, addr)
    return f"{insn.mnemonic} {insn.op_str}".strip() if insn else f".inst 0x{word:08x}"


def _instruction(word: int, addr: int) -> Instruction:
    data = word.to_bytes(4, "little")
    try:
        irsb = pyvex.lift(data, addr, ARCH, max_inst=1, opt_level=0)
        if irsb.jumpkind == "Ijk_NoDecode" or irsb.size == 0:
            irsb = None
    except pyvex.PyVEXError:
        irsb = None
    return Instruction(addr, word, _text(word, addr), irsb)


def generated_encodings() -> list[int]:
    """Every encoding family the overlay models, in all sizes, orders and forms."""
    words: list[int] = []
    regs = itertools.cycle([(2, 1, 3), (5, 31, 6), (7, 9, 7), (0, 4, 30), (12, 13, 14)])
    # LSE LD<op>: size 111 0 00 A R 1 Rs 0 opc 00 Rn Rt; ST<op> is Rt = zr with A = 0
    for size, a, r, opc in itertools.product(range(4), (0, 1), (0, 1), range(8)):
        rs, rn, rt = next(regs)
        base = 0x38200000 | size << 30 | a << 23 | r << 22 | opc << 12
        words.append(base | rs << 16 | rn << 5 | rt)
        if a == 0:
            words.append(base | rs << 16 | rn << 5 | 31)
    # SWP: o3 = 1, opc = 000
    for size, a, r in itertools.product(range(4), (0, 1), (0, 1)):
        rs, rn, rt = next(regs)
        words.append(0x38208000 | size << 30 | a << 23 | r << 22 | rs << 16 | rn << 5 | rt)
    # CAS: size 0010001 L 1 Rs o0 11111 Rn Rt
    for size, l, o0 in itertools.product(range(4), (0, 1), (0, 1)):
        rs, rn, rt = next(regs)
        words.append(0x08A07C00 | size << 30 | l << 22 | rs << 16 | o0 << 15 | rn << 5 | rt)
    # LDAPR: size 111 0 00 1 0 1 11111 1 100 00 Rn Rt
    for size in range(4):
        _, rn, rt = next(regs)
        words.append(0x38BFC000 | size << 30 | rn << 5 | rt)
    # LDAPUR/LDAPURS/STLUR: size 011001 opc 0 imm9 00 Rn Rt, with both extreme offsets
    for size, opc in itertools.product(range(4), range(4)):
        if (size == 3 and opc >= 2) or (size == 2 and opc == 3):
            continue
        for imm in (0, 255, -256, 8 << size):
            _, rn, rt = next(regs)
            words.append(0x19000000 | size << 30 | opc << 22 | (imm & 0x1FF) << 12 |
                         rn << 5 | rt)
    # LDXP/LDAXP/STXP/STLXP: 1 sz 0010000 L 1 Rs o0 Rt2 Rn Rt (Rs, Rt, Rt2, Rn distinct)
    for sz, load, o0 in itertools.product((0, 1), (0, 1), (0, 1)):
        rs = 31 if load else 4
        words.append(0x88200000 | sz << 30 | load << 22 | rs << 16 | o0 << 15 | 3 << 10 |
                     1 << 5 | 2)
    # MRS/MSR of every system register the overlay has a rule for
    for (op0, op1, crn, crm, op2), (name, kind) in overlay.SYSREGS.items():
        enc = 0xD5100000 | (op0 - 2) << 19 | op1 << 16 | crn << 12 | crm << 8 | op2 << 5
        for read in (1, 0):
            word = enc | read << 21 | (9 if read else 10)
            if overlay.rule_for(word) is not None:
                words.append(word)
    # MSR DAIFSet / DAIFClr, every immediate
    for op2, imm in itertools.product((6, 7), range(16)):
        words.append(0xD500401F | 3 << 16 | imm << 8 | op2 << 5)
    # hints the overlay models
    words += [0xD503201F | hint << 5 for hint in sorted(overlay.HINTS)]
    # cache and TLB maintenance: SYS op1, CRn, CRm, op2 (with an address in x3 where taken)
    for op1, crn, crm, op2, rt in ((0, 7, 6, 1, 3), (3, 7, 10, 1, 3), (3, 7, 11, 1, 3),
                                   (3, 7, 14, 1, 3), (3, 7, 5, 1, 3), (0, 7, 5, 0, 31),
                                   (0, 7, 1, 0, 31), (0, 8, 7, 0, 31), (0, 8, 3, 0, 31),
                                   (0, 8, 7, 1, 3), (0, 8, 3, 3, 3)):
        words.append(0xD5080000 | op1 << 16 | crn << 12 | crm << 8 | op2 << 5 | rt)
    return list(dict.fromkeys(words))


def _store_exclusive(word: int) -> tuple[int, int, int] | None:
    """(Rn, access bytes, unicorn prefix that arms the monitor) for a store-exclusive."""
    ac = access_class(word)
    if not ac.exclusive or (word >> 22) & 1 or word & 0x3F000000 != 0x08000000:
        return None
    rn = (word >> 5) & 31
    if (word >> 21) & 1:  # pair: LDXP xzr, xzr, [Rn] arms 2 x esize
        sz = (word >> 30) & 1
        return rn, 2 * (4 << sz), 0x887F7C1F | sz << 30 | rn << 5
    size = (word >> 30) & 3
    return rn, 1 << size, 0x085F7C1F | size << 30 | rn << 5


def plan_cases(program: Program | None, words: Iterable[int] | None = None,
               generated: bool = True) -> tuple[list[Case], list[Skipped], int]:
    """The cases to run, the encodings skipped before running (with reasons), and the
    number of distinct encodings."""
    found: dict[int, tuple[int, str]] = {}
    if program is not None:
        for func in program.functions.values():
            for insn in program.instructions(func):
                found.setdefault(insn.word, (insn.addr, f"{func.name}+0x{insn.addr - func.addr:x}"))
    if generated:
        for w in generated_encodings():
            found.setdefault(w, (GENERATED_AT, "generated"))
    if words is not None:
        wanted = list(dict.fromkeys(words))
        found = {w: found.get(w, (GENERATED_AT, "generated")) for w in wanted}
    cases: list[Case] = []
    skipped: list[Skipped] = []
    for word, (addr, where) in found.items():
        insn = _instruction(word, addr)
        verdict = audit(insn)
        if not verdict.modelled:
            skipped.append(Skipped(word, insn.text, "not modelled by the verifier (no "
                                   f"semantics to test): {verdict.reason}", where))
            continue
        rule = verdict.rule
        if rule is not None and rule.family == "firmware call":
            skipped.append(Skipped(word, insn.text, "firmware call: control leaves the core "
                                   "for EL2/EL3 firmware, which unicorn does not have (it is "
                                   "UNDEFINED at EL1 there)", where))
            continue
        if rule is not None and rule.family == "exception return":
            for mode, name in ((0b0101, "EL1h"), (0b0100, "EL1t"), (0b0000, "EL0t")):
                cases.append(Case(word, addr, where, f"from EL1, SPSR_EL1.M = {name}",
                                  spsr_mode=mode))
            continue
        excl = _store_exclusive(word)
        if excl is not None:
            rn, size, prefix = excl
            cases.append(Case(word, addr, where, "monitor not armed"))
            cases.append(Case(word, addr, where, f"monitor armed by a {size}-byte "
                              f"load-exclusive of [{'sp' if rn == 31 else f'x{rn}'}]",
                              prefix=prefix))
            continue
        cases.append(Case(word, addr, where))
    return cases, skipped, len(found)


# -- the symbolic run and its compilation ---------------------------------------------------
class NotComparable(Exception):
    """This encoding cannot be compared this way; the message says why (it is skipped)."""


@dataclass
class Successor:
    guard: z3.BoolRef
    outputs: list[tuple[str, z3.ExprRef]]          # name -> value (registers, pc, sysregs)
    stores: list[tuple[z3.BitVecRef, int, z3.BitVecRef, z3.BoolRef | None]]  # oldest first

    def __post_init__(self):
        # unicorn's values of the outputs, as a tuple in their order, in one C call
        get = operator.itemgetter(*(name for name, _ in self.outputs))
        self.pick_outputs = (lambda d: (get(d),)) if len(self.outputs) == 1 else get


_inputs: list[State] = []      # every case starts from the same registers: made once


def _input_state(case: Case) -> State:
    if not _inputs:
        state = State({}, None, [], 0)
        for name in GPRS:
            state.set_reg(name, z3.BitVec(name, 64))
        for name in QREGS:
            state.set_reg(name, z3.BitVec(name, 128))
        nzcv = z3.BitVec("nzcv", 4)
        state.set_reg("cc_op", z3.BitVecVal(semantics.CC_COPY, 64))
        state.set_reg("cc_dep1", z3.ZeroExt(32, z3.Concat(nzcv, z3.BitVecVal(0, 28))))
        state.set_reg("cc_dep2", z3.BitVecVal(0, 64))
        state.set_reg("cc_ndep", z3.BitVecVal(0, 64))
        # System registers that hold what was written: their current value is an input.
        for name, kind in overlay.SYSREGS.values():
            if kind == overlay.Kind.STORAGE:
                state.sysregs[name] = z3.BitVec(f"sys_{name}", 64)
        _inputs.append(state)
    state = _inputs[0].copy()
    state.pc = case.addr
    if case.spsr_mode is not None:  # ERET: unicorn runs at EL1; the target mode is pinned
        state.sysregs["CurrentEL"] = z3.BitVecVal(1 << 2, 64)
        state.sysregs["SPSR_EL1"] = z3.Concat(z3.BitVec("sys_SPSR_EL1_hi", 59),
                                              z3.BitVecVal(case.spsr_mode, 5))
    if case.prefix is not None:
        rn, size, _ = _store_exclusive(case.word)
        state.monitor = (state.reg("sp") if rn == 31 else state.reg(f"x{rn}"), size)
    return state


def symbolic_run(case: Case, config: overlay.MachineConfig) -> list[Successor]:
    insn = _instruction(case.word, case.addr)
    verdict = audit(insn)
    if not verdict.modelled:
        raise NotComparable(f"not modelled: {verdict.reason}")
    state = _input_state(case)
    seeds = dict(state.sysregs)
    try:
        if verdict.rule is not None:
            succs = [overlay.execute(verdict.rule, state, case.addr, case.word, config)]
        else:
            succs = Step(state, insn.irsb, case.word).run()
    except (semantics.Unmodelled, overlay.Unruled) as exc:
        raise NotComparable(f"the semantics give no result from this state: {exc}") from exc
    out = []
    for st, _effect, _jumpkind, target in succs:
        outputs: list[tuple[str, z3.ExprRef]] = [("pc", z3.simplify(target))]
        outputs += [(r, _simplified(st.reg(r))) for r in GPRS]
        # NZCV through the same flags helper the VEX IR of MRS NZCV calls
        nzcv = semantics.CCALLS["arm64g_calculate_flags_nzcv"](
            st.reg("cc_op"), st.reg("cc_dep1"), st.reg("cc_dep2"), st.reg("cc_ndep"))
        outputs.append(("nzcv", z3.simplify(z3.Extract(31, 28, nzcv))))
        outputs += [(q, _simplified(st.reg(q))) for q in QREGS]
        for name, value in sorted(st.sysregs.items()):
            if name in seeds and z3.eq(value, seeds[name]):
                continue  # not written
            if _sysreg_compared(name):
                outputs.append((f"sys:{name}", z3.simplify(value)))
        stores = []
        node = st.mem
        while node is not None:
            stores.append((z3.simplify(node.addr), node.size, z3.simplify(node.value),
                           None if node.cond is None else z3.simplify(node.cond)))
            node = node.older
        stores.reverse()
        guard = z3.simplify(z3.And(*st.constraints)) if st.constraints else z3.BoolVal(True)
        out.append(Successor(guard, outputs, stores))
    return out


def _simplified(e: z3.ExprRef) -> z3.ExprRef:
    return e if z3.is_const(e) else z3.simplify(e)     # a bare register: nothing to do


def _sysreg_kind(name: str) -> overlay.Kind | None:
    for reg, kind in overlay.SYSREGS.values():
        if reg == name:
            return kind
    return None


def _sysreg_compared(name: str) -> bool:
    """A written system register is compared when a later read must return it: STORAGE
    registers, the PSTATE views, and the banked stack pointers. A VOLATILE or COUNTER
    register's reads are fresh values in the model, so what was written says nothing."""
    if name in ("DAIF", "CurrentEL") or name.startswith("SP_EL"):
        return True
    return _sysreg_kind(name) == overlay.Kind.STORAGE


class _CannotCompile(Exception):
    pass


_SIMPLE_BOOL = {z3.Z3_OP_AND: " and ", z3.Z3_OP_OR: " or "}


def _helpers() -> dict:
    def sx(v, w):
        return v - (1 << w) if v >> (w - 1) else v

    def sdiv(a, b, w):
        m = (1 << w) - 1
        if b == 0:
            return 1 if a >> (w - 1) else m
        sa, sb = sx(a, w), sx(b, w)
        q = abs(sa) // abs(sb)
        return (q if (sa < 0) == (sb < 0) else -q) & m

    def srem(a, b, w):
        if b == 0:
            return a
        sa, sb = sx(a, w), sx(b, w)
        r = abs(sa) % abs(sb)
        return (-r if sa < 0 else r) & ((1 << w) - 1)

    def smod(a, b, w):
        if b == 0:
            return a
        sa, sb = sx(a, w), sx(b, w)
        return (sa - sb * (sa // sb)) & ((1 << w) - 1)  # Python's floor: sign of divisor

    def rep(a, w, n):
        out = 0
        for _ in range(n):
            out = out << w | a
        return out

    def rotl(a, k, w):
        k %= w
        return ((a << k) | (a >> (w - k))) & ((1 << w) - 1) if k else a

    return {"_sx": sx, "_sdiv": sdiv, "_srem": srem, "_smod": smod, "_rep": rep,
            "_rotl": rotl}


class Compiled:
    """Z3 terms compiled into one Python function f(I, F, M) over integers: I the input
    values, F the open values, M(addr) the initial memory byte at addr."""

    def __init__(self, exprs: list[z3.ExprRef], inputs: list[str], free: list[str]):
        self.inputs = {n: i for i, n in enumerate(inputs)}
        self.free = {n: i for i, n in enumerate(free)}
        self.lines: list[str] = []
        self.names: dict[int, str] = {}
        results = [self._name(e) for e in exprs]
        body = "\n    ".join(self.lines) if self.lines else "pass"
        src = f"def _f(I, F, M):\n    {body}\n    return ({', '.join(results)},)\n"
        namespace = _helpers()
        exec(compile(src, "<difftest>", "exec"), namespace)
        self.fn: Callable = namespace["_f"]

    def _name(self, root: z3.ExprRef) -> str:
        stack = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            eid = e.get_id()
            if eid in self.names:
                continue
            kind = e.decl().kind()
            children = [] if kind == z3.Z3_OP_SELECT else e.children()
            if kind == z3.Z3_OP_SELECT:
                children = [e.arg(1)]
            if not expanded and any(c.get_id() not in self.names for c in children):
                stack.append((e, True))
                stack.extend((c, False) for c in children)
                continue
            code = self._emit(e, kind, [self.names[c.get_id()] for c in children])
            name = f"t{len(self.names)}"
            self.lines.append(f"{name} = {code}")
            self.names[eid] = name
        return self.names[root.get_id()]

    def _emit(self, e: z3.ExprRef, k: int, a: list[str]) -> str:
        if z3.is_bv(e):
            w = e.size()
            m = (1 << w) - 1
        if k == z3.Z3_OP_BNUM:
            return str(e.as_long())
        if k == z3.Z3_OP_TRUE:
            return "True"
        if k == z3.Z3_OP_FALSE:
            return "False"
        if k == z3.Z3_OP_UNINTERPRETED:
            n = e.decl().name()
            if n == "mem0" and e.num_args() == 1:   # a read of initial memory
                return f"M({a[0]})"
            if n in self.inputs:
                return f"I[{self.inputs[n]}]"
            if n in self.free:
                return f"F[{self.free[n]}]"
            raise _CannotCompile(f"unknown variable {n}")
        if k == z3.Z3_OP_SELECT:
            if e.arg(0).decl().name() != "mem0":
                raise _CannotCompile("select from an array other than initial memory")
            return f"M({a[0]})"
        if k == z3.Z3_OP_EQ or k == z3.Z3_OP_IFF:
            return f"({a[0]} == {a[1]})"
        if k == z3.Z3_OP_DISTINCT:
            if len(a) == 2:
                return f"({a[0]} != {a[1]})"
            return f"(len({{{', '.join(a)}}}) == {len(a)})"
        if k == z3.Z3_OP_ITE:
            return f"({a[1]} if {a[0]} else {a[2]})"
        if k in _SIMPLE_BOOL:
            return "(" + _SIMPLE_BOOL[k].join(a) + ")"
        if k == z3.Z3_OP_NOT:
            return f"(not {a[0]})"
        if k == z3.Z3_OP_XOR:
            return f"({a[0]} != {a[1]})"
        if k == z3.Z3_OP_IMPLIES:
            return f"((not {a[0]}) or {a[1]})"
        if k == z3.Z3_OP_BADD:
            return f"(({' + '.join(a)}) & {m})"
        if k == z3.Z3_OP_BSUB:
            return f"(({a[0]} - {a[1]}) & {m})"
        if k == z3.Z3_OP_BMUL:
            return f"(({' * '.join(a)}) & {m})"
        if k == z3.Z3_OP_BNEG:
            return f"((-{a[0]}) & {m})"
        if k == z3.Z3_OP_BNOT:
            return f"({a[0]} ^ {m})"
        if k == z3.Z3_OP_BAND:
            return "(" + " & ".join(a) + ")"
        if k == z3.Z3_OP_BOR:
            return "(" + " | ".join(a) + ")"
        if k == z3.Z3_OP_BXOR:
            return "(" + " ^ ".join(a) + ")"
        if k == z3.Z3_OP_BNAND:
            return f"(({' & '.join(a)}) ^ {m})"
        if k == z3.Z3_OP_BNOR:
            return f"(({' | '.join(a)}) ^ {m})"
        if k == z3.Z3_OP_BXNOR:
            return f"(({' ^ '.join(a)}) ^ {m})"
        if k == z3.Z3_OP_CONCAT:
            parts, shift = [], 0
            for child, code in reversed(list(zip(e.children(), a))):
                parts.append(f"({code} << {shift})" if shift else code)
                shift += child.size()
            return "(" + " | ".join(reversed(parts)) + ")"
        if k == z3.Z3_OP_EXTRACT:
            hi, lo = e.params()
            return f"(({a[0]} >> {lo}) & {(1 << (hi - lo + 1)) - 1})"
        if k == z3.Z3_OP_ZERO_EXT:
            return a[0]
        if k == z3.Z3_OP_SIGN_EXT:
            cw = e.arg(0).size()
            return f"(({a[0]} | {m ^ ((1 << cw) - 1)}) if {a[0]} >> {cw - 1} else {a[0]})"
        if k == z3.Z3_OP_REPEAT:
            return f"_rep({a[0]}, {e.arg(0).size()}, {e.params()[0]})"
        if k == z3.Z3_OP_BSHL:
            return f"((({a[0]} << {a[1]}) & {m}) if {a[1]} < {w} else 0)"
        if k == z3.Z3_OP_BLSHR:
            return f"(({a[0]} >> {a[1]}) if {a[1]} < {w} else 0)"
        if k == z3.Z3_OP_BASHR:
            return f"((_sx({a[0]}, {w}) >> min({a[1]}, {w - 1})) & {m})"
        if k in (z3.Z3_OP_ULEQ, z3.Z3_OP_ULT, z3.Z3_OP_UGEQ, z3.Z3_OP_UGT):
            op = {z3.Z3_OP_ULEQ: "<=", z3.Z3_OP_ULT: "<", z3.Z3_OP_UGEQ: ">=",
                  z3.Z3_OP_UGT: ">"}[k]
            return f"({a[0]} {op} {a[1]})"
        if k in (z3.Z3_OP_SLEQ, z3.Z3_OP_SLT, z3.Z3_OP_SGEQ, z3.Z3_OP_SGT):
            op = {z3.Z3_OP_SLEQ: "<=", z3.Z3_OP_SLT: "<", z3.Z3_OP_SGEQ: ">=",
                  z3.Z3_OP_SGT: ">"}[k]
            cw = e.arg(0).size()
            return f"(_sx({a[0]}, {cw}) {op} _sx({a[1]}, {cw}))"
        if k in (z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I):
            return f"(({a[0]} // {a[1]}) if {a[1]} else {m})"
        if k in (z3.Z3_OP_BUREM, z3.Z3_OP_BUREM_I):
            return f"(({a[0]} % {a[1]}) if {a[1]} else {a[0]})"
        if k in (z3.Z3_OP_BSDIV, z3.Z3_OP_BSDIV_I):
            return f"_sdiv({a[0]}, {a[1]}, {w})"
        if k in (z3.Z3_OP_BSREM, z3.Z3_OP_BSREM_I):
            return f"_srem({a[0]}, {a[1]}, {w})"
        if k in (z3.Z3_OP_BSMOD, z3.Z3_OP_BSMOD_I):
            return f"_smod({a[0]}, {a[1]}, {w})"
        if k == z3.Z3_OP_BUDIV0:
            return str(m)
        if k in (z3.Z3_OP_BUREM0, z3.Z3_OP_BSREM0, z3.Z3_OP_BSMOD0):
            return a[0]
        if k == z3.Z3_OP_BSDIV0:
            return f"(1 if {a[0]} >> {w - 1} else {m})"
        if k == z3.Z3_OP_BCOMP:
            return f"(1 if {a[0]} == {a[1]} else 0)"
        if k == z3.Z3_OP_BREDOR:
            return f"(1 if {a[0]} else 0)"
        if k == z3.Z3_OP_BREDAND:
            return f"(1 if {a[0]} == {(1 << e.arg(0).size()) - 1} else 0)"
        if k == z3.Z3_OP_ROTATE_LEFT:
            return f"_rotl({a[0]}, {e.params()[0]}, {w})"
        if k == z3.Z3_OP_ROTATE_RIGHT:
            return f"_rotl({a[0]}, {w} - {e.params()[0]} % {w}, {w})"
        if k == z3.Z3_OP_EXT_ROTATE_LEFT:
            return f"_rotl({a[0]}, {a[1]}, {w})"
        if k == z3.Z3_OP_EXT_ROTATE_RIGHT:
            return f"_rotl({a[0]}, {w} - {a[1]} % {w}, {w})"
        raise _CannotCompile(f"Z3 operation {e.decl().name()}")


def _variables(exprs: Iterable[z3.ExprRef]) -> dict[str, z3.ExprRef]:
    found: dict[str, z3.ExprRef] = {}
    seen: set[int] = set()
    todo = list(exprs)
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            found[e.decl().name()] = e
        todo.extend(e.children())
    return found


INPUT_NAMES = GPRS + QREGS + ["nzcv"]

# Bits of a written system register whose value after an MSR unicorn cannot vouch for.
SYSREG_UNCOMPARED: dict[str, tuple[int, str]] = {
    "VBAR_EL1": (0x7FF, "VBAR_EL1 bits [10:0] are RES0 (hardware may keep or drop them; "
                 "unicorn drops [4:0]); the model keeps the written value"),
    "PMUSERENR_EL0": (MASK64 & ~0xF, "PMUSERENR_EL0 bits [63:4] are RES0 in unicorn's "
                      "PMU (v8.0 layout); the model keeps the written value"),
    "PMEVTYPER0_EL0": (0xFFFFFFFF_03FF0000, "PMEVTYPER0_EL0 bits [63:32] and [25:16] are "
                       "RES0 in unicorn's PMU; the model keeps the written value"),
    "CNTP_CVAL_EL0": (MASK64, "unicorn has no generic timer: it drops CNTP_CVAL_EL0 writes, "
                      "so the written value is not compared"),
    "CNTV_CVAL_EL0": (MASK64, "unicorn has no generic timer: it drops CNTV_CVAL_EL0 writes, "
                      "so the written value is not compared"),
}
SIGNED_MINMAX_NOTE = ("unicorn 2.1.4 (QEMU 5.0) compares LDSMAX/LDSMIN byte, halfword and "
                      "word operands as unsigned; states restricted to a memory operand with "
                      "the sign of Rs, where both orders agree")


@dataclass
class Plan:
    """Everything per encoding that does not change from state to state."""
    case: Case
    text: str
    succs: list[Successor]
    compiled: Compiled
    layout: list[tuple[int, int]]        # per successor: (start, end) in the result tuple
    inputs: list[str]                    # names, in I order
    variables: set[str]                  # the names the successors' terms contain
    used: list[str]                      # inputs the instruction reads
    free: list[tuple[str, int]]          # open values: (name, bits)
    bindings: list[list[tuple[int, str]]]  # per successor: (free index, output name)
    store_bindings: list[list[tuple[int, int]]]  # per successor: (free index, store index)
    enumerate: list[list[int]]           # per successor: free indices to enumerate
    needs_solver: list[bool]
    open: list[list[int]]                # per successor: free indices its terms contain
    sysreg_inputs: list[str]
    sysreg_outputs: list[str]
    bases: list[tuple[str, str | None, bool, int, int]]   # (base, index, index_is_w, ext, disp)
    align: int
    plain: bool
    data_regs: list[str]
    msr_value_mask: dict[str, int]       # register -> bits the random value must keep clear
    output_masks: dict[str, int]         # output -> bits not compared
    restrictions: list[str]              # how this encoding is compared less than fully
    same_sign: tuple[int, int] | None    # (Rs, bytes): memory operand takes Rs's sign
    bundles: dict[int, "_Bundle"] = field(default_factory=dict)   # per successor, built once
    # No SIMD register is read or written: they go in and come out as raw words, compared
    # as one list, and the evaluator sees them as 0 (it only passes them through).
    raw_q: bool = False


def build_plan(case: Case, config: overlay.MachineConfig) -> Plan:
    succs = symbolic_run(case, config)
    exprs: list[z3.ExprRef] = []
    layout = []
    for s in succs:
        start = len(exprs)
        exprs += _successor_terms(s)
        layout.append((start, len(exprs)))
    variables = _variables(exprs)
    sys_inputs = sorted(n[4:] for n in variables if n.startswith("sys_")
                        and n[4:] in {r for r, _ in overlay.SYSREGS.values()})
    inputs = INPUT_NAMES + [f"sys_{n}" for n in sys_inputs]
    if "sys_SPSR_EL1_hi" in variables:
        inputs.append("sys_SPSR_EL1_hi")
    free_names = sorted(n for n in variables if n not in inputs and n != "mem0")
    free = [(n, variables[n].size()) for n in free_names]
    try:
        compiled = Compiled(exprs, inputs, free_names)
    except _CannotCompile as exc:
        raise NotComparable(f"its terms use {exc}, which the evaluator does not compile")
    read: set[str] = set()   # inputs the instruction reads (not just passes through)
    for s in succs:
        terms = [s.guard] + [v for n, v in s.outputs
                             if not (z3.is_const(v) and v.decl().name() == n)]
        for addr, _size, value, cond in s.stores:
            terms += [addr, value] + ([cond] if cond is not None else [])
        read |= set(_variables(terms))
    used = [n for n in INPUT_NAMES if n in read]
    bindings, store_bindings, enumerate_, solver, opens = [], [], [], [], []
    for s in succs:
        svars = _variables([s.guard] + [v for _, v in s.outputs] +
                           [x for st in s.stores for x in (st[0], st[2])] +
                           [st[3] for st in s.stores if st[3] is not None])
        open_here = [i for i, (n, _) in enumerate(free) if n in svars]
        opens.append(open_here)
        bound: dict[int, str] = {}
        for name, value in s.outputs:
            if z3.is_const(value) and value.decl().name() in compiled.free:
                bound.setdefault(compiled.free[value.decl().name()], name)
        sbound: dict[int, int] = {}
        for j, (addr, _size, value, cond) in enumerate(s.stores):
            if cond is None and z3.is_const(value) and value.decl().name() in compiled.free \
                    and not any(n in compiled.free for n in _variables([addr])):
                idx = compiled.free[value.decl().name()]
                if idx not in bound:
                    sbound.setdefault(idx, j)
        rest = [i for i in open_here if i not in bound and i not in sbound]
        bits = sum(free[i][1] for i in rest)
        bindings.append(sorted(bound.items()))
        store_bindings.append(sorted(sbound.items()))
        enumerate_.append(rest if bits <= ENUMERATE_BITS else [])
        solver.append(bits > ENUMERATE_BITS)
    bases, align, plain, data_regs = _addressing(case, succs)
    sys_outputs = sorted({n[4:] for s in succs for n, _ in s.outputs if n.startswith("sys:")})
    mask, restrictions = {}, []
    if any(n == "sys:SCTLR_EL1" for s in succs for n, _ in s.outputs) and case.word & 31 != 31:
        mask[f"x{case.word & 31}"] = 1  # keep the MMU off, or unicorn cannot fetch on
        restrictions.append("MSR SCTLR_EL1: the value written keeps M (bit 0) clear; with "
                            "the MMU on and no tables unicorn cannot fetch the next "
                            "instruction")
    if case.spsr_mode is not None:
        restrictions.append("ERET: SPSR_EL1 holds random NZCV and DAIF, its other bits 0 "
                            "(IL or SS set would make the return illegal or stepped)")
    output_masks = {}
    for name in sys_outputs:
        if name in SYSREG_UNCOMPARED:
            output_masks[f"sys:{name}"], note = SYSREG_UNCOMPARED[name]
            restrictions.append(note)
    same_sign = None
    w = case.word
    if w & 0x3F208C00 == 0x38200000 and (w >> 12) & 7 in (4, 5) and (w >> 30) < 3:
        same_sign = ((w >> 16) & 31, 1 << (w >> 30))
        restrictions.append(SIGNED_MINMAX_NOTE)
    raw_q = not any(n in QREGS for n in read) and all(
        n not in QREGS or (z3.is_const(v) and v.decl().name() == n)
        for s in succs for n, v in s.outputs)
    return Plan(case, _text(case.word, case.addr), succs, compiled, layout, inputs,
                set(variables), used, free, bindings, store_bindings, enumerate_, solver,
                opens, sys_inputs, sys_outputs, bases, align, plain, data_regs, mask,
                output_masks, restrictions, same_sign, raw_q=raw_q)


GUESSES = (0, 1, -1)     # per open value, tried before the solver (-1: all ones)


def _guesses(plan: Plan, si: int, f: list[int]) -> Iterable[list[int]]:
    """Assignments of a successor's open values to try before asking the solver: every
    combination of 0, 1 and all ones for up to three values, the uniform ones beyond."""
    bound = {i for i, _ in plan.bindings[si]} | {i for i, _ in plan.store_bindings[si]}
    idxs = [i for i in plan.open[si] if i not in bound]
    if len(idxs) <= 3:
        combos = itertools.product(GUESSES, repeat=len(idxs))
    else:
        combos = ((v,) * len(idxs) for v in GUESSES)
    for combo in combos:
        g = list(f)
        for i, v in zip(idxs, combo):
            g[i] = v & ((1 << plan.free[i][1]) - 1)
        yield g


def _reg_name(insn, reg: int) -> str:
    name = insn.reg_name(reg)
    if name in ("sp", "wsp"):
        return "sp"
    if name[0] == "w":
        return "x" + name[1:]
    return name


def _addressing(case: Case, succs: list[Successor]):
    """Which registers are base/index registers, the alignment accesses need, and whether
    all accesses are plain (so unaligned ones are legal)."""
    insn = _disasm(case.word, case.addr)
    bases: list[tuple[str, str | None, bool, int, int]] = []
    data_regs: list[str] = []
    if insn is not None:
        for op in insn.operands:
            if op.type == cs_arm64.ARM64_OP_MEM and op.mem.base:
                index = _reg_name(insn, op.mem.index) if op.mem.index else None
                is_w = bool(op.mem.index) and insn.reg_name(op.mem.index).startswith("w")
                bases.append((_reg_name(insn, op.mem.base), index, is_w, op.ext, op.mem.disp))
            elif op.type == cs_arm64.ARM64_OP_REG:
                name = _reg_name(insn, op.reg)
                if name.startswith("x") and name[1:].isdigit():
                    data_regs.append(name)
    # A register the semantics take an address from, which capstone did not show as a
    # base (DC IVAC's Xt): it points into the scratch buffer too.
    address_regs: set[str] = set()
    sizes = []
    for s in succs:
        for addr, size, _value, _cond in s.stores:
            address_regs |= set(_variables([addr])) & set(GPRS)
            sizes.append(size)
    rmw = access_class(case.word)
    plain = not (rmw.rmw or rmw.exclusive or rmw.acquire or rmw.release
                 or rmw.order != "plain")
    known = {b for b, *_ in bases} | {i for _, i, *_ in bases if i}
    for reg in sorted(address_regs - known):
        bases.append((reg, None, False, 0, 0))
    if case.prefix is not None:
        rn, size, _ = _store_exclusive(case.word)
        sizes.append(size)
    width = _access_width(case.word)
    align = 1
    while align < max(sizes + [width]):
        align *= 2
    data_regs = [r for r in data_regs if r not in {b for b, *_ in bases}]
    return bases, min(align, 16), plain, data_regs


def _access_width(word: int) -> int:
    """Bytes an atomic/exclusive encoding accesses at its base (pairs count double)."""
    if word & 0xBFA00000 == 0x88200000:          # exclusive pair
        return 2 * (4 << ((word >> 30) & 1))
    if word & 0x3F000000 in (0x08000000, 0x38000000, 0x19000000):
        return 1 << ((word >> 30) & 3)
    return 1


# -- random states ---------------------------------------------------------------------------
def _edges(bits: int) -> list[int]:
    m = (1 << bits) - 1
    vals = {1, 2, m, m - 1, 1 << (bits - 1), (1 << (bits - 1)) - 1, 0x7FFFFFFF, 0x80000000,
            0xFFFFFFFF, 1 << 32, 0xFF, 0x80, 0xFFFF, 0x8000}
    return sorted(v & m for v in vals)


_EDGES = {64: _edges(64), 128: _edges(128), 4: list(range(16))}


def random_value(rng: random.Random, bits: int) -> int:
    """A value of random bit density: zeros, ones, sparse, dense, edge, small or uniform."""
    r = rng.random()
    if r < 0.08:
        return 0
    if r < 0.16:
        return (1 << bits) - 1
    if r < 0.30:
        return rng.getrandbits(bits) & rng.getrandbits(bits) & rng.getrandbits(bits)
    if r < 0.44:
        return rng.getrandbits(bits) | rng.getrandbits(bits) | rng.getrandbits(bits)
    if r < 0.56:
        return rng.choice(_EDGES[bits])
    if r < 0.64:
        v = rng.randrange(64)
        return v if rng.random() < 0.5 else (-v) & ((1 << bits) - 1)
    return rng.getrandbits(bits)


def _make_pool(rng: random.Random) -> bytes:
    words = bytearray()
    for _ in range(POOL_SIZE // 8):
        words += random_value(rng, 64).to_bytes(8, "little")
    return bytes(words)


# -- unicorn ---------------------------------------------------------------------------------
_X_IDS = [getattr(uc, f"UC_ARM64_REG_X{i}") for i in range(31)] + [uc.UC_ARM64_REG_SP]
_Q_IDS = [getattr(uc, f"UC_ARM64_REG_Q{i}") for i in range(32)]


def _uclib():
    # The batch register calls of the C library, without the Python wrapper's per-register
    # object churn (it costs ~300us a state). Pinned unicorn 2.1.4.
    from unicorn.unicorn_py3.unicorn import uclib
    return uclib


def _sysreg_key(name: str) -> tuple[int, int, int, int, int] | None:
    if name == "DAIF":
        return (3, 3, 4, 2, 1)
    for key, (reg, _kind) in overlay.SYSREGS.items():
        if reg == name:
            return key
    return None


class Machine:
    """One unicorn CPU reused for every state: registers go in and out in two batch calls."""

    def __init__(self):
        os.environ.setdefault("UC_IGNORE_REG_BREAK", "1")
        self.mu = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.mu.ctl_set_cpu_model(uc.UC_CPU_ARM64_MAX)  # the default model faults on LSE
        self.mu.mem_map(SCRATCH, SCRATCH_SIZE, UC_PROT_ALL)
        self.code_pages: set[int] = set()
        self.extra: dict[int, bytes] = {}
        self.page_content: Callable[[int], bytes] = lambda p: bytes(PAGE)
        self.mu.hook_add(UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED, self._on_demand)
        self.pristine = self.mu.context_save()
        self.lib = _uclib()
        ids = [*_X_IDS, uc.UC_ARM64_REG_NZCV, *_Q_IDS]
        n = len(ids)
        self.n = n
        self.ids = (ctypes.c_int * n)(*ids)
        nx = len(_X_IDS) + 1
        self.vals = (ctypes.c_uint64 * (nx + 2 * len(_Q_IDS)))()
        base = ctypes.addressof(self.vals)
        self.ptrs = (ctypes.c_void_p * n)(*([base + 8 * i for i in range(nx)] +
                                            [base + 8 * nx + 16 * i for i in range(len(_Q_IDS))]))
        self.nx = nx
        self.rd_ids = (ctypes.c_int * (n + 1))(*ids, uc.UC_ARM64_REG_PC)
        self.rd_vals = (ctypes.c_uint64 * (nx + 2 * len(_Q_IDS) + 1))()
        rbase = ctypes.addressof(self.rd_vals)
        self.rd_ptrs = (ctypes.c_void_p * (n + 1))(
            *([rbase + 8 * i for i in range(nx)] +
              [rbase + 8 * nx + 16 * i for i in range(len(_Q_IDS))] +
              [rbase + 8 * (nx + 2 * len(_Q_IDS))]))

    def _on_demand(self, mu, access, address, size, value, data) -> bool:
        for page in {address & ~(PAGE - 1), (address + size - 1) & ~(PAGE - 1)}:
            if page in self.extra or page in self.code_pages or \
                    SCRATCH <= page < SCRATCH + SCRATCH_SIZE:
                continue
            try:
                mu.mem_map(page, PAGE, UC_PROT_ALL)
            except UcError:
                return False
            content = self.page_content(page)
            mu.mem_write(page, content)
            self.extra[page] = content
        return True

    def place_code(self, start: int, code: bytes) -> None:
        for page in range(start & ~(PAGE - 1), start + len(code), PAGE):
            if page not in self.code_pages:
                self.mu.mem_map(page, PAGE, UC_PROT_ALL)
                self.code_pages.add(page)
        self.mu.ctl_remove_cache(start, start + len(code))

    def write_regs(self, xs: list[int], nzcv: int, qs: list[int]) -> None:
        self.write_raw(xs, nzcv, [w for q in qs for w in (q & MASK64, q >> 64)])

    def write_raw(self, xs: list[int], nzcv: int, qwords) -> None:
        """The SIMD registers as 64 words, each register's low half first."""
        self.vals[:] = [*xs, nzcv << 28, *qwords]
        if self.lib.uc_reg_write_batch(self.mu._uch, self.ids, self.ptrs, self.n):
            raise UcError(1)

    def read_regs(self) -> tuple[list[int], int, list[int], int]:
        xs, nzcv, qw, pc = self.read_raw()
        return xs, nzcv, [qw[2 * i] | qw[2 * i + 1] << 64 for i in range(len(_Q_IDS))], pc

    def read_raw(self) -> tuple[list[int], int, list[int], int]:
        if self.lib.uc_reg_read_batch(self.mu._uch, self.rd_ids, self.rd_ptrs, self.n + 1):
            raise UcError(1)
        v = self.rd_vals[:]
        nx = self.nx
        return v[:nx - 1], v[nx - 1] >> 28, v[nx:-1], v[-1]

    def read_sysreg(self, name: str) -> int:
        if name == "CurrentEL":
            return self.mu.reg_read(uc.UC_ARM64_REG_PSTATE) & 0xC
        if name == "SP_EL1":
            return self.mu.reg_read(uc.UC_ARM64_REG_SP_EL1)
        if name == "SP_EL0":
            return self.mu.reg_read(uc.UC_ARM64_REG_SP_EL0)
        op0, op1, crn, crm, op2 = _sysreg_key(name)
        return self.mu.cpr_read(op0, op1, crn, crm, op2)

    def write_sysreg(self, name: str, value: int) -> None:
        if name == "SP_EL0":
            self.mu.reg_write(uc.UC_ARM64_REG_SP_EL0, value)
            return
        op0, op1, crn, crm, op2 = _sysreg_key(name)
        self.mu.cpr_write(op0, op1, crn, crm, op2, value)


# -- running one encoding --------------------------------------------------------------------
@dataclass
class CaseResult:
    case: Case
    text: str
    states: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: str | None = None
    z3_checks: int = 0
    cut_short: bool = False
    error: str | None = None         # the harness itself failed on this encoding
    seconds: float = 0.0
    restrictions: list[str] = field(default_factory=list)
    paths: set = field(default_factory=set)          # (successor, store conditions) seen
    path_count: int = 0
    conditional_stores: list[list[int]] = field(default_factory=list)



def _coverage_gaps(results: list[CaseResult]) -> list[str]:
    """Ways out of one encoding (over all its variants) that no state exercised."""
    runs = [r for r in results if r.states and not r.mismatches and r.path_count]
    if not runs:
        return []
    paths = set().union(*(r.paths for r in runs))
    count, conditional = runs[0].path_count, runs[0].conditional_stores
    gaps = []
    for si in range(count):
        seen = [conds for s, conds in paths if s == si]
        if not seen:
            if count > 1:
                gaps.append(f"successor {si + 1} of {count} never taken")
            continue
        for j in conditional[si]:
            outcomes = {c[j] for c in seen if j < len(c)}
            if len(outcomes) < 2:
                gaps.append("conditional store only ever " +
                            ("made" if True in outcomes else "skipped"))
    return gaps


class _StateMemory:
    """The initial memory of one state, as both sides see it."""

    def __init__(self, pool: bytes, rng: random.Random, code: dict[int, int]):
        self.pool = pool
        self.soff = rng.randrange(POOL_SIZE - SCRATCH_SIZE)
        self.salt = rng.getrandbits(20)
        self.scratch = bytearray(pool[self.soff:self.soff + SCRATCH_SIZE])
        self.code = code        # address -> byte of the instruction words
        self.pages: dict[int, bytes] = {}

    def page(self, page: int) -> bytes:
        got = self.pages.get(page)
        if got is None:
            off = ((page >> 12) * 0x9E3779B1 + self.salt) % (POOL_SIZE // PAGE - 1) * PAGE
            data = bytearray(self.pool[off:off + PAGE])
            for a, b in self.code.items():
                if page <= a < page + PAGE:
                    data[a - page] = b
            got = self.pages[page] = bytes(data)
        return got

    def byte(self, a: int) -> int:
        o = a - SCRATCH
        if 0 <= o < SCRATCH_SIZE:
            return self.scratch[o]
        return self.page(a & ~(PAGE - 1))[a & (PAGE - 1)]


def _random_state(plan: Plan, rng: random.Random):
    # Registers the semantics read get values of random density; the others only show
    # whether unicorn reads or writes them unexpectedly, for which uniform values do.
    xs = struct.unpack("<32Q", rng.randbytes(8 * 32))
    qw = struct.unpack("<64Q", rng.randbytes(8 * 64))
    regs = dict(zip(GPRS, xs))
    qs = qw if plan.raw_q else {q: qw[2 * i] | qw[2 * i + 1] << 64 for i, q in enumerate(QREGS)}
    for name in plan.used:
        if name in regs:
            regs[name] = random_value(rng, 64)
        elif name in qs:
            qs[name] = random_value(rng, 128)
    nzcv = rng.getrandbits(4)
    # equalities: copy one operand register to another now and then
    ops = [r for r in plan.used if r in regs]
    if len(ops) >= 2 and rng.random() < 0.25:
        a, b = rng.sample(ops, 2)
        regs[a] = regs[b] if rng.random() < 0.7 else regs[b] & 0xFFFFFFFF
    for reg, clear in plan.msr_value_mask.items():
        regs[reg] &= ~clear & MASK64
    placed: set[str] = set()
    for base, index, is_w, ext, disp in plan.bases:
        if index is not None and index != base and index not in placed:
            small = rng.randrange(-48, 48) if ext not in (cs_arm64.ARM64_EXT_UXTW,) else \
                rng.randrange(0, 48)
            if is_w:
                regs[index] = (rng.getrandbits(32) << 32 | (small & 0xFFFFFFFF)) \
                    if rng.random() < 0.5 else small & 0xFFFFFFFF
            else:
                regs[index] = small & MASK64
            placed.add(index)
        if base in placed:
            continue
        jitter = rng.randrange(-512, 512)
        if base == "sp":
            jitter &= ~15
        elif not plan.plain or rng.random() < 0.75:
            jitter &= ~(max(plan.align, 8 if plan.plain else 1) - 1)
        regs[base] = (SCRATCH_CENTER + jitter - disp) & MASK64
        placed.add(base)
    return regs, qs, nzcv


def _align_check(plan: Plan, regs: dict[str, int]) -> None:
    """For non-plain accesses make base + disp aligned (disp may be unaligned for LDAPUR)."""
    if plan.plain:
        return
    for base, index, _w, _e, disp in plan.bases:
        addr = (regs[base] + disp) & MASK64
        regs[base] = (regs[base] - (addr % plan.align)) & MASK64


def _sysreg_random(name: str, rng: random.Random) -> int:
    v = random_value(rng, 64)
    if name == "SCTLR_EL1":
        v &= ~1 & MASK64                    # the MMU stays off, or unicorn cannot fetch
    if name == "SPSR_EL1_hi":
        v &= (0xF << 28 | 0xF << 6) >> 5    # only NZCV and DAIF: no illegal return, no step
    return v


class Runner:
    def __init__(self, seed: int, config: overlay.MachineConfig):
        self.machine = Machine()
        self.seed = seed
        self.config = config
        self.pool = _make_pool(random.Random(f"pool:{seed}"))

    def run_case(self, case: Case, states: int, deadline: float | None) -> CaseResult:
        begin = time.monotonic()
        try:
            result = self._run_case(case, states, deadline)
        except Exception as exc:  # a harness failure is reported, never lost
            import traceback
            result = CaseResult(case, _text(case.word, case.addr),
                                error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        result.seconds = time.monotonic() - begin
        return result

    def _run_case(self, case: Case, states: int, deadline: float | None) -> CaseResult:
        text = _text(case.word, case.addr)
        result = CaseResult(case, text)
        if deadline is not None and time.monotonic() > deadline:
            result.cut_short = True
            return result
        try:
            plan = build_plan(case, self.config)
        except NotComparable as exc:
            result.skipped = str(exc)
            return result
        result.restrictions = list(plan.restrictions)
        seen_paths: set[tuple[int, tuple[bool, ...]]] = set()
        result.paths = seen_paths
        result.path_count = len(plan.succs)
        result.conditional_stores = [
            [j for j, st in enumerate(succ.stores) if st[3] is not None
             and not z3.is_true(st[3])] for succ in plan.succs]
        rng = random.Random(f"{self.seed}:{case.word:08x}:{case.variant}")
        start = case.addr - (4 if case.prefix is not None else 0)
        words = ([case.prefix] if case.prefix is not None else []) + [case.word]
        code = {start + i: b for i, b in enumerate(b"".join(w.to_bytes(4, "little")
                                                             for w in words))}
        self.machine.place_code(start, bytes(code.values()))
        for i in range(states):
            if deadline is not None and i % 32 == 0 and time.monotonic() > deadline:
                result.cut_short = True
                break
            self.last_outcome = None
            kind, payload = self._one_state(plan, rng, code, start, len(words), i)
            if self.last_outcome is not None:
                seen_paths.add(self.last_outcome)
            if kind == "no-run":
                if i == 0 and case.spsr_mode is not None:
                    result.skipped = payload
                    result.states = 0
                    return result
                if i == 0 and _is_sysreg_access(case.word):
                    result.skipped = _unicorn_lacks(case.word, payload)
                    result.states = 0
                    return result
                payload = Mismatch(case.word, text, case.variant, case.where, {},
                                   [("execution", "completes", payload)])
                kind = "mismatch"
            result.states += 1
            if kind == "solver":
                result.z3_checks += 1
            elif kind == "mismatch":
                result.mismatches.append(payload)
                if len(result.mismatches) >= MAX_MISMATCHES_PER_ENCODING:
                    break
        return result

    def _one_state(self, plan: Plan, rng: random.Random, code: dict[int, int], start: int,
                   count: int, index: int):
        m = self.machine
        case = plan.case
        regs, qs, nzcv = _random_state(plan, rng)
        _align_check(plan, regs)
        mem = _StateMemory(self.pool, rng, code)
        # memory equal to an operand now and then (CAS succeeds, LDSMAX ties...)
        if plan.bases and plan.data_regs and rng.random() < 0.4:
            base, _i, _w, _e, disp = plan.bases[0]
            src = regs[rng.choice(plan.data_regs)]
            o = (regs[base] + disp - SCRATCH) & MASK64
            width = min(plan.align if not plan.plain else 8, 8)
            if 0 <= o <= SCRATCH_SIZE - width:
                mem.scratch[o:o + width] = (src & ((1 << 8 * width) - 1)).to_bytes(width, "little")
        if plan.same_sign is not None:
            rs, nbytes = plan.same_sign
            o = (regs[plan.bases[0][0]] - SCRATCH) & MASK64
            negative = rs != 31 and (regs[f"x{rs}"] >> (8 * nbytes - 1)) & 1
            if o + nbytes <= SCRATCH_SIZE:
                top = mem.scratch[o + nbytes - 1]
                mem.scratch[o + nbytes - 1] = (top | 0x80) if negative else (top & 0x7F)
        mu = m.mu
        mu.context_restore(m.pristine)
        m.page_content = mem.page
        m.extra = {}
        sysvals: dict[str, int] = {}
        for name in plan.sysreg_inputs:
            try:
                m.write_sysreg(name, _sysreg_random(name, rng))
                sysvals[name] = m.read_sysreg(name)
            except UcError as exc:
                return "no-run", f"unicorn has no {name} ({exc})"
        hi = None
        if case.spsr_mode is not None:
            hi = _sysreg_random("SPSR_EL1_hi", rng)
            m.write_sysreg("SPSR_EL1", hi << 5 | case.spsr_mode)
        xs = [regs[r] for r in GPRS]
        if plan.raw_q:
            qv = _NO_Q
            m.write_raw(xs, nzcv, qs)
        else:
            qv = [qs[q] for q in QREGS]
            m.write_regs(xs, nzcv, qv)
        mu.mem_write(SCRATCH, bytes(mem.scratch))
        for page in sorted({a & ~(PAGE - 1) for a in code}):
            mu.mem_write(page, mem.page(page))
        error = None
        try:
            mu.emu_start(start, 0, count=count)
        except UcError as exc:
            error = exc
        uxs, unzcv, uqs, upc = m.read_raw() if plan.raw_q else m.read_regs()
        if error is not None and upc in (start, case.addr):
            return "no-run", f"unicorn raises an exception ({error})"
        if case.spsr_mode is not None and mu.reg_read(uc.UC_ARM64_REG_PSTATE) >> 20 & 1:
            return "no-run", ("unicorn treats this exception return as illegal (it sets "
                              "PSTATE.IL and keeps the exception level and stack pointer), "
                              "where the architecture allows it")
        usys = {name: m.read_sysreg(name) for name in plan.sysreg_outputs}
        scratch_after = mu.mem_read(SCRATCH, SCRATCH_SIZE)
        pages_after = {p: bytes(mu.mem_read(p, PAGE)) for p in
                       sorted(set(m.extra) | {a & ~(PAGE - 1) for a in code})}
        for page in list(m.extra):
            mu.mem_unmap(page, PAGE)
        m.extra = {}
        # --- compare
        inputs = xs + qv + [nzcv] + [sysvals[n] for n in plan.sysreg_inputs]
        if hi is not None:
            inputs.append(hi)
        if plan.raw_q:
            if tuple(uqs) != qs:    # unicorn changed a SIMD register the semantics keep
                return "mismatch", Mismatch(case.word, plan.text, case.variant, case.where,
                                            {}, _simd_changes(qs, uqs))
            unicorn = dict(_NO_Q_OUTPUTS)
        else:
            unicorn = dict(zip(QREGS, uqs))
        unicorn["pc"], unicorn["nzcv"] = upc, unzcv
        unicorn.update(zip(GPRS, uxs))
        for name, value in usys.items():
            unicorn[f"sys:{name}"] = value
        umem = _AfterMemory(mem, scratch_after, pages_after)
        verdict, used_solver = self._compare(plan, inputs, mem, unicorn, umem, index)
        if verdict is None:
            return ("solver" if used_solver else "ok"), None
        shown = {n: v for n, v in zip(plan.inputs, inputs) if n in plan.used or
                 n.startswith("sys_")}
        return "mismatch", Mismatch(case.word, plan.text, case.variant, case.where, shown,
                                    verdict)

    # -- comparison ----------------------------------------------------------------------
    def _compare(self, plan: Plan, inputs: list[int], mem: "_StateMemory", unicorn: dict,
                 umem: "_AfterMemory", index: int):
        nfree = len(plan.free)
        base_f = [0] * nfree
        first_diff = None
        solver_needed = False
        for si, succ in enumerate(plan.succs):
            lo, hi = plan.layout[si]
            assignments: list[list[int]] = []
            f = list(base_f)
            if plan.bindings[si] or plan.store_bindings[si]:
                for fi, out in plan.bindings[si]:
                    f[fi] = unicorn[out] & ((1 << plan.free[fi][1]) - 1)
                if plan.store_bindings[si]:
                    res = plan.compiled.fn(inputs, f, mem.byte)[lo:hi]
                    stores = res[1 + len(succ.outputs):]
                    for fi, sj in plan.store_bindings[si]:
                        addr = stores[3 * sj]
                        size = succ.stores[sj][1]
                        f[fi] = int.from_bytes(bytes(umem.byte(addr + k) for k in range(size)),
                                               "little")
            if plan.needs_solver[si]:
                # A witness found by a guess is as good as one the solver finds, and most
                # open values that reach here only show through a bit or two.
                for g in _guesses(plan, si, f):
                    res = plan.compiled.fn(inputs, g, mem.byte)[lo:hi]
                    if index < CROSS_CHECK_STATES:
                        self._cross_check(plan, si, inputs, g, mem, res)
                    if res[0] and not self._differences(plan, succ, res, mem, unicorn, umem):
                        nout = 1 + len(succ.outputs)
                        self.last_outcome = (si, tuple(bool(c) for c in res[nout + 2::3]))
                        return None, False
                solver_needed = True
                continue
            if plan.enumerate[si]:
                idxs = plan.enumerate[si]
                for combo in itertools.product(*[range(1 << plan.free[i][1]) for i in idxs]):
                    g = list(f)
                    for i, v in zip(idxs, combo):
                        g[i] = v
                    assignments.append(g)
            else:
                assignments.append(f)
            for g in assignments:
                res = plan.compiled.fn(inputs, g, mem.byte)[lo:hi]
                if index < CROSS_CHECK_STATES:
                    self._cross_check(plan, si, inputs, g, mem, res)
                if not res[0]:
                    continue
                diffs = self._differences(plan, succ, res, mem, unicorn, umem)
                if not diffs:
                    nout = 1 + len(succ.outputs)
                    self.last_outcome = (si, tuple(bool(c) for c in res[nout + 2::3]))
                    return None, False
                if first_diff is None:
                    first_diff = (si, g, diffs)
        if solver_needed:
            if self._solver_match(plan, inputs, mem, unicorn, umem):
                self.last_outcome = None
                return None, True
            if first_diff is None:
                return [("state", "no assignment of the open values matches",
                         "(solver: unsat)")], True
        if first_diff is None:
            return [("path", "no successor's condition holds", "")], solver_needed
        si, g, diffs = first_diff
        # re-evaluate with Z3 itself: the difference must not be the compiler's
        lo, hi = plan.layout[si]
        res = plan.compiled.fn(inputs, g, mem.byte)[lo:hi]
        self._cross_check(plan, si, inputs, g, mem, res)
        return diffs, solver_needed

    def _differences(self, plan: Plan, succ: Successor, res, mem, unicorn, umem):
        diffs = []
        masks = plan.output_masks
        n = len(succ.outputs)
        if masks or tuple(res[1:1 + n]) != succ.pick_outputs(unicorn):
            for (name, _), ours in zip(succ.outputs, res[1:1 + n]):
                theirs = unicorn[name]
                if ours != theirs and (not masks or (ours ^ theirs) & ~masks.get(name, 0)):
                    diffs.append((name, ours, theirs))
        # memory: apply our stores to the initial bytes, then compare every byte either
        # side may have written (all of scratch, code pages, pages mapped on demand)
        written: dict[int, int] = {}
        stores = res[1 + len(succ.outputs):]
        for j, (_a, size, _v, _c) in enumerate(succ.stores):
            addr, value, cond = stores[3 * j], stores[3 * j + 1], stores[3 * j + 2]
            if cond:
                for k in range(size):
                    written[(addr + k) & MASK64] = (value >> (8 * k)) & 0xFF
        ours_scratch = bytearray(mem.scratch)
        outside: dict[int, int] = {}
        for a, b in written.items():
            o = a - SCRATCH
            if 0 <= o < SCRATCH_SIZE:
                ours_scratch[o] = b
            else:
                outside[a] = b
        if ours_scratch != umem.scratch:
            for o in _differing_offsets(ours_scratch, umem.scratch, 8):
                diffs.append((f"mem[0x{SCRATCH + o:x}]", ours_scratch[o], umem.scratch[o]))
        for page, after in umem.pages.items():
            before = bytearray(mem.page(page))
            for a, b in outside.items():
                if page <= a < page + PAGE:
                    before[a - page] = b
            if before != after:
                o = _differing_offsets(before, after, 1)[0]
                diffs.append((f"mem[0x{page + o:x}]", before[o], after[o]))
        for a, b in outside.items():
            if (a & ~(PAGE - 1)) not in umem.pages and b != mem.byte(a):
                diffs.append((f"mem[0x{a:x}]", b, f"0x{mem.byte(a):x} (unicorn did not write)"))
        return diffs

    def _z3_values(self, plan: Plan, inputs, f, mem, reads: Iterable[int],
                   names: set[str] | None = None) -> dict:
        """name -> (variable, value) for Z3 substitution, of the variables in `names` (by
        default every one the successors' terms contain); 'mem0' -> the initial memory."""
        names = plan.variables if names is None else names
        values = {}
        for name, value in zip(plan.inputs, inputs):
            if name not in names:
                continue
            var = z3.BitVec(name, _input_bits(name))
            values[name] = (var, z3.BitVecVal(value, var.size()))
        for (name, bits), value in zip(plan.free, f):
            if name in names:
                values[name] = (z3.BitVec(name, bits), z3.BitVecVal(value, bits))
        array = z3.K(z3.BitVecSort(64), z3.BitVecVal(0, 8))
        for a in sorted(reads):
            array = z3.Store(array, z3.BitVecVal(a, 64), z3.BitVecVal(mem.byte(a), 8))
        values["mem0"] = (initial_memory(), z3.Select(array, z3.Var(0, z3.BitVecSort(64))))
        return values

    def _cross_check(self, plan: Plan, si: int, inputs, f, mem, res) -> None:
        """Z3's own evaluation of the successor must equal the compiled one."""
        reads: set[int] = set()

        def tracking(a):
            reads.add(a)
            return mem.byte(a)
        plan.compiled.fn(inputs, f, tracking)
        exprs = _successor_terms(plan.succs[si])
        if si not in plan.bundles:
            plan.bundles[si] = _Bundle(exprs)
        bundle = plan.bundles[si]
        given = dict(zip(plan.inputs, inputs))
        given.update(zip((n for n, _ in plan.free), f))
        for k, name in bundle.bare:         # a variable itself: its value, no Z3 needed
            if given[name] != res[k]:
                raise AssertionError(f"difftest evaluator reads {name} wrongly")
        if bundle.whole is None:
            return
        values = self._z3_values(plan, inputs, f, mem, reads, bundle.names)
        # One substitution and one simplification of every other term at once: they share
        # most of their structure, and each Z3 call through Python costs more than its work.
        whole = z3.simplify(_substitute(bundle.whole, values.values()))
        if z3.is_bv_value(whole):
            packed = whole.as_long()
            if all((packed >> at) & ((1 << width) - 1) == int(res[k])
                   for k, at, width in bundle.fields):
                return
        for k, _at, _width in bundle.fields:    # find and name the term that differs
            e = exprs[k]
            v = z3.simplify(_substitute(e, values.values()))
            want = z3.is_true(v) if z3.is_bool(v) else (v.as_long() if z3.is_bv_value(v)
                                                         else None)
            if want is None or want != res[k]:
                raise AssertionError(f"difftest evaluator disagrees with Z3 on {e} for "
                                     f"0x{plan.case.word:08x}: compiled {res[k]}, Z3 {v}")
        raise AssertionError(f"difftest evaluator and Z3 disagree on 0x{plan.case.word:08x}, "
                             "though on no term alone")

    def _solver_match(self, plan: Plan, inputs, mem, unicorn, umem) -> bool:
        changed = _changed_bytes(mem, umem)
        for si, succ in enumerate(plan.succs):
            if not plan.needs_solver[si]:
                continue
            reads: set[int] = set()

            def tracking(a):
                reads.add(a)
                return mem.byte(a)
            try:
                plan.compiled.fn(inputs, [0] * len(plan.free), tracking)
            except Exception:
                # Without the compiled run the memory this state reads is unknown, and
                # guessing it could make a wrong rule match: count it as no match.
                return False
            subst = list(self._z3_values(plan, inputs, [], mem, reads).values())
            s = z3.Solver()
            s.add(_substitute(succ.guard, subst))
            for name, value in succ.outputs:
                s.add(_substitute(value, subst) == unicorn[name])
            final: dict[int, z3.ExprRef] = {}
            for addr, size, value, cond in succ.stores:
                a = z3.simplify(_substitute(addr, subst))
                if not z3.is_bv_value(a):
                    return False
                v = _substitute(value, subst)
                c = _substitute(cond, subst) if cond is not None else None
                for k in range(size):
                    byte_addr = (a.as_long() + k) & MASK64
                    old = final.get(byte_addr, z3.BitVecVal(mem.byte(byte_addr), 8))
                    new = z3.Extract(8 * k + 7, 8 * k, v)
                    final[byte_addr] = new if c is None else z3.If(c, new, old)
            if not changed <= final.keys():
                continue        # unicorn changed a byte this successor never stores to
            for byte_addr, e in final.items():
                s.add(e == umem.byte(byte_addr))
            if s.check() == z3.sat:
                return True
        return False


def _simd_changes(before, after) -> list[tuple[str, int, int]]:
    """(register, ours, unicorn's) for each SIMD register whose raw words differ."""
    whole = lambda w, i: w[2 * i] | w[2 * i + 1] << 64
    return [(q, whole(before, i), whole(after, i)) for i, q in enumerate(QREGS)
            if whole(before, i) != whole(after, i)]


def _changed_bytes(mem: "_StateMemory", umem: "_AfterMemory") -> set[int]:
    """Every address whose byte unicorn's run changed."""
    changed = {SCRATCH + o for o in _differing_offsets(mem.scratch, umem.scratch, SCRATCH_SIZE)}
    for page, after in umem.pages.items():
        changed |= {page + o for o in _differing_offsets(mem.page(page), after, PAGE)}
    return changed


def _differing_offsets(a: bytes | bytearray, b: bytes | bytearray, limit: int) -> list[int]:
    """The first `limit` offsets where two equally long buffers differ (a state whose
    other successor stores elsewhere reaches here every time: compare by blocks first)."""
    found: list[int] = []
    for block in range(0, len(a), 256):
        if a[block:block + 256] == b[block:block + 256]:
            continue
        for o in range(block, min(block + 256, len(a))):
            if a[o] != b[o]:
                found.append(o)
                if len(found) == limit:
                    return found
    return found


class _AfterMemory:
    def __init__(self, mem: _StateMemory, scratch: bytes, pages: dict[int, bytes]):
        self.mem, self.scratch, self.pages = mem, bytes(scratch), pages

    def byte(self, a: int) -> int:
        o = a - SCRATCH
        if 0 <= o < SCRATCH_SIZE:
            return self.scratch[o]
        page = self.pages.get(a & ~(PAGE - 1))
        return page[a & (PAGE - 1)] if page is not None else self.mem.byte(a)


def _unicorn_lacks(word: int, detail: str) -> str:
    """Why unicorn cannot run this system-register access (it failed on the first state)."""
    key = _sysreg_fields(word)
    name = overlay.SYSREGS.get(key, (f"S{key[0]}_{key[1]}_C{key[2]}_C{key[3]}_{key[4]}",))[0]
    if name.endswith("_EL2"):
        why = "unicorn implements no EL2, so an EL2 register is UNDEFINED at EL1"
    elif name.startswith("ICC_"):
        why = "unicorn has no GICv3 CPU interface, so ICC_* registers do not exist"
    else:
        why = "unicorn does not implement this register"
    return f"{name}: {why} ({detail})"


def _sysreg_fields(word: int) -> tuple[int, int, int, int, int]:
    return (2 + ((word >> 19) & 1), (word >> 16) & 7, (word >> 12) & 0xF, (word >> 8) & 0xF,
            (word >> 5) & 7)


def _input_bits(name: str) -> int:
    if name in QREGS:
        return 128
    if name == "nzcv":
        return 4
    if name == "sys_SPSR_EL1_hi":
        return 59
    return 64


def _is_sysreg_access(word: int) -> bool:
    return word & 0xFFD00000 == 0xD5100000


# -- driver ----------------------------------------------------------------------------------
_worker: Runner | None = None


def _worker_init(seed: int, config: overlay.MachineConfig) -> None:
    global _worker
    _worker = Runner(seed, config)


def _worker_run(args) -> CaseResult:
    case, states, deadline = args
    return _worker.run_case(case, states, deadline)


def run_difftest(program: Program | None, states_per_encoding: int = 1000, seed: int = 0,
                 budget_seconds: float | None = None, *, words: Iterable[int] | None = None,
                 generated: bool = True, workers: int | None = None,
                 progress: Callable[[CaseResult], None] | None = None) -> DiffReport:
    """Run every encoding of the image (and the generated families) from random states on
    both the verifier's semantics and unicorn. `words` restricts the run to those encodings
    (placed at their image address when the image has them)."""
    begin = time.monotonic()
    deadline = begin + budget_seconds if budget_seconds is not None else None
    config = program.config if program is not None else overlay.MachineConfig()
    cases, skipped, planned = plan_cases(program, words, generated)
    report = DiffReport(skipped=list(skipped), states_per_encoding=states_per_encoding,
                        encodings_planned=planned)
    workers = workers or min(2, os.cpu_count() or 1)
    jobs = [(c, states_per_encoding, deadline) for c in cases]
    results: list[CaseResult] = []
    if workers <= 1 or len(cases) < 4:
        runner = Runner(seed, config)
        for job in jobs:
            results.append(runner.run_case(*job))
            if progress:
                progress(results[-1])
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers, initializer=_worker_init, initargs=(seed, config)) as pool:
            for r in pool.imap_unordered(_worker_run, jobs, chunksize=1):
                results.append(r)
                if progress:
                    progress(r)
    tested_words: set[int] = set()
    for r in sorted(results, key=lambda r: (r.case.addr, r.case.word, r.case.variant)):
        if r.error is not None:
            report.errors.append(f"0x{r.case.word:08x} {r.text} [{r.case.variant}]: {r.error}")
            continue
        report.cut_short = report.cut_short or r.cut_short
        if r.skipped is not None:
            report.skipped.append(Skipped(r.case.word, r.text, r.skipped, r.case.where,
                                          r.case.variant))
            continue
        if not r.states:
            continue
        report.variants_tested += 1
        tested_words.add(r.case.word)
        report.states_run += r.states
        report.mismatches += r.mismatches
        report.z3_checks += r.z3_checks
        for note in r.restrictions:
            report.restrictions.setdefault(note, []).append(
                f"0x{r.case.word:08x} {r.text}")
    by_word: dict[int, list[CaseResult]] = {}
    for r in results:
        by_word.setdefault(r.case.word, []).append(r)
    for word, group in by_word.items():
        for gap in _coverage_gaps(group):
            report.coverage_gaps.append(f"0x{word:08x} {group[0].text}: {gap}")
    report.encodings_tested = len(tested_words)
    report.from_image = len({r.case.word for r in results if r.states and r.error is None
                             and r.skipped is None and r.case.where != "generated"})
    report.elapsed = time.monotonic() - begin
    return report


def format_report(report: DiffReport) -> str:
    lines = [report.summary()]
    if report.skipped:
        lines.append(f"skipped ({len(report.skipped)}):")
        for s in report.skipped:
            variant = f" [{s.variant}]" if s.variant else ""
            lines.append(f"  0x{s.word:08x} {s.text}{variant} ({s.where}): {s.reason}")
    if report.restrictions:
        lines.append("compared with restrictions (unicorn's limits):")
        for note, which in report.restrictions.items():
            lines.append(f"  {len(which)} encodings: {note}")
    if report.coverage_gaps:
        lines.append(f"not exercised ({len(report.coverage_gaps)}):")
        lines += [f"  {g}" for g in report.coverage_gaps]
    for e in report.errors:
        lines.append(f"HARNESS ERROR {e}")
    if report.mismatches:
        lines.append(f"MISMATCHES ({len(report.mismatches)}):")
        for mm in report.mismatches:
            lines.append("  " + mm.describe())
    return "\n".join(lines)


def _substitute(e: z3.ExprRef, values) -> z3.ExprRef:
    """Replace variables by values, and the initial-memory function by its definition."""
    consts = [(var, val) for var, val in values if isinstance(var, z3.ExprRef)]
    funs = [(f, body) for f, body in values if isinstance(f, z3.FuncDeclRef)]
    if consts:
        e = z3.substitute(e, *consts)
    return z3.substitute_funs(e, *funs) if funs else e


def _successor_terms(succ: Successor) -> list[z3.ExprRef]:
    """The terms of a successor in the order the compiled evaluator returns them."""
    exprs = [succ.guard] + [v for _, v in succ.outputs]
    for addr, _size, value, cond in succ.stores:
        exprs += [addr, value, cond if cond is not None else z3.BoolVal(True)]
    return exprs


class _Bundle:
    """A successor's terms for the cross-check: the bare variables, compared directly, and
    the rest packed into one bit-vector, the first in the lowest bits (a truth as one bit)."""

    def __init__(self, exprs: list[z3.ExprRef]):
        self.bare: list[tuple[int, str]] = []
        self.fields: list[tuple[int, int, int]] = []     # (term index, lowest bit, width)
        parts: list[z3.BitVecRef] = []
        one, zero = z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)
        at = 0
        for k, e in enumerate(exprs):
            if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                self.bare.append((k, e.decl().name()))
                continue
            width = 1 if z3.is_bool(e) else e.size()
            parts.append(z3.If(e, one, zero) if z3.is_bool(e) else e)
            self.fields.append((k, at, width))
            at += width
        self.whole = None if not parts else \
            parts[0] if len(parts) == 1 else z3.Concat(*reversed(parts))
        self.names = set(_variables([self.whole])) if parts else set()


# -- inside `verify all`: validate what the image uses, once per verifier version -----------
def validate_image(program: Program, cache_file: Path, states: int, seed: int,
                   budget: float | None,
                   progress: Callable[[int, int], None] | None = None) -> DiffReport | None:
    """Difftest the image's encodings and the overlay's families that this verifier has not
    validated yet with as many states; None when everything was validated before."""
    from .fingerprint import atomic_write, modules_hash
    # The semantics it checks are those of the modules difftest runs; the rest of the
    # prover (path exploration, contracts) does not change what an instruction does.
    stamp = f"{modules_hash('difftest.py')}:{states}:{seed}"
    try:
        done = set(json.loads(cache_file.read_text()).get(stamp, []))
    except (OSError, ValueError):
        done = set()
    image = {insn.word for func in program.functions.values()
             for insn in program.instructions(func)}
    todo = sorted(w for w in image if w not in done)
    families = "generated" not in done
    if not todo and not families:
        return None
    words = todo + (generated_encodings() if families else [])
    done_cases = [0]

    def count(_case) -> None:
        done_cases[0] += 1
        if progress:
            progress(done_cases[0], len(words))
    report = run_difftest(program, states, seed, budget, words=words, progress=count)
    if report.complete and not report.mismatches and not report.errors:
        done.update(todo)
        if families:
            done.add("generated")
        atomic_write(cache_file, json.dumps({stamp: sorted(done, key=str)}).encode())
    return report
