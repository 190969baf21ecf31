"""Shared test helpers: build fixtures and the runtime once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from verify import build
from verify.program import Program

ROOT = Path(__file__).resolve().parent.parent
# `verify all` in tests: the semantics check with few states (tests/test_difftest.py covers it)
QUICK_ALL = ["--difftest-states", "20"]
FIXTURES = ROOT / "tests" / "fixtures"


def build_fixture(name: str, out_dir: Path) -> Program:
    """Assemble tests/fixtures/<name>.s (with asm/macros.inc) and load it."""
    obj = out_dir / f"{name}.o"
    elf = out_dir / f"{name}.elf"
    build.assemble(FIXTURES / f"{name}.s", obj, ROOT, [ROOT / "asm"])
    build.link([obj], FIXTURES / "fixture.ld", elf, ROOT)
    return Program(elf, ROOT)


def copy_tree(dest: Path) -> Path:
    """A private copy of the sources and specs, for tests that change them."""
    for part in ("asm", "specs"):
        shutil.copytree(ROOT / part, dest / part)
    return dest


@pytest.fixture(scope="session")
def abi_cases(tmp_path_factory) -> Program:
    return build_fixture("abi_cases", tmp_path_factory.mktemp("abi"))


@pytest.fixture(scope="session")
def verified_image(tmp_path_factory) -> Path:
    """Run `verify all` on a copy of the tree once; the image it writes."""
    from verify.cli import main
    root = copy_tree(tmp_path_factory.mktemp("tree"))
    assert main(["--root", str(root), "all", *QUICK_ALL]) == 0
    return root / "build" / "actly.img"
