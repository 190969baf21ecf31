"""The built ELF as the verifier sees it: functions from symbols, bytes, source lines.

Loaded with angr (CLE). A function is an ELF symbol of type FUNC with a size; a global
symbol in an executable section without `.type`/`.size` is an error, since its code could
not be audited. Addresses map to `asm/<file>.s:<line>` through the DWARF line table, which
exists because every file is assembled with `-g`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import capstone
import pyvex
from elftools.elf.elffile import ELFFile

from .machine import ARCH
from .overlay import MachineConfig


def _fast_numerals() -> None:
    """Undo the cost of claripy's patch to z3 (made when angr is imported): it turns every
    numeral into text in chunks of 10**4300, computed afresh each time, so a z3.BitVecVal
    took about 38 µs instead of 8, and the proofs make a few hundred thousand. A numeral
    here has at most a few hundred digits; claripy's conversion stays for longer ones."""
    import z3
    patched = z3.z3._to_int_str
    if getattr(patched, "fast", False):
        return

    def to_int_str(val):
        if isinstance(val, int) and not isinstance(val, bool) and -(1 << 1024) < val < 1 << 1024:
            return str(val)
        return patched(val)
    to_int_str.fast = True
    z3.z3._to_int_str = to_int_str


class ProgramError(Exception):
    """The ELF cannot be verified as it is; the message says what to change."""


@dataclass(frozen=True)
class Function:
    name: str
    addr: int
    size: int
    exported: bool
    code: bytes

    @property
    def end(self) -> int:
        return self.addr + self.size

    @property
    def bytes_hash(self) -> str:
        return hashlib.sha256(self.code).hexdigest()[:16]

    def contains(self, addr: int) -> bool:
        return self.addr <= addr < self.end


@dataclass(frozen=True)
class Instruction:
    addr: int
    word: int
    text: str           # disassembly, for people
    irsb: pyvex.IRSB | None   # None when VEX cannot decode it


