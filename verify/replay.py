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

import os
from dataclasses import dataclass, field
import z3
from unicorn import (UC_ARCH_ARM64, UC_HOOK_CODE, UC_HOOK_INTR, UC_HOOK_MEM_UNMAPPED,
                     UC_HOOK_MEM_WRITE, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError)
from unicorn import arm64_const as uc

from .machine import FIRMWARE, HVC_CALL, REGISTER_BYTES, SMC_CALL
from .ordering import access_class
from .overlay import SYSREGS, Kind
from .program import Function, Program

# unicorn 2.1 warns on stdout about register ids it plans to retire; the ones used here work.
os.environ.setdefault("UC_IGNORE_REG_BREAK", "1")

# The return address planted in x30: mapped nowhere, so reaching it means "returned".
SENTINEL = 0x0000_DEAD_BEEF_0000
PAGE = 0x1000
MAX_INSNS = 200_000
MAX_PAGES = 4096   # pages mapped on demand (unicorn's mapping slows as they grow)


@dataclass
class Schedule:
    """The model's nondeterministic choices, in path order, for the replay to repeat."""
    exclusive_succeeds: list[bool] = field(default_factory=list)   # each store-exclusive
    firmware_results: list[dict[int, int]] = field(default_factory=list)  # x0-x17 per call


@dataclass
class ReplayStart:
    regs: dict[str, int]          # x0..x30, sp
    vregs: dict[int, int]         # q0..q31
    nzcv: int
    memory: "InitialMemory"
    sysregs: dict[str, int]       # entry values of storage system registers
    schedule: Schedule


@dataclass
class ReplayResult:
    returned: bool
    regs: dict[str, int]     # x0..x30, sp, pc, nzcv, q0..q31 at the end
    detail: str              # why it stopped, for people
    stopped_by_exception: bool = False
    ran_out: bool = False    # still running after MAX_INSNS: it neither returned nor failed
    left_to: int | None = None   # the address the function returned to, when not x30's
    machine: Uc | None = None
    initial: "InitialMemory | None" = None
    outputs: dict[str, list[int]] = field(default_factory=dict)   # what each stream was sent

    def sent(self, name: str) -> list[int]:
        return self.outputs.get(name, [])

    def read(self, addr: int, nbytes: int) -> int:
        """Memory at the end; bytes the replay never mapped still hold their initial value."""
        out = bytearray()
        for a in range(addr, addr + nbytes):
            try:
                out += self.machine.mem_read(a, 1)
            except UcError:
                out.append(self.initial.byte(a))
        return int.from_bytes(out, "little")

    def sysreg(self, name: str) -> int:
        fields = next(f for f, (n, _) in SYSREGS.items() if n == name)
        return self.machine.cpr_read(*fields)


class InitialMemory:
    """The model's initial memory: explicit bytes plus a default for every other byte."""

    def __init__(self, model: z3.ModelRef, memory: z3.FuncDeclRef):
        self.bytes: dict[int, int] = {}
        self.default: int | None = 0
        self._eval = lambda a: model.eval(memory(z3.BitVecVal(a, 64)),
                                          model_completion=True).as_long()
        interp = model[memory] if memory in model.decls() else None
        if interp is None:
            return
        for i in range(interp.num_entries()):
            entry = interp.entry(i)
            self.bytes[entry.arg_value(0).as_long()] = entry.value().as_long()
        other = interp.else_value()
        self.default = other.as_long() if other is not None and z3.is_bv_value(other) else None

    def byte(self, addr: int) -> int:
        if addr in self.bytes:
            return self.bytes[addr]
        return self.default if self.default is not None else self._eval(addr)

    def page(self, base: int) -> bytes:
        if self.default is not None and not any(base <= a < base + PAGE for a in self.bytes):
            return bytes([self.default]) * PAGE
        return bytes(self.byte(base + i) for i in range(PAGE))


def _machine() -> Uc:
    mu = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    mu.ctl_set_cpu_model(uc.UC_CPU_ARM64_MAX)  # the default model faults on LSE atomics
    return mu


def machine_constants() -> dict[str, int]:
    """What the replay machine's read-only system registers hold. A counterexample meant for
    replay pins the model's values of these to them; unicorn runs at EL1."""
    mu = _machine()
    out = {"CurrentEL": 1 << 2}
    for fields, (name, kind) in SYSREGS.items():
        if kind in (Kind.CONSTANT, Kind.CORE_ID):
            out[name] = mu.cpr_read(*fields)
    return out


