"""The runtime's own proofs catch planted bugs: each breaks `verify all` with a counterexample.

- skip saving x21 in the voluntary switch: the round trip gives A a wrong x21;
- drop the tail update in runq_push: its postcondition breaks (the tail is not the pushed
  node);
- pick normal before high in runq_choose: BEAM's pick order breaks.
"""

from __future__ import annotations

import re

from verify.cli import main

from conftest import PLANTED_ALL, copy_tree

PLANTS = {
    # (file, text, replacement)
    "yield": ("asm/yield.s", "    stp     x21, x22, [x11, #(FRAME_X19 + 16)]\n",
              "    str     x22, [x11, #(FRAME_X19 + 24)]\n"),
    "runq_push": ("asm/scheduler.s", "    str     x1, [x0, #RUNQ_TAIL]\n    ldr     x2, [x0, #RUNQ_LEN]",
                  "    ldr     x2, [x0, #RUNQ_LEN]"),
    "runq_choose": ("asm/scheduler.s", "    rbit    w0, w0\n    clz     w0, w0",
                    "    tst     w0, #MASK_NORMAL\n    b.ne    .Lrunq_choose_normal\n"
                    "    rbit    w0, w0\n    clz     w0, w0"),
}
CHOOSE_NORMAL = """.Lrunq_choose_none:"""
CHOOSE_NORMAL_PLANT = """.Lrunq_choose_normal:
    mov     w0, #RUNQ_NORMAL
    ret
.Lrunq_choose_none:"""


def plant(root):
    for name, (source, text, replacement) in PLANTS.items():
        path = root / source
        body = path.read_text()
        assert body.count(text) == 1, f"the plant for {name} no longer matches {source}"
        body = body.replace(text, replacement)
        if name == "runq_choose":
            body = body.replace(CHOOSE_NORMAL, CHOOSE_NORMAL_PLANT)
        path.write_text(body)


def test_planted_bugs_fail_verify_all_with_counterexamples(tmp_path, capsys, caches):
    root = copy_tree(tmp_path, caches)
    plant(root)
    assert main(["--root", str(root), "all", *PLANTED_ALL]) == 1
    out = capsys.readouterr().out
    assert not (root / "build" / "actly.img").exists()
    for name in PLANTS:
        assert re.search(rf"{name} \(asm/\w+\.s:\d+\): FAILED", out), (name, out)
        report = (root / "reports" / f"{name}.md").read_text()
        assert f"# {name}: FAILED" in report and "## Counterexample" in report, report
    assert "round trip: x21 differs from A on entry" in (root / "reports" / "yield.md").read_text()
    for name in ("runq_push", "runq_choose"):
        assert "postcondition does not hold" in (root / "reports" / f"{name}.md").read_text()


def prove_planted(tmp_path, source: str, text: str, replacement: str, function: str):
    """Prove `function` in a copy of the tree with `text` in `source` replaced."""
    from verify.check import prove_one
    from verify.heap import HeapInvariant
    from verify.program import Program
    from verify.spec import contracts_for, heap_links
    root = copy_tree(tmp_path)
    path = root / source
    body = path.read_text()
    assert body.count(text) == 1, f"the plant no longer matches {source}"
    path.write_text(body.replace(text, replacement))
    assert main(["--root", str(root), "build"]) == 0
    program = Program(root / "build" / "actly.elf", root)
    return prove_one(program, function, contracts_for(program, root), 60,
                     HeapInvariant(program, heap_links(root)))


def test_a_blocking_call_is_held_to_what_it_leaves_on_switching_out(tmp_path):
    # periodic_wait that forgets to keep its next deadline: after the switch nothing of it
    # can be seen, so only the contract's switch_out, checked where it enters yield, sees it
    result = prove_planted(tmp_path, "asm/timer.s", "    str     x1, [x20, #PCB_PERIOD_DEADLINE]\n",
                           "    nop\n", "periodic_wait")
    assert result.verdict != "PROVED"
    assert any("on switching out" in reason and "asm/yield.s" in reason
               for reason in result.reasons), result.reasons


def test_a_broken_postcondition_over_a_register_unicorn_lacks_fails_without_a_replay(tmp_path):
    # board_irq_init_core returns -1 where no redistributor is its core's: the replay
    # returns, but the postcondition reads the CPU interface's registers (ICC_SRE_EL1...),
    # which unicorn has not, so it cannot judge it (it used to crash)
    none = ".Lboard_irq_init_core_none:\n"
    result = prove_planted(tmp_path, "asm/board/virt/board.s", none + "    mov     x0, #0\n",
                           none + "    mov     x0, #-1\n", "board_irq_init_core")
    assert result.verdict == "FAILED", result.reasons
    assert result.counterexample.replay_status == "not replayable"
    assert "system register unicorn cannot" in result.counterexample.replay