class Program:
    def __init__(self, elf_path: Path, source_root: Path):
        if not elf_path.is_file():
            raise ProgramError(f"{elf_path} does not exist: run `verify build` first")
        self.elf_path = elf_path
        self.source_root = source_root
        # Output streams the specs declare (spec.contracts_for fills it): name -> the port's
        # address as a function of a View.
        self.streams: dict = {}
        self.stream_files: list[Path] = []    # the spec modules that declare them
        logging.getLogger("angr").setLevel(logging.ERROR)
        logging.getLogger("cle").setLevel(logging.ERROR)
        import angr  # slow to import; only needed once an ELF is loaded
        _fast_numerals()
        try:
            self.project = angr.Project(str(elf_path), auto_load_libs=False)
        except Exception as exc:  # CLE raises several types for a broken ELF
            raise ProgramError(f"{elf_path} is not a loadable AArch64 ELF ({exc}); "
                               "rebuild it with `verify build`") from exc
        if self.project.arch.name != "AARCH64":
            raise ProgramError(f"{elf_path} is {self.project.arch.name}, not AArch64")
        self.functions = self._functions()
        self.constants = self._absolute_symbols()
        self.looked_up: dict[str, int] = {}   # symbols and constants specs asked for
        # The core count bounds MPIDR_EL1's Aff0; images without MAX_CORES get the default.
        self.config = MachineConfig(self.constants.get("MAX_CORES", MachineConfig.max_cores))
        self._lines = self._line_table()
        self._disasm = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        self._insns: dict[int, Instruction] = {}

    # -- functions ----------------------------------------------------------------------
    def _functions(self) -> dict[str, Function]:
        obj = self.project.loader.main_object
        exec_ranges = [(s.vaddr, s.vaddr + s.memsize) for s in obj.sections
                       if s.is_executable and s.memsize]
        in_code = lambda a: any(lo <= a < hi for lo, hi in exec_ranges)
        functions: dict[str, Function] = {}
        problems = []
        for sym in obj.symbols:
            if not sym.name or sym.name.startswith("$") or sym.is_import:
                continue
            is_func = sym.type.name == "TYPE_FUNCTION"
            is_global = sym.binding in ("STB_GLOBAL", "STB_WEAK")
            if not is_func:
                if is_global and sym.type.name == "TYPE_NONE" and in_code(sym.rebased_addr) \
                        and sym.section not in (None, "SHN_ABS"):
                    problems.append(f"{sym.name}: global symbol in code without .type/.size "
                                    "(declare it with FUNC/ENDFUNC from asm/macros.inc)")
                continue
            if sym.size == 0:
                problems.append(f"{sym.name}: function without .size "
                                "(close it with ENDFUNC from asm/macros.inc)")
                continue
            code = self.project.loader.memory.load(sym.rebased_addr, sym.size)
            functions[sym.name] = Function(sym.name, sym.rebased_addr, sym.size,
                                           is_global, bytes(code))
        if problems:
            raise ProgramError("functions the verifier cannot audit:\n  " + "\n  ".join(problems))
        return dict(sorted(functions.items(), key=lambda kv: kv[1].addr))

    def function_at(self, addr: int) -> Function | None:
        for f in self.functions.values():
            if f.contains(addr):
                return f
        return None

    # -- constants ----------------------------------------------------------------------
    def _absolute_symbols(self) -> dict[str, int]:
        """Absolute symbols (`.equ` constants, exported layout): the layout the code uses."""
        out: dict[str, int] = {}
        with open(self.elf_path, "rb") as fh:
            symtab = ELFFile(fh).get_section_by_name(".symtab")
            for sym in symtab.iter_symbols() if symtab else []:
                if sym["st_shndx"] == "SHN_ABS" and sym.name and sym["st_info"]["type"] != "STT_FILE":
                    out[sym.name] = sym["st_value"]
        return out

    def symbol(self, name: str) -> int:
        """The address of a function or data symbol (noted in `looked_up`, so a proof knows
        which parts of the layout it depends on)."""
        addr = self.address_of(name)
        if addr is None:
            raise ProgramError(f"{self.elf_path} has no symbol {name}")
        self.looked_up[name] = addr
        return addr

    def address_of(self, name: str) -> int | None:
        """A symbol's address, or an absolute symbol's value; None if there is neither."""
        sym = self.project.loader.main_object.get_symbol(name)
        return sym.rebased_addr if sym is not None else self.constants.get(name)

    def layout_value(self, name: str) -> int | None:
        """What `looked_up` noted for `name`, as the program is now: a symbol's address, an
        absolute symbol's value, or for "function/.Llabel" the label's offset in it."""
        if "/" not in name:
            return self.address_of(name)
        func, label = name.split("/", 1)
        if func not in self.functions:
            return None
        try:
            return self.label(self.functions[func], label) - self.functions[func].addr
        except ProgramError:
            return None

    def constant(self, name: str) -> int:
        if name not in self.constants:
            raise ProgramError(f"{self.elf_path} has no absolute symbol {name}: define it with "
                               ".equ in asm/ (the verifier reads layout from the ELF)")
        self.looked_up[name] = self.constants[name]
        return self.constants[name]

    # -- source lines -------------------------------------------------------------------
    def _line_table(self) -> dict[int, tuple[str, int]]:
        table: dict[int, tuple[str, int]] = {}
        with open(self.elf_path, "rb") as fh:
            elf = ELFFile(fh)
            if not elf.has_dwarf_info():
                raise ProgramError(f"{self.elf_path} has no DWARF line info: assemble with -g "
                                   "(`verify build` does)")
            dwarf = elf.get_dwarf_info()
            for cu in dwarf.iter_CUs():
                prog = dwarf.line_program_for_CU(cu)
                if prog is None:
                    continue
                files = prog["file_entry"]
                dirs = prog["include_directory"]
                v5 = prog.header.version >= 5
                for entry in prog.get_entries():
                    st = entry.state
                    if st is None or st.end_sequence:
                        continue
                    fe = files[st.file if v5 else st.file - 1]
                    name = fe.name.decode()
                    if fe.dir_index and not os.path.isabs(name):
                        d = dirs[fe.dir_index if v5 else fe.dir_index - 1].decode()
                        name = os.path.join(d, name)
                    table[st.address] = (self._relative(name), st.line)
        return table

    def _relative(self, name: str) -> str:
        path = Path(name)
        if path.is_absolute():
            try:
                return str(path.resolve().relative_to(self.source_root.resolve()))
            except ValueError:
                return path.name
        return str(path)

    def line(self, addr: int) -> str:
        loc = self._lines.get(addr)
        return f"{loc[0]}:{loc[1]}" if loc else f"0x{addr:x}"

    def label(self, func: Function, label: str) -> int:
        """The address of a local label (`.Lname:`, which the ELF keeps no symbol for) in a
        function: its first instruction after the label's line in the source."""
        lines = {a: self._lines[a] for a in range(func.addr, func.end, 4) if a in self._lines}
        files = {f for f, _ in lines.values()}
        for name in files:
            path = self.source_root / name
            text = path.read_text().splitlines() if path.is_file() else []
            at = [i + 1 for i, t in enumerate(text) if t.strip().startswith(f"{label}:")]
            after = sorted((ln, a) for a, (f, ln) in lines.items() if f == name and at
                           and ln > at[0])
            if after:
                # Noted like a symbol: where the label lies in the function keys the proof.
                self.looked_up[f"{func.name}/{label}"] = after[0][1] - func.addr
                return after[0][1]
        raise ProgramError(f"{func.name}: no label {label} in its source; a loop invariant "
                           "names the label of its loop head (e.g. .Lname_loop)")

    # -- instructions -------------------------------------------------------------------
    def instruction(self, addr: int) -> Instruction:
        if addr not in self._insns:
            word_bytes = self.project.loader.memory.load(addr, 4)
            word = int.from_bytes(word_bytes, "little")
            dis = next(self._disasm.disasm(word_bytes, addr), None)
            text = f"{dis.mnemonic} {dis.op_str}".strip() if dis else f".inst 0x{word:08x}"
            try:
                irsb = pyvex.lift(word_bytes, addr, ARCH, max_inst=1, opt_level=0)
                if irsb.jumpkind == "Ijk_NoDecode" or irsb.size == 0:
                    irsb = None
            except pyvex.PyVEXError:
                irsb = None
            self._insns[addr] = Instruction(addr, word, text, irsb)
        return self._insns[addr]

    def reachable(self, names: list[str]) -> set[str]:
        """The functions whose code can run from these: themselves and, transitively, the
        targets of their direct calls and branches into other functions."""
        seen, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name in seen or name not in self.functions:
                continue
            seen.add(name)
            func = self.functions[name]
            for offset in range(0, len(func.code) - 3, 4):
                word = int.from_bytes(func.code[offset:offset + 4], "little")
                if word & 0x7C000000 == 0x14000000:          # B or BL, imm26
                    imm = word & 0x3FFFFFF
                    imm -= (imm & 0x2000000) << 1
                    target = self.function_at(func.addr + offset + 4 * imm)
                    if target is not None and target.name != name:
                        todo.append(target.name)
        return seen

    def instructions(self, func: Function) -> list[Instruction]:
        return [self.instruction(a) for a in range(func.addr, func.end, 4)]

    @cached_property
    def code_ranges(self) -> list[tuple[int, int]]:
        return [(f.addr, f.end) for f in self.functions.values()]
