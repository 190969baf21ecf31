"""`verify all` as a gate: a failing proof leaves no image; bad input is refused clearly."""

from __future__ import annotations

import re

from verify.cli import main

from conftest import PLANTED_ALL, ROOT, copy_tree

PLANT_BEFORE_RET = "    mov     x19, xzr\n    ret\nENDFUNC {name}"


def plant_clobber(root, source, name):
    path = root / source
    text = path.read_text()
    marker = f"    ret\nENDFUNC {name}"
    assert marker in text, f"{name} does not end with ret in {source}"
    path.write_text(text.replace(marker, PLANT_BEFORE_RET.format(name=name)))
    lines = path.read_text().splitlines()
    return lines.index(f"ENDFUNC {name}") - 1  # 1-based line number of the planted mov


def test_clobber_fails_gate_and_leaves_no_image(tmp_path, capsys, caches):
    root = copy_tree(tmp_path, caches)
    (root / "build").mkdir(exist_ok=True)
    stale = root / "build" / "actly.img"
    stale.write_bytes(b"stale image from an earlier run")
    line = plant_clobber(root, "asm/uart.s", "uart_puts")

    assert main(["--root", str(root), "all", *PLANTED_ALL]) == 1

    out = capsys.readouterr().out
    assert not stale.exists()
    assert re.search(r"uart_puts \(asm/uart\.s:\d+\): FAILED", out)
    assert "x19 on return differs from x19 on entry" in out
    assert f"asm/uart.s:{line}" in out and "mov x19, xzr" in out
    report = (root / "reports" / "uart_puts.md").read_text()
    assert "# uart_puts: FAILED" in report and "## Counterexample" in report
    junit = (root / "reports" / "junit.xml").read_text()
    # uart_puts fails; so do its callers that took its contract on trust (not PROVED now).
    assert re.search(r'name="uart_puts"[^>]*>\s*<failure message="FAILED: x19 on return', junit)
    import json
    sarif = json.loads((root / "reports" / "verify.sarif").read_text())
    [error] = [f for f in sarif["runs"][0]["results"] if f["level"] == "error"]
    assert error["ruleId"] == "contract-violation" and "uart_puts" in error["message"]["text"]
    steps = error["codeFlows"][0]["threadFlows"][0]["locations"]
    assert {"uri": "asm/uart.s"} == steps[-2]["location"]["physicalLocation"]["artifactLocation"]
    assert steps[-2]["location"]["physicalLocation"]["region"]["startLine"] == line


def test_global_function_without_type_is_an_error(tmp_path, capsys):
    src = tmp_path / "untyped.s"
    src.write_text(".text\n.global untyped\nuntyped:\n    ret\n")
    from verify import build
    from verify.program import Program, ProgramError
    import pytest
    obj, elf = tmp_path / "untyped.o", tmp_path / "untyped.elf"
    build.assemble(src, obj, tmp_path, [])
    build.link([obj], ROOT / "tests" / "fixtures" / "fixture.ld", elf, tmp_path)
    with pytest.raises(ProgramError, match="untyped: global symbol in code without .type/.size"):
        Program(elf, tmp_path)


def test_missing_elf_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "asm").mkdir()
    assert main(["--root", str(tmp_path), "prove"]) == 2
    assert "run `verify build` first" in capsys.readouterr().err


def test_broken_elf_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "asm").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "actly.elf").write_bytes(b"\x7fELF not really")
    assert main(["--root", str(tmp_path), "prove"]) == 2
    assert "not a loadable AArch64 ELF" in capsys.readouterr().err


def test_accepted_unknown_is_shown_as_accepted_never_proved(abi_cases, tmp_path):
    from verify.check import accept
    from verify.prove import Proof
    from verify.report import passes, summary_table
    from verify.spec import Acceptance, aapcs64
    result = Proof(abi_cases, abi_cases.functions["reads_unlisted_sysreg"], aapcs64()).run()
    accept(result, Acceptance("reads_unlisted_sysreg", "UNKNOWN", "vendor register"))
    assert result.accepted == "vendor register" and passes(result)
    row = next(l for l in summary_table([result]).splitlines() if "reads_unlisted" in l)
    assert "UNKNOWN (accepted)" in row and "PROVED" not in row


