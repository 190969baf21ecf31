"""The semantics of each instruction a litmus thread may run: for one instruction on one
path, every way it can go on (a read forks on the values it may return, a store-exclusive on
success or failure), with the registers, flags, memory events and dependencies after it.
An instruction not modelled here is an error (LitmusError), never skipped."""

from __future__ import annotations

import re
from types import SimpleNamespace

from . import alu
from .events import (BLOCKED, MASK64, STATUS, UNREAD, Addr, Event, Fault, Stuck, Val,
                     interrupt_line,
                     footprint_values, place)
from .parse import MIXED, LitmusError, NotModelled, variants
from .program import Code, code_location, initial_value, operands


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


def step(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor, values, next_id):
    """One instruction, with a pre- or post-indexed address's base register written back."""
    op, args = _aliases(*operands(text))
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


def _context(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor, values, next_id,
             indexed):
    """One instruction's place on its path (thread, pc, registers, flags, control
    dependencies, events so far, rmw pairs, exclusive monitor) and the helpers the
    instruction families share."""
    test, tid, arrays = th.test, th.tid, th.arrays

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
        if name in test.blocks:
            if total < 0:
                err(f"an access {-total} bytes before the block {name}")
            return f"{name}+{total}", taint       # a field; checked against its size in ev()
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
        field = place(loc) if test.blocks and kind != "F" else None
        if field is not None and field[0] in test.blocks:
            block, offset = field
            if offset % size or not 0 <= offset <= test.blocks[block] - size:
                err(f"an unaligned or out-of-bound access: {size} bytes at offset {offset} "
                    f"of {block}, of {test.blocks[block]} bytes")
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
                     text, size, where=test.sources.get((tid, line), ""))

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
            held = set(values.get(loc) or {initial_value(test, loc)})
            # this path's own earlier writes (values holds the other threads' only)
            held |= {e.value for e in events if e.kind == "W" and e.loc == loc}
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
    state = (regs, flags, ctrl, events, rmw, monitor)
    return SimpleNamespace(**{n: v for n, v in locals().items()})


def _system(s, op: str, args: list[str]):
    """System instructions: NZCV and NV2 registers, exceptions, hints, barriers."""
    regs, flags, ctrl, events, rmw, monitor = s.state
    test, line, pc, th = s.test, s.line, s.pc, s.th
    values, next_id, same = s.values, s.next_id, s.same
    err, get, put, ev = s.err, s.get, s.put, s.ev
    if op in ("MRS", "MSR") and "NZCV" in (a.strip().upper() for a in args):
        if op == "MRS":              # the flags as bits 31..28 of a register
            if flags[0] is None or None in flags[0]:
                err("reading flags nothing has set, or set by comparing addresses")
            bits = sum(int(f) << (31 - i) for i, f in enumerate(flags[0]))
            return [(None, put(regs, args[0], Val(bits, flags[1])), flags, ctrl, events, rmw,
                     monitor)]
        v = get(args[1])
        if not isinstance(v.v, int):
            err("an address written to NZCV")
        nzcv = tuple(bool(v.v >> (31 - i) & 1) for i in range(4))
        return [(None, regs, (nzcv, v.taint), ctrl, events, rmw, monitor)]
    if op == "MSR" and args and args[0].strip().upper() in ("DAIFSET", "DAIFCLR") \
            and test.harness:
        return [same]       # interrupt masking: no memory effect; interrupts are not modelled
    if op in ("MRS", "MSR", "WFI") and test.harness:
        done = _harness_system(s, op, args)
        if done is not None:
            return done
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
    if op == "CLREX":       # clears this thread's exclusive monitor
        return [(None, regs, flags, ctrl, events, rmw, None)]
    if op in ("NOP", "WFE", "WFI", "SEV", "SEVL", "YIELD"):
        return [same]       # hints: no memory event, no register (a WFE may return early)
    if op in FENCES:
        kind = op if op == "ISB" else f"{op}.{(args[0] if args else 'SY').upper()}"
        return [(None, regs, flags, ctrl, events + [ev("F", tags={kind})], rmw, monitor)]
    return None


