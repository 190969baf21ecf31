"""Concrete replay of a counterexample on unicorn (Arm's `max` CPU model).

A counterexample comes from the Z3 model of a symbolic path. Replaying it runs the real
instructions from the model's initial registers and memory: if the violation shows up on
the concrete machine too, the counterexample is "confirmed by replay"; if not, either the
symbolic path was an over-approximation (a summarised loop, an unmodelled instruction), or
the verifier's semantics disagree with the machine, which is a verifier defect to report.

Code comes from the ELF; every other byte comes from the model's initial memory, as in the
proof, where data memory is unconstrained on entry.
"""

from __future__ import annotations

from dataclasses import dataclass
import z3
from unicorn import (UC_ARCH_ARM64, UC_HOOK_INTR, UC_HOOK_MEM_UNMAPPED, UC_MODE_ARM,
                     UC_PROT_ALL, Uc, UcError)
from unicorn import arm64_const as uc

from .program import Function, Program

# The return address planted in x30: mapped nowhere, so reaching it means "returned".
SENTINEL = 0x0000_DEAD_BEEF_0000
PAGE = 0x1000
MAX_INSNS = 200_000


@dataclass
class ReplayResult:
    returned: bool
    regs: dict[str, int]     # x0..x30, sp, d8..d15 (low 64 bits) at the end
    detail: str              # why it stopped, for people
    stopped_by_exception: bool = False


class InitialMemory:
    """The model's initial memory: explicit bytes plus a default for every other byte."""

    def __init__(self, model: z3.ModelRef, array: z3.ArrayRef):
        self.bytes: dict[int, int] = {}
        self.default = 0
        value = model.eval(array, model_completion=True)
        while True:
            if z3.is_store(value):
                arr, idx, val = value.children()
                self.bytes.setdefault(idx.as_long(), val.as_long())
                value = arr
            elif z3.is_const_array(value):
                self.default = value.children()[0].as_long()
                break
            else:  # e.g. an as-array lambda: fall back to evaluating byte by byte
                self._eval = lambda a: model.eval(z3.Select(array, a), model_completion=True)
                self.default = None
                break

    def byte(self, addr: int) -> int:
        if addr in self.bytes:
            return self.bytes[addr]
        if self.default is None:
            return self._eval(addr).as_long()
        return self.default

    def page(self, base: int) -> bytes:
        if self.default is not None and not any(base <= a < base + PAGE for a in self.bytes):
            return bytes([self.default]) * PAGE
        return bytes(self.byte(base + i) for i in range(PAGE))


def replay(program: Program, func: Function, regs: dict[str, int], vregs: dict[int, int],
           nzcv: int, memory: InitialMemory) -> ReplayResult:
    mu = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    mu.ctl_set_cpu_model(uc.UC_CPU_ARM64_MAX)  # the default model faults on LSE atomics
    code_pages = set()
    for lo, hi in program.code_ranges:
        for page in range(lo & ~(PAGE - 1), hi, PAGE):
            code_pages.add(page)
    for page in sorted(code_pages):
        mu.mem_map(page, PAGE, UC_PROT_ALL)
        mu.mem_write(page, memory.page(page))
    for lo, hi in program.code_ranges:
        mu.mem_write(lo, bytes(program.project.loader.memory.load(lo, hi - lo)))
    stop = {"why": "", "exception": False}

    def map_on_demand(uc, access, address, size, value, data):
        if SENTINEL <= address < SENTINEL + PAGE:
            return False  # the return: let unicorn stop on the fetch
        base = address & ~(PAGE - 1)
        for page in (base, (address + size - 1) & ~(PAGE - 1)):
            try:
                uc.mem_map(page, PAGE, UC_PROT_ALL)
                uc.mem_write(page, memory.page(page))
            except UcError:
                pass  # already mapped (an access spanning two pages)
        return True

    def on_exception(emu, intno, data):
        pc = emu.reg_read(uc.UC_ARM64_REG_PC)
        stop["why"] = f"exception {intno} (an hvc, smc, svc or fault) near 0x{pc:x}"
        stop["exception"] = True
        emu.emu_stop()

    mu.hook_add(UC_HOOK_MEM_UNMAPPED, map_on_demand)
    mu.hook_add(UC_HOOK_INTR, on_exception)
    for i in range(31):
        mu.reg_write(getattr(uc, f"UC_ARM64_REG_X{i}"), regs.get(f"x{i}", 0))
    mu.reg_write(uc.UC_ARM64_REG_X30, SENTINEL)
    mu.reg_write(uc.UC_ARM64_REG_SP, regs["sp"])
    mu.reg_write(uc.UC_ARM64_REG_NZCV, (nzcv & 0xF) << 28)
    for i, value in vregs.items():
        mu.reg_write(getattr(uc, f"UC_ARM64_REG_Q{i}"), value)
    try:
        mu.emu_start(func.addr, SENTINEL, count=MAX_INSNS)
    except UcError as exc:
        stop["why"] = f"unicorn stopped at 0x{mu.reg_read(uc.UC_ARM64_REG_PC):x}: {exc}"
    pc = mu.reg_read(uc.UC_ARM64_REG_PC)
    final = {f"x{i}": mu.reg_read(getattr(uc, f"UC_ARM64_REG_X{i}")) for i in range(31)}
    final["sp"] = mu.reg_read(uc.UC_ARM64_REG_SP)
    final["pc"] = pc
    for i in range(8, 16):
        final[f"d{i}"] = mu.reg_read(getattr(uc, f"UC_ARM64_REG_Q{i}")) & (2 ** 64 - 1)
    returned = pc == SENTINEL and not stop["why"]
    detail = stop["why"] or ("returned" if returned else
                             f"did not return within {MAX_INSNS} instructions (pc 0x{pc:x})")
    return ReplayResult(returned, final, detail, stop["exception"])