def _load_sysregs(mu: Uc, sysregs: dict[str, int]) -> list[str]:
    """Write the model's entry values of storage system registers; the names that would not
    take (the replay then cannot start from the model's state)."""
    refused = []
    for fields, (name, kind) in SYSREGS.items():
        if kind != Kind.STORAGE or name not in sysregs:
            continue
        try:
            mu.cpr_write(*fields, sysregs[name])
            if mu.cpr_read(*fields) != sysregs[name]:
                refused.append(name)
        except UcError:   # a register unicorn does not have (e.g. TPIDRRO_EL0 on its model)
            refused.append(name)
    return refused


def _is_store_exclusive(word: int) -> bool:
    cls = access_class(word)
    return cls.exclusive and not (word >> 22) & 1


ERET = 0xD69F03E0     # returns to ELR_EL1


def _is_call(word: int) -> bool:
    return word & 0xFC000000 == 0x94000000 or word & 0xFFFFFC1F == 0xD63F0000   # bl, blr


def _branch_register(word: int) -> int | None:
    """Xn of `br Xn` or `ret Xn`."""
    return (word >> 5) & 0x1F if word & 0xFFBFFC1F == 0xD61F0000 else None


def replay(program: Program, func: Function, start: ReplayStart,
           exit_at: int | None = None, ports: dict[int, str] | None = None) -> ReplayResult:
    """Run `func` from `start` until it returns to x30 (a sentinel). With `exit_at` (the
    branch where a path returned elsewhere), the run stops there, outside any call, when the
    branch goes somewhere other than the sentinel: `left_to` says where."""
    mu = _machine()
    code_pages = set()
    for lo, hi in program.code_ranges:
        for page in range(lo & ~(PAGE - 1), hi, PAGE):
            code_pages.add(page)
    for page in sorted(code_pages):
        mu.mem_map(page, PAGE, UC_PROT_ALL)
        mu.mem_write(page, start.memory.page(page))
    for lo, hi in program.code_ranges:
        mu.mem_write(lo, bytes(program.project.loader.memory.load(lo, hi - lo)))
    stop = {"why": "", "exception": False, "left": None}
    depth = [0]     # calls the run is inside
    exclusive = list(start.schedule.exclusive_succeeds)
    firmware = list(start.schedule.firmware_results)
    outputs: dict[str, list[int]] = {}    # stream name -> what the run sent to it

    mapped = [0]

    def map_on_demand(emu, access, address, size, value, data):
        if SENTINEL <= address < SENTINEL + PAGE:
            return False  # the return: let unicorn stop on the fetch
        for page in {address & ~(PAGE - 1), (address + size - 1) & ~(PAGE - 1)}:
            mapped[0] += 1
            if mapped[0] > MAX_PAGES:   # a walk over memory the model leaves open
                stop["why"] = (f"the run touched more than {MAX_PAGES} pages, the last at "
                               f"0x{address:x}: a walk the model does not end")
                stop["limit"] = True    # like MAX_INSNS: the run was cut, not shown wrong
                return False
            try:
                emu.mem_map(page, PAGE, UC_PROT_ALL)
                emu.mem_write(page, start.memory.page(page))
            except UcError:
                pass  # already mapped
        return True

    def repeat_choices(emu, address, size, data):
        # The model may let a store-exclusive fail, and says what the firmware returns:
        # make the machine do the same, by writing the outcome and skipping the instruction.
        word = int.from_bytes(emu.mem_read(address, 4), "little")
        rn = _branch_register(word)
        if _is_call(word):
            depth[0] += 1
        elif rn is not None and word >> 22 & 1 and depth[0]:     # a ret inside a call
            depth[0] -= 1
        elif address == exit_at and not depth[0] and (rn is not None or word == ERET):
            target = emu.reg_read(uc.UC_ARM64_REG_ELR_EL1 if word == ERET else
                                  getattr(uc, f"UC_ARM64_REG_X{rn}"))
            if target != SENTINEL:
                stop["left"] = target
                emu.emu_stop()
                return
        if _is_store_exclusive(word) and exclusive:
            if not exclusive.pop(0):
                emu.reg_write(getattr(uc, f"UC_ARM64_REG_X{(word >> 16) & 0x1F}"), 1)
                emu.reg_write(uc.UC_ARM64_REG_PC, address + 4)
        elif word & 0xFFE0001F in (0xD4000002, 0xD4000003) and firmware:
            # the call, packed as the firmware stream has it (machine.firmware_call)
            call = SMC_CALL if word & 3 == 3 else HVC_CALL
            call = call << 16 | (word >> 5 & 0xFFFF)
            for r in (3, 2, 1, 0):
                call = call << 64 | emu.reg_read(getattr(uc, f"UC_ARM64_REG_X{r}"))
            outputs.setdefault(FIRMWARE, []).append(call)
            for r, value in firmware.pop(0).items():
                emu.reg_write(getattr(uc, f"UC_ARM64_REG_X{r}"), value)
            emu.reg_write(uc.UC_ARM64_REG_PC, address + 4)

    def on_exception(emu, intno, data):
        pc = emu.reg_read(uc.UC_ARM64_REG_PC)
        stop["why"] = f"exception {intno} (an hvc, smc, svc or fault) near 0x{pc:x}"
        stop["exception"] = True
        emu.emu_stop()

    def on_output(emu, access, address, size, value, data):
        # as the model has it: a store that covers a byte port, at whatever offset, sends the
        # byte it puts there; a register's stream gets each store to it
        for port, name in ports.items():
            width = REGISTER_BYTES.get(name, 1)
            if width == 1 and address <= port < address + size:
                outputs.setdefault(name, []).append(value >> 8 * (port - address) & 0xFF)
            elif width > 1 and port - size < address < port + width:
                # the register's value only for a store of exactly it, as the model has it
                exact = address == port and size == width
                outputs.setdefault(name, []).append(value if exact else None)

    mu.hook_add(UC_HOOK_MEM_UNMAPPED, map_on_demand)
    mu.hook_add(UC_HOOK_INTR, on_exception)
    for port, name in (ports or {}).items():   # a store of up to 16 bytes may start below
        mu.hook_add(UC_HOOK_MEM_WRITE, on_output, begin=max(port - 15, 0),
                    end=port + REGISTER_BYTES.get(name, 1) - 1)
    for lo, hi in program.code_ranges:
        mu.hook_add(UC_HOOK_CODE, repeat_choices, begin=lo, end=hi - 1)
    for i in range(31):
        mu.reg_write(getattr(uc, f"UC_ARM64_REG_X{i}"), start.regs.get(f"x{i}", 0))
    mu.reg_write(uc.UC_ARM64_REG_X30, SENTINEL)
    mu.reg_write(uc.UC_ARM64_REG_SP, start.regs["sp"])
    mu.reg_write(uc.UC_ARM64_REG_NZCV, (start.nzcv & 0xF) << 28)
    for i, value in start.vregs.items():
        mu.reg_write(getattr(uc, f"UC_ARM64_REG_Q{i}"), value)
    refused = _load_sysregs(mu, start.sysregs)
    if refused:
        return ReplayResult(False, {}, f"unicorn would not take the model's {', '.join(refused)}",
                            stopped_by_exception=True)
    try:
        mu.emu_start(func.addr, SENTINEL, count=MAX_INSNS)
    except UcError as exc:
        if not stop["why"]:
            stop["why"] = f"unicorn stopped at 0x{mu.reg_read(uc.UC_ARM64_REG_PC):x}: {exc}"
    pc = mu.reg_read(uc.UC_ARM64_REG_PC)
    final = {f"x{i}": mu.reg_read(getattr(uc, f"UC_ARM64_REG_X{i}")) for i in range(31)}
    final["sp"] = mu.reg_read(uc.UC_ARM64_REG_SP)
    final["pc"] = pc
    final["nzcv"] = mu.reg_read(uc.UC_ARM64_REG_NZCV) >> 28
    for i in range(32):
        final[f"q{i}"] = mu.reg_read(getattr(uc, f"UC_ARM64_REG_Q{i}"))
    returned = pc == SENTINEL and not stop["why"]
    if stop["left"] is not None:
        stop["why"] = f"returned to 0x{stop['left']:x}, not to x30"
    ran_out = not returned and (not stop["why"] or stop.get("limit", False))
    detail = stop["why"] or ("returned" if returned else
                             f"did not return within {MAX_INSNS} instructions (pc 0x{pc:x})")
    return ReplayResult(returned, final, detail, stop["exception"], ran_out, stop["left"], mu,
                        start.memory, outputs)
