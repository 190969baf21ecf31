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


CACHES = ("proof-cache", "harness-cache", "litmus-semantics-cache.json", "difftest-cache.json")


def copy_tree(dest: Path, caches: Path | None = None) -> Path:
    """A private copy of the sources and specs, for tests that change them; with `caches` (a
    build folder), also a copy of its caches, so only what the test changes is decided again
    (each cache keys its results by the code, specs and verifier they depend on)."""
    for part in ("asm", "specs"):
        shutil.copytree(ROOT / part, dest / part)
    for name in CACHES if caches is not None else ():
        source = caches / name
        if source.is_dir():
            shutil.copytree(source, dest / "build" / name)
        elif source.is_file():
            (dest / "build").mkdir(exist_ok=True)
            shutil.copy(source, dest / "build" / name)
    return dest


@pytest.fixture(scope="session")
def gate_tree(tmp_path_factory, request) -> Path:
    """`verify all` once on an untouched copy of the tree: its image and reports, and the
    caches later trees start from. Under pytest-xdist the workers share one (tests only read
    it): the first to need it makes it while the others wait; if it fails, it fails for all."""
    from filelock import FileLock
    from verify.cli import main
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if hasattr(request.config, "workerinput") else base
    root = shared / "gate-tree"
    with FileLock(str(shared / "gate-tree.lock")):
        if (shared / "gate-tree.failed").exists():
            pytest.fail("verify all failed on the untouched tree (in another worker)")
        if not (root / ".passed").exists():
            passed = False
            try:
                copy_tree(root)
                passed = main(["--root", str(root), "all", *QUICK_ALL]) == 0
            finally:            # an exception too: the other workers must not try again
                if not passed:
                    (shared / "gate-tree.failed").touch()
            if not passed:
                pytest.fail("verify all failed on the untouched tree")
            (root / ".passed").touch()
    return root


# The longest tests, started first so that neither worker is left with one at the end.
LONGEST_FIRST = ("test_clobber_in_every_exported_callable_function_is_caught",
                 "test_an_unchanged_tree_is_not_decided_again_and_a_change_is",
                 "test_planted_bugs_fail_verify_all_with_counterexamples",
                 "test_clobber_fails_gate_and_leaves_no_image")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.name not in LONGEST_FIRST)


@pytest.fixture(scope="session")
def caches(gate_tree) -> Path:
    return gate_tree / "build"


@pytest.fixture(scope="session")
def abi_cases(tmp_path_factory) -> Program:
    return build_fixture("abi_cases", tmp_path_factory.mktemp("abi"))


@pytest.fixture(scope="session")
def verified_image(gate_tree) -> Path:
    return gate_tree / "build" / "actly.img"
