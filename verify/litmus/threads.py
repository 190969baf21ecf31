"""Each thread of a litmus test run on its own: the memory events it performs, with their
dependencies, for every choice of the values its reads return.

Values are integers or addresses (Addr: a location and a byte offset). Every register value
carries the set of read events it was computed from (its taint): that gives the address,
data and control dependencies, and CSEL's "pick" dependency on the flags. An instruction
this module does not know is an error (LitmusError), never skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import alu
from .parse import MIXED, Litmus, LitmusError, NotModelled, variants

MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Addr:
    loc: str
    offset: int = 0

    def __str__(self):
        return self.loc if not self.offset else f"{self.loc}+{self.offset}"


@dataclass(frozen=True)
class Code:
    """The address of an instruction: thread tid's instruction number index."""
    tid: int
    index: int


@dataclass(frozen=True)
class Instr:
    """An instruction as a value (what a load from code returns): herd's canonical text,
    with branch targets as byte offsets (`B .+4`)."""
    text: str

    def __str__(self):
        return f'instr:"{self.text}"'


BRANCHES = {"B", "BL", "CBZ", "CBNZ", "TBZ", "TBNZ", "ADR"}


def instruction(text: str, here: int | None = None, labels: dict | None = None) -> Instr:
    """The value of an instruction, written `instr:"..."` in a test or found at index
    `here` of a thread whose labels are given."""
    op, args = _operands(text.strip())
    if (op in BRANCHES or op.startswith("B.")) and args and labels and args[-1] in labels:
        offset = 4 * (labels[args[-1]] - here)
        args[-1] = f".{'+' if offset >= 0 else '-'}{abs(offset)}"
    return Instr(op + (" " + ",".join(a.replace(" ", "") for a in args) if args else ""))


def code_location(code: Code) -> str:
    """The memory location holding the instruction at a code address."""
    return f"P{code.tid}.{code.index}"


def initial_value(test: Litmus, loc: str):
    """What a location holds before any write: its instruction, for code; else 0."""
    m = re.fullmatch(r"P(\d+)\.(\d+)", loc)
    if not m:
        return 0
    th = _Thread(test, int(m.group(1)), {})
    index = int(m.group(2))
    if index >= len(th.insns):
        return 0
    line, text = th.insns[index]
    op, args = _operands(text)
    if op == "ADR" and args and args[-1].strip().startswith("."):
        raise LitmusError(test.path, line, f"`{text}` is read as a value, and its target is "
                                           f"an offset: give the target a label (as herd asks)")
    return instruction(text, index, th.labels)


def code_label(test: Litmus, code: Code) -> str:
    """herd's name for a code address: `P0:L0` for a labelled instruction."""
    names = [name for name, i in _Thread(test, code.tid, {}).labels.items() if i == code.index]
    return f"P{code.tid}:{names[0]}" if names else f"P{code.tid}:+{code.index}"


def label_address(test: Litmus, text: str) -> Code | None:
    """`P1:L0` as the address of that instruction, or None if text is not such a name."""
    m = re.fullmatch(r'(?:label:")?P?(\d+):([\w.]+)"?', text.strip())
    if not m or int(m.group(1)) >= len(test.code):
        return None
    labels = _Thread(test, int(m.group(1)), {}).labels
    return Code(int(m.group(1)), labels[m.group(2)]) if m.group(2) in labels else None


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


@dataclass
class Run:
    """One path through one thread: its events in program order, its rmw pairs and its final
    registers; `reads` gives the value each read returned (in order)."""
    events: list[Event]
    rmw: list[tuple[int, int]]
    regs: dict[str, object]
    error: LitmusError | None = None   # the path stopped here: an error if it is ever allowed
    cut: str | None = None             # not a path: one was cut here, past the unroll limit
    fault: tuple[str, str] | None = None  # the thread stopped on this fault: (where, kind)