def test_acceptance_never_covers_a_possible_violation(abi_cases):
    from verify.check import accept
    from verify.prove import Result
    from verify.spec import Acceptance
    result = Result("f", "UNKNOWN", "c", "x.s:1", "0", reasons=[
        "unmodelled instructions: `mrs x0, s3_0_c15_c2_0` at x.s:2",
        "possible violation at x.s:3: x19 on return differs from x19 on entry"])
    accept(result, Acceptance("f", "UNKNOWN", "vendor register"))
    assert not result.accepted


def exported_callable(root):
    """(source, function) for every global function with a contract that keeps x19, except
    those whose proof is accepted unfinished (specs/accepted.toml): a clobber there is not
    something a missing proof can find."""
    from verify import build
    from verify.program import Program
    from verify.spec import Contract, contracts_for, load_acceptances
    layout = build.Layout(root)
    build.build_elf(layout)
    program = Program(layout.elf, root)
    contracts = contracts_for(program, root)
    accepted = load_acceptances(root)
    return [(program.line(f.addr).rsplit(":", 1)[0], name)
            for name, f in program.functions.items()
            if f.exported and isinstance(contracts[name], Contract)
            and not contracts[name].may_change("x19") and name not in accepted]


PLANTED = "    mov     x19, xzr"


def plant_before_every_ret(path, name):
    """Insert `mov x19, xzr` before each ret of the function."""
    lines = path.read_text().splitlines()
    start, end = lines.index(f"FUNC {name}"), lines.index(f"ENDFUNC {name}")
    out = lines[:start]
    for line in lines[start:end]:
        if line.strip() == "ret":
            out.append(PLANTED)
        out.append(line)
    path.write_text("\n".join(out + lines[end:]) + "\n")


def planted_lines(path, name):
    lines = path.read_text().splitlines()
    start, end = lines.index(f"FUNC {name}"), lines.index(f"ENDFUNC {name}")
    return [i + 1 for i in range(start, end) if lines[i] == PLANTED]


def test_clobber_in_every_exported_callable_function_is_caught(tmp_path, capsys, caches):
    import json
    root = copy_tree(tmp_path, caches)
    targets = exported_callable(root)
    assert len(targets) >= 8
    for src, name in targets:
        plant_before_every_ret(root / src, name)
    planted = {name: (src, planted_lines(root / src, name)) for src, name in targets}
    # A function that ends in a tail call has no ret of its own to plant before.
    planted = {name: where for name, where in planted.items() if where[1]}
    assert len(planted) >= 8

    # The proofs are the gate's part that catches a clobber (that `verify all` then fails and
    # writes no image is test_clobber_fails_gate_and_leaves_no_image).
    assert main(["--root", str(root), "build"]) == 0
    assert main(["--root", str(root), "prove", "-j", "2", "--proof-budget", "20"]) == 1
    caught_alone = 0
    for name, (src, lines) in planted.items():
        data = json.loads((root / "reports" / f"{name}.json").read_text())
        through = (set(data["depends_on"]) | set(data["depends_on_contracts"])) - {name}
        if through & set(planted) and data["verdict"] != "FAILED":
            # It calls a function that is broken too, which can change what it does (a
            # callee that zeroes x19 stops a loop counted in x19 from ending): it must not
            # pass, but a counterexample for its own plant is not guaranteed.
            assert data["verdict"] != "PROVED" and not data["accepted"], (name, data)
            continue
        caught_alone += 1
        assert data["verdict"] == "FAILED", (name, data["reasons"])
        cx = data["counterexample"]
        assert cx["sentence"].startswith("x19 on return differs"), name
        mov_rows = [row["line"] for row in cx["trace"] if row["text"] == "mov x19, xzr"]
        assert mov_rows and mov_rows[-1] in {f"{src}:{n}" for n in lines}, (name, mov_rows)
    assert caught_alone >= 30, caught_alone
    # A local function that takes calls of the broken printers by their contracts is not
    # PROVED: it names the contracts it relied on, and the gate does not accept it.
    assert {"uart_puts", "uart_put_dec"} <= set(planted)
    data = json.loads((root / "reports" / "sched_print_field.json").read_text())
    assert data["verdict"] == "UNKNOWN" and not data["accepted"], data
    assert "relies on the contract of uart_puts, which is FAILED" in data["reasons"]
    assert "relies on the contract of uart_put_dec, which is FAILED" in data["reasons"]


