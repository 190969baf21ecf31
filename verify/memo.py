"""The gate's memory of its last pass: `verify all` with nothing changed does not decide again.

A pass is remembered under everything the gate reads: the ELF it built, every file of asm/
(its source lines are in the reports), specs/ and litmus/, the verifier's source and the
tools' versions, and the options it ran with. The reports it wrote are hashed too, so a
report deleted or edited since makes the next run a full one. The key is taken again when the
run ends, and a pass is kept only if nothing it read was edited while it ran. Only passes are
kept: a failing gate always runs again and shows its failures.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from .build import Layout
from .fingerprint import atomic_write, fresh_modules_hash

READ = ("asm", "specs", "litmus")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _tree_hash(root: Path, folders: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for path in _files(root / folder):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def gate_key(layout: Layout, options: dict) -> str:
    parts = [fresh_modules_hash("cli.py"), json.dumps(options, sort_keys=True, default=str),
             hashlib.sha256(layout.elf.read_bytes()).hexdigest(),
             _tree_hash(layout.root, READ)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _path(layout: Layout) -> Path:
    return layout.build / "gate-memo.json"


def recall(layout: Layout, key: str) -> dict | None:
    """The last pass under `key`, if the reports it wrote are still as it left them."""
    try:
        memo = json.loads(_path(layout).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(memo, dict) or memo.get("key") != key or \
            memo.get("reports") != _tree_hash(layout.root, ("reports",)):
        return None
    return memo


def remember(layout: Layout, key: str, output: str) -> None:
    memo = {"key": key, "reports": _tree_hash(layout.root, ("reports",)), "output": output,
            "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic_write(_path(layout), json.dumps(memo).encode())


def forget(layout: Layout) -> None:
    _path(layout).unlink(missing_ok=True)