class Fault(Exception):
    """An instruction that takes an exception; with no handler (`Variant=fatal`) its thread
    stops there, and the fault is part of the final state."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class Stuck(Exception):
    """A path that cannot go on (an access through a register that holds no address). It is
    an error only if an allowed execution takes that path, as in herd."""

    def __init__(self, error: LitmusError):
        super().__init__(str(error))
        self.error = error


class _Thread:
    def __init__(self, test: Litmus, tid: int, init_regs: dict[str, object]):
        self.test, self.tid = test, tid
        self.code = test.code[tid]
        self.labels = {}
        self.insns = []
        for line, text in self.code:
            m = re.match(r"^([\w.]+):\s*(.*)$", text)
            if m and not re.match(r"^[A-Z0-9]+\s", text):
                self.labels[m.group(1)] = len(self.insns)
                text = m.group(2).strip()
                if not text:
                    continue
            self.insns.append((line, text))
        self.init_regs = init_regs


REG = re.compile(r"^([WX])(\d+|ZR)$|^(SP|XZR|WZR)$", re.I)


def _reg(name: str) -> tuple[str, int]:
    """('X0', 64) / ('X0', 32) for W0; XZR/WZR as 'XZR'."""
    name = name.strip().upper()
    if name in ("XZR", "WZR"):
        return "XZR", 64 if name[0] == "X" else 32
    if name in ("SP", "WSP"):
        return "SP", 64 if name == "SP" else 32
    if name == "VNCR_EL2":           # NV2: the base of the memory that EL1 registers become
        return name, 64
    m = re.fullmatch(r"([WX]?)%(\w+)", name)
    if m:                            # a symbolic register (`%p`, `X%p`): herd's own name
        return f"%{m.group(2)}", 32 if m.group(1) == "W" else 64
    m = re.fullmatch(r"([WX])(\d+)", name)
    if not m or int(m.group(2)) > 30:
        raise ValueError(name)
    return f"X{m.group(2)}", 64 if m.group(1) == "X" else 32


COND = {"EQ": lambda n, z, c, v: z, "NE": lambda n, z, c, v: not z,
        "CS": lambda n, z, c, v: c, "HS": lambda n, z, c, v: c,
        "CC": lambda n, z, c, v: not c, "LO": lambda n, z, c, v: not c,
        "MI": lambda n, z, c, v: n, "PL": lambda n, z, c, v: not n,
        "VS": lambda n, z, c, v: v, "VC": lambda n, z, c, v: not v,
        "HI": lambda n, z, c, v: c and not z, "LS": lambda n, z, c, v: not c or z,
        "GE": lambda n, z, c, v: n == v, "LT": lambda n, z, c, v: n != v,
        "GT": lambda n, z, c, v: not z and n == v, "LE": lambda n, z, c, v: z or n != v,
        "AL": lambda n, z, c, v: True}

FENCES = {"DMB", "DSB", "ISB"}
MAX_STEPS = 200                    # per thread path, whatever the unrolling
UNROLL = 2                         # herd's default: jumps back to one place per path


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


def runs(test: Litmus, tid: int, init_regs: dict[str, object],
         values: dict[str, set], next_id, arrays: Arrays | None = None,
         unroll: int = UNROLL) -> list[Run]:
    """Every path of thread `tid` when each read may return any value in values[loc]. A path
    that jumps back to one place more than `unroll` times is cut, as herd does: it comes back
    as a Run with `cut` set (the place), to be reported, not run."""
    th = _Thread(test, tid, init_regs)
    th.arrays = arrays if arrays is not None else Arrays()
    # A branch to a code address may run another thread's instructions: pc is (code, index).
    th.programs = [th if t == tid else _Thread(test, t, {}) for t in range(len(test.code))]
    out: list[Run] = []

    def place(pc) -> str:
        names = [n for n, i in th.programs[pc[0]].labels.items() if i == pc[1]]
        return names[0] if names else f"line {th.programs[pc[0]].insns[pc[1]][0]}"

    def go(pc, regs, flags, ctrl, events, rmw, monitor, steps, jumps):
        while pc[1] < len(th.programs[pc[0]].insns):
            line, text = th.programs[pc[0]].insns[pc[1]]
            if steps > MAX_STEPS:
                raise LitmusError(test.path, line,
                                  f"P{tid} runs more than {MAX_STEPS} instructions on a path "
                                  f"(a loop that does not end?)")
            steps += 1
            th.counts_as_loop = True
            try:
                forks = _step(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor,
                              values, next_id)
            except Stuck as stuck:
                out.append(Run(events, rmw, {r: v.v for r, v in regs.items()}, stuck.error))
                return
            except Fault as fault:
                where = code_label(test, Code(*pc))
                out.append(Run(events, rmw, {r: v.v for r, v in regs.items()},
                               fault=(where, fault.kind)))
                return
            going = []
            for nxt, *state in forks:
                to, seen = (pc[0], pc[1] + 1) if nxt is None else nxt, jumps
                if to[0] == pc[0] and to[1] <= pc[1] and th.counts_as_loop:   # a loop
                    seen = {**jumps, to: jumps.get(to, 0) + 1}
                    if seen[to] > unroll:
                        out.append(Run([], [], {}, cut=place(to)))
                        continue
                going.append((to, state, seen))
            if len(going) != 1:
                for to, state, seen in going:
                    go(to, *state, steps, seen)
                return
            pc, (regs, flags, ctrl, events, rmw, monitor), jumps = going[0]
        out.append(Run(events, rmw, {r: v.v for r, v in regs.items()}))

    go((tid, 0), {r: Val(v) for r, v in init_regs.items()}, (None, frozenset()), frozenset(),
       [], [], None, 0, {})
    return out


def _operands(text: str) -> tuple[str, list[str]]:
    parts = text.split(None, 1)
    op = parts[0].upper()
    args = []
    if len(parts) > 1:
        depth, cur = 0, ""
        for ch in parts[1]:
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            if ch == "," and depth == 0:
                args.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if cur.strip():
            args.append(cur.strip())
    return op, args


INVERT = {"EQ": "NE", "NE": "EQ", "CS": "CC", "HS": "LO", "CC": "CS", "LO": "HS", "MI": "PL",
          "PL": "MI", "VS": "VC", "VC": "VS", "HI": "LS", "LS": "HI", "GE": "LT", "LT": "GE",
          "GT": "LE", "LE": "GT"}


def _aliases(op: str, args: list[str]) -> tuple[str, list[str]]:
    """The architectural aliases, as the instructions they stand for."""
    zr = lambda r: "WZR" if r.strip().upper().startswith("W") else "XZR"
    if op in ("CSET", "CSETM") and len(args) == 2:
        return ("CSINC" if op == "CSET" else "CSINV",
                [args[0], zr(args[0]), zr(args[0]), INVERT[args[1].strip().upper()]])
    if op in ("CINC", "CINV", "CNEG") and len(args) == 3:
        return ({"CINC": "CSINC", "CINV": "CSINV", "CNEG": "CSNEG"}[op],
                [args[0], args[1], args[1], INVERT[args[2].strip().upper()]])
    if op in ("NEG", "NEGS"):                 # NEG Rd, Rm{, shift}
        return "SUB" + op[3:], [args[0], zr(args[0]), *args[1:]]
    if op == "MVN":
        return "ORN", [args[0], zr(args[0]), *args[1:]]
    if op in ("CMP", "CMN", "TST"):
        return {"CMP": "SUBS", "CMN": "ADDS", "TST": "ANDS"}[op], [zr(args[0]), *args]
    if re.fullmatch(r"(LD|ST)UR(S?[BHW])?", op):          # unscaled offsets: the same access
        return op.replace("UR", "R", 1), args
    if op in alu.MULTIPLY_ALIASES:
        return alu.MULTIPLY_ALIASES[op], [*args, "XZR"]
    return op, args


def _imm(s: str) -> int:
    s = s.strip().lstrip("#")
    return int(s, 0)


def _step(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor, values, next_id):
    """One instruction, with a pre- or post-indexed address's base register written back."""
    op, args = _aliases(*_operands(text))
    writeback = None
    if re.match(r"(LD|ST)", op.upper()):
        for i, a in enumerate(args):
            a = a.strip()
            if a.startswith("[") and a.endswith("!"):          # [Xn, #imm]!
                m = re.fullmatch(r"\[\s*(\w+)\s*,\s*(#?-?\w+)\s*\]!", a)
                if not m:
                    raise LitmusError(th.test.path, line, f"unsupported pre-index `{a}` in "
                                                          f"`{text}`")
                writeback = (m.group(1), _imm(m.group(2)))
                text = text.replace(a, a[:-1])
                break
            if a.startswith("[") and i + 1 < len(args) and args[i + 1].strip().startswith("#"):
                m = re.fullmatch(r"\[\s*(\w+)\s*\]", a)       # [Xn], #imm
                if not m:
                    raise LitmusError(th.test.path, line, f"unsupported post-index in `{text}`")
                writeback = (m.group(1), _imm(args[i + 1]))
                text = text[:text.rindex(",")]
                break
    forks = _step_plain(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor, values,
                        next_id, indexed=writeback is not None)
    if writeback is None:
        return forks
    base, imm = writeback
    out = []
    for nxt, regs2, *rest in forks:
        r, _ = _reg(base)
        old = regs2.get(r, Val(0))
        new = Addr(old.v.loc, old.v.offset + imm) if isinstance(old.v, Addr) else \
            (old.v + imm) & MASK64
        regs2 = dict(regs2)
        regs2[r] = Val(new, old.taint)
        out.append((nxt, regs2, *rest))
    return out


