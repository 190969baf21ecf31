"""Loading the specs: which contract each function has, and which results are accepted.

`specs/<file>.py` holds the contracts of the functions defined in `asm/<file>.s` (the board
layer's `asm/board/virt/board.s` has `specs/board/virt/board.py`). Each defines `CONTRACTS`,
a dict from function name to a contract; a function not named there gets the default
AAPCS64 contract. `specs/accepted.toml` lists results that may pass the gate although they
are not PROVED, each with a written reason.
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .program import Program


class SpecError(Exception):
    """A spec or the acceptance file is wrong; the message says where and what."""


@dataclass(frozen=True)
class NotCallable:
    """The function is not entered by a call (entry point, vector, handler): no AAPCS64
    contract applies. Its instructions are still audited."""
    reason: str


@dataclass(frozen=True)
class Aapcs64:
    """The default contract of a callable function (see verify/abi.py)."""


@dataclass(frozen=True)
class Acceptance:
    function: str
    verdict: str
    reason: str


ACCEPTABLE = ("UNKNOWN", "BOUNDED")


def spec_path(root: Path, source: str) -> Path:
    rel = Path(source)
    if rel.parts and rel.parts[0] == "asm":
        rel = Path(*rel.parts[1:])
    return root / "specs" / rel.with_suffix(".py")


def _load_module(path: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"actly_spec_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise SpecError(f"{path}: cannot be loaded: {exc}") from exc
    contracts = getattr(module, "CONTRACTS", None)
    if not isinstance(contracts, dict):
        raise SpecError(f"{path}: must define CONTRACTS, a dict from function name to contract")
    return contracts


def contracts_for(program: Program, root: Path) -> dict[str, object]:
    """Every function's contract; an error for a spec naming a function that is not there."""
    by_file: dict[Path, list[str]] = {}
    for name, func in program.functions.items():
        source = program.line(func.addr).rsplit(":", 1)[0]
        by_file.setdefault(spec_path(root, source), []).append(name)
    result: dict[str, object] = {}
    for path, names in by_file.items():
        declared = _load_module(path) if path.is_file() else {}
        stale = sorted(set(declared) - set(names))
        if stale:
            raise SpecError(f"{path}: names {', '.join(stale)}, which the matching asm file does "
                            "not define as a function; remove or rename the entry")
        for name in names:
            contract = declared.get(name, Aapcs64())
            if not isinstance(contract, (NotCallable, Aapcs64)):
                raise SpecError(f"{path}: {name}: unknown contract {contract!r}")
            result[name] = contract
    return result


def load_acceptances(root: Path) -> dict[str, Acceptance]:
    path = root / "specs" / "accepted.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    out = {}
    for name, entry in data.items():
        verdict = entry.get("verdict") if isinstance(entry, dict) else None
        reason = (entry.get("reason") or "").strip() if isinstance(entry, dict) else ""
        if verdict not in ACCEPTABLE:
            raise SpecError(f"{path}: [{name}] verdict must be one of {', '.join(ACCEPTABLE)} "
                            "(a FAILED result is never accepted)")
        if not reason:
            raise SpecError(f"{path}: [{name}] needs a written reason")
        out[name] = Acceptance(name, verdict, reason)
    return out