def test_store_outside_the_frame_of_a_runtime_function_is_caught(tmp_path, capsys):
    root = copy_tree(tmp_path)
    uart = root / "asm" / "uart.s"
    text = uart.read_text()
    unlock = "    stlr    wzr, [x0]"
    assert unlock in text
    uart.write_text(text.replace(unlock, unlock + "\n    str     wzr, [x0, #4]", 1))
    assert main(["--root", str(root), "build"]) == 0
    assert main(["--root", str(root), "prove", "print_unlock"]) == 1
    out = capsys.readouterr().out
    assert "changes memory outside the MAYCHANGE frame" in out
    assert "confirmed by replay on unicorn" in out


def test_semantics_mismatch_fails_the_gate(tmp_path, monkeypatch, capsys, caches):
    """A difftest mismatch fails `verify all` like a failed proof: no image is written."""
    from verify import cli, difftest
    root = copy_tree(tmp_path, caches)

    def one_mismatch(*args, **kwargs):
        report = difftest.DiffReport(states_per_encoding=1)
        report.mismatches.append(object())
        return report
    monkeypatch.setattr(difftest, "validate_image", one_mismatch)
    monkeypatch.setattr(difftest, "format_report", lambda r: "difftest: 1 mismatches")
    assert cli.main(["--root", str(root), "all"]) == 1
    assert not (root / "build" / "actly.img").exists()
    assert "no image written" in capsys.readouterr().out


def test_caller_of_a_bounded_callee_is_bounded_with_its_reason(caches):
    """sched_core_init takes board_irq_init_core (its redistributor walk bounded by
    MAX_CORES) by contract: it is BOUNDED, never PROVED, and says whose bound it rests on."""
    import json
    reports = caches.parent / "reports"
    callee = json.loads((reports / "board_irq_init_core.json").read_text())
    caller = json.loads((reports / "sched_core_init.json").read_text())
    assert callee["verdict"] == "BOUNDED" and callee["accepted"]
    assert caller["verdict"] == "BOUNDED", caller["reasons"]
    assert "relies on the contract of board_irq_init_core" in caller["accepted"]
    assert "board_irq_init_core" in caller["depends_on_contracts"]


def test_an_unchanged_tree_is_not_decided_again_and_a_change_is(tmp_path, capsys, caches):
    """`verify all` remembers its last pass under everything it reads: run again unchanged,
    it says so and writes the image; a bug planted since, or a report removed, is a full
    run again (the bug fails it)."""
    from conftest import QUICK_ALL
    root = copy_tree(tmp_path, caches)
    assert main(["--root", str(root), "all", *QUICK_ALL]) == 0
    first = capsys.readouterr().out
    assert "every check passed" in first
    assert main(["--root", str(root), "all", *QUICK_ALL]) == 0
    again = capsys.readouterr().out
    assert "nothing changed since the pass of" in again and (root / "build" / "actly.img").is_file()
    assert first.split("verify all: every check passed")[0].strip() in again
    (root / "reports" / "uart_puts.md").unlink()
    assert main(["--root", str(root), "all", *QUICK_ALL]) == 0
    assert "nothing changed" not in capsys.readouterr().out
    assert (root / "reports" / "uart_puts.md").is_file()
    plant_clobber(root, "asm/uart.s", "uart_puts")        # the same options: only asm/ changed
    assert main(["--root", str(root), "all", *QUICK_ALL]) == 1
    out = capsys.readouterr().out
    assert "nothing changed" not in out and re.search(r"uart_puts \(asm/uart\.s:\d+\): FAILED", out)
    assert not (root / "build" / "actly.img").exists()
