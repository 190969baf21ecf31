"""A harness as a herd-format litmus test whose code is the ELF's own bytes.

Each core's thread is the harness's steps (arguments moved into registers, `BL` to the
function) followed by the code of every function they reach, decoded instruction by
instruction from the ELF (calls and tail branches followed). Branch targets become labels;
`ADRP`+`ADD` of a data symbol becomes a move from a register the initial state gives that
symbol's address; a core that touches its stack gets a stack of its own. The text is what
`verify harness --litmus` writes and what the engine runs, so herd7 (or litmus7 on hardware)
can check the same test. Every row names the `asm/file.s:line` it came from.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

from elftools.elf.elffile import ELFFile

from ..litmus.events import Addr
from ..litmus.parse import Litmus, LitmusError, parse
from ..program import Program
from .spec import Block, Call, Harness, HarnessError

BRANCHES = {"b", "bl", "cbz", "cbnz", "tbz", "tbnz"}
STACK_WORDS = 32
FREE_REGISTERS = [f"X{i}" for i in range(28, 8, -1)]       # for addresses: X28 down to X9
END = "Lend"


@dataclass
class Row:
    text: str                   # herd syntax
    source: str = ""            # asm/file.s:line, or "harness"
    addr: int | None = None     # the instruction's address in the ELF
    as_is: bool = True          # runs the ELF's instruction itself (not ADRP+ADD's address)


@dataclass
class Translation:
    harness: Harness
    text: str                                   # the litmus file
    test: Litmus
    threads: list[list[Row]]
    functions: list[str]                        # every function whose code runs
    outside_model: list[str] = field(default_factory=list)   # instructions taken as no-ops
    rows: dict[tuple[int, int], Row] = field(default_factory=dict)   # (thread, line) -> row

    def instructions(self) -> dict[int, str]:
        """Every ELF instruction the harness runs: address -> its herd text."""
        return {r.addr: r.text for t in self.threads for r in t if r.addr is not None}

    def encodings(self, program: Program) -> dict[int, tuple[int, str]]:
        """The ELF's instructions the engine runs as they are: address -> (word, the herd
        text with its branch target as an address), for the semantics check. ADRP+ADD pairs
        are not among them: they become the symbol's address, which the linker fixed."""
        return {r.addr: (program.instruction(r.addr).word,
                         herd_text(program.instruction(r.addr).text))
                for t in self.threads for r in t if r.addr is not None and r.as_is}


_SYMBOLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_symbols(program: Program) -> dict[str, tuple[int, int]]:
    """Data objects of the ELF: name -> (address, size)."""
    if program in _SYMBOLS:          # read once per program: a barrier analysis asks often
        return dict(_SYMBOLS[program])
    out = {}
    with open(program.elf_path, "rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab else []:
            if sym["st_info"]["type"] == "STT_OBJECT" and sym["st_size"] and sym.name:
                out[sym.name] = (sym["st_value"], sym["st_size"])
    _SYMBOLS[program] = out
    return dict(out)


def translate(h: Harness, program: Program, mutations: dict[int, str] | None = None
              ) -> Translation:
    """The harness as a litmus test; `mutations` replaces the herd text of instructions at
    the given addresses (the barrier analysis's weaker forms)."""
    mutations = mutations or {}
    symbols = data_symbols(program)
    for f in h.functions():
        if f not in program.functions:
            raise HarnessError(f"{h.module}: harness {h.name} calls {f}, which is not a "
                               f"function of {program.elf_path.name}")
    threads, used_objects, outside, reached = [], [], [], []
    for tid, core in enumerate(h.cores):
        rows, objects, funcs = _thread(h, tid, core, program, symbols, mutations, outside)
        threads.append(rows)
        used_objects.append(objects)
        reached += [f for f in funcs if f not in reached]
    known = set(h.objects) | set(symbols)
    for name in h.init:
        if name not in known:
            raise HarnessError(f"{h.module}: harness {h.name} sets {name}, which is neither "
                               f"an object of the harness nor a data symbol of the ELF")
    blocks = {name: _blocks(h, program, name, size) for name, size in h.objects.items()
              if isinstance(size, Block)}
    text, rows = _litmus_text(h, program, threads, used_objects, symbols, blocks)
    try:
        test = parse(text, f"{h.name}.litmus")
    except LitmusError as exc:
        raise HarnessError(f"{h.module}: harness {h.name}: {exc}") from exc
    test.harness = True
    test.execution_check = h.execution
    test.blocks = {name: size for name, (size, _) in blocks.items()}
    test.block_init = {f"{name}+{offset}": Addr(v) if isinstance(v, str) else v
                       for name, (_, fields) in blocks.items() for offset, v in fields.items()}
    test.sources = {k: r.source for k, r in rows.items()}
    return Translation(h, text, test, threads, reached, sorted(set(outside)), rows)


def _value(h: Harness, program: Program, v, what: str) -> int | str:
    if callable(v):
        try:
            v = v(program)
        except Exception as exc:    # a spec reading a constant the ELF lacks, say
            raise HarnessError(f"{h.module}: harness {h.name}: {what}: {exc}") from exc
    if isinstance(v, (int, str)):
        return v
    raise HarnessError(f"{h.module}: harness {h.name}: {what} is {v!r}; give a number or an "
                       f"object's name")


def _blocks(h: Harness, program: Program, name: str, b: Block
            ) -> tuple[int, dict[int, int | str]]:
    """A block's size and its initial fields: offset -> a number or an object's name."""
    size = _value(h, program, b.size, f"the size of {name}")
    if not isinstance(size, int) or size <= 0 or size % 8:
        raise HarnessError(f"{h.module}: harness {h.name}: block {name} is {size!r} bytes; "
                           f"give a positive multiple of 8")
    init = h.init.get(name) or {}
    if not isinstance(init, dict):
        raise HarnessError(f"{h.module}: harness {h.name}: the initial value of block {name} "
                           f"is {{offset or layout constant: value}}")
    fields = {}
    for key, v in init.items():
        if isinstance(key, str):
            try:
                key = program.constant(key)
            except Exception as exc:
                raise HarnessError(f"{h.module}: harness {h.name}: {name}'s field {key}: "
                                   f"{exc}") from exc
        v = _value(h, program, v, f"{name}'s field at {key}")
        if isinstance(v, str) and (v not in h.objects or key % 8):
            raise HarnessError(f"{h.module}: harness {h.name}: {name}'s field at {key} holds "
                               f"{v}: an address must be an object of the harness, in an "
                               f"8-byte field")
        if not 0 <= key < size:
            raise HarnessError(f"{h.module}: harness {h.name}: {name}'s field at {key} lies "
                               f"outside its {size} bytes")
        fields[key] = v
    return size, fields


def _herd_block(name: str, size: int, fields: dict[int, int | str]) -> str:
    """The block as herd reads it: an array of 8-byte elements (a 4-byte field is half of
    one, which herd runs only with -variant mixed)."""
    elements: list[int | str] = [0] * (size // 8)
    for offset, v in sorted(fields.items()):
        if isinstance(v, str):
            elements[offset // 8] = v
            continue
        width = 4 if offset % 8 == 4 or offset + 4 in fields else 8
        old = elements[offset // 8] if isinstance(elements[offset // 8], int) else 0
        shift = 8 * (offset % 8)
        elements[offset // 8] = old | (v & ((1 << 8 * width) - 1)) << shift
    shown = ",".join(str(e) for e in elements)
    return f"uint64_t {name}[{size // 8}]={{{shown}}};"


def _thread(h: Harness, tid: int, core, program: Program, symbols, mutations, outside):
    """Rows of one core's code, with `{name}` where an object's address register goes."""
    rows: list[Row] = []
    objects: list[str] = []

    def use(name: str) -> str:
        if name not in h.objects and name not in symbols:
            raise HarnessError(f"{h.module}: harness {h.name}: core {tid} names {name}, which "
                               f"is neither an object of the harness nor a data symbol of "
                               f"the ELF")
        if name not in objects:
            objects.append(name)
        return "{" + name + "}"

    calls = []
    for step in core:
        if isinstance(step, Call):
            for reg, v in step.args:
                if not re.fullmatch(r"x([0-7])", reg):
                    raise HarnessError(f"{h.module}: harness {h.name}: argument {reg} of "
                                       f"{step.function}: arguments are x0 to x7")
                v = _value(h, program, v, f"argument {reg} of {step.function}")
                rows.append(Row(f"MOV {reg.upper()},{use(v)}" if isinstance(v, str)
                                else f"MOV {reg.upper()},#{v}", "harness"))
            entry = program.functions[step.function].addr
            rows.append(Row(f"BL L{entry:x}", "harness"))
            calls.append(step.function)
        else:
            for line in step.lines:
                for name in re.findall(r"\{(\w+)\}", line):
                    use(name)
                rows.append(Row(line, "harness"))
    rows.append(Row(f"B {END}", "harness"))
    # the functions the calls reach, in the order they are found
    todo, done = list(dict.fromkeys(calls)), []
    targets: set[int] = {program.functions[f].addr for f in todo}
    bodies: dict[str, list[Row]] = {}
    while todo:
        name = todo.pop(0)
        if name in done:
            continue
        done.append(name)
        func = program.functions[name]
        insns = program.instructions(func)
        body = []
        skip = False
        for k, insn in enumerate(insns):
            if skip:
                skip = False
                body.append(Row("NOP", _line(program, func, insn.addr), insn.addr,
                                as_is=False))
                continue
            mnemonic, _, ops = insn.text.partition(" ")
            where = _line(program, func, insn.addr)
            if mnemonic == "adrp":
                # ADRP + ADD #lo12 of a data symbol: the symbol's address, from a register
                nxt = insns[k + 1] if k + 1 < len(insns) else None
                dest = ops.split(",")[0].strip()
                m = nxt and re.fullmatch(rf"add {dest}, {dest}, #(0x[0-9a-f]+|\d+)", nxt.text)
                page = int(ops.split("#")[1], 0)
                if not m:
                    raise HarnessError(f"{where}: `{insn.text}` is not followed by the ADD "
                                       f"of its symbol's low bits: not modelled in harnesses")
                target = page + int(m.group(1), 0)
                sym = next((s for s, (a, _) in symbols.items() if a == target), None)
                if sym is None:
                    raise HarnessError(f"{where}: `{insn.text}` takes the address 0x{target:x},"
                                       f" which is not the start of a data object of the ELF: "
                                       f"not modelled in harnesses")
                body.append(Row(f"MOV {dest.upper()},{use(sym)}", where, insn.addr,
                                as_is=False))
                skip = True
                continue
            mutated = insn.addr in mutations
            text = mutations[insn.addr] if mutated else _herd(mnemonic, ops)
            if mnemonic in BRANCHES or mnemonic.startswith("b."):
                target = int(ops.rsplit("#", 1)[1], 0)
                if not func.contains(target):
                    callee = program.function_at(target)
                    if callee is None or callee.addr != target:
                        raise HarnessError(f"{where}: `{insn.text}` branches to 0x{target:x},"
                                           f" which is not a function's entry")
                    if callee.name not in done:
                        todo.append(callee.name)
                targets.add(target)
                text = re.sub(r"#0x[0-9a-f]+$|#\d+$", f"L{target:x}", text)
            if mnemonic == "msr" and ops.split(",")[0] in ("daifset", "daifclr"):
                outside.append(f"{where} `{insn.text}`: interrupt masking has no memory "
                               f"effect; the only interrupt a harness has is the wake-up "
                               f"SGI that ends a WFI, whatever the mask")
            body.append(Row(text, where, insn.addr, as_is=not mutated))
        last = insns[-1].text.split(" ")[0] if insns else ""
        if last not in ("ret", "b", "br", "eret"):
            # the next function in the ELF is not the next body here
            raise HarnessError(f"{program.line(func.end - 4)}: {name} runs off its end into "
                               f"the code after it: not modelled in harnesses")
        bodies[name] = body
    for name in done:
        func = program.functions[name]
        for k, row in enumerate(bodies[name]):
            addr = func.addr + 4 * k
            if addr in targets and not row.as_is and row.text == "NOP":
                # the ADD of an ADRP pair runs as part of the MOV before it: a branch to it
                # alone would skip the ADRP, which the translation cannot show
                raise HarnessError(f"{row.source}: a branch goes to the ADD of an ADRP+ADD "
                                   f"pair: not modelled in harnesses")
            if addr in targets:
                row.text = f"L{addr:x}: {row.text}"
            rows.append(row)
    rows.append(Row(f"{END}: NOP", "harness"))
    # Code labels as offsets from the thread's lowest one: code that moves as a whole (an
    # instruction added in a function it does not run) is the same test, and keeps its outcome.
    base = min(targets, default=0)

    def relative(m: re.Match) -> str:
        addr = int(m.group(1), 16)
        return f"L{addr - base:x}" if addr in targets else m.group(0)
    for row in rows:
        if row.addr is not None or row.text.startswith("BL L"):
            row.text = re.sub(r"\bL([0-9a-f]+)\b", relative, row.text)
    return rows, objects, done


def _line(program: Program, func, addr: int) -> str:
    """The instruction's source line; for one the assembler made (alignment padding), its
    place in the function, which moves with it."""
    line = program.line(addr)
    return f"{func.name}+0x{addr - func.addr:x}" if line.startswith("0x") else line


def herd_text(disassembly: str) -> str:
    """One instruction's capstone text as the litmus parser reads it."""
    mnemonic, _, ops = disassembly.partition(" ")
    return _herd(mnemonic, ops)


def _herd(mnemonic: str, ops: str) -> str:
    """capstone's text in the form the litmus parser reads: immediates in decimal."""
    ops = re.sub(r"#(-?)0x([0-9a-f]+)", lambda m: f"#{m.group(1)}{int(m.group(2), 16)}", ops)
    return f"{mnemonic.upper()} {ops}".strip()


def _litmus_text(h: Harness, program: Program, threads, used_objects, symbols, blocks):
    regs_taken = [set(re.findall(r"\b[XW](\d+)\b", " ".join(r.text for r in rows), re.I))
                  for rows in threads]
    lines = [f"AArch64 {h.name}", f'"{h.doc}"',
             f"(* a harness of {h.module}; code from {program.elf_path.name} *)", "{"]
    for name in dict.fromkeys([*h.objects, *(o for objs in used_objects for o in objs)]):
        size = h.objects.get(name) or symbols[name][1]
        init = h.init.get(name)
        if name in blocks:
            lines.append(_herd_block(name, *blocks[name]))
            continue
        if isinstance(size, tuple):              # an array of the harness's
            element, count = size
            values = [_value(h, program, v, f"an element of {name}") for v in init or []]
            kind = "uint32_t" if element == 4 else "uint64_t"
            lines.append(f"{kind} {name}[{count}]={{{','.join(map(str, values))}}};")
            continue
        if init is None and name in symbols:
            addr, n = symbols[name]
            init = int.from_bytes(program.project.loader.memory.load(addr, min(n, 8)),
                                  "little")
        init = _value(h, program, init or 0, f"the initial value of {name}")
        lines.append(f"{'uint32_t' if size == 4 else 'uint64_t'} {name}={init};")
    condition = _value(h, program, h.condition, "the condition")
    if not isinstance(condition, str):
        raise HarnessError(f"{h.module}: harness {h.name}: the condition must be a string")
    # registers the condition reads are 64-bit (herd would compare an untyped one at 32)
    for tid, reg in sorted(set(re.findall(r"\b(\d+):[XW](\d+)\b", condition))):
        lines.append(f"uint64_t {tid}:X{reg}=0;")
    registers = []
    for tid, rows in enumerate(threads):
        free = [r for r in FREE_REGISTERS if r[1:] not in regs_taken[tid]]
        if len(free) < len(used_objects[tid]):
            raise HarnessError(f"{h.module}: harness {h.name}: core {tid} uses every register "
                               f"from X9 to X28, so none is left for the objects' addresses")
        assigned = dict(zip(used_objects[tid], free))
        registers.append(assigned)
        inits = [f"{tid}:{r}={name}" for name, r in assigned.items()]
        for reg, v in (h.sysregs[tid] if tid < len(h.sysregs) else {}).items():
            v = _value(h, program, v, f"core {tid}'s {reg}")
            if isinstance(v, str) and v not in h.objects:
                raise HarnessError(f"{h.module}: harness {h.name}: core {tid}'s {reg} is {v}, "
                                   f"which is not an object of the harness")
            inits.append(f"{tid}:{reg.upper()}={v if isinstance(v, str) else hex(v)}")
        if any(re.search(r"\bsp\b", r.text, re.I) for r in rows):
            lines.append(f"uint64_t stack{tid}[{STACK_WORDS}];")
            inits.append(f"{tid}:SP=stack{tid}[{STACK_WORDS}]")
        if inits:
            lines.append("; ".join(inits) + ";")
    lines.append("}")
    for tid, rows in enumerate(threads):
        for r in rows:
            r.text = re.sub(r"\{(\w+)\}", lambda m: registers[tid][m.group(1)], r.text)
    width = [max(len(r.text) for r in rows) for rows in threads]
    lines.append(" " + " | ".join(f"P{t}".ljust(width[t]) for t in range(len(threads))) + " ;")
    mapping: dict[tuple[int, int], Row] = {}
    for i in range(max(len(rows) for rows in threads)):
        cells, notes = [], []
        for t, rows in enumerate(threads):
            row = rows[i] if i < len(rows) else None
            cells.append((row.text if row else "").ljust(width[t]))
            if row:
                mapping[(t, len(lines) + 1)] = row
                if row.source != "harness":
                    notes.append(f"P{t} {row.source}")
        note = f" (* {', '.join(notes)} *)" if notes else ""
        lines.append(" " + " | ".join(cells) + " ;" + note)
    lines.append(condition)
    return "\n".join(lines) + "\n", mapping
