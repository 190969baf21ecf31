"""Loading the specs: which contract each function has, and which results are accepted.

`specs/<file>.py` holds the contracts of the functions defined in `asm/<file>.s` (the board
layer's `asm/board/virt/board.s` has `specs/board/virt/board.py`). Each defines `CONTRACTS`,
a dict from function name to a `Contract` (pre, post, MAYCHANGE frame, loop bound) or a
`NotCallable`; a function not named there gets the default AAPCS64 contract. `specs/accepted.toml` lists results that may pass the gate although they
are not PROVED, each with a written reason.
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import z3

from .machine import STREAM, stream_sort
# What specs use to state firmware calls (the stream `firmware`: machine.FIRMWARE).
from .machine import FIRMWARE, HVC_CALL, SMC_CALL, firmware_call, firmware_result  # noqa: F401
from .program import Program


class SpecError(Exception):
    """A spec or the acceptance file is wrong; the message says where and what."""


@dataclass(frozen=True)
class NotCallable:
    """The function is not entered by a call (entry point, vector, handler): no contract
    applies. Its instructions are still audited."""
    reason: str


@dataclass(frozen=True)
class RoundTrip:
    """A context switch, proved as a round trip (verify/roundtrip.py): process A is saved
    by the code from `save` up to `saved_at`, process B restored by `restore`, B saved
    again, A restored; A must get back exactly the state the switch promises to keep.

    - kind "voluntary": the save is a call (yield); A keeps x19-x29, sp, d8-d15, DAIF and
      returns to its x30.
    - kind "involuntary": the save is an IRQ taken from EL1t; A gets back every GPR, SP_EL0,
      NZCV, DAIF, q0-q31, FPCR, FPSR and its pc.
    The function this is attached to is the save's entry; `restore` is reported as covered.
    """
    summary: str
    kind: str
    save: str
    saved_at: str
    restore: str


@dataclass(frozen=True)
class Region:
    """Memory a function may change: `size` bytes at an ELF symbol or at an address that a
    function of the entry view computes (e.g. `lambda e: e.x(0)`)."""
    start: str | int | Callable[["View"], z3.BitVecRef]
    size: int | Callable[["View"], z3.BitVecRef]

    def bounds(self, entry: "View") -> tuple[z3.BitVecRef, z3.BitVecRef]:
        start = self.start
        if isinstance(start, str):
            start = z3.BitVecVal(entry.symbol(start), 64)
        elif isinstance(start, int):
            start = z3.BitVecVal(start, 64)
        else:
            start = start(entry)
        size = self.size(entry) if callable(self.size) else z3.BitVecVal(self.size, 64)
        return start, size


# What AAPCS64 lets a callee change: the caller-saved registers, the flags, the SIMD
# registers but for the low halves of v8-v15, and memory (through pointers it was given).
AAPCS64_SCRATCH = tuple([f"x{i}" for i in range(19)] + ["x30", "nzcv"] +
                        [f"q{i}" for i in list(range(8)) + list(range(16, 32))] +
                        [f"q{i}.hi" for i in range(8, 16)])
MEMORY = "memory"     # in MAYCHANGE: any memory may change, devices and firmware included


@dataclass(frozen=True)
class Contract:
    """A function's specification.

    - `maychange`: registers (x0-x30, sp, nzcv, q0-q31 or their `.hi` halves, `d<n>` for the
      low half, system registers by name), `Region`s of memory, or MEMORY. Everything not
      listed is proved unchanged on every path that returns; the function's own stack frame
      (below sp on entry) is always scratch.
    - `pre(entry)`: what callers guarantee, a Z3 condition over the entry view.
    - `post(entry, exit)`: what the function guarantees on return.
    - `ghost_post(entry, exit)`: more it guarantees, over ghost views (a queue's list of
      nodes); proved on return like `post`, but not assumed where a caller takes the contract
      (reading ghost lists there costs every caller, which states what it needs pointwise).
    - `returns`: every path that ends must return to x30 on entry (False for code that
      never returns is expressed with NotCallable instead).
    - `loop_bound`: (N, why N suffices): loops are unrolled up to N arrivals instead of
      summarised; the verdict is then BOUNDED, with the reason in the report.
    - `split(entry)`: (a value the function loads from memory on entry, its possible values):
      one proof per value, in which loads of it read that constant (addresses computed from
      it, such as the run queue of a priority, stay at constant distances); the values must
      cover every entry the precondition allows, which is proved too.
    - `invariants`: {label of a loop head in the function: inv(entry, here)}: proved on every
      arrival at the label (the first, and after each iteration) and assumed where the loop
      is generalised, so that what the loop needs of its forgotten state is kept.
    - `switch_out(entry, here)`: what a function that blocks leaves behind where it enters
      a voluntary switch (a call or tail call of yield, its own or a callee's): proved on
      every path that does; a contract with one on which no path switches is not PROVED.
      After the switch other processes run and memory is unknown, so a postcondition
      cannot say what a blocking call did; this says it at the last point it is known.
    - `handoff`: {function: cond(entry, here)}: the code is entered without a call (a boot
      path) and ends by calling or branching to one of these functions, never to return:
      every path must reach such a hand-off, where `cond` is proved (`maychange` and `post`
      do not apply). A return, or a park its `parks` does not allow, FAILS.
    - `parks(entry)`: with `handoff`, the entries on which the code may park instead (a
      WFE/WFI loop it never leaves).
    - `before_invariants`: with `handoff`, the code runs before the heap invariants hold
      (boot, before it zeroes .bss): they are neither assumed nor checked in its proof.
    - `cache_maintenance`: why the function's cache maintenance leaves memory as it was
      stored (an invalidation with the caches off), which the model takes as a write of
      unknown bytes: those writes are not held to the heap invariants (specs/heap.py), every
      other store is, and the report says so. A caller that relies on the invariants cannot
      take this contract, and runs the code instead.
    """
    summary: str
    maychange: tuple = AAPCS64_SCRATCH + (MEMORY,)
    pre: Callable[["View"], z3.BoolRef] | None = None
    post: Callable[["View", "View"], z3.BoolRef] | None = None
    ghost_post: Callable[["View", "View"], z3.BoolRef] | None = None
    loop_bound: tuple[int, str] | None = None
    split: Callable[["View"], tuple[z3.BitVecRef, list[int]]] | None = None
    invariants: dict[str, Callable[["View", "View"], z3.BoolRef]] | None = None
    switch_out: Callable[["View", "View"], z3.BoolRef] | None = None
    cache_maintenance: str | None = None
    handoff: dict[str, Callable[["View", "View"], z3.BoolRef]] | None = None
    parks: Callable[["View"], z3.BoolRef] | None = None
    before_invariants: bool = False

    def may_change(self, name: str) -> bool:
        return name in self.maychange

    @property
    def regions(self) -> list[Region]:
        return [m for m in self.maychange if isinstance(m, Region)]


def member(view: "View", addr: z3.BitVecRef, symbol: str, count: int | str,
           stride: int | str) -> z3.BoolRef:
    """addr is the start of one of `count` objects of `stride` bytes at ELF symbol `symbol`
    (numbers or the names of constants): the layout fact the prover reads without the solver
    (verify/intervals.py). Stated so that the solver's circuit stays small: the offset is
    below count * stride, a multiple of stride's power-of-two part, and what is left above
    those bits a multiple of the odd part (a 64-bit remainder by 1152 is costly; one of a
    15-bit field by 9 is not)."""
    count = count if isinstance(count, int) else view.const(count)
    stride = stride if isinstance(stride, int) else view.const(stride)
    offset = addr - view.symbol(symbol)
    low = (stride & -stride).bit_length() - 1            # stride = odd << low
    odd, top = stride >> low, max((count * stride - 1).bit_length(), low + 1) - 1
    conds = [z3.ULT(offset, count * stride)]
    if low:
        conds.append(offset & ((1 << low) - 1) == 0)
    if odd > 1:
        conds.append(z3.URem(z3.Extract(top, low, offset), odd) == 0)
    return z3.And(*conds)


@dataclass(frozen=True)
class Links:
    """A heap invariant (verify/heap.py): in each of `count` objects of `stride` bytes at
    `symbol`, the `size`-byte words at `offsets` always hold a value `holds(view, value)` accepts
    (a PCB's links hold 0 or a PCB). Counts, strides and offsets are numbers or the names of
    the runtime's constants. Every proof assumes it of the words it reads and proves it of the
    words it writes. A count or an offset may also be a function of the constants' lookup
    (`lambda c: c("MAX_CORES") * c("WHEEL_SLOTS")`)."""
    summary: str
    symbol: str
    count: int | str | Callable
    stride: int | str
    offsets: tuple[int | str | Callable, ...]
    holds: Callable[["View", z3.BitVecRef], z3.BoolRef]
    size: int = 8           # bytes per word: 8, or 4 for a u32 field (a priority)


def aapcs64(summary: str = "AAPCS64 callable", **kw) -> Contract:
    """The default contract of a callable function, plus whatever `kw` adds."""
    return Contract(summary, **kw)


class View:
    """A state as a spec reads it: registers, memory, system registers, ELF symbols.

    Contracts are written against this API; `ConcreteView` offers the same over a concrete
    run, so the same check can be evaluated on what a replay did.
    """

    def __init__(self, state, program):
        self._state, self._program = state, program

    def x(self, n: int) -> z3.BitVecRef:
        return self._state.reg(f"x{n}")

    def w(self, n: int) -> z3.BitVecRef:
        return z3.Extract(31, 0, self.x(n))

    @property
    def sp(self) -> z3.BitVecRef:
        return self._state.reg("sp")

    def q(self, n: int) -> z3.BitVecRef:
        return self._state.reg(f"q{n}")

    def nzcv(self) -> z3.BitVecRef:
        return self._state.nzcv()

    def mem(self, addr, nbytes: int) -> z3.BitVecRef:
        return self._state.load(self.value(addr), nbytes)

    def u64(self, addr) -> z3.BitVecRef:
        return self.mem(addr, 8)

    def u32(self, addr) -> z3.BitVecRef:
        return self.mem(addr, 4)

    def symbol(self, name: str) -> int:
        return self._program.symbol(name)

    def const(self, name: str) -> int:
        return self._program.constant(name)

    def sysreg(self, name: str) -> z3.BitVecRef:
        return self._state.sysreg_value(name)

    def last_read(self, name: str) -> z3.BitVecRef:
        """The last value the path read from the counter or volatile system register `name`
        (CNTPCT_EL0, where each read is at least the one before; ICC_IAR1_EL1): what a
        function that polls the clock last saw, or the interrupt it acknowledged."""
        return self._state.sysreg_value(f"{name}.last")

    def stream(self, name: str) -> z3.SeqRef:
        """What has been written to an output stream (the spec's STREAMS, or "firmware":
        machine.FIRMWARE), oldest first: on entry, whatever came before; on return, that and
        what the call sent."""
        return self._state.sysreg_value(STREAM + name)

    def value(self, expr) -> z3.BitVecRef:
        """An expression of the path (e.g. an address) in this view's terms."""
        return z3.BitVecVal(expr, 64) if isinstance(expr, int) else expr


@dataclass(frozen=True)
class Register:
    """In STREAMS: a device register of `size` bytes (2, 4 or 8) at `address(view)`, whose
    every write is one element of its stream, in order. (A plain function there names a
    byte port: each store appends the byte it puts at the address.)"""
    address: Callable[["View"], object]
    size: int


class Unjudgeable(Exception):
    """A condition a concrete run cannot be judged by (it reads what the replay lacks)."""


class ConcreteView(View):
    """The View API over one concrete state: the model's entry values, or a replay's end."""

    def __init__(self, program, model: z3.ModelRef, regs: dict[str, int],
                 read: Callable[[int, int], int], sysreg: Callable[[str], int],
                 sent: Callable[[str], list[int]] | None = None):
        self._program, self._model = program, model
        self._regs, self._read, self._sysreg, self._sent = regs, read, sysreg, sent

    def x(self, n: int) -> z3.BitVecRef:
        return z3.BitVecVal(self._regs[f"x{n}"], 64)

    @property
    def sp(self) -> z3.BitVecRef:
        return z3.BitVecVal(self._regs["sp"], 64)

    def q(self, n: int) -> z3.BitVecRef:
        return z3.BitVecVal(self._regs[f"q{n}"], 128)

    def nzcv(self) -> z3.BitVecRef:
        return z3.BitVecVal(self._regs["nzcv"], 4)

    def mem(self, addr, nbytes: int) -> z3.BitVecRef:
        return z3.BitVecVal(self._read(self.value(addr).as_long(), nbytes), 8 * nbytes)

    def sysreg(self, name: str) -> z3.BitVecRef:
        return z3.BitVecVal(self._sysreg(name), 64)

    def last_read(self, name: str) -> z3.BitVecRef:
        raise Unjudgeable(f"the condition reads the last value of {name} the path read, "
                          "which a replay does not record")

    def stream(self, name: str) -> z3.SeqRef:
        """The stream on entry as the model has it, and on a replay's return that and what
        the run sent (the bytes it stored to the port, the firmware calls it made)."""
        sort = stream_sort(STREAM + name)
        entry = self._model.eval(z3.Const(f"{STREAM}{name}_0", sort), model_completion=True)
        sent = self._sent(name) if self._sent is not None else []
        if None in sent:
            raise Unjudgeable(f"the run wrote part of the register {name}, whose value the "
                              "model leaves unknown")
        bits = sort.basis().size()
        return z3.simplify(z3.Concat(entry, *[z3.Unit(z3.BitVecVal(b, bits)) for b in sent])) \
            if sent else entry

    def value(self, expr) -> z3.BitVecRef:
        if isinstance(expr, int):
            return z3.BitVecVal(expr, 64)
        return self._model.eval(expr, model_completion=True)


@dataclass
class GhostList:
    """A linked list in memory seen as a list of node addresses, up to `bound` nodes.

    `nodes[i]` is the i-th node's address; `length` the number of nodes (a Z3 value); and
    `within_bound` says the list really ends within the bound. Specs state their bound in the
    precondition (`within_bound`) and reason about `length` and `nodes` below it."""
    nodes: list[z3.BitVecRef]
    length: z3.BitVecRef
    within_bound: z3.BoolRef

    def __len__(self) -> int:
        return len(self.nodes)

    def distinct_and_apart(self, size: int, *others: z3.BitVecRef) -> z3.BoolRef:
        """The listed nodes are `size`-byte objects that overlap neither each other nor the
        objects at `others`: the separation a list's pre- and postconditions need."""
        conds = []
        objects = [(i, n) for i, n in enumerate(self.nodes)]
        for i, a in objects:
            in_list = z3.ULT(z3.BitVecVal(i, 64), self.length)
            for j, b in objects[i + 1:]:
                both = z3.ULT(z3.BitVecVal(j, 64), self.length)
                conds.append(z3.Implies(both, _apart(a, b, size)))
            conds += [z3.Implies(in_list, _apart(a, o, size)) for o in others]
        return z3.And(*conds) if conds else z3.BoolVal(True)

    def equals(self, items: list[z3.BitVecRef]) -> z3.BoolRef:
        """This list holds exactly `items`, in order."""
        same = [self.length == len(items)]
        same += [self.nodes[i] == item for i, item in enumerate(items) if i < len(self.nodes)]
        return z3.And(*same) if len(items) <= len(self.nodes) else z3.BoolVal(False)


def _apart(a, b, size: int) -> z3.BoolRef:
    """[a, a+size) and [b, b+size) do not overlap, on the circular address space."""
    return z3.And(z3.UGE(a - b, size), z3.UGE(b - a, size))


def ghost_list(view: "View", head: z3.BitVecRef, next_offset: int, bound: int) -> GhostList:
    """Follow `next` pointers (at `next_offset` in each node) from `head` for up to `bound`
    nodes; a null pointer ends the list."""
    nodes, node = [], head
    length = z3.BitVecVal(bound, 64)
    ended = []
    for i in range(bound + 1):
        ended.append(node == 0)
        if i < bound:
            nodes.append(node)
            node = view.u64(node + next_offset)
    for i in range(bound - 1, -1, -1):  # the first null decides the length
        length = z3.If(ended[i], z3.BitVecVal(i, 64), length)
    return GhostList(nodes, length, z3.Or(*ended))


@dataclass(frozen=True)
class Acceptance:
    function: str
    verdict: str
    reason: str


ACCEPTABLE = ("UNKNOWN", "BOUNDED")


def spec_path(root: Path, source: str) -> Path:
    rel = Path(source)
    if rel.parts and rel.parts[0] == "asm":
        rel = Path(*rel.parts[1:])
    return root / "specs" / rel.with_suffix(".py")


def _exec(path: Path):
    spec = importlib.util.spec_from_file_location(f"actly_spec_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise SpecError(f"{path}: cannot be loaded: {exc}") from exc
    return module


def heap_file(root: Path) -> Path:
    return root / "specs" / "heap.py"


def heap_links(root: Path) -> list[Links]:
    """The heap invariants every proof keeps (`LINKS` in specs/heap.py; none without it)."""
    path = heap_file(root)
    if not path.is_file():
        return []
    links = getattr(_exec(path), "LINKS", None)
    if not isinstance(links, list) or not all(isinstance(l, Links) for l in links):
        raise SpecError(f"{path}: must define LINKS, a list of Links")
    return links


def _load_module(path: Path, streams: dict | None = None,
                 streams_from: list[Path] | None = None) -> dict:
    module = _exec(path)
    contracts = getattr(module, "CONTRACTS", None)
    if not isinstance(contracts, dict):
        raise SpecError(f"{path}: must define CONTRACTS, a dict from function name to contract")
    declared = getattr(module, "STREAMS", {})
    if not isinstance(declared, dict) or not all(
            callable(f) or isinstance(f, Register) and f.size in (2, 4, 8)
            for f in declared.values()):
        raise SpecError(f"{path}: STREAMS must be a dict from a stream's name to a function of "
                        "a View giving its byte port's address, or a Register(address, size) "
                        "of 2, 4 or 8 bytes")
    if streams is not None and declared:
        streams.update(declared)
        streams_from.append(path)
    return contracts


def spec_file(program: Program, root: Path, name: str) -> Path:
    """The spec module of a function: the one named after the asm file that defines it."""
    return spec_path(root, program.line(program.functions[name].addr).rsplit(":", 1)[0])


def contracts_for(program: Program, root: Path) -> dict[str, object]:
    """Every function's contract; an error for a spec naming a function that is not there."""
    by_file: dict[Path, list[str]] = {}
    for name in program.functions:
        by_file.setdefault(spec_file(program, root, name), []).append(name)
    result: dict[str, object] = {}
    program.streams, program.stream_files = {}, []
    for path, names in by_file.items():
        declared = _load_module(path, program.streams, program.stream_files) \
            if path.is_file() else {}
        stale = sorted(set(declared) - set(names))
        if stale:
            raise SpecError(f"{path}: names {', '.join(stale)}, which the matching asm file does "
                            "not define as a function; remove or rename the entry")
        for name in names:
            contract = declared.get(name) or aapcs64()
            if not isinstance(contract, (NotCallable, Contract, RoundTrip)):
                raise SpecError(f"{path}: {name}: unknown contract {contract!r}")
            result[name] = contract
    for name, contract in result.items():
        for target in (contract.handoff or {}) if isinstance(contract, Contract) else {}:
            other = result.get(target)
            if other is None:
                raise SpecError(f"{name}: hands off to {target}, which is not a function")
            if not isinstance(other, NotCallable) and not (
                    isinstance(other, Contract) and other.handoff):
                raise SpecError(f"{name}: hands off to {target}, which returns (its contract is "
                                "a callable one): a hand-off is to code never left again; let "
                                "the call be taken by its contract and hand off after it")
    return result


def load_acceptances(root: Path) -> dict[str, Acceptance]:
    path = root / "specs" / "accepted.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    out = {}
    for name, entry in data.items():
        verdict = entry.get("verdict") if isinstance(entry, dict) else None
        reason = (entry.get("reason") or "").strip() if isinstance(entry, dict) else ""
        if verdict not in ACCEPTABLE:
            raise SpecError(f"{path}: [{name}] verdict must be one of {', '.join(ACCEPTABLE)} "
                            "(a FAILED result is never accepted)")
        if not reason:
            raise SpecError(f"{path}: [{name}] needs a written reason")
        out[name] = Acceptance(name, verdict, reason)
    return out
