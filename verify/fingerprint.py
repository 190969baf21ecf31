"""What decides a cached result: the verify/ modules that compute it and the tools' versions.

Each cache (proofs, difftest, the weak-memory engine's outcomes, the litmus semantics check)
is keyed by the hash of the modules its results come from, found by following imports, so
that editing one part of the verifier does not throw away what another part decided.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

VERIFY_DIR = Path(__file__).resolve().parent
TOOLS = ("angr", "pyvex", "z3-solver", "unicorn", "capstone", "pyelftools")   # versions key
# what else changes how those tools behave, with the value the verifier sets when it is unset
SETTINGS = {"UC_IGNORE_REG_BREAK": "1"}


def atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file of its own, so that a reader (or a second writer) never
    sees half an entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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


def modules(*roots: str) -> list[Path]:
    """The verify/ modules named (relative to verify/) and those they import, transitively."""
    seen: set[Path] = set()
    todo = [VERIFY_DIR / name for name in roots]
    while todo:
        path = todo.pop().resolve()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        todo += _imported(path)
    return sorted(seen)


@lru_cache(maxsize=None)
def modules_hash(*roots: str) -> str:
    """What decides the results of the code in `roots`: its modules' source, the tools'
    versions and Python's. A cache of those results is keyed by it. Read once per process:
    `fresh_modules_hash` reads the files again."""
    return fresh_modules_hash(*roots)


def fresh_modules_hash(*roots: str) -> str:
    h = hashlib.sha256(f"python {sys.version}".encode())
    for tool in TOOLS:
        try:
            h.update(f"{tool} {importlib.metadata.version(tool)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{tool} absent".encode())
    for name, default in SETTINGS.items():
        h.update(f"{name}={os.environ.get(name, default)}".encode())
    for path in modules(*roots):
        h.update(str(path.relative_to(VERIFY_DIR)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


