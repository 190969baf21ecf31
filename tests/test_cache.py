"""The proof cache: unchanged proofs are reused; any change they depend on re-proves them."""

from __future__ import annotations

import json
import shutil

from verify import cache, fingerprint

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
    shutil.copytree(fingerprint.VERIFY_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "VERIFY_DIR", copy)

    def key() -> str:
        fingerprint.modules_hash.cache_clear()
        return cache.verifier_hash()
    names = {p.name for p in cache.proof_modules()}
    assert {"prove.py", "explore.py", "machine.py", "semantics.py", "overlay.py",
            "intervals.py", "spec.py"} <= names and not {"cli.py", "mutants.py"} & names
    before = key()
    for unrelated in ("mutants.py", "cli.py"):
        (copy / unrelated).write_text((copy / unrelated).read_text() + "\n# edited\n")
    assert key() == before
    semantics = fingerprint.modules_hash("difftest.py")
    (copy / "explore.py").write_text((copy / "explore.py").read_text() + "\n# edited\n")
    assert key() != before       # path exploration decides proofs, not what an instruction does
    assert fingerprint.modules_hash("difftest.py") == semantics
    before = key()
    (copy / "intervals.py").write_text((copy / "intervals.py").read_text() + "\n# edited\n")
    assert key() != before and fingerprint.modules_hash("difftest.py") != semantics
    fingerprint.modules_hash.cache_clear()


def test_code_that_moves_keeps_its_proofs_with_their_lines_moved(tmp_path):
    """An instruction added early in the image moves every function after it: their proofs
    are reused, not redone. Lines added above a function move its source lines: its report
    names the new ones."""
    root = copy_tree(tmp_path)
    prove(root)
    boot = root / "asm" / "boot.s"
    boot.write_text(boot.read_text().replace("FUNC psci_call\n", "FUNC psci_call\n    nop\n"))
    uart = root / "asm" / "uart.s"
    before = json.loads((root / "reports" / "uart_newline.json").read_text())["location"]
    uart.write_text("/* one line more */\n" + uart.read_text())
    assert prove(root) == {f: True for f in FUNCTIONS}
    after = json.loads((root / "reports" / "uart_newline.json").read_text())["location"]
    file, line = before.rsplit(":", 1)
    assert after == f"{file}:{int(line) + 1}"


def _fixture_variant(tmp_path, name, edit):
    from verify import build
    from verify.program import Program
    from conftest import FIXTURES
    root = tmp_path / name
    copy_tree(root)
    src = root / "list_cases.s"
    src.write_text(edit((FIXTURES / "list_cases.s").read_text()))
    obj, elf = root / "list_cases.o", root / "list_cases.elf"
    build.assemble(src, obj, root, [root / "asm"])
    build.link([obj], FIXTURES / "fixture.ld", elf, root)
    return Program(elf, root)


def test_a_function_moved_with_the_data_it_reaches_is_keyed_anew(tmp_path):
    # A word added in list_mark moves everything after it, `shared` (in .bss,
    # right after the code in the fixture's layout) too: wait_rounds' bytes stay the same,
    # but the address its ADR reaches does not, and that is part of the key.
    from verify.cache import ProofCache
    plain = _fixture_variant(tmp_path, "plain", lambda s: s)
    moved = _fixture_variant(tmp_path, "moved", lambda s: s.replace(
        "FUNC list_mark\n", "FUNC list_mark\n    nop\n"))
    f, g = plain.functions["wait_rounds"], moved.functions["wait_rounds"]
    assert g.addr > f.addr and g.code == f.code     # the ADR reaches as far as before
    spec = tmp_path / "none.py"
    keys = [ProofCache(tmp_path / "c", p, tmp_path).key("wait_rounds", spec, [], [])
            for p in (plain, moved)]
    assert keys[0] != keys[1]
    # list_mark_odd moved too, but reaches nothing outside itself: the same key.
    keys = [ProofCache(tmp_path / "c", p, tmp_path).key("list_mark_odd", spec, [], [])
            for p in (plain, moved)]
    assert keys[0] == keys[1]


