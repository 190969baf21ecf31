"""The litmus checker's instruction semantics against unicorn, for the encodings a harness
runs from the image.

The harness engine runs the ELF's instructions through instructions.py, a semantics of its
own beside the sequential prover's VEX and overlay. This keeps it honest the same way:
each encoding is run as a one-thread program from random registers, flags and memory, and
on unicorn (`max` CPU model) from the same state, and every general register, the flags,
the memory it wrote, its writeback and where it went next (a branch taken or not, a call's
return address, a return's target) must agree. A store-exclusive is compared on both of its
ways: failing (no monitor: unicorn fails it too) and succeeding (after an LDXR of the same
address on unicorn). What an instruction does outside the memory model (DAIF, an event) is
not compared, and says so.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from unicorn import UcError
from unicorn.arm64_const import UC_ARM64_REG_PSTATE, UC_ARM64_REG_TPIDRRO_EL0

from .. import difftest as seq
from ..fingerprint import atomic_write, modules_hash
from .events import Addr, interrupt_line
from .parse import LitmusError, parse
from .program import Code, operands
from .threads import runs

MASK64 = (1 << 64) - 1
ELEMENTS = 128                      # of the memory array a base register points into
MIDDLE = ELEMENTS // 2
NZCV_READERS = re.compile(r"B\.\w+|CSEL|CSINC|CSINV|CSNEG|CSET|CSETM|CINC|CINV|CNEG")
NZCV_WRITERS = {"CMP", "CMN", "TST", "ADDS", "SUBS", "ANDS", "BICS", "NEGS"}
BRANCH = re.compile(r"B\.\w+|B|BL|CBZ|CBNZ|TBZ|TBNZ")
SGI1R = "ICC_SGI1R_EL1"
SETTABLE = {"TPIDRRO_EL0", "DAIF"}    # system registers unicorn lets us set
OUTSIDE = {"MSR": "DAIF (interrupt masking)", "SEV": "the event register",
           "SEVL": "the event register", "WFE": "waiting for an event",
           "WFI": "waiting for an interrupt", "CLREX": None}


@dataclass
class Finding:
    addr: int
    text: str
    detail: str


@dataclass
class Report:
    encodings: int = 0
    states: int = 0
    reused: int = 0              # encodings passed before by this checker, with as many states
    mismatches: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"litmus semantics: {self.encodings} encodings the harnesses run, "
                 f"{self.states} states against unicorn, {len(self.mismatches)} mismatches"
                 + (f" ({self.reused} encodings passed before, with as many states, not run "
                    f"again)" if self.reused else "")]
        for f in self.mismatches[:20]:
            lines.append(f"  MISMATCH 0x{f.addr:x} `{f.text}`: {f.detail}")
        for f in self.skipped:
            lines.append(f"  not compared 0x{f.addr:x} `{f.text}`: {f.detail}")
        for f in self.notes:
            lines.append(f"  note 0x{f.addr:x} `{f.text}`: {f.detail}")
        return "\n".join(lines)


def _size(op: str, args: list[str]) -> int:
    if re.fullmatch(r"ST(L?)X(R|P)", op):
        args = args[1:]                  # after the status register
    if op.endswith("B") and op not in ("SUB", "B") and op.startswith(("LD", "ST")):
        return 1
    if op.endswith("H") and op.startswith(("LD", "ST")):
        return 2
    return 4 if args and args[0].strip().upper().startswith("W") else 8


def _base(args: list[str]) -> str | None:
    for a in args:
        m = re.match(r"\[\s*(\w+)", a.strip())
        if m:
            return m.group(1).upper()
    return None


def _sysreg(text: str) -> str | None:
    """The system register an MRS or MSR names."""
    op, args = operands(text)
    name = args[1] if op == "MRS" and len(args) > 1 else args[0] if args else None
    return name.strip().upper() if name else None


def _gpr(name: str) -> str:
    n = name.upper()
    return "SP" if n in ("SP", "WSP") else "X" + n[1:]


class _Probe:
    """One encoding as a one-thread litmus program: a marker says whether a branch was
    taken, MSR/MRS NZCV put the flags in and take them out."""

    def __init__(self, addr: int, word: int, text: str, with_monitor: bool = False):
        self.addr, self.word, self.text = addr, word, text
        self.with_monitor = with_monitor
        op, args = operands(text)
        self.op, self.args = op, args
        used = {f"X{n}" for n in re.findall(r"\b[XW](\d+)\b", text, re.I)}
        free = [f"X{i}" for i in range(9, 29) if f"X{i}" not in used]
        self.flags_in, self.marker = free[0], free[1]
        self.reads_flags = bool(NZCV_READERS.fullmatch(op))
        self.sets_flags = op in NZCV_WRITERS or op in ("ADDS", "SUBS", "ANDS")
        self.base = _base(args)
        self.size = _size(op, args)
        self.exclusive_store = bool(re.fullmatch(r"ST(L?)XR[BH]?", op))
        body = text
        self.target = None
        if BRANCH.fullmatch(op):
            self.target = int(args[-1].split("#")[-1], 0) if "#" in args[-1] else None
            body = re.sub(r"#?0x[0-9a-f]+$|#\d+$", "T", text)
        code = []
        if self.reads_flags:
            code.append(f"MSR NZCV,{self.flags_in}")
        if with_monitor:     # as on unicorn: an LDXR of the address into the status register
            status = re.findall(r"\d+", args[0])[0]
            code.append(f"LDXR {'X' if self.size == 8 else 'W'}{status},[{self.base}]")
        self.index = len(code)
        code += [body, f"MRS {self.flags_in},NZCV" if self.sets_flags else "NOP",
                 f"MOV {self.marker},#0", "B E", f"T: MOV {self.marker},#1", "E: NOP"]
        element = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t", 8: "uint64_t"}[self.size]
        src = f"AArch64 probe\n{{ {element} m[{ELEMENTS}]; 0:X0=m; }}\n P0 ;\n" + \
            "".join(f" {c} ;\n" for c in code) + "forall (true)\n"
        self.test = parse(src, "probe")
        self.test.harness = True
        self.after = self.index + 1          # the instruction after it, as a Code index


def check_encodings(encodings: dict[int, tuple[int, str]], states: int = 200,
                    seed: int = 0, cache_file: Path | None = None,
                    jobs: int | None = None) -> Report:
    """encodings: address -> (word, herd text). Each is compared on `states` states of its
    own (seeded by the encoding, so a run does not depend on which others it checks), in
    `jobs` processes. With `cache_file`, an encoding that passed before under this checker's
    source with as many states is not run again; only passes are kept."""
    report = Report()
    stamp = f"{modules_hash('litmus/difftest.py')}:{states}:{seed}"
    passed = _passed(cache_file, stamp)
    todo: dict[str, tuple[int, int, str]] = {}     # entry -> the first address with it
    runs_of: list[tuple[int, str, str]] = []       # (address, text, entry) to report
    for addr, (word, text) in sorted(encodings.items()):
        op = operands(text)[0]
        report.encodings += 1
        # Where it lies matters only to what reads the pc (a branch, a call's return
        # address, a pc-relative address or load): elsewhere a move keeps the result.
        entry = f"{word:08x}:{text}" + (f"@{addr:x}" if _reads_pc(op, text) else "")
        try:
            _Probe(addr, word, text)
        except LitmusError as exc:
            report.mismatches.append(Finding(addr, text, f"the checker rejects it: {exc}"))
            continue
        if op == "MSR" and SGI1R in text.upper():
            report.notes.append(Finding(addr, text, "not run: unicorn has no interrupt "
                                        "controller, so the SGI's rule (a write to each "
                                        "target core's interrupt line) is "
                                        "checked by the harness tests of good and bad "
                                        "wake-ups, not here"))
            continue
        if op == "MRS" and _sysreg(text) not in SETTABLE | {"NZCV"}:
            report.notes.append(Finding(addr, text, f"unicorn's {_sysreg(text)} cannot be "
                                        f"set: the value the harness gives is not compared, "
                                        f"the other registers, flags and memory are"))
        if op in OUTSIDE and OUTSIDE[op]:
            report.notes.append(Finding(addr, text, f"{OUTSIDE[op]} is outside the memory "
                                                    f"model: only registers and memory are "
                                                    f"compared"))
        if entry in passed:
            report.reused += 1
            continue
        todo.setdefault(entry, (addr, word, text))
        runs_of.append((addr, text, entry))
    work = [(addr, word, text, entry, states, seed)
            for entry, (addr, word, text) in todo.items()]
    jobs = jobs or min(2, os.cpu_count() or 1)
    if jobs > 1 and len(work) >= 4:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            outcome = dict(zip(todo, pool.map(_check, work, chunksize=4)))
    else:
        outcome = dict(zip(todo, map(_check, work)))
    first = {addr for addr, _, _, _, _, _ in work}
    for addr, text, entry in runs_of:
        count, problems = outcome[entry]
        if not problems and addr not in first:
            report.reused += 1      # the same encoding, run at another address just now
            continue
        report.states += count
        for problem in problems:
            if problem.startswith("skip:"):
                report.skipped.append(Finding(addr, text, problem[5:].strip()))
            else:
                report.mismatches.append(Finding(addr, text, problem))
        if not problems:
            passed.add(entry)
    report.mismatches.sort(key=lambda f: f.addr)
    if cache_file is not None:
        atomic_write(cache_file, json.dumps({stamp: sorted(passed)}).encode())
    return report


_machine: list = []             # one unicorn per process, made where it runs


def _check(job: tuple[int, int, str, str, int, int]) -> tuple[int, list[str]]:
    """Run one encoding's probes: the states run and what went wrong (at most one problem
    per probe: its first)."""
    from .model import initial_state
    addr, word, text, entry, states, seed = job
    if not _machine:
        _machine.append(seq.Machine())
    rng = random.Random(f"{seed}:{entry}")
    probes = [_Probe(addr, word, text)]
    if probes[0].exclusive_store:
        try:
            probes.append(_Probe(addr, word, text, with_monitor=True))
        except LitmusError as exc:
            return 0, [f"the checker rejects it after a load-exclusive: {exc}"]
    count, problems = 0, []
    for probe in probes:
        _, _, arrays = initial_state(probe.test)
        for _ in range(states):
            problem = _one_state(probe, arrays, _machine[0], rng)
            count += 1
            if problem is not None:
                problems.append(problem)
                break
    return count, problems


def _reads_pc(op: str, text: str) -> bool:
    return bool(BRANCH.fullmatch(op)) or op in ("RET", "BR", "BLR", "ERET", "ADR", "ADRP") \
        or (op.startswith("LDR") and "[" not in text)


def _passed(cache_file: Path | None, stamp: str) -> set[str]:
    if cache_file is None:
        return set()
    try:
        return set(json.loads(cache_file.read_text()).get(stamp, []))
    except (OSError, ValueError, AttributeError):
        return set()


def _one_state(p: _Probe, arrays, machine, rng) -> str | None:
    regs = {f"X{i}": seq.random_value(rng, 64) for i in range(31)}
    nzcv = rng.getrandbits(4)
    memory = [seq.random_value(rng, 64) & ((1 << 8 * p.size) - 1) for _ in range(ELEMENTS)]
    base_addr = seq.SCRATCH + MIDDLE * p.size
    if p.op == "RET":
        regs["X30"] = p.addr + 0x40            # a return target we can recognise
    init = dict(regs)
    for r in {p.base, "SP" if re.search(r"\bsp\b", p.text, re.I) else None} - {None}:
        init[r] = Addr("m", MIDDLE * p.size)
        regs[r] = base_addr
    if p.op == "RET":
        init["X30"] = Code(0, len(p.test.code[0]) - 2)     # T
    sysregs = {}
    index = re.search(r"\[\s*\w+\s*,\s*([XW]\d+)\s*(?:,\s*LSL\s*#(\d+))?\s*\]",
                      p.text, re.I)
    if index:               # a register offset: keep the access inside the array
        shift = int(index.group(2) or 0)
        step = max((1 << shift) // p.size, 1)    # elements per index unit, at least 1
        elements = rng.randrange(-MIDDLE + 1, MIDDLE - 1) // step * step
        init[_gpr(index.group(1))] = regs[_gpr(index.group(1))] = \
            ((elements * p.size) >> shift) & MASK64
    if p.op == "MRS" and _sysreg(p.text) not in ("NZCV", None):
        name = _sysreg(p.text)
        value = seq.random_value(rng, 64) & (0x3C0 if name == "DAIF" else MASK64)
        init[name] = value
        if name in SETTABLE:
            sysregs[name] = value
    init[p.flags_in] = nzcv << 28
    values = {f"m[{k}]": {v} for k, v in enumerate(memory)}
    if p.op == "WFI":       # its interrupt is pending: it goes on, as unicorn's does
        values[interrupt_line(0)] = {1}
    counter = itertools.count(1)
    try:
        paths = runs(p.test, 0, init, values, lambda: next(counter), arrays)
    except LitmusError as exc:
        return f"the checker rejects it: {exc}"
    paths = [r for r in paths if not r.awaited and not r.cut]
    if p.exclusive_store:
        # without a monitor it can only fail; after the LDXR unicorn's succeeds, and the
        # checker must have that way too
        wrote = lambda r: any(e.kind == "W" for e in r.events)
        way = "succeed" if p.with_monitor else "fail"
        ways = {way: [r for r in paths if wrote(r) == p.with_monitor]}
    else:
        ways = {"": paths}
    for way, found in ways.items():
        if len(found) != 1:
            return f"{len(found)} paths{' to ' + way if way else ''} (expected one)"
        unicorn = _unicorn(p, machine, regs, nzcv, memory, p.with_monitor, sysregs)
        if isinstance(unicorn, str):
            return unicorn
        problem = _compare(p, found[0], unicorn, regs, memory, base_addr)
        if problem:
            state = ", ".join(f"{r}=0x{v:x}" for r, v in sorted(regs.items())
                              if re.search(rf"\b[XW]{r[1:]}\b", p.text, re.I))
            return f"{problem}{' (store-exclusive ' + way + 's)' if way else ''}; from {state}"
    return None


def _unicorn(p: _Probe, machine, regs, nzcv, memory, with_monitor: bool, sysregs=None):
    mu = machine.mu
    mu.context_restore(machine.pristine)
    code = p.word.to_bytes(4, "little")
    start = p.addr
    if with_monitor:        # LDXR of the same address first (into the status register)
        rs = int(re.findall(r"\d+", p.args[0])[0])
        rn = 31 if p.base == "SP" else int(p.base[1:])
        sf = 1 << 30 if p.size == 8 else 0
        ldxr = 0x885F7C00 | sf | (rn << 5) | rs
        code = ldxr.to_bytes(4, "little") + code
        start -= 4
    machine.place_code(start, code)
    # mapped, so that unicorn can stop there: where a branch or return goes, and the next
    # instruction (on the next page when the encoding ends one, as unicorn fetches it)
    for target in (p.target, p.addr + 0x40 if p.op == "RET" else None, p.addr + 4):
        if target is not None:
            machine.place_code(target, b"\0" * 4)
    mu.mem_write(start, code)
    xs = [regs[f"X{i}"] for i in range(31)] + [regs.get("SP", seq.SCRATCH_CENTER)]
    machine.write_regs(xs, nzcv, [0] * 32)
    for name, value in (sysregs or {}).items():
        if name == "DAIF":
            pstate = mu.reg_read(UC_ARM64_REG_PSTATE)
            mu.reg_write(UC_ARM64_REG_PSTATE, pstate & ~0x3C0 | value)
        else:
            mu.reg_write(UC_ARM64_REG_TPIDRRO_EL0, value)
    data = b"".join((v & ((1 << 8 * p.size) - 1)).to_bytes(p.size, "little") for v in memory)
    mu.mem_write(seq.SCRATCH, data)
    try:
        mu.emu_start(start, 0, count=2 if with_monitor else 1)
    except UcError as exc:
        return f"skip: unicorn raises {exc}"
    uxs, unzcv, _, upc = machine.read_regs()
    after = bytes(mu.mem_read(seq.SCRATCH, len(data)))
    return {"x": uxs, "nzcv": unzcv, "pc": upc, "memory": after}


def _compare(p: _Probe, run, u, regs, memory, base_addr) -> str | None:
    final = run.regs
    # where it went next: the marker is 1 on the taken side
    taken = final.get(p.marker) == 1
    if p.op == "RET":
        want = p.addr + 0x40
        if (u["pc"] == want) != taken:
            return f"returns {'to X30' if taken else 'elsewhere'}; unicorn to 0x{u['pc']:x}"
    elif p.target is not None:
        if (u["pc"] == p.target) != taken:
            return f"branch {'taken' if taken else 'not taken'}; unicorn {'not ' if taken else ''}" \
                   f"taken"
        if p.op == "BL":
            if final.get("X30") != Code(0, p.after) or u["x"][30] != p.addr + 4:
                return "BL's return address differs"
    elif taken:
        return "the checker branched"
    for i in range(32):
        name = f"X{i}" if i < 31 else "SP"
        if name == "SP" and "SP" not in final:
            continue
        if name in (p.flags_in, p.marker) or (p.op == "BL" and i == 30):
            continue
        if p.op == "MRS" and _sysreg(p.text) not in SETTABLE | {"NZCV"} and \
                name == _gpr(p.args[0]):
            continue
        mine = final.get(name, regs.get(name))
        if isinstance(mine, Addr) and mine.loc == "m":
            mine = base_addr - MIDDLE * p.size + mine.offset
        if isinstance(mine, int) and mine != u["x"][i]:
            return f"{name} = 0x{mine:x}; unicorn 0x{u['x'][i]:x}"
        if not isinstance(mine, (int, Addr, Code)):
            return f"{name} holds {mine!r}"
    if p.sets_flags:
        mine = final.get(p.flags_in, 0) >> 28
        if mine != u["nzcv"]:
            return f"NZCV = {mine:04b}; unicorn {u['nzcv']:04b}"
    # memory: each write event against unicorn's bytes; nothing else changed
    before = b"".join((v & ((1 << 8 * p.size) - 1)).to_bytes(p.size, "little") for v in memory)
    expected = bytearray(before)
    for e in run.events:
        if e.kind != "W":
            continue
        k = int(re.fullmatch(r"m\[(\d+)\]", e.loc).group(1))
        if not isinstance(e.value, int):
            return f"stores {e.value!r}"
        expected[k * p.size:(k + 1) * p.size] = e.value.to_bytes(p.size, "little")
    if bytes(expected) != u["memory"]:
        at = next(i for i in range(len(expected)) if expected[i] != u["memory"][i])
        return f"memory at offset {at - MIDDLE * p.size} differs"
    return None
