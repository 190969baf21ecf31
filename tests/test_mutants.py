"""`verify mutants`: the bugs it plants, and that the gate's verdict on each is read right."""

from __future__ import annotations

import json

from verify import mutants as mut
from verify.mutants import Mutant, mutations_of
from verify.prove import PROOF_BUDGET

from conftest import ROOT, copy_tree


def ops(line: str, previous: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for operator, new in mutations_of(line, previous):
        out.setdefault(operator, []).append(new.strip())
    return out


def test_each_operator_plants_its_bug():
    assert ops("    b.eq    .Lx")["flipped condition"] == ["b.ne    .Lx"]
    assert ops("    cbz     x2, .Lempty")["flipped condition"] == ["cbnz     x2, .Lempty"]
    assert ops("    csel    w2, w3, w2, eq") == {
        "flipped condition": ["csel w2, w3, w2, ne"], "swapped operands": ["csel w2, w2, w3, eq"]}
    assert ops("    add     x2, x2, #1")["off-by-one"] == ["add x2, x2, #(1)+1",
                                                          "add x2, x2, #(1)-1"]
    assert ops("    str     x1, [x0, #RUNQ_TAIL]")["dropped store"] == ["nop"]
    assert ops("    PUSH2   x19, x20")["skipped save"] == ["sub sp, sp, #16"]
    assert ops("    ldaxr   w1, [x0]")["weakened ordering"] == ["ldxr   w1, [x0]"]
    assert ops("    dmb     ish") == {"dropped barrier": ["nop"],
                                      "weakened ordering": ["dmb ishst"]}
    assert ops("    sub     x0, x1, x2")["swapped operands"] == ["sub x0, x2, x1"]
    status = ops("    cbnz    w2, .Lretry", previous="    stlxr   w2, x1, [x0]")
    assert status["ignored store-exclusive status"] == ["nop"]
    # a cbnz on another register is not the store-exclusive's status check
    assert "ignored store-exclusive status" not in ops("    cbnz    w3, .Lretry",
                                                       previous="    stlxr   w2, x1, [x0]")
    assert ops("    .equ X, 1") == {} and ops("/* str x0, [x1] */") == {}


def test_mutants_stay_inside_functions_and_name_their_line():
    planted = mut.mutants_of_file(ROOT, ROOT / "asm" / "lock.s")
    lines = (ROOT / "asm" / "lock.s").read_text().splitlines()
    assert planted and {m.function for m in planted} == {"spin_lock", "spin_unlock"}
    for m in planted:
        assert lines[m.line - 1] == m.original and m.mutated != m.original


def _mutant(file: str, function: str, operator: str, original_contains: str) -> Mutant:
    for m in mut.mutants_of_file(ROOT, ROOT / file):
        if m.function == function and m.operator == operator and original_contains in m.original:
            return m
    raise AssertionError(f"no {operator} mutant of `{original_contains}` in {function}")


def test_gate_kills_value_and_ordering_bugs_and_reports_survivors(tmp_path, caches):
    root = copy_tree(tmp_path / "tree", caches)
    # The default budget, as the fixture's cache was proved under: with a shorter one a slow
    # machine can cut proc_free's proof, and only a harness would catch the mutant.
    base = mut.baseline(root, PROOF_BUDGET)
    assert "proc_free" in base.passing and "spin_lock_2" in base.harnesses_proved
    # The stale-pid guarantee: the next occupant's pid must be stored (proc_free's contract);
    # a release dropped from the unlock: sequentially the same, caught under Arm's model.
    pid, release = mut.run_all(root, [
        _mutant("asm/process.s", "proc_free", "dropped store", "#PCB_PID]"),
        _mutant("asm/lock.s", "spin_unlock", "weakened ordering", "stlr")],
        1, PROOF_BUDGET, None)
    assert pid.status == mut.KILLED and any(b.startswith("proc_free: FAILED") for b in pid.by), \
        pid.by
    assert release.status == mut.KILLED
    assert any(b.startswith("harness spin_lock_") for b in release.by), release.by
    # A mutant no check can see survives, and lands in the report with its line.
    outcomes = [pid, release, mut.Outcome(release.mutant, mut.SURVIVED)]
    json_path, md_path = mut.write_reports(outcomes, tmp_path / "reports")
    data = json.loads(json_path.read_text())
    assert data["files"]["asm/lock.s"]["survived"] == 1
    assert f"asm/lock.s:{release.mutant.line}" in md_path.read_text()