SGI1R = "ICC_SGI1R_EL1"


def _harness_system(s, op: str, args: list[str]):
    """What a harness of shipped code gives system instructions (herd has no rule for them):

    - MRS reads the value the harness gives the core for that register (TPIDRRO_EL0, the
      counter, DAIF); a register it gives none for is an error;
    - MSR DAIF restores interrupt masking: no memory effect, as DAIFSet/DAIFClr;
    - MSR ICC_SGI1R_EL1 sends an SGI: a write of 1 to the interrupt line of each harness
      core its value targets (by the cores' MPIDR_EL1), ordered after earlier accesses by
      a DSB only (model.py);
    - WFI sleeps until this core's interrupt line is set and takes the interrupt there: a
      read of the line with acquire order (an exception entry is context-synchronizing).
      Reading it clear, the core sleeps: the path ends there (BLOCKED), and run() keeps such
      an execution only if no wake-up comes after it, as a core that sleeps for good.
    Other wake-ups of a WFI (the tick, spurious ones) are not modelled: a harness asks
    whether the wake-up it sends suffices."""
    regs, flags, ctrl, events, rmw, monitor = s.state
    if op == "WFI":
        def then(e, value):
            if value == 0:
                return (BLOCKED, regs, flags, ctrl, events + [e], rmw, monitor)
            return (None, regs, flags, ctrl | {e.id}, events + [e], rmw, monitor)
        return s.read_forks(interrupt_line(s.tid), {"A", "WFI"}, frozenset(), 8, then)
    name = (args[1] if op == "MRS" else args[0]).strip().upper()
    if name == "NZCV":
        return None
    if op == "MRS":
        if name not in regs:
            s.err(f"the harness gives core {s.tid} no value for the system register {name} "
                  f"(give it in the harness's `sysregs`)")
        return [(None, s.put(regs, args[0], regs[name]), flags, ctrl, events, rmw, monitor)]
    if name == "DAIF":
        return [s.same]
    if name == SGI1R:
        v = s.get(args[1])
        if not isinstance(v.v, int):
            s.err("an SGI whose value is an address")
        targets = sgi_targets(s.test, s.tid, v.v)
        if not targets:
            s.err(f"the SGI 0x{v.v:x} reaches no core of the harness (give each core's "
                  f"MPIDR_EL1 in the harness's `sysregs`)")
        sent = [s.ev("W", interrupt_line(t), 1, {"SGI"}, data=v.taint) for t in targets]
        return [(None, regs, flags, ctrl, events + sent, rmw, monitor)]
    return None


def sgi_targets(test, sender: int, value: int) -> list[int]:
    """The threads an ICC_SGI1R_EL1 value interrupts: with IRM set, every one but the
    sender; else those whose MPIDR_EL1 (`1:MPIDR_EL1=...` in the initial state) has the
    value's Aff3.Aff2.Aff1, its range selector as Aff0's high nibble and its bit in the
    target list."""
    if value >> 40 & 1:
        return [t for t in range(len(test.threads)) if t != sender]
    mpidr = {}
    for item in test.init:
        m = re.fullmatch(r"(\d+):MPIDR_EL1", item.lhs.strip(), re.I)
        if m:
            mpidr[int(m.group(1))] = int(item.value.strip(), 0)
    affinity = (value >> 48 & 0xFF, value >> 32 & 0xFF, value >> 16 & 0xFF)
    return [t for t, m in sorted(mpidr.items())
            if (m >> 32 & 0xFF, m >> 16 & 0xFF, m >> 8 & 0xFF) == affinity
            and (m & 0xFF) >> 4 == value >> 44 & 0xF and value >> (m & 0xF) & 1]


def _data_processing(s, op: str, args: list[str]):
    """Moves, arithmetic and logic (alu.py), bit fields, multiplies, conditional selects."""
    regs, flags, ctrl, events, rmw, monitor = s.state
    err, get, put, operand2 = s.err, s.get, s.put, s.operand2
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
        taken = _condition(cond, flags, err)
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
    return None