def test_a_call_that_crosses_a_change_keeps_its_key_and_a_new_target_does_not(tmp_path):
    """A nop in proc_lookup lies between proc_free and the proc_state_free it calls: the call's
    distance changes, what it calls does not, so proc_free keeps its key. Calling another
    function from there, or a change in the callee, is another key."""
    from verify.cache import ProofCache
    from verify.program import Program

    def program(name: str, edit) -> Program:
        root = copy_tree(tmp_path / name)
        process = root / "asm" / "process.s"
        process.write_text(edit(process.read_text()))
        assert main(["--root", str(root), "build"]) == 0
        return Program(root / "build" / "actly.elf", root)
    plain = program("plain", lambda s: s)
    nop = lambda s: s.replace("FUNC proc_lookup\n", "FUNC proc_lookup\n    nop\n")
    crossed = program("crossed", nop)
    elsewhere = program("elsewhere", lambda s: nop(s).replace(
        "    bl      proc_state_free\n", "    bl      proc_state_exit\n", 1))
    callee = program("callee", lambda s: nop(s).replace(
        "FUNC proc_state_free\n", "FUNC proc_state_free\n    nop\n"))
    spec, deps = tmp_path / "none.py", ["proc_state_free", "spin_lock", "spin_unlock"]

    def key(p: Program) -> str:
        return ProofCache(tmp_path / "c", p, tmp_path).key("proc_free", spec, deps, [])
    f, g = plain.functions, crossed.functions
    assert g["proc_free"].addr - g["proc_state_free"].addr != \
        f["proc_free"].addr - f["proc_state_free"].addr
    assert key(crossed) == key(plain)
    assert key(elsewhere) != key(plain) and key(callee) != key(plain)


def _tiny(tmp_path, name: str, body: str):
    from verify import build
    from verify.program import Program
    from conftest import FIXTURES, ROOT
    src, obj, elf = (tmp_path / f"{name}{ext}" for ext in (".s", ".o", ".elf"))
    src.write_text('    .include "macros.inc"\n    .text\n' + body)
    shutil.copy(ROOT / "asm" / "macros.inc", tmp_path)
    build.assemble(src, obj, tmp_path, [tmp_path])
    build.link([obj], FIXTURES / "fixture.ld", elf, tmp_path)
    return Program(elf, tmp_path)


def test_an_address_taken_and_the_code_run_into_are_keyed_by_what_lies_there(tmp_path):
    """Swapping two functions of one size keeps every word of a function that takes the
    address of the first (ADR) or runs off its end into it: the key names the function now
    there, so the proof is not reused."""
    from verify.cache import ProofCache
    h = "FUNC h\n    ret\nENDFUNC h\n"
    k = "FUNC k\n    mov x0, #1\nENDFUNC k\n"
    taker = "FUNC f\n    adr x1, {0}\n    br x1\nENDFUNC f\n"
    runner = "FUNC g\n    mov x0, #0\nENDFUNC g\n"
    spec = tmp_path / "none.py"
    for fn, code in (("f", taker), ("g", runner)):
        first = _tiny(tmp_path, f"{fn}1", code.format("h") + h + k)
        swapped = _tiny(tmp_path, f"{fn}2", code.format("k") + k + h)
        assert first.functions[fn].code == swapped.functions[fn].code
        keys = [ProofCache(tmp_path / "c", p, tmp_path).key(fn, spec, ["h"], [])
                for p in (first, swapped)]
        assert keys[0] != keys[1], fn


def test_pc_relative_targets_agree_with_the_disassembler(tmp_path):
    from verify.cache import pc_target
    from conftest import build_fixture
    import re
    program = build_fixture("list_cases", tmp_path)
    seen = 0
    for func in program.functions.values():
        for insn in program.instructions(func):
            target = pc_target(insn.word, insn.addr)
            mnemonic = insn.text.split()[0]
            relative = mnemonic in ("b", "bl", "cbz", "cbnz", "tbz", "tbnz", "adr", "adrp") \
                or mnemonic.startswith("b.") \
                or (mnemonic in ("ldr", "ldrsw", "prfm") and "[" not in insn.text)
            assert (target is not None) == relative, insn.text
            if target is not None:
                seen += 1
                assert int(re.findall(r"#0x([0-9a-f]+)", insn.text)[-1], 16) == target, insn.text
    assert seen >= 16
