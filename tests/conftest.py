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
# `verify all` on a tree with planted bugs: the planted code shifts what follows it, so most
# functions are proved again; a short budget keeps that quick (a function it cuts short is
# UNKNOWN, which fails the gate as the test expects anyway, and is never PROVED).
PLANTED_ALL = QUICK_ALL + ["-j", "2", "--proof-budget", "20"]
FIXTURES = ROOT / "tests" / "fixtures"


def build_fixture(name: str, out_dir: Path) -> Program:
    """Assemble tests/fixtures/<name>.s (with asm/macros.inc) and load it."""
    obj = out_dir / f"{name}.o"
    elf = out_dir / f"{name}.elf"
    build.assemble(FIXTURES / f"{name}.s", obj, ROOT, [ROOT / "asm"])
    build.link([obj], FIXTURES / "fixture.ld", elf, ROOT)
    return Program(elf, ROOT)


def copy_tree(dest: Path, proof_cache: Path | None = None) -> Path:
    """A private copy of the sources and specs, for tests that change them; with
    `proof_cache`, also a copy of a proof cache, so only what the test changes is proved again
    (the cache keys every proof by the code, specs and verifier it depends on)."""
    for part in ("asm", "specs"):
        shutil.copytree(ROOT / part, dest / part)
    if proof_cache is not None and proof_cache.is_dir():
        shutil.copytree(proof_cache, dest / "build" / "proof-cache")
    return dest


@pytest.fixture(scope="session")
def proof_cache(tmp_path_factory) -> Path:
    """Every function proved once, on an untouched copy of the tree: the cache later trees
    start from."""
    from verify.cli import main
    root = copy_tree(tmp_path_factory.mktemp("cache"))
    assert main(["--root", str(root), "build"]) == 0
    main(["--root", str(root), "prove", "-j", "2"])
    return root / "build" / "proof-cache"


@pytest.fixture(scope="session")
def abi_cases(tmp_path_factory) -> Program:
    return build_fixture("abi_cases", tmp_path_factory.mktemp("abi"))


@pytest.fixture(scope="session")
def verified_image(tmp_path_factory, proof_cache) -> Path:
    """Run `verify all` on a copy of the tree once; the image it writes."""
    from verify.cli import main
    root = copy_tree(tmp_path_factory.mktemp("tree"), proof_cache)
    assert main(["--root", str(root), "all", *QUICK_ALL]) == 0
    return root / "build" / "actly.img"
