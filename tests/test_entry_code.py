"""Entry code (a boot path, runtime_main) is proved from its first instruction to each
hand-off: the call or branch it leaves by, where its contract's condition must hold; it may
park only where the contract allows, and never return."""

from test_switch_proofs import prove_planted


def test_a_secondary_without_a_stack_reaching_the_scheduler_is_caught(tmp_path):
    # secondary_entry lets core index MAX_CORES through to runtime_main
    result = prove_planted(tmp_path, "asm/boot.s", "    b.hs    .Lsecondary_entry_park",
                           "    b.hi    .Lsecondary_entry_park", "secondary_entry")
    assert result.verdict == "FAILED"
    assert "hand-off to runtime_main" in result.counterexample.sentence


def test_the_boot_core_parking_is_caught(tmp_path):
    # runtime_main takes core 1 for the boot core: core 0, in the product image, parks
    result = prove_planted(tmp_path, "asm/runtime.s", "    cmp     x19, #BOOT_CORE_INDEX\n",
                           "    cmp     x19, #(BOOT_CORE_INDEX + 1)\n", "runtime_main")
    assert result.verdict == "FAILED"
    assert "parks" in result.counterexample.sentence or \
        "hand-off" in result.counterexample.sentence


def test_entry_code_that_never_hands_off_is_not_proved(tmp_path):
    # secondary_entry returns instead of calling runtime_main: its x30 leads back into it
    # (after the call of boot_drop_to_el1), so no path reaches the hand-off
    result = prove_planted(tmp_path, "asm/boot.s",
                           "    mov     x0, x19\n    bl      runtime_main                    "
                           "/* does not return */\n.Lsecondary_entry_park:",
                           "    mov     x0, x19\n    ret\n.Lsecondary_entry_park:",
                           "secondary_entry")
    assert result.verdict != "PROVED"
    assert any("hands off" in r for r in result.reasons)


def test_the_wrong_psci_conduit_recorded_at_boot_is_caught(tmp_path):
    # boot_primary_entry records HVC whatever the entry EL
    result = prove_planted(tmp_path, "asm/boot.s", "    csel    x1, x2, x1, eq\n",
                           "    csel    x1, x1, x1, eq\n", "boot_primary_entry")
    assert result.verdict in ("FAILED", "UNKNOWN")
    assert result.verdict == "FAILED" or any("hand-off to runtime_main" in r
                                             for r in result.reasons)


def test_entry_code_that_returns_is_caught(tmp_path):
    # runtime_main returns to boot at once instead of setting the core up
    result = prove_planted(tmp_path, "asm/runtime.s",
                           "    mov     x19, x0                         /* never returns: "
                           "nothing of the caller's to save */\n",
                           "    ret\n", "runtime_main")
    assert result.verdict == "FAILED"
    assert "it returns, though nothing called it" in result.counterexample.sentence


def test_a_hand_off_to_a_function_that_returns_is_refused(tmp_path):
    import pytest
    from conftest import copy_tree
    from verify.cli import main
    from verify.program import Program
    from verify.spec import SpecError, contracts_for
    root = copy_tree(tmp_path)
    spec = root / "specs" / "runtime.py"
    text = spec.read_text()
    assert text.count('handoff={"sched_start":') == 1
    spec.write_text(text.replace('handoff={"sched_start":',
                                 'handoff={"spawn": lambda e, x: z3.BoolVal(True), '
                                 '"sched_start":'))
    assert main(["--root", str(root), "build"]) == 0
    with pytest.raises(SpecError, match="hands off to spawn, which returns"):
        contracts_for(Program(root / "build" / "actly.elf", root), root)


def test_the_scheduling_loop_dropping_a_statistic_is_caught(tmp_path):
    # sched_enter no longer credits the reductions the process that left used to its core
    result = prove_planted(tmp_path, "asm/scheduler.s",
                           "    str     x2, [x19, #STAT_REDUCTIONS]\n", "    nop\n", "sched_enter")
    assert result.verdict == "FAILED"
    assert "loop invariant" in result.counterexample.sentence
