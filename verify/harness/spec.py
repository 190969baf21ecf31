"""Harnesses: the shipped functions run concurrently, as specs/ states them.

A harness gives 2 to 4 cores, each a sequence of steps: a call of a function of the ELF with
its arguments, or a few instructions of the harness's own (the critical section between a
lock and an unlock, say). Arguments and the harness's instructions name shared objects: the
harness's own (`objects`, with their sizes) or data symbols of the ELF. The property is a
final-state condition in herd's syntax (forall / exists / ~exists).

    Harness("spin_lock_2", "two cores count under the lock: no update is lost",
            objects={"lock": 4, "count": 8},
            cores=[[call("spin_lock", x0="lock"), code("LDR X9,[{count}]", ...),
                    call("spin_unlock", x0="lock")]] * 2,
            condition="forall (count=2)")

`{name}` in a harness instruction is the register that holds the object's address. A value
may be a callable of the Program (to read a layout constant from the ELF).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

Value = Union[int, str, Callable]


class HarnessError(Exception):
    """A harness that cannot be run as written; the message names what to change."""


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[tuple[str, Value], ...]      # (register, value): x0="lock", x1=3

    def __str__(self):
        shown = ", ".join(f"{r}={v if not callable(v) else '…'}" for r, v in self.args)
        return f"{self.function}({shown})"


@dataclass(frozen=True)
class Code:
    lines: tuple[str, ...]

    def __str__(self):
        return "; ".join(self.lines)


@dataclass(frozen=True)
class Block:
    """A structure of the harness's own (a per-core block, a PCB) of `size` bytes: each field
    the code touches is a location of its own. Its `init` in the harness maps offsets (a
    number, or the name of a layout constant of the ELF such as "CORE_MPIDR") to values."""
    size: int | Callable

    def __str__(self):
        return "block"


def block(size: int | Callable) -> Block:
    return Block(size)


def call(function: str, **args: Value) -> Call:
    return Call(function, tuple(sorted(args.items())))


def code(*lines: str) -> Code:
    return Code(tuple(lines))


@dataclass
class Harness:
    name: str
    doc: str
    cores: list[list[Call | Code]]
    condition: str | Callable
    # name -> bytes (4 or 8), (bytes of an element, elements) for an array, or a block
    objects: dict[str, int | tuple[int, int] | Block] = field(default_factory=dict)
    # an array's: a list; a block's: {offset or layout constant: value}
    init: dict[str, Value | list | dict] = field(default_factory=dict)
    # per core, the system registers its code reads (TPIDRRO_EL0, CNTPCT_EL0, DAIF) and its
    # MPIDR_EL1, which says which SGIs reach it: name -> value
    sysregs: list[dict[str, Value]] = field(default_factory=list)
    module: str = ""                                         # the specs/ file it is in
    # What a final state cannot say: a function given each allowed execution (an Accesses,
    # verify/litmus/run.py: every core's reads and writes in program order, and where each
    # read took its value) that returns None, or a sentence saying what went wrong.
    execution: Callable | None = None

    def functions(self) -> list[str]:
        return sorted({s.function for core in self.cores for s in core if isinstance(s, Call)})


def load_harnesses(root: Path, files: list[Path] | None = None
                   ) -> tuple[list[Harness], dict[str, str]]:
    """Every HARNESSES list in the spec modules under root/specs (or in `files`), checked
    for form, and the UNCHECKED_ORDERING maps (function -> why no harness checks its
    orderings)."""
    found: list[Harness] = []
    unchecked: dict[str, str] = {}
    names: dict[str, str] = {}
    for group in [files] if files is not None else [sorted((root / "specs").rglob("*.py"))]:
        for path in group:
            text = path.read_text()
            if "HARNESSES" not in text and "UNCHECKED_ORDERING" not in text:
                continue
            spec = importlib.util.spec_from_file_location(f"_harness_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise HarnessError(f"{path.relative_to(root)}: {type(exc).__name__}: {exc}")
            for h in getattr(module, "HARNESSES", []):
                rel = str(path.relative_to(root))
                _check_form(h, rel)
                if h.name in names:
                    raise HarnessError(f"{rel}: harness {h.name} is also defined in "
                                       f"{names[h.name]}")
                names[h.name] = rel
                h.module = rel
                found.append(h)
            unchecked.update(getattr(module, "UNCHECKED_ORDERING", {}))
    return found, unchecked


def _check_form(h, where: str) -> None:
    if not isinstance(h, Harness):
        raise HarnessError(f"{where}: HARNESSES holds {h!r}, not a Harness")
    if not 2 <= len(h.cores) <= 4:
        raise HarnessError(f"{where}: harness {h.name} has {len(h.cores)} cores; give 2 to 4")
    for i, core in enumerate(h.cores):
        if not core:
            raise HarnessError(f"{where}: harness {h.name}: core {i} has no steps")
        for s in core:
            if not isinstance(s, (Call, Code)):
                raise HarnessError(f"{where}: harness {h.name}: core {i}: {s!r} is neither "
                                   f"call(...) nor code(...)")
    if len(h.sysregs) > len(h.cores) or not all(isinstance(r, dict) for r in h.sysregs):
        raise HarnessError(f"{where}: harness {h.name}: sysregs is one dict per core "
                           f"(register name -> value)")
    for name, size in h.objects.items():
        if isinstance(size, Block):
            continue
        element, count = size if isinstance(size, tuple) else (size, 1)
        if element not in (4, 8) or count < 1:
            raise HarnessError(f"{where}: harness {h.name}: object {name} is {size!r}; give "
                               f"4 or 8 (bytes), (4 or 8, elements) for an array, or "
                               f"block(bytes)")
    if not (callable(h.condition) or isinstance(h.condition, str)):
        raise HarnessError(f"{where}: harness {h.name}: the condition must be herd's "
                           f"`forall (...)`, `exists (...)` or `~exists (...)`")
