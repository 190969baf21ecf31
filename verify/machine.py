"""Symbolic machine state and the execution of one lifted instruction on it.

The state is the VEX guest register file (byte-addressed, kept as 8-byte slots), memory as
the stores made so far over an unknown initial memory (symbolic addresses alias exactly),
the path condition, the exclusive monitor and the system registers. `step` runs one instruction's IR and returns the
successor states, one per feasible way out of the instruction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import archinfo
import pyvex
import z3

from . import intervals
from .ordering import AccessClass, access_class, barrier_kind
from .semantics import Unmodelled, binop, ccall, const_value, nzcv_word, type_bits, unop

ARCH = archinfo.ArchAArch64()
SLOT = 8
_fresh_ids = itertools.count()


SOLVER_MS = 60000   # no query runs longer; every caller reads "unknown" as "not shown"


def solver() -> z3.Solver:
    """A solver for the verifier's queries: bit-vectors and the memory array, no quantifiers.
    Z3's QF_ABV solver answers them about twice as fast as its general one. Each query
    stops after SOLVER_MS; callers treat an undecided answer the safe way (a branch is
    feasible, a value is not single, a contract is not shown to hold)."""
    s = z3.SolverFor("QF_UFBV")
    s.set("timeout", SOLVER_MS)
    return s


def reg_offset(name: str) -> int:
    return ARCH.registers[name][0]


def fresh(name: str, bits: int) -> z3.BitVecRef:
    return z3.BitVec(f"{name}!{next(_fresh_ids)}", bits)


# Output streams are kept beside the system registers under this prefix: a console's bytes
# (a store to the stream's port appends what it wrote), and the calls made to the firmware.
STREAM = "out:"
BYTES = z3.SeqSort(z3.BitVecSort(8))

# Each HVC or SMC appends one call to the stream `out:firmware`: the conduit (HVC_CALL or
# SMC_CALL), the instruction's 16-bit immediate and x0-x3 as the call had them, packed as
# conduit:imm:x3:x2:x1:x0. What the firmware returns in x0 is `firmware_result` of the stream
# with the call appended: an unknown function of the whole history of calls, so any sequence
# of results a run can see is one of its values (each call's history is a longer one).
FIRMWARE = "firmware"
HVC_CALL, SMC_CALL = 0, 1
CALL_BITS = 8 + 16 + 4 * 64
CALLS = z3.SeqSort(z3.BitVecSort(CALL_BITS))
firmware_result = z3.Function("firmware_result", CALLS, z3.BitVecSort(64))


def firmware_call(conduit, imm, x0, x1, x2, x3) -> z3.BitVecRef:
    """One call of the firmware stream (see FIRMWARE); arguments are z3 values or ints."""
    def bv(v, bits):
        return z3.BitVecVal(v, bits) if isinstance(v, int) else v
    return z3.Concat(bv(conduit, 8), bv(imm, 16), bv(x3, 64), bv(x2, 64), bv(x1, 64),
                     bv(x0, 64))


# Streams of a device register (spec.Register): name -> the register's size in bytes. The
# others are byte ports.
REGISTER_BYTES: dict[str, int] = {}


def stream_sort(name: str) -> z3.SeqSortRef:
    """The sort of the stream kept under `name` (with its prefix)."""
    if name == STREAM + FIRMWARE:
        return CALLS
    size = REGISTER_BYTES.get(name[len(STREAM):], 1)
    return BYTES if size == 1 else z3.SeqSort(z3.BitVecSort(8 * size))


def fresh_like(name: str, label: str) -> z3.ExprRef:
    """A fresh unknown for the system register or stream `name`."""
    if name.startswith(STREAM):
        return z3.Const(f"{label}!{next(_fresh_ids)}", stream_sort(name))
    return fresh(label, 64)


@dataclass
class MemAccess:
    kind: str          # "load", "store", "load-exclusive", "store-exclusive", "rmw-load", ...
    addr: z3.BitVecRef
    size: int          # bytes
    value: z3.BitVecRef
    order: AccessClass = AccessClass()   # decoded from the encoding (verify/ordering.py)
    cond: z3.BoolRef | None = None       # a write that happens only if this holds

    @property
    def is_write(self) -> bool:
        return self.kind in WRITE_KINDS


# A store wider than this many bytes (a callee's or a loop's unknown region) is checked for
# overlap with each load at an unknown distance by the solver, within ALIAS_MS: reading
# through it otherwise drags the whole region into every later value.
WIDE_STORE = 16
ALIAS_MS = 2000
NEAR_ALIAS_MS = 300   # the first, small query of an alias question

# _may_overlap's answer when a load and a store may overlap but both sit on the load's grain.
ALIGNED = "aligned"

WRITE_KINDS = ("store", "store-exclusive", "rmw-store", "cache-invalidate")


@dataclass
class Effect:
    """What one instruction did on one path: for traces and counterexamples."""
    addr: int
    regs_written: list[str] = field(default_factory=list)
    accesses: list[MemAccess] = field(default_factory=list)
    barrier: str | None = None        # "DMB ISH", "DSB SY", "ISB"... decoded from the encoding
    firmware: dict[int, z3.BitVecRef] | None = None   # x0-x17 a firmware call returned


@dataclass
class State:
    regs: dict[int, z3.BitVecRef]
    mem: "MemStore | None"
    constraints: list[z3.BoolRef]
    pc: int
    base: z3.FuncDeclRef = field(default_factory=lambda: initial_memory())
    monitor: tuple[z3.BitVecRef, int] | None = None
    # Values the verifier could not compute (e.g. an unmodelled system register read).
    opaque: list[z3.BitVecRef] = field(default_factory=list)
    sysregs: dict[str, z3.BitVecRef] = field(default_factory=dict)
    # Ask the solver, at each load, whether a store at a symbolic distance can overlap it,
    # and drop the stores that cannot: slower per load, but it keeps values small where
    # many stores go through unrelated symbolic pointers (the round-trip proofs).
    resolve_aliases: bool = False
    # Objects known apart from each other, as (base, low offset, high offset): an access at
    # base + c, low <= c < high, cannot overlap one in another object (no solver needed).
    objects: tuple[tuple[z3.BitVecRef, int, int], ...] = ()
    # Shared by a state and its copies: what the alias checks have learnt (AliasMemo).
    aliases: "AliasMemo" = field(default_factory=lambda: AliasMemo())
    # A sound shortcut the prover's assumptions give (prove.frame_apart): True when two
    # accesses (addr, size, addr, size) cannot overlap, decided without the path condition.
    known_apart: "Callable[[z3.BitVecRef, int, z3.BitVecRef, int], bool] | None" = None
    # Loaded values the path condition fixes (a proof split by cases): a load whose value is
    # one of these expressions reads the constant instead, so addresses computed from it
    # stay at constant distances.
    pinned: tuple[tuple[z3.BitVecRef, z3.BitVecRef], ...] = ()
    # The spec's heap invariants (verify/heap.py): a load of one of their words adds what
    # the word holds to the path condition...
    heap: "HeapInvariant | None" = None
    # ...unless a store this path left to its callers, as (addr, bytes), may have written it.
    unchecked: tuple[tuple[z3.BitVecRef, int], ...] = ()
    # Output ports: address -> stream name (the spec's STREAMS); a store there also appends
    # its low byte to the stream `out:<name>`.
    ports: dict[int, str] = field(default_factory=dict)

    def copy(self) -> "State":
        return State(dict(self.regs), self.mem, list(self.constraints), self.pc,
                     self.base, self.monitor, list(self.opaque), dict(self.sysregs),
                     self.resolve_aliases, self.objects, self.aliases, self.known_apart,
                     self.pinned, self.heap, self.unchecked, self.ports)

    # -- registers --------------------------------------------------------------------
    def _slot(self, slot: int) -> z3.BitVecRef:
        if slot not in self.regs:
            self.regs[slot] = fresh(f"guest{slot}", 64)
        return self.regs[slot]

    def get(self, offset: int, bits: int) -> z3.BitVecRef:
        nbytes = max(bits // 8, 1)
        first, last = offset // SLOT, (offset + nbytes - 1) // SLOT
        whole = z3.Concat(*[self._slot(s * SLOT) for s in range(last, first - 1, -1)]) \
            if last > first else self._slot(first * SLOT)
        lo = (offset - first * SLOT) * 8
        return z3.Extract(lo + bits - 1, lo, whole)

    def put(self, offset: int, value: z3.BitVecRef) -> None:
        bits = value.size()
        nbytes = max(bits // 8, 1)
        for s in range(offset // SLOT, (offset + nbytes - 1) // SLOT + 1):
            base = s * SLOT
            lo_byte, hi_byte = max(offset, base), min(offset + nbytes, base + SLOT)
            part = z3.Extract((hi_byte - offset) * 8 - 1, (lo_byte - offset) * 8, value) \
                if bits >= 8 else value
            old = self._slot(base)
            pieces = []
            if hi_byte < base + SLOT:
                pieces.append(z3.Extract(63, (hi_byte - base) * 8, old))
            pieces.append(part)
            if lo_byte > base:
                pieces.append(z3.Extract((lo_byte - base) * 8 - 1, 0, old))
            self.regs[base] = z3.simplify(z3.Concat(*pieces) if len(pieces) > 1 else pieces[0])

    def nzcv(self) -> z3.BitVecRef:
        """The flags as a 4-bit value N:Z:C:V, computed from VEX's thunk."""
        word = nzcv_word(self.reg("cc_op"), self.reg("cc_dep1"), self.reg("cc_dep2"),
                         self.reg("cc_ndep"))
        return z3.simplify(z3.Extract(31, 28, word))

    def sysreg_value(self, name: str) -> z3.BitVecRef:
        """A system register's current value; on first use, its entry value `<name>_0`."""
        if name not in self.sysregs:
            self.sysregs[name] = z3.Const(f"{name}_0", stream_sort(name)) \
                if name.startswith(STREAM) \
                else z3.BitVec(f"{name}_0", 64)
        return self.sysregs[name]

    def store_exclusive_outcome(self, addr: z3.BitVecRef, nbytes: int) -> z3.BitVecRef:
        """A store-exclusive's success bit. The hardware may fail it at any time (another
        core's store, an interrupt, or no reason at all), so it is a fresh bit and both
        outcomes are explored; it can only succeed on the address and size the
        load-exclusive armed. Either way the monitor is cleared."""
        ok = fresh("stxr_ok", 1)
        if self.monitor is None:
            self.constraints.append(ok == 0)
        else:
            mon_addr, mon_size = self.monitor
            self.constraints.append(z3.Implies(ok == 1, z3.And(mon_addr == addr,
                                                              z3.BoolVal(mon_size == nbytes))))
        self.monitor = None
        return ok

    def decided_single_value(self, expr: z3.BitVecRef) -> tuple[int | None, bool]:
        """single_value, and whether the solver decided (False: it ran out of time)."""
        expr = z3.simplify(expr)
        if z3.is_bv_value(expr):
            return expr.as_long(), True
        s = solver()
        s.add(*self.constraints)
        first = s.check()
        if first != z3.sat:
            return None, first == z3.unsat
        value = s.model().eval(expr, model_completion=True)
        s.add(expr != value)
        verdict = s.check()
        return (value.as_long() if verdict == z3.unsat else None), verdict != z3.unknown

    def single_value(self, expr: z3.BitVecRef) -> int | None:
        """The value expr must have on this path, or None if it can have several."""
        expr = z3.simplify(expr)
        if z3.is_bv_value(expr):
            return expr.as_long()
        s = solver()
        s.add(*self.constraints)
        if s.check() != z3.sat:
            return None
        value = s.model().eval(expr, model_completion=True)
        s.add(expr != value)
        return value.as_long() if s.check() == z3.unsat else None

    def reg(self, name: str) -> z3.BitVecRef:
        offset, size = ARCH.registers[name]
        return self.get(offset, size * 8)

    def set_reg(self, name: str, value: z3.BitVecRef) -> None:
        self.put(reg_offset(name), value)

    # -- memory -----------------------------------------------------------------------
    def load(self, addr: z3.BitVecRef, nbytes: int, assume: bool = True) -> z3.BitVecRef:
        """The value at addr; `assume` False: without what the heap invariants say of it (for
        checking that they hold)."""
        value = z3.simplify(read_memory(self.mem, self.base, addr, nbytes, self._may_overlap))
        for expr, constant in self.pinned:
            if z3.eq(expr, value):
                return constant
        if self.heap is not None and assume:
            self.heap.assume_load(self, addr, nbytes, value)
        return value

    def _object_of(self, addr: z3.BitVecRef, nbytes: int) -> int | None:
        base, off = base_and_offset(addr)
        for i, (obj, lo, hi) in enumerate(self.objects):
            if base is not None and z3.eq(base, obj) and lo <= off and off + nbytes <= hi:
                return i
        return None

    def _may_overlap(self, overlap: z3.BoolRef, a=None, asize=0, b=None, bsize=0) -> bool:
        if not self.resolve_aliases and bsize <= WIDE_STORE:
            return True     # keep the If: cheaper than a solver call for a narrow store
        if a is not None and self.objects:
            i, j = self._object_of(a, asize), self._object_of(b, bsize)
            if i is not None and j is not None and i != j:
                return False
        if a is not None and self.known_apart is not None and self.known_apart(a, asize, b, bsize):
            return False
        if a is not None and intervals.apart(a, asize, b, bsize, self.constraints):
            return False
        if a is not None and self._frame_and_array(a, asize, b, bsize):
            return False
        if a is not None and intervals.same_offset(a, asize, b, bsize, self.constraints):
            # May be the same object: keep the If (always sound) without a slow query; on
            # the load's grain when the sizes allow, so one If stands for the whole load.
            return ALIGNED if asize in (2, 4, 8) and bsize % asize == 0 else True
        if self.aliases.apart(overlap, self.constraints):
            return False
        if self.resolve_aliases and a is not None and asize in (2, 4, 8) and bsize % asize == 0:
            # Both on the load's grain: the load lies wholly inside the store or wholly out.
            misaligned = z3.simplify(a - b) & (asize - 1) != 0
            if self.aliases.apart(misaligned, self.constraints):
                return ALIGNED
        return True

    def _frame_and_array(self, a, asize: int, b, bsize: int) -> bool:
        """One access is in the function's own stack frame and the layout places the other
        in the heap invariants' arrays, which the prover assumes apart from every frame (a
        PCB reached through a pointer a loop forgot is still not one of the saved registers)."""
        heap = self.heap
        if heap is None or heap.in_frame is None or not heap.links:
            return False
        return any(heap.in_frame(s, ss) and heap.apart_from_frames(self, p, ps)
                   for (s, ss), (p, ps) in (((a, asize), (b, bsize)), ((b, bsize), (a, asize))))

    def store(self, addr: z3.BitVecRef, value: z3.BitVecRef,
              cond: z3.BoolRef | None = None) -> None:
        self.mem = MemStore(self.mem, addr, value.size() // 8, value, cond)
        if self.ports:
            self._output(addr, value, cond)

    def _output(self, addr: z3.BitVecRef, value: z3.BitVecRef, cond) -> None:
        """A store at a constant address that covers an output port appends the byte it puts
        there to the port's stream. A store through a pointer is taken not to reach a port:
        the proof states that assumption (prove.PORT_ASSUMPTION)."""
        addr = z3.simplify(addr)
        if not z3.is_bv_value(addr):
            return
        for port, name in self.ports.items():
            offset = port - addr.as_long()
            size = REGISTER_BYTES.get(name, 1)
            if not -size < offset < value.size() // 8:
                continue
            stream = STREAM + name
            before = self.sysreg_value(stream)
            if size == 1:
                element = z3.Extract(8 * offset + 7, 8 * offset, value)
            elif offset == 0 and value.size() == 8 * size:
                element = value
            else:   # part of the register, or more: what it then holds is not stated
                element = fresh(f"part_of_{name}", 8 * size)
                self.opaque.append(element)
            after = z3.Concat(before, z3.Unit(z3.simplify(element)))
            self.sysregs[stream] = after if cond is None else z3.If(cond, after, before)

    def store_unknown(self, addr: z3.BitVecRef, nbytes: int, name: str) -> z3.FuncDeclRef:
        """Make nbytes at addr unknown: each byte becomes an unknown function of its address.
        Unlike one wide unknown value, a read at an unknown distance costs a compare per byte
        rather than a shift of the whole region. Returns the function."""
        fill = z3.Function(name, z3.BitVecSort(64), z3.BitVecSort(8))
        self.mem = MemStore(self.mem, addr, nbytes, None, fill=fill)
        return fill


class AliasMemo:
    """Decides whether an access and a store at an unknown distance can overlap.

    Only the constraints that share a variable with the question (transitively) are given to
    the solver: a smaller query, and as exact. Every answer "apart" is remembered with the
    constraints that gave it; it holds again wherever those constraints all hold (they only
    grow along a path). Undecided counts as "may overlap", which keeps the If: always sound.
    A question not shown apart is remembered with exactly the constraints it was asked with.
    """

    def __init__(self):
        self._proved: dict[int, list[tuple[z3.BoolRef, list[z3.BoolRef]]]] = {}
        self._vars: dict[int, tuple[z3.BoolRef, frozenset[str]]] = {}
        # Questions not shown apart, by their ids and the constraints asked with: the same
        # question with the same constraints gets the same answer without the solver.
        self._refuted: dict[tuple, tuple[z3.BoolRef, list[z3.BoolRef]]] = {}

    def _variables(self, e: z3.ExprRef) -> frozenset[str]:
        hit = self._vars.get(e.get_id())
        if hit is None:
            names, todo, seen = set(), [e], set()
            while todo:
                x = todo.pop()
                if x.get_id() in seen:
                    continue
                seen.add(x.get_id())
                if z3.is_app(x) and x.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                    names.add(x.decl().name())
                todo.extend(x.children())
            hit = self._vars[e.get_id()] = (e, frozenset(names))   # keeps e alive: ids stay
        return hit[1]

    def apart(self, overlap: z3.BoolRef, constraints: list[z3.BoolRef]) -> bool:
        have = {c.get_id() for c in constraints}
        for _, used in self._proved.get(overlap.get_id(), ()):
            if all(c.get_id() in have for c in used):
                return True
        # First only the constraints over the question's own variables (the frame assumption
        # and sp's alignment, typically): a tiny query that most often already answers.
        # Unsat with fewer constraints is unsat with all of them.
        own = self._variables(overlap)
        near = [c for c in constraints if self._variables(c) <= own]
        if near and self._unsat(near, overlap, NEAR_ALIAS_MS):
            self._proved.setdefault(overlap.get_id(), []).append((overlap, near))
            return True
        wanted, relevant, rest = set(own), [], list(constraints)
        grew = True
        while grew:
            grew, left = False, []
            for c in rest:
                if self._variables(c) & wanted:
                    relevant.append(c)
                    wanted |= self._variables(c)
                    grew = True
                else:
                    left.append(c)
            rest = left
        key = (overlap.get_id(), tuple(sorted(c.get_id() for c in relevant)))
        if key in self._refuted:
            return False
        if not self._unsat(relevant, overlap, ALIAS_MS):
            self._refuted[key] = (overlap, relevant)
            return False
        self._proved.setdefault(overlap.get_id(), []).append((overlap, relevant))
        return True

    @staticmethod
    def _unsat(constraints: list[z3.BoolRef], overlap: z3.BoolRef, ms: int) -> bool:
        s = solver()
        s.set("timeout", ms)
        s.add(*constraints)
        s.add(overlap)
        return s.check() == z3.unsat


@dataclass(frozen=True)
class MemStore:
    """One store on top of older memory; paths that fork share their common stores."""
    older: "MemStore | None"
    addr: z3.BitVecRef
    size: int
    value: z3.BitVecRef
    cond: z3.BoolRef | None = None   # the store happened only if this holds (store-exclusive)
    fill: z3.FuncDeclRef | None = None   # instead of value: byte at a is fill(a) (store_unknown)


def initial_memory(name: str = "mem0") -> z3.FuncDeclRef:
    """Memory before anything is stored: an unknown function from address to byte. It is only
    ever read, so an uninterpreted function does what an array would, and Z3's bit-vector
    solver handles it far faster (about 300 times on a linked-list postcondition)."""
    return z3.Function(name, z3.BitVecSort(64), z3.BitVecSort(8))


def read_memory(node: MemStore | None, base: z3.FuncDeclRef, addr: z3.BitVecRef,
                nbytes: int, may_overlap=None) -> z3.BitVecRef:
    """The nbytes little-endian value at addr after the stores in node.

    Stores at a constant distance from the load are resolved here (the common case: the
    stack); others become an If on whether they overlap, decided by the solver.
    """
    if node is None:
        parts = [base(addr + i) for i in range(nbytes - 1, -1, -1)]
        return z3.Concat(*parts) if nbytes > 1 else parts[0]
    dist = z3.simplify(addr - node.addr)
    if z3.is_bv_value(dist):
        off = dist.as_signed_long()
        if off >= node.size or off + nbytes <= 0:
            return read_memory(node.older, base, addr, nbytes, may_overlap)
        if off == 0 and nbytes == node.size and node.cond is None and node.fill is None:
            return node.value
    overlap = None
    grain = True
    if not z3.is_bv_value(dist):
        overlap = z3.Or(z3.ULT(dist, node.size), z3.ULT(node.addr - addr, nbytes))
        if may_overlap is not None:
            grain = may_overlap(overlap, addr, nbytes, node.addr, node.size)
            if not grain:
                return read_memory(node.older, base, addr, nbytes, may_overlap)
    older = read_memory(node.older, base, addr, nbytes, may_overlap)
    if grain is ALIGNED:
        # dist is a multiple of nbytes, and so is the store's size: inside wholly or not at all.
        if node.fill is not None:
            inside = z3.Concat(*[node.fill(addr + i) for i in range(nbytes - 1, -1, -1)]) \
                if nbytes > 1 else node.fill(addr)
        elif node.size == nbytes:
            inside = node.value
        else:
            shifted = z3.LShR(node.value, _resize_to(dist * 8, node.size * 8))
            inside = z3.Extract(nbytes * 8 - 1, 0, shifted)
        newer = z3.If(z3.ULT(dist, node.size), inside, older)
        return z3.If(node.cond, newer, older) if node.cond is not None else newer
    newer = _overlay(node, addr, nbytes, older)
    if overlap is not None:
        newer = z3.If(overlap, newer, older)
    if node.cond is not None:
        newer = z3.If(node.cond, newer, older)
    return newer


def base_and_offset(addr: z3.BitVecRef) -> tuple[z3.BitVecRef | None, int]:
    """addr as (symbolic base, constant signed offset); base None for a constant."""
    addr = z3.simplify(addr)
    if z3.is_bv_value(addr):
        return None, addr.as_long()
    if z3.is_app_of(addr, z3.Z3_OP_BADD):
        const, rest = 0, []
        for child in addr.children():
            if z3.is_bv_value(child):
                const += child.as_long()
            else:
                rest.append(child)
        if len(rest) == 1:
            const %= 2 ** 64
            return rest[0], const - 2 ** 64 if const >= 2 ** 63 else const
    return addr, 0


def _overlay(node: MemStore, addr: z3.BitVecRef, nbytes: int,
             older: z3.BitVecRef) -> z3.BitVecRef:
    """Byte by byte: the store's byte where it covers the load, the older value elsewhere."""
    if node.fill is not None:
        parts = []
        for i in range(nbytes - 1, -1, -1):
            rel = z3.simplify(addr + i - node.addr)
            old_byte = z3.Extract(8 * i + 7, 8 * i, older)
            if z3.is_bv_value(rel):
                parts.append(node.fill(addr + i) if rel.as_long() < node.size else old_byte)
            else:
                parts.append(z3.If(z3.ULT(rel, node.size), node.fill(addr + i), old_byte))
        return z3.Concat(*parts) if nbytes > 1 else parts[0]
    width = node.size * 8
    exact = z3.And(addr == node.addr, z3.BoolVal(nbytes == node.size))
    parts = []
    for i in range(nbytes - 1, -1, -1):
        rel = z3.simplify(addr + i - node.addr)
        old_byte = z3.Extract(8 * i + 7, 8 * i, older)
        if z3.is_bv_value(rel):
            r = rel.as_long()
            parts.append(z3.Extract(8 * r + 7, 8 * r, node.value) if r < node.size else old_byte)
            continue
        shifted = z3.LShR(node.value, _resize_to(rel * 8, width))
        parts.append(z3.If(z3.ULT(rel, node.size), z3.Extract(7, 0, shifted), old_byte))
    bytewise = z3.Concat(*parts) if nbytes > 1 else parts[0]
    if nbytes == node.size:
        return z3.If(exact, node.value, bytewise)
    return bytewise


def _resize_to(v: z3.BitVecRef, bits: int) -> z3.BitVecRef:
    if v.size() == bits:
        return v
    if v.size() > bits:
        return z3.Extract(bits - 1, 0, v)
    return z3.ZeroExt(bits - v.size(), v)


def register_name(offset: int) -> str:
    name = ARCH.register_size_names.get((offset, 8)) or ARCH.translate_register_name(offset)
    return str(name)


class Step:
    """Runs one instruction's IRSB on a state. Construct per (state, irsb)."""

    def __init__(self, state: State, irsb: pyvex.IRSB, word: int):
        self.state = state
        self.irsb = irsb
        self.tmps: dict[int, z3.BitVecRef] = {}
        self.effect = Effect(irsb.addr, barrier=barrier_kind(word))
        self.order = access_class(word)

    def expr(self, e: pyvex.expr.IRExpr) -> z3.BitVecRef:
        s = self.state
        if isinstance(e, pyvex.expr.RdTmp):
            return self.tmps[e.tmp]
        if isinstance(e, pyvex.expr.Const):
            return const_value(e.con)
        if isinstance(e, pyvex.expr.Get):
            return s.get(e.offset, type_bits(e.ty))
        if isinstance(e, pyvex.expr.Unop):
            return unop(e.op, self.expr(e.args[0]))
        if isinstance(e, pyvex.expr.Binop):
            return binop(e.op, self.expr(e.args[0]), self.expr(e.args[1]))
        if isinstance(e, pyvex.expr.ITE):
            cond = self.expr(e.cond)
            return z3.If(cond == 1, self.expr(e.iftrue), self.expr(e.iffalse))
        if isinstance(e, pyvex.expr.Load):
            if e.end != "Iend_LE":
                raise Unmodelled("big-endian load")
            return self.load(self.expr(e.addr), type_bits(e.ty), "load")
        if isinstance(e, pyvex.expr.CCall):
            return ccall(e.cee.name, [self.expr(a) for a in e.args])
        raise Unmodelled(f"VEX expression {type(e).__name__}")

    def load(self, addr, bits, kind) -> z3.BitVecRef:
        addr = z3.simplify(addr)
        value = self.state.load(addr, bits // 8)
        self.effect.accesses.append(MemAccess(kind, addr, bits // 8, value, self.order))
        return value

    def store(self, addr, value, kind) -> None:
        addr = z3.simplify(addr)
        self.state.store(addr, value)
        self.effect.accesses.append(MemAccess(kind, addr, value.size() // 8, value, self.order))

    def run(self) -> list[tuple[State, Effect, str, z3.BitVecRef]]:
        """Execute; return (state, effect, jumpkind, target) per way out.

        Conditional exits are returned with the exit guard (or its negation) appended to the
        state's constraints; the caller decides feasibility.
        """
        s = self.state
        exits: list[tuple[State, Effect, str, z3.BitVecRef]] = []
        for stmt in self.irsb.statements:
            if isinstance(stmt, (pyvex.stmt.IMark, pyvex.stmt.NoOp, pyvex.stmt.AbiHint)):
                continue
            if isinstance(stmt, pyvex.stmt.WrTmp):
                self.tmps[stmt.tmp] = self.expr(stmt.data)
            elif isinstance(stmt, pyvex.stmt.Put):
                value = self.expr(stmt.data)
                s.put(stmt.offset, value)
                if stmt.offset != reg_offset("pc"):
                    self.effect.regs_written.append(register_name(stmt.offset))
            elif isinstance(stmt, pyvex.stmt.Store):
                if stmt.end != "Iend_LE":
                    raise Unmodelled("big-endian store")
                self.store(self.expr(stmt.addr), self.expr(stmt.data), "store")
            elif isinstance(stmt, pyvex.stmt.LLSC):
                self.llsc(stmt)
            elif isinstance(stmt, pyvex.stmt.MBE):
                # A fence has no sequential effect; its kind comes from the encoding
                # (Effect.barrier), since VEX gives every barrier the same one.
                if stmt.event == "Imbe_CancelReservation":
                    s.monitor = None
            elif isinstance(stmt, pyvex.stmt.Exit):
                if stmt.jumpkind == "Ijk_SigFPE_IntDiv":
                    # VEX guards UDIV/SDIV with a divide-by-zero trap back to the same
                    # instruction; AArch64 has no such trap: the quotient is 0 and execution
                    # goes on (semantics._arm_udiv/_arm_sdiv), so this exit never happens.
                    continue
                guard = self.expr(stmt.guard)
                taken = s.copy()
                taken.constraints.append(guard == 1)
                branch_effect = Effect(self.effect.addr, list(self.effect.regs_written),
                                       list(self.effect.accesses), self.effect.barrier)
                exits.append((taken, branch_effect, stmt.jumpkind,
                              z3.BitVecVal(stmt.dst.value, 64)))
                s.constraints.append(guard == 0)
            else:
                raise Unmodelled(f"VEX statement {type(stmt).__name__}")
        target = z3.simplify(self.expr(self.irsb.next))
        s.put(reg_offset("pc"), target)
        exits.append((s, self.effect, self.irsb.jumpkind, target))
        return exits

    def llsc(self, stmt: pyvex.stmt.LLSC) -> None:
        s = self.state
        addr = z3.simplify(self.expr(stmt.addr))
        bits = type_bits(self.irsb.tyenv.lookup(stmt.result))
        if stmt.storedata is None:  # load-exclusive: read and arm the monitor
            self.tmps[stmt.result] = self.load(addr, bits, "load-exclusive")
            s.monitor = (addr, bits // 8)
            return
        data = self.expr(stmt.storedata)
        ok = s.store_exclusive_outcome(addr, data.size() // 8)
        s.store(addr, data, cond=ok == 1)
        self.effect.accesses.append(MemAccess("store-exclusive", addr, data.size() // 8, data,
                                              self.order, ok == 1))
        self.tmps[stmt.result] = ok
