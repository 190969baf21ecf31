"""Proof cache: an unchanged function under an unchanged spec and verifier is not re-proved.

A result is reused only when all of these are as they were: the bytes and address of the
function and of every function its proof ran through (`Result.depends_on`), the symbols and
constants its spec read (`Result.layout`), the machine configuration, the source of its spec
module and of the acceptance file, and the verifier's own source. Anything else is a miss,
and the function is proved again.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from .program import Program
from .prove import BUDGET_REASON, Counterexample, Result, TraceRow
from .spec import heap_file, spec_file as spec_of

VERIFY_DIR = Path(__file__).resolve().parent


# The modules that decide a function's verdict; the hash covers these and every module of
# verify/ they import (directly or not), so that editing the CLI, the mutation tester or
# the weak-memory engine does not throw away every proof.
# harness/spec.py: the spec modules import it beside verify.spec.
PROOF_ROOTS = ("check.py", "cache.py", "prove.py", "roundtrip.py", "harness/spec.py")


def _imported(path: Path) -> list[Path]:
    """The verify/ modules one file imports (any form: relative or `verify.`, at the top or
    inside a function), as files; a package counts as its __init__.py."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = path.parent
                for _ in range(node.level - 1):
                    base = base.parent
            elif (node.module or "").split(".")[0] == "verify":
                base = VERIFY_DIR.parent
            else:
                continue
            module = base.joinpath(*(node.module or "").split(".")) if node.module else base
            out += [module.with_suffix(".py"), module / "__init__.py"]
            out += [module / f"{a.name}.py" for a in node.names]   # `from pkg import mod`
        elif isinstance(node, ast.Import):
            out += [VERIFY_DIR.parent.joinpath(*a.name.split(".")).with_suffix(".py")
                    for a in node.names if a.name.split(".")[0] == "verify"]
    return [p for p in out if p.is_file() and VERIFY_DIR in p.resolve().parents]


def proof_modules() -> list[Path]:
    """PROOF_ROOTS and the verify/ modules they import, transitively."""
    seen: set[Path] = set()
    todo = [VERIFY_DIR / name for name in PROOF_ROOTS]
    while todo:
        path = todo.pop().resolve()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        todo += _imported(path)
    return sorted(seen)


@lru_cache(maxsize=1)
def verifier_hash() -> str:
    h = hashlib.sha256()
    for path in proof_modules():
        h.update(str(path.relative_to(VERIFY_DIR)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


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

    def _code(self, name: str) -> str | None:
        f = self.program.functions.get(name)
        return f"{f.addr:x}:{f.bytes_hash}" if f else None

    def key(self, name: str, spec_file: Path, depends_on: list[str], layout: list[str]) -> str:
        parts = [verifier_hash(), repr(self.program.config), self._hash(spec_file),
                 self._hash(self.root / "specs" / "accepted.toml"),
                 self._hash(heap_file(self.root)), name]
        for dep in sorted(set(depends_on) | {name}):
            # Its code, and its contract: a caller may have taken a call of it by contract.
            parts.append(f"{dep}={self._code(dep)}")
            if dep in self.program.functions:
                parts.append(f"{dep} spec={self._hash(spec_of(self.program, self.root, dep))}")
        parts += [f"{sym}@{self.program.address_of(sym)}" for sym in sorted(layout)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

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
            return _result_from(entry["result"])
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable entry is a miss, never a result

    def put(self, result: Result, spec_file: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = self.key(result.function, spec_file, list(result.depends_on), list(result.layout))
        self._path(result.function).write_text(json.dumps({"key": key, "result": asdict(result)}))


def _result_from(data: dict) -> Result:
    cx = data.get("counterexample")
    if cx is not None:
        cx = Counterexample(**dict(cx, trace=[TraceRow(**row) for row in cx["trace"]],
                                   memory=[tuple(m) for m in cx["memory"]]))
    return Result(**dict(data, counterexample=cx))
