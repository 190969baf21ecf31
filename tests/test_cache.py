"""The proof cache: unchanged proofs are reused; any change they depend on re-proves them."""

from __future__ import annotations

import json
import shutil

from verify import cache

from verify.cli import main

from conftest import copy_tree

FUNCTIONS = ["uart_newline", "board_putc", "print_unlock"]


def prove(root):
    assert main(["--root", str(root), "build"]) == 0
    assert main(["--root", str(root), "prove", *FUNCTIONS]) == 0
    return {f: json.loads((root / "reports" / f"{f}.json").read_text())["cached"]
            for f in FUNCTIONS}


def test_unchanged_run_is_all_cached_and_changes_invalidate(tmp_path):
    root = copy_tree(tmp_path)
    assert prove(root) == {f: False for f in FUNCTIONS}
    assert prove(root) == {f: True for f in FUNCTIONS}

    # board_putc's bytes change: it and uart_newline (which calls it) are proved again.
    board = root / "asm" / "board" / "virt" / "board.s"
    board.write_text(board.read_text().replace("FUNC board_putc\n", "FUNC board_putc\n    nop\n"))
    assert prove(root) == {"uart_newline": False, "board_putc": False, "print_unlock": True}

    # A spec module changes: the functions it specifies are proved again.
    spec = root / "specs" / "uart.py"
    spec.write_text('"""Contracts of asm/uart.s."""\n\nCONTRACTS = {}\n')
    assert prove(root) == {"uart_newline": False, "board_putc": True, "print_unlock": False}


def test_no_cache_proves_again(tmp_path):
    root = copy_tree(tmp_path)
    prove(root)
    assert main(["--root", str(root), "prove", "--no-cache", *FUNCTIONS]) == 0
    assert not json.loads((root / "reports" / "board_putc.json").read_text())["cached"]


def test_a_spec_edited_during_a_run_keys_nothing_proved_under_its_old_text(abi_cases, tmp_path):
    """The cache hashes a spec once per run, when first read: results proved under the old
    text are not stored under the new one; the next run sees the edit."""
    from verify.cache import ProofCache
    spec = tmp_path / "specs" / "abi_cases.py"
    spec.parent.mkdir()
    spec.write_text("CONTRACTS = {}\n")
    run = ProofCache(tmp_path / "cache", abi_cases, tmp_path)
    before = run.key("string_length", spec, [], [])
    spec.write_text("CONTRACTS = {}  # edited\n")
    assert run.key("string_length", spec, [], []) == before
    assert ProofCache(tmp_path / "cache", abi_cases, tmp_path).key(
        "string_length", spec, [], []) != before


def test_the_verifier_key_covers_what_proves_and_only_that(tmp_path, monkeypatch):
    """Proofs are keyed by the modules that decide verdicts and what they import: editing
    the prover changes the key, editing the mutation tester or the CLI does not."""
    copy = tmp_path / "verify"
    shutil.copytree(cache.VERIFY_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "VERIFY_DIR", copy)

    def key() -> str:
        cache.verifier_hash.cache_clear()
        return cache.verifier_hash()
    names = {p.name for p in cache.proof_modules()}
    assert {"prove.py", "explore.py", "machine.py", "semantics.py", "overlay.py",
            "intervals.py", "spec.py"} <= names and not {"cli.py", "mutants.py"} & names
    before = key()
    for unrelated in ("mutants.py", "cli.py"):
        (copy / unrelated).write_text((copy / unrelated).read_text() + "\n# edited\n")
    assert key() == before
    (copy / "intervals.py").write_text((copy / "intervals.py").read_text() + "\n# edited\n")
    assert key() != before
    cache.verifier_hash.cache_clear()