def _branches(s, op: str, args: list[str]):
    """Branches, calls and returns, ADR: the next pc, and the control dependency."""
    regs, flags, ctrl, events, rmw, monitor = s.state
    test, line, text, pc, th = s.test, s.line, s.text, s.pc, s.th
    err, get, put, code_index = s.err, s.get, s.put, s.code_index
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
            taken, taint = _condition(op[2:], flags, err), flags[1]
        else:
            v = get(args[0])
            if not isinstance(v.v, int):
                if op in ("TBZ", "TBNZ"):
                    err("a bit test of an address")
                taken_zero = False       # an address is never zero
            else:
                taken_zero = v.v == 0 if op in ("CBZ", "CBNZ") else not (v.v >> _imm(args[1])) & 1
            taken = taken_zero if op in ("CBZ", "TBZ") else not taken_zero
            taint = v.taint
        # herd unrolls a loop whose condition is a known constant in full: such a jump
        # back does not count toward the unroll limit
        th.counts_as_loop = bool(taint)
        return [(to if taken else None, regs, flags, ctrl | taint, events, rmw, monitor)]
    return None


def _loads_and_stores(s, op: str, args: list[str]):
    """Single loads and stores, acquire/release, store-exclusive."""
    regs, flags, ctrl, events, rmw, monitor = s.state
    arrays, pc = s.arrays, s.pc
    err, get, put, address = s.err, s.get, s.put, s.address
    ev, through_memory, read_forks = s.ev, s.through_memory, s.read_forks
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
            taint = frozenset({e.id}) | through_memory(loc, size)
            return (None, put(regs, args[0], Val(value, taint)), flags, ctrl,
                    events + [e], rmw, (e.id, loc, size) if excl else monitor)
        if pc[0] == s.th.tid and pc[1] in getattr(s.th, "unread", ()):
            return [then(ev("R", loc, UNREAD, tags, at, size=size), UNREAD)]
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
    return None


def _atomics(s, op: str, args: list[str]):
    """CAS and the LSE atomics (SWP, LD<op>, ST<op>)."""
    regs, flags, ctrl, events, rmw, monitor = s.state
    err, get, put, address = s.err, s.get, s.put, s.address
    ev, through_memory, read_forks = s.ev, s.through_memory, s.read_forks
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
    return None


def _pairs(s, op: str, args: list[str]):
    """Pair loads and stores, exclusive pairs, CASP."""
    regs, flags, ctrl, events, rmw, monitor = s.state
    indexed = s.indexed
    err, get, put, address = s.err, s.get, s.put, s.address
    ev, through_memory, read_pairs = s.ev, s.through_memory, s.read_pairs
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
    return None


def _step_plain(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor, values, next_id,
                indexed=False):
    """One instruction: a list of (next pc or None, regs, flags, ctrl, events, rmw, monitor),
    one per way it can go (reads fork on their value, STXR on success)."""
    op, args = _aliases(*operands(text))
    s = _context(th, pc, line, text, regs, flags, ctrl, events, rmw, monitor, values, next_id,
                 indexed)
    for family in FAMILIES:
        forks = family(s, op, args)
        if forks is not None:
            return forks
    s.err(f"instruction `{op}` is not modelled by the litmus checker")


FAMILIES = (_system, _data_processing, _branches, _loads_and_stores, _atomics, _pairs)


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
    They have no order here, so N, C and V are unknown (None): only EQ and NE may use them."""
    if op == "SUB" and not isinstance(a, int) and not isinstance(b, int):
        return (None, a == b, None, None)
    return None


def _condition(cond: str, flags, err) -> bool:
    """Whether condition `cond` (EQ, LT, ...) holds on the flags."""
    if flags[0] is None:
        err("a condition on flags nothing has set")
    if None in flags[0] and cond not in ("EQ", "NE", "AL"):
        err(f"condition {cond} on comparing addresses, which have no order here")
    return COND[cond](*flags[0])