def _step_plain(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor, values, next_id,
                indexed=False):
    """One instruction: a list of (next pc or None, regs, flags, ctrl, events, rmw, monitor),
    one per way it can go (reads fork on their value, STXR on success)."""
    test, tid, arrays = th.test, th.tid, th.arrays
    op, args = _aliases(*_operands(text))

    def err(msg):
        raise LitmusError(test.path, line, f"{msg} in `{text}`")

    def get(name) -> Val:
        name = name.strip()
        if re.fullmatch(r"#.*|-?\d\w*", name):            # `#1`, or herd's bare `1`
            return Val(_imm(name))
        try:
            r, bits = _reg(name)
        except ValueError:
            err(f"expected a register, found `{name}`")
        if r == "XZR":
            return Val(0)
        v = regs.get(r, Val(0))
        if bits == 32 and isinstance(v.v, int):
            return Val(v.v & 0xFFFFFFFF, v.taint)
        return v

    def put(regs, name, val: Val):
        r, bits = _reg(name)
        if r == "XZR":
            return regs
        regs = dict(regs)
        v = val.v
        if isinstance(v, int):
            v &= 0xFFFFFFFF if bits == 32 else MASK64
        regs[r] = Val(v, val.taint)
        return regs

    def code_index(target: str) -> tuple[int, int]:
        """A branch target: a label, or `.+8` / `.-8` bytes from this instruction."""
        target, code = target.strip(), th.programs[pc[0]]
        m = re.fullmatch(r"\.\s*([+-])\s*(\d+)", target)
        if m:
            n = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
            if n % 4 or not 0 <= pc[1] + n // 4 <= len(code.insns):
                err(f"`{target}` is not an instruction of P{pc[0]}")
            return pc[0], pc[1] + n // 4
        if target not in code.labels:
            err(f"label `{target}` is not defined in P{pc[0]}")
        return pc[0], code.labels[target]

    def operand2(rest: list[str], bits: int) -> Val:
        """The flexible second operand: a register or immediate, maybe shifted
        (`X2, LSL #3`, `W1, ROR 4`) or extended (`W4, SXTW #2`)."""
        if not rest:
            err("a missing operand")
        b = get(rest[0])
        if len(rest) == 1:
            return b
        mm = re.fullmatch(r"(LSL|LSR|ASR|ROR|[SU]XT[BHWX])\s*#?(\d*)", rest[1].strip().upper())
        if len(rest) > 2 or not mm or not isinstance(b.v, int):
            err(f"unsupported operand `{', '.join(rest[1:])}`")
        how, n = mm.group(1), int(mm.group(2) or 0)
        v = alu.extend(b.v, how, n, bits) if "XT" in how else alu.shift(b.v, how, n, bits)
        return Val(v, b.taint)

    def address(arg, extra=0) -> tuple[str, frozenset]:
        """The location `[Xn{, offset}]` names, `extra` bytes on (a pair's second element),
        and the reads the address depends on."""
        m = re.fullmatch(r"\[\s*([^,\]]+)\s*(?:,\s*([^\]]+))?\]", arg.strip())
        if not m:
            err(f"expected an address `[Xn]` or `[Xn, offset]`, found `{arg}`")
        base = get(m.group(1))
        taint = base.taint
        offset = 0
        if m.group(2):
            parts = [p.strip() for p in m.group(2).split(",")]
            idx = get(parts[0])
            taint |= idx.taint
            if not isinstance(idx.v, int):
                err("an address register used as an offset")
            offset = alu.signed(idx.v, 64)
            if len(parts) > 1:
                mm = re.fullmatch(r"(LSL|UXTW|SXTW)(?:\s*#?(\d+))?", parts[1].upper())
                if not mm:
                    err(f"unsupported offset form `{parts[1]}`")
                offset <<= int(mm.group(2) or 0)
        if isinstance(base.v, Code):
            total = offset + extra
            if total % 4:
                err("an access inside an instruction")
            return code_location(Code(base.v.tid, base.v.index + total // 4)), taint
        if not isinstance(base.v, Addr):
            raise Stuck(LitmusError(test.path, line, f"`{m.group(1)}` does not hold a "
                                                     f"location's address in `{text}`"))
        total, name = base.v.offset + offset + extra, base.v.loc
        if arrays.regions is not None and name in arrays.regions:
            return f"{name}+{total}", taint       # checked against the access's size in ev()
        if name in arrays:
            if total % arrays[name]:
                raise NotModelled(test.path, line, f"an access inside an element of {name}: "
                                                   f"{MIXED} in `{text}`")
            count = arrays.count(name)
            if not 0 <= total // arrays[name] < count:
                err(f"an access outside the array {name} (element {total // arrays[name]})")
            return f"{name}[{total // arrays[name]}]", taint
        if total:
            raise NotModelled(test.path, line, f"an access {total} bytes into {name}, which "
                                               f"is not an array: {MIXED} in `{text}`")
        return name, taint

    def ev(kind, loc=None, value=None, tags=(), addr=frozenset(), data=frozenset(), size=8):
        if kind == "W" and re.fullmatch(r"P\d+\.\d+", loc):
            err("a store to code (instruction fetch, the `ifetch` variant, is not modelled)")
        where = place(loc) if arrays.regions is not None else None
        if where is not None:
            region, offset = where
            if offset % size or not 0 <= offset <= arrays.regions[region] - size:
                err(f"an unaligned or out-of-bound access: {size} bytes at offset {offset} "
                    f"of {region}, of {arrays.regions[region]} bytes (herd rejects it too)")
            if kind == "W" and not isinstance(value, int):
                raise NotModelled(test.path, line, f"a store of an address or code to memory "
                                                   f"under the mixed variant is not modelled "
                                                   f"in `{text}`")
        elif kind != "F" and "[" in loc and size != arrays[loc.split("[")[0]]:
            raise NotModelled(test.path, line, f"a {size}-byte access to {loc}, an element of "
                                               f"{arrays[loc.split('[')[0]]} bytes: {MIXED} "
                                               f"in `{text}`")
        return Event(next_id(), tid, kind, loc, value, frozenset(tags), addr, data, ctrl, line,
                     text, size)

    def through_memory(loc, size=8) -> frozenset:
        """A read also depends on what its thread last stored to its location (herd's lrs
        in dtrm: dependencies run through registers and memory); under the mixed variant,
        on the last store to each of its bytes."""
        where = place(loc) if arrays.regions is not None else None
        if where is None:
            for e in reversed(events):
                if e.kind == "W" and e.loc == loc:
                    return e.data
            return frozenset()
        left, out = set(range(where[1], where[1] + size)), frozenset()
        for e in reversed(events):
            other = place(e.loc) if e.kind == "W" else None
            if other is not None and other[0] == where[0]:
                mine = left & set(range(other[1], other[1] + e.size))
                if mine:
                    out |= e.data
                    left -= mine
                    if not left:
                        break
        return out

    def read_forks(loc, tags, addr_taint, size, then):
        out = []
        where = place(loc) if arrays.regions is not None else None
        if where is not None:
            held = values[where[0]]
            if any(not isinstance(v, int) for _, _, v in held):
                raise NotModelled(test.path, line, f"{where[0]} holds an address or code: "
                                                   f"not modelled under the mixed variant "
                                                   f"in `{text}`")
            try:
                possible = footprint_values(held, where[1], size)
            except ValueError as exc:
                err(f"a read of {where[0]} where {exc}")
        else:
            if size < 8 and any(isinstance(v, Addr) for v in values.get(loc, ())):
                err(f"a {8 * size}-bit access to {loc}, which may hold an address (herd "
                    f"rejects this as an illegal operation)")
            held = values.get(loc) or {initial_value(test, loc)}
            possible = sorted({_fit(v, size) for v in held}, key=str)
        for value in possible:
            e = ev("R", loc, value, tags, addr_taint, size=size)
            out.append(then(e, value))
        return out

    def read_pairs(loc1, loc2, tags, addr_taint, size, atomic):
        """Every pair of values a pair load may read: fresh events (e1, v1, e2, v2)."""
        firsts = read_forks(loc1, tags, addr_taint, size, lambda e, v: v)
        seconds = read_forks(loc2, tags, addr_taint, size, lambda e, v: v)
        for v1 in firsts:
            for v2 in seconds:
                e1, e2 = _paired(ev("R", loc1, v1, tags, addr_taint, size=size),
                                 ev("R", loc2, v2, tags, addr_taint, size=size), atomic)
                yield e1, v1, e2, v2

    same = (None, regs, flags, ctrl, events, rmw, monitor)
    if op in ("MRS", "MSR") and "NZCV" in (a.strip().upper() for a in args):
        if op == "MRS":              # the flags as bits 31..28 of a register
            if flags[0] is None:
                err("reading flags nothing has set")
            bits = sum(int(f) << (31 - i) for i, f in enumerate(flags[0]))
            return [(None, put(regs, args[0], Val(bits, flags[1])), flags, ctrl, events, rmw,
                     monitor)]
        v = get(args[1])
        if not isinstance(v.v, int):
            err("an address written to NZCV")
        nzcv = tuple(bool(v.v >> (31 - i) & 1) for i in range(4))
        return [(None, regs, (nzcv, v.taint), ctrl, events, rmw, monitor)]
    if op in ("MRS", "MSR"):
        sysreg = (args[1] if op == "MRS" else args[0]).strip().upper()
        if "nv2" not in variants(test) or sysreg not in NV2_OFFSETS:
            err(f"system register `{sysreg}` is not modelled (only NZCV, and under "
                f"`Variant=NV2` the registers NV2 turns into memory: "
                f"{', '.join(sorted(NV2_OFFSETS))})")
        # NV2: the access is a load or store at VNCR_EL2 plus the register's offset
        gpr = args[0] if op == "MRS" else args[1]
        access = f"{'LDR' if op == 'MRS' else 'STR'} {gpr},[VNCR_EL2,#{NV2_OFFSETS[sysreg]}]"
        return _step_plain(th, pc, line, access, regs, flags, ctrl, events, rmw, monitor,
                           values, next_id)
    if op in ("SVC", "UDF"):
        if "fatal" not in variants(test):
            err(f"{op} takes an exception, and exception handlers are not modelled (only "
                f"`Variant=fatal`, where the thread stops)")
        raise Fault({"SVC": "SupervisorCall", "UDF": "UndefinedInstruction"}[op])
    if op in ("NOP", "WFE", "WFI", "SEV", "SEVL", "YIELD"):
        return [same]       # hints: no memory event, no register (a WFE may return early)
    if op in FENCES:
        kind = op if op == "ISB" else f"{op}.{(args[0] if args else 'SY').upper()}"
        return [(None, regs, flags, ctrl, events + [ev("F", tags={kind})], rmw, monitor)]
    if op in ("MOV", "MOVZ"):
        v = get(args[1])
        if len(args) > 2:             # `MOVZ W0, #42, LSL #16`
            mm = re.fullmatch(r"LSL\s*#?(\d+)", args[2].strip().upper())
            if not mm or not isinstance(v.v, int):
                err(f"unsupported operand `{args[2]}`")
            v = Val(v.v << int(mm.group(1)), v.taint)
        return [(None, put(regs, args[0], v), flags, ctrl, events, rmw, monitor)]
    if op == "MOVK":
        old, imm = get(args[0]), _imm(args[1])
        shift = int(args[2].split("#")[-1]) if len(args) > 2 else 0
        if not isinstance(old.v, int):
            err("MOVK into an address")
        v = (old.v & ~(0xFFFF << shift)) | (imm << shift)
        return [(None, put(regs, args[0], Val(v, old.taint)), flags, ctrl, events, rmw,
                 monitor)]
    if op in alu.BINARY or op in alu.SETS_FLAGS or op in alu.SHIFTS:
        bits = _width(args[0])
        a, b = get(args[1]), operand2(args[2:], bits)
        base = alu.SETS_FLAGS.get(op, op)
        taint = a.taint | b.taint
        numbers = isinstance(a.v, int) and isinstance(b.v, int)
        if not numbers:
            v = _address_arithmetic(base, a.v, b.v) if bits == 64 else None
            if v is None and op in alu.SETS_FLAGS and _reg(args[0])[0] == "XZR":
                v = 0                # a comparison (CMP): only the flags are kept
            if v is None:
                err("arithmetic on an address this checker does not model")
        elif op in alu.SHIFTS:
            v = alu.shift(a.v, op, b.v, bits)
        else:
            v = alu.BINARY[base](a.v & alu.mask(bits), b.v & alu.mask(bits), bits)
        regs2 = put(regs, args[0], Val(v, taint))
        if op not in alu.SETS_FLAGS:
            return [(None, regs2, flags, ctrl, events, rmw, monitor)]
        nzcv = alu.nzcv(base, a.v, b.v, bits) if numbers else _address_flags(base, a.v, b.v)
        if nzcv is None:
            err("flags from comparing an address with a number")
        return [(None, regs2, (nzcv, taint), ctrl, events, rmw, monitor)]
    if op in alu.UNARY or op in alu.EXTENDS:
        src = get(args[1])
        if not isinstance(src.v, int):
            err("an address as the operand")
        bits = _width(args[0])
        if op in alu.EXTENDS:
            width, sign = alu.EXTENDS[op]
            v = alu.signed(src.v, width) if sign else src.v & alu.mask(width)
        else:
            v = alu.UNARY[op](src.v & alu.mask(bits), bits)
        return [(None, put(regs, args[0], Val(v, src.taint)), flags, ctrl, events, rmw,
                 monitor)]
    if op in alu.BITFIELDS:
        bits = _width(args[0])
        dest, src = get(args[0]), get(args[1])
        if not (isinstance(src.v, int) and isinstance(dest.v, int)):
            err("a bit field of an address")
        x, y = _imm(args[2]), _imm(args[3])
        if op not in ("UBFM", "SBFM", "BFM"):
            op, x, y = alu.bitfield_alias(op, x, y, bits)
        v = alu.bitfield(op, dest.v, src.v, x, y, bits)
        taint = src.taint | (dest.taint if op == "BFM" else frozenset())
        return [(None, put(regs, args[0], Val(v, taint)), flags, ctrl, events, rmw, monitor)]
    if op in alu.MULTIPLIES:
        srcs = [get(r) for r in args[1:4]]
        if not all(isinstance(x.v, int) for x in srcs):
            err("a multiply of an address")
        v = alu.multiply(op, *(x.v for x in srcs), _width(args[0]))
        taint = frozenset().union(*(x.taint for x in srcs))
        return [(None, put(regs, args[0], Val(v, taint)), flags, ctrl, events, rmw, monitor)]
    if op in ("CSEL", "CSINC", "CSINV", "CSNEG"):
        cond = args[3].upper()
        if flags[0] is None:
            err("a condition on flags nothing has set")
        taken = COND[cond](*flags[0])
        a, b = get(args[1]), get(args[2])
        if taken:
            pick = a
        elif op == "CSEL":
            pick = b
        else:
            if not isinstance(b.v, int):
                err("an address in a conditional increment")
            bits = 32 if args[0].upper().startswith("W") else 64
            m = (1 << bits) - 1
            v = {"CSINC": b.v + 1, "CSINV": ~b.v, "CSNEG": -b.v}[op] & m
            pick = Val(v, b.taint)
        return [(None, put(regs, args[0], Val(pick.v, pick.taint | _picked(flags[1]))), flags, ctrl,
                 events, rmw, monitor)]
    if op in ("BR", "BLR", "RET"):   # to the address in a register (RET: X30)
        target = get(args[0] if args else "X30")
        if op == "RET" and target.v == 0 and "telechat" in variants(test):
            return [((pc[0], len(th.programs[pc[0]].insns)), regs, flags, ctrl, events, rmw,
                     monitor)]       # compiled code: the final RET ends the thread
        if not isinstance(target.v, Code):
            raise Stuck(LitmusError(test.path, line, f"a branch to `{target.v}`, which is not "
                                                     f"an instruction, in `{text}`"))
        regs2 = put(regs, "X30", Val(Code(pc[0], pc[1] + 1))) if op == "BLR" else regs
        return [((target.v.tid, target.v.index), regs2, flags, ctrl | target.taint, events,
                 rmw, monitor)]
    if op in ("ADR", "B", "BL", "CBZ", "CBNZ", "TBZ", "TBNZ") or op.startswith("B."):
        to = code_index(args[-1])
        if op == "ADR":
            return [(None, put(regs, args[0], Val(Code(*to))), flags, ctrl, events, rmw,
                     monitor)]
        if op in ("B", "BL"):
            regs2 = put(regs, "X30", Val(Code(pc[0], pc[1] + 1))) if op == "BL" else regs
            return [(to, regs2, flags, ctrl, events, rmw, monitor)]
        if op.startswith("B."):
            if flags[0] is None:
                err("a branch on flags nothing has set")
            taken, taint = COND[op[2:]](*flags[0]), flags[1]
        else:
            v = get(args[0])
            if not isinstance(v.v, int):
                taken_zero = False
            else:
                taken_zero = v.v == 0 if op in ("CBZ", "CBNZ") else not (v.v >> _imm(args[1])) & 1
            taken = taken_zero if op in ("CBZ", "TBZ") else not taken_zero
            taint = v.taint
        # herd unrolls a loop whose condition is a known constant in full: such a jump
        # back does not count toward the unroll limit
        th.counts_as_loop = bool(taint)
        return [(to if taken else None, regs, flags, ctrl | taint, events, rmw, monitor)]
    m = re.fullmatch(r"(LDR|LDAR|LDAPR|LDXR|LDAXR)(S?)(B|H|W)?", op)
    if m and not (m.group(3) == "W" and not m.group(2)):
        loc, at = address(args[1])
        tags = {"LDR": (), "LDAR": ("A",), "LDAPR": ("Q",), "LDXR": ("X",),
                "LDAXR": ("A", "X")}[m.group(1)]
        excl = "X" in tags
        size = _size(m.group(3), args[0])
        signed = bool(m.group(2))

        def then(e, value):
            if signed and isinstance(value, int) and value >> (8 * size - 1):
                value -= 1 << (8 * size)
            return (None, put(regs, args[0], Val(value, frozenset({e.id}) | through_memory(loc, size))), flags, ctrl,
                    events + [e], rmw, (e.id, loc, size) if excl else monitor)
        return read_forks(loc, tags, at, size, then)
    m = re.fullmatch(r"(STR|STLR)(B|H)?", op)
    if m:
        loc, at = address(args[1])
        v = get(args[0])
        size = _size(m.group(2), args[0])
        e = ev("W", loc, _fit(v.v, size), ("L",) if m.group(1) == "STLR" else (), at, v.taint,
               size=size)
        return [(None, regs, flags, ctrl, events + [e], rmw, monitor)]
    m = re.fullmatch(r"(STXR|STLXR)(B|H)?", op)
    if m:
        loc, at = address(args[2])
        v = get(args[1])
        size = _size(m.group(2), args[1])
        fail = (None, put(regs, args[0], Val(1, STATUS)), flags, ctrl, events, rmw, None)
        if monitor is not None and isinstance(monitor[0], tuple):
            err("a store-exclusive of one register after a load-exclusive pair")
        if monitor is None or monitor[1] != loc:
            return [fail]
        if arrays.regions is not None and monitor[2] != size:
            return [fail]    # of another size than the load-exclusive: herd has it fail
        tags = ("X", "L") if m.group(1) == "STLXR" else ("X",)
        e = ev("W", loc, _fit(v.v, size), tags, at, v.taint, size=size)
        ok = (None, put(regs, args[0], Val(0, STATUS)), flags, ctrl, events + [e],
              rmw + [(monitor[0], e.id)], None)
        return [ok, fail]
    m = re.fullmatch(r"CAS(A|L|AL)?(B|H)?", op)
    if m:
        loc, at = address(args[2])
        expected, new = get(args[0]), get(args[1])
        acq, rel = m.group(1) in ("A", "AL"), m.group(1) in ("L", "AL")

        def then(e, value):
            read = frozenset({e.id}) | through_memory(loc, size)
            if value != _fit(expected.v, size):
                # Failure: Rs gets the value read. herd has two executions here too: with
                # and without the comparison with the old Rs as a pick on the new one.
                outs = [Val(value, read), Val(value, read | _picked(expected.taint))]
                return [(None, put(regs, args[0], v), flags, ctrl, events + [e], rmw, monitor)
                        for v in (outs[:1] if noret else outs)]
            # Success: Rt is data to the write; Rs and the read only decide that it happens
            # (intrinsic control, a pick dependency), which a later read of the location
            # inherits through memory.
            w = ev("W", loc, _fit(new.v, size), ("L",) if rel else (), at,
                   new.taint | _picked(expected.taint | read), size=size)
            evs, rmw2 = events + [e, w], rmw + [(e.id, w.id)]
            # Rs is rewritten with the value it held. herd has two executions: its data
            # from the old Rs (with a pick dependency on the read), or from the read.
            outs = [Val(value, expected.taint | _picked(read)), Val(value, read)]
            return [(None, put(regs, args[0], v), flags, ctrl, evs, rmw2, monitor)
                    for v in (outs[:1] if noret else outs)]
        size = _size(m.group(2), args[0])
        noret = args[0].strip().upper() in ("XZR", "WZR")
        rtags = (("A",) if acq and not noret else ()) + (("NoRet",) if noret else ())
        return [f for fs in read_forks(loc, rtags, at, size, then) for f in fs]
    m = re.fullmatch(r"(SWP|LDADD|LDEOR|LDSET|LDCLR|STADD|STEOR|STSET|STCLR)(A|L|AL)?(B|H)?",
                     op)
    if m:
        base, order = m.group(1), m.group(2) or ""
        store_form = base.startswith("ST")
        if store_form:
            args = [args[0], "XZR" if args[0].upper().startswith("X") else "WZR", args[1]]
            base = "LD" + base[2:]
        loc, at = address(args[2])
        operand = get(args[0])
        noret = args[1].strip().upper() in ("XZR", "WZR")
        rtags = (("A",) if "A" in order and not noret else ()) + ("amo",) + \
            (("NoRet",) if noret else ())
        wtags = (("L",) if "L" in order else ()) + ("amo",)

        def then(e, value):
            if not (isinstance(value, int) and isinstance(operand.v, int)) and base != "SWP":
                err("an atomic operation on an address")
            new = operand.v if base == "SWP" else ATOMIC_OPS[base](value, operand.v) & MASK64
            w = ev("W", loc, _fit(new, size), wtags, at, operand.taint | frozenset({e.id}),
                   size=size)
            regs2 = put(regs, args[1], Val(value, frozenset({e.id}) | through_memory(loc, size)))
            return (None, regs2, flags, ctrl, events + [e, w], rmw + [(e.id, w.id)], monitor)
        size = _size(m.group(3), args[0])
        return read_forks(loc, rtags, at, size, then)
    m = re.fullmatch(r"(LDP|LDNP|LDPSW|LDXP|LDAXP|LDIAPP|LDAP)", op)
    if m:                  # a load pair: two reads, of [Xn] and the element after it
        size = 4 if op == "LDPSW" else _size(None, args[0])
        (loc1, at), (loc2, _) = address(args[2]), address(args[2], size)
        tags = {"LDXP": ("X",), "LDAXP": ("A", "X"), "LDIAPP": ("Q",),
                "LDAP": ("Q",)}.get(op, ())
        if op == "LDIAPP" and indexed:
            err("LDIAPP with writeback (its reads are then ordered the other way) is not "
                "modelled")
        out = []
        for e1, v1, e2, v2 in read_pairs(loc1, loc2, tags, at, size, "X" in tags):
            regs2 = regs
            for reg, e, v, loc in ((args[0], e1, v1, loc1), (args[1], e2, v2, loc2)):
                if op == "LDPSW":
                    v = alu.signed(v, 32) if isinstance(v, int) else v
                regs2 = put(regs2, reg, Val(v, frozenset({e.id}) | through_memory(loc, size)))
            out.append((None, regs2, flags, ctrl, events + [e1, e2], rmw,
                        ((e1.id, e2.id), loc1) if "X" in tags else monitor))
        return out
    m = re.fullmatch(r"(STP|STNP|STLP|STILP|STXP|STLXP)", op)
    if m:                  # a store pair: two writes
        status = args.pop(0) if op in ("STXP", "STLXP") else None
        size = _size(None, args[0])
        (loc1, at), (loc2, _) = address(args[2]), address(args[2], size)
        tags = {"STLP": ("L",), "STILP": ("L",), "STXP": ("X",), "STLXP": ("X", "L")}.get(
            op, ())
        v1, v2 = get(args[0]), get(args[1])
        # program order is event order: STILP with writeback stores the second register first
        order = [1, 0] if op == "STILP" and indexed else [0, 1]
        made = {i: ev("W", (loc1, loc2)[i], _fit((v1, v2)[i].v, size), tags, at,
                      (v1, v2)[i].taint, size=size) for i in order}
        w1, w2 = _paired(made[0], made[1], status is not None)
        writes = [made[i] for i in order]
        if status is None:
            return [(None, regs, flags, ctrl, events + writes, rmw, monitor)]
        fail = (None, put(regs, status, Val(1, STATUS)), flags, ctrl, events, rmw, None)
        if monitor is None or monitor[1] != loc1 or not isinstance(monitor[0], tuple):
            return [fail]
        ok = (None, put(regs, status, Val(0, STATUS)), flags, ctrl, events + writes,
              rmw + list(zip(monitor[0], (w1.id, w2.id))), None)
        return [ok, fail]
    m = re.fullmatch(r"CASP(A|L|AL)?", op)
    if m:                  # compare and swap a pair: both must match for the two writes
        size = _size(None, args[0])
        (loc1, at), (loc2, _) = address(args[4]), address(args[4], size)
        expected = (get(args[0]), get(args[1]))
        new = (get(args[2]), get(args[3]))
        acq, rel = m.group(1) in ("A", "AL"), m.group(1) in ("L", "AL")
        rtags = ("A",) if acq else ()
        out = []
        for e1, v1, e2, v2 in read_pairs(loc1, loc2, rtags, at, size, True):
                read1 = frozenset({e1.id}) | through_memory(loc1, size)
                read2 = frozenset({e2.id}) | through_memory(loc2, size)
                regs2 = put(regs, args[0], Val(v1, read1))
                regs2 = put(regs2, args[1], Val(v2, read2))
                if (v1, v2) != (_fit(expected[0].v, size), _fit(expected[1].v, size)):
                    old = _picked(expected[0].taint | expected[1].taint)
                    compared = put(regs2, args[0], Val(v1, read1 | old))
                    compared = put(compared, args[1], Val(v2, read2 | old))
                    for r2 in (regs2, compared):       # as for CAS: herd's two failures
                        out.append((None, r2, flags, ctrl, events + [e1, e2], rmw, monitor))
                    continue
                decide = _picked(expected[0].taint | expected[1].taint | read1 | read2)
                ws = []
                for loc, val in zip((loc1, loc2), new):
                    ws.append(ev("W", loc, _fit(val.v, size), ("L",) if rel else (), at,
                                 val.taint | decide, size=size))
                _paired(*ws, True)
                picked = put(regs, args[0], Val(v1, expected[0].taint | _picked(read1 | read2)))
                picked = put(picked, args[1], Val(v2, expected[1].taint | _picked(read1 | read2)))
                for r2 in (picked, regs2):
                    out.append((None, r2, flags, ctrl, events + [e1, e2, *ws],
                                rmw + [(e1.id, ws[0].id), (e2.id, ws[1].id)], monitor))
        return out
    err(f"instruction `{op}` is not modelled by the litmus checker")


# Under NV2 (FEAT_NV2) these EL1 registers are memory at VNCR_EL2 plus an offset.
NV2_OFFSETS = {"ELR_EL1": 0x230, "ESR_EL1": 0x138, "VNCR_EL2": 0xB0}

ATOMIC_OPS = {"LDADD": lambda old, x: old + x, "LDEOR": lambda old, x: old ^ x,
              "LDSET": lambda old, x: old | x, "LDCLR": lambda old, x: old & ~x}


def _size(suffix: str | None, reg: str) -> int:
    """An access's bytes: B, H, W suffixes, else the register's width."""
    if suffix:
        return {"B": 1, "H": 2, "W": 4}[suffix]
    return 4 if reg.strip().upper().startswith("W") else 8


def _paired(a: Event, b: Event, atomic: bool) -> tuple[Event, Event]:
    """The two halves of a pair access; if the pair is single-copy atomic (exclusive pairs,
    CASP), each names the other."""
    if atomic:
        a.pair, b.pair = b.id, a.id
    return a, b


def _fit(v, size: int):
    return v & ((1 << (8 * size)) - 1) if isinstance(v, int) else v


def _picked(taint: frozenset) -> frozenset:
    """CSEL's result depends on the reads behind the flags only as a "pick" dependency:
    those reads enter its taint as ("pick", id)."""
    return frozenset(x if isinstance(x, tuple) else ("pick", x) for x in taint)


def _width(reg: str) -> int:
    return 32 if reg.strip().upper().startswith("W") else 64


def _address_arithmetic(op: str, a, b):
    """What this checker models of arithmetic on addresses: an address plus or minus a
    number, the distance between two places in one location, and the idioms that make a
    zero from an address (x EOR x, x AND 0). Anything else is None."""
    if isinstance(a, Addr) and isinstance(b, int) and op in ("ADD", "SUB"):
        return Addr(a.loc, a.offset + (b if op == "ADD" else -b))
    if isinstance(b, Addr) and isinstance(a, int) and op == "ADD":
        return Addr(b.loc, b.offset + a)
    if op == "SUB" and isinstance(a, Addr) and isinstance(b, Addr) and a.loc == b.loc:
        return (a.offset - b.offset) & MASK64
    if op == "EOR" and a == b:
        return 0
    if op == "AND" and 0 in (a, b):
        return 0
    return None


def _address_flags(op: str, a, b):
    """The flags of comparing two addresses, code addresses or instructions: equal or not.
    (They have no order here.)"""
    if op == "SUB" and not isinstance(a, int) and not isinstance(b, int):
        if a == b:
            return (False, True, True, False)
        return (False, False, True, False)
    return None
