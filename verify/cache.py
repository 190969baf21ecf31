"""Proof cache: an unchanged function under an unchanged spec and verifier is not re-proved.

A result is reused only when all of these are as they were: the code of the function and of
every function its proof ran through (`Result.depends_on`), each branch into another function
named by its target (function and offset) rather than its distance, what every other
PC-relative instruction among them reaches (data by address, code by its distance from the
function), the symbols and constants its spec read
(`Result.layout`), the machine configuration, the source of its spec module and of the
acceptance file, and the verifier's own source. Anything else is a miss, and the function is
proved again.

Where the function itself lies is not part of the key: code moved as a whole (an instruction
added in a function before it) computes the same thing relative to itself, and the proof
reads code addresses only as pc values, branch targets and return addresses, never through
the spec; nor is where its callees lie, which its branches name. So a one-line change
re-proves that function and those whose proofs ran through it, not every function after it
nor every caller whose calls now cross it. A result moved so, or whose source lines moved, is taken
with its source references rewritten to the new lines; one with a counterexample (which
holds addresses and values of the run) is taken only where nothing moved.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

from .fingerprint import modules, modules_hash
from .program import Program
from .prove import BUDGET_REASON, Counterexample, Result, TraceRow
from .spec import heap_file, spec_file as spec_of

# The modules that decide a function's verdict; the hash covers these and every module of
# verify/ they import (directly or not), so that editing the CLI, the mutation tester or
# the weak-memory engine does not throw away every proof.
# harness/spec.py: the spec modules import it beside verify.spec.
PROOF_ROOTS = ("check.py", "cache.py", "prove.py", "roundtrip.py", "harness/spec.py")


def proof_modules() -> list[Path]:
    return modules(*PROOF_ROOTS)


def verifier_hash() -> str:
    return modules_hash(*PROOF_ROOTS)


def pc_target(word: int, addr: int) -> int | None:
    """Where a PC-relative instruction at addr reaches: a branch's target, the address an
    ADR, ADRP or literal load computes; None for any other instruction."""
    def signed(value: int, bits: int) -> int:
        return value - (1 << bits) if value >> (bits - 1) else value
    if word & 0x7C000000 == 0x14000000:                         # b, bl
        return addr + 4 * signed(word & 0x3FFFFFF, 26)
    if word & 0xFF000010 == 0x54000000 or word & 0x7E000000 == 0x34000000 \
            or word & 0x3B000000 == 0x18000000:                 # b.cond, cbz/cbnz, ldr literal
        return addr + 4 * signed((word >> 5) & 0x7FFFF, 19)
    if word & 0x7E000000 == 0x36000000:                         # tbz, tbnz
        return addr + 4 * signed((word >> 5) & 0x3FFF, 14)
    if word & 0x1F000000 == 0x10000000:                         # adr, adrp
        imm = signed(((word >> 5) & 0x7FFFF) << 2 | (word >> 29) & 3, 21)
        return (addr & ~0xFFF) + (imm << 12) if word >> 31 else addr + imm
    return None


def BRANCH_FIELDS(word: int) -> int | None:
    """A direct branch's word without its offset (what it is, its condition or register);
    None for anything else."""
    if word & 0x7C000000 == 0x14000000:                         # b, bl
        return word & 0xFC000000
    if word & 0xFF000010 == 0x54000000 or word & 0x7E000000 == 0x34000000:
        return word & 0xFF00001F                                # b.cond; cbz, cbnz
    if word & 0x7E000000 == 0x36000000:                         # tbz, tbnz
        return word & 0xFFF8001F
    return None


SOURCE_REF = re.compile(r"[\w./-]+\.(?:s|S|inc):\d+")
MOVABLE = ("PROVED", "BOUNDED", "UNKNOWN")   # results taken from moved code (no counterexample)
NUMBERS = ("seconds", "budget", "paths", "layout", "depends_on")   # fields that are no sentences


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


class ProofCache:
    def __init__(self, directory: Path, program: Program, root: Path):
        self.directory = directory
        self.program = program
        self.root = root
        # Each file's hash as first read in this run: a spec edited while its proofs run must
        # not key results proved under the old text.
        self._hashes: dict[Path, str] = {}

    def _hash(self, path: Path) -> str:
        if path not in self._hashes:
            self._hashes[path] = _file_hash(path)
        return self._hashes[path]

    def _deps(self, name: str, depends_on: list[str]) -> list:
        return [self.program.functions.get(d) for d in sorted(set(depends_on) | {name})]

    def key(self, name: str, spec_file: Path, depends_on: list[str], layout: list[str]) -> str:
        parts = [verifier_hash(), repr(self.program.config), self._hash(spec_file),
                 self._hash(self.root / "specs" / "accepted.toml"),
                 self._hash(heap_file(self.root)), name]
        # Where every proof's output ports come from (a store there prints).
        parts += [self._hash(path) for path in self.program.stream_files]
        deps = self._deps(name, depends_on)
        anchor = self.program.functions[name].addr if name in self.program.functions else 0
        for dep, f in zip(sorted(set(depends_on) | {name}), deps):
            # Its code, and its contract: a caller may have taken a call of it by contract.
            parts.append(f"{dep}={self._code(f, anchor)}" if f else f"{dep}=absent")
            if f is not None:
                parts.append(f"{dep} spec={self._hash(spec_of(self.program, self.root, dep))}")
        for sym in sorted(layout):
            # A code symbol (a function's entry, a label the spec names) moves with the code.
            value = self.program.layout_value(sym)
            code = "/" not in sym and value is not None and self.program.function_at(value)
            parts.append(f"{sym}@code{value - anchor:+x}" if code else f"{sym}@{value}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _code(self, f, anchor: int) -> str:
        """A function's code as a proof reads it, wherever it and the others lie. A branch
        into another function is named by that function and the offset in it (where it then
        goes, and its return address, are relative to the code). Any other pc-relative
        instruction keeps what it reaches: data by address; code by its distance from the
        function proved and by the function there (an address taken as a value may be
        compared, stored or called). So does the end: the function a path running off it
        goes on into."""
        h = hashlib.sha256(f"{f.size};".encode())
        words = [int.from_bytes(f.code[off:off + 4], "little") for off in range(0, f.size, 4)]
        # Words its literal loads read are data, whatever they would decode as.
        literals = {pc_target(w, f.addr + 4 * k) for k, w in enumerate(words)
                    if w & 0x3B000000 == 0x18000000}
        for off, word in zip(range(0, f.size, 4), words):
            target = None if f.addr + off in literals else pc_target(word, f.addr + off)
            page = None
            if target is not None and word & 0x9F000000 == 0x90000000:
                # ADRP + ADD #lo12 of the same register builds one address; an ADRP alone
                # only a page, whose code is keyed where it lies
                nxt = words[off // 4 + 1] if off + 4 < f.size else 0
                rd = word & 0x1F
                if nxt & 0xFFC00000 == 0x91000000 and nxt & 0x1F == rd and \
                        (nxt >> 5) & 0x1F == rd:
                    target += (nxt >> 10) & 0xFFF
                else:
                    page, target = target, None
            callee = self.program.function_at(target) if target is not None else None
            if page is not None:
                code = sorted((g for g in self.program.functions.values()
                               if g.addr < page + 0x1000 and g.end > page), key=lambda g: g.addr)
                h.update(f"{word:08x}@{page:x}:".encode() + "".join(
                    f"{g.name}@code{g.addr - anchor:+x};" for g in code).encode())
                continue
            if target is None or f.contains(target) and BRANCH_FIELDS(word) is not None:
                h.update(f"{word:08x};".encode())
            elif BRANCH_FIELDS(word) is not None and callee is not None:
                h.update(f"{BRANCH_FIELDS(word):08x}>{callee.name}+{target - callee.addr:x};"
                         .encode())
            elif callee is not None:
                h.update(f"{word:08x}@code{target - anchor:+x}={callee.name}"
                         f"+{target - callee.addr:x};".encode())
            else:
                h.update(f"{word:08x}@{target:x};".encode())
        after = self.program.function_at(f.end)
        h.update(f"then {after.name if after and after.addr == f.end else '-'}".encode())
        return h.hexdigest()

    def _where(self, name: str, depends_on: list[str]) -> dict:
        """Where the code lies: the function's address and its callees', and each
        instruction's source line."""
        deps = list(filter(None, self._deps(name, depends_on)))
        lines = {f.name: [self.program.line(a) for a in range(f.addr, f.end, 4)] for f in deps}
        return {"addr": self.program.functions[name].addr, "lines": lines,
                "addrs": {f.name: f.addr for f in deps}}

    def _moved(self, data: dict, then: dict, now: dict) -> dict | None:
        """The result with its source references rewritten from where the code lay when it
        was proved to where it lies now; None when that cannot be done faithfully."""
        if then == now:
            return data
        if data["verdict"] not in MOVABLE or data.get("counterexample") is not None \
                or data.get("unmodelled") or set(then["lines"]) != set(now["lines"]):
            return None
        mapping: dict[str, str] = {}
        for fn, old in then["lines"].items():
            new = now["lines"][fn]
            if len(old) != len(new):
                return None
            for a, b in zip(old, new):
                if mapping.setdefault(a, b) != b:
                    return None      # one old line is now two: its mentions are ambiguous
        text = json.dumps(data)
        sentences = json.dumps({k: v for k, v in data.items() if k not in NUMBERS})
        if re.search(r"\b0x[0-9a-f]{6,}\b|\b\d{7,}\b", sentences):
            return None              # maybe an address (hex or decimal): it may have moved
        unknown = [m for m in SOURCE_REF.findall(text) if m not in mapping]
        if unknown:
            return None
        return json.loads(SOURCE_REF.sub(lambda m: mapping[m.group(0)], text))

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def get(self, name: str, spec_file: Path, budget: float) -> Result | None:
        """The cached result, if its key matches and it is as good as a proof under `budget`
        would be: an UNKNOWN whose budget ran out counts only for a budget no larger."""
        path = self._path(name)
        if not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text())
            result = entry["result"]
            if entry["key"] != self.key(name, spec_file, list(result["depends_on"]),
                                        list(result["layout"])):
                return None
            ran_out = any(r.startswith(BUDGET_REASON) for r in result["reasons"])
            if ran_out and result.get("budget", 0.0) < budget:
                return None
            result = self._moved(result, entry["where"],
                                 self._where(name, list(result["depends_on"])))
            return None if result is None else _result_from(result)
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable entry is a miss, never a result

    def put(self, result: Result, spec_file: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = self.key(result.function, spec_file, list(result.depends_on), list(result.layout))
        where = self._where(result.function, list(result.depends_on))
        self._path(result.function).write_text(json.dumps({"key": key, "where": where,
                                                           "result": asdict(result)}))


def _result_from(data: dict) -> Result:
    cx = data.get("counterexample")
    if cx is not None:
        cx = Counterexample(**dict(cx, trace=[TraceRow(**row) for row in cx["trace"]],
                                   memory=[tuple(m) for m in cx["memory"]]))
    return Result(**dict(data, counterexample=cx))
