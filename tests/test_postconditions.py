"""A postcondition is checked conjunct by conjunct when the whole is not shown at once, and a
failed one is named with the values that break it (tests/fixtures/abi_cases.s)."""

from __future__ import annotations

import z3

from verify.prove import Proof, conjuncts
from verify.spec import AAPCS64_SCRATCH, Contract, Region


def test_the_conjuncts_fail_exactly_when_the_formula_does():
    a, b, c = z3.Bools("a b c")
    x = z3.BitVec("x", 8)
    p = z3.If(a, z3.And(b, x == 1), z3.Implies(c, z3.And(x != 2, z3.Or(b, c))))
    parts = conjuncts(p)
    assert len(parts) == 4
    failing = z3.Or(*[z3.And(*guards, z3.Not(part)) for guards, part in parts])
    s = z3.Solver()
    s.add(failing != z3.Not(p))
    assert s.check() == z3.unsat


def stores_successor(post):
    # saves_callee_saved stores x0 + 1 at [x0] and leaves x0 as it was
    return Contract("stores x0 + 1 at x0", maychange=AAPCS64_SCRATCH + (Region(lambda e: e.x(0), 8),),
                    post=post)


def test_a_true_postcondition_of_several_conjuncts_is_proved(abi_cases):
    contract = stores_successor(lambda e, x: z3.If(
        e.x(0) == 0, x.x(0) == 0, z3.And(x.u64(e.x(0)) == e.x(0) + 1, x.x(0) == e.x(0))))
    result = Proof(abi_cases, abi_cases.functions["saves_callee_saved"], contract).run()
    assert result.verdict == "PROVED", (result.reasons, result.counterexample)


def test_the_failed_conjunct_is_named_with_its_values(abi_cases):
    contract = stores_successor(lambda e, x: z3.And(
        x.u64(e.x(0)) == e.x(0) + 1, x.x(0) == e.x(0) + 2))
    result = Proof(abi_cases, abi_cases.functions["saves_callee_saved"], contract).run()
    assert result.verdict == "FAILED"
    sentence = result.counterexample.sentence
    assert "postcondition does not hold on return: its conjunct 2 of 2" in sentence, sentence
    x0 = result.counterexample.registers["x0"]
    assert f"its sides are 0x{x0:x} and 0x{(x0 + 2) % 2 ** 64:x}" in sentence, sentence
    assert result.counterexample.replay_status == "confirmed"


def test_a_switch_out_on_a_function_that_never_switches_is_not_proved(abi_cases):
    # what it would leave on switching out was checked nowhere: not a vacuous PROVED
    contract = Contract("stores x0 + 1 at x0",
                        maychange=AAPCS64_SCRATCH + (Region(lambda e: e.x(0), 8),),
                        switch_out=lambda e, here: z3.BoolVal(False))
    result = Proof(abi_cases, abi_cases.functions["saves_callee_saved"], contract).run()
    assert result.verdict != "PROVED"
    assert any("no explored path enters a switch" in r for r in result.reasons), result.reasons


def test_a_function_that_parks_where_it_should_return_fails(tmp_path):
    # boot_drop_to_el1 compares the EL with 0 instead of EL1: entered at EL1 it takes the
    # unsupported-EL branch and parks in its WFE loop, which no callable function may do
    from test_switch_proofs import prove_planted
    result = prove_planted(tmp_path, "asm/boot.s", "    cmp     x9, #EL1\n", "    cmp     x9, #0\n",
                           "boot_drop_to_el1")
    assert result.verdict == "FAILED"
    assert "it parks" in result.counterexample.sentence


def test_an_acknowledged_interrupt_id_cut_short_is_caught(tmp_path):
    # board_irq_ack keeps only the low byte of what ICC_IAR1_EL1 read (INTIDs go to 1023)
    from test_switch_proofs import prove_planted
    result = prove_planted(tmp_path, "asm/board/virt/board.s",
                           "    mrs     x0, icc_iar1_el1\n    ret\n",
                           "    mrs     x0, icc_iar1_el1\n    and     x0, x0, #0xff\n    ret\n",
                           "board_irq_ack")
    assert result.verdict == "FAILED"
    assert "ghost-view postcondition" in result.counterexample.sentence


def test_a_replay_that_walks_unmodelled_memory_stops(tmp_path):
    # sched_core_init no longer records its MPIDR. The model's replay runs the redistributor
    # search of board_irq_init_core over memory the model leaves open, frame after frame; it
    # must stop with a reason (it once mapped pages until the proof hung), and the proof fail
    from test_switch_proofs import prove_planted
    result = prove_planted(tmp_path, "asm/scheduler.s", "    str     x0, [x19, #CORE_MPIDR]\n",
                           "    nop\n", "sched_core_init")
    assert result.verdict == "FAILED"
    cx = result.counterexample
    assert "postcondition" in cx.sentence
    assert cx.replay_status == "confirmed" or "pages" in cx.replay, cx.replay


def test_a_pick_step_that_miscounts_passes_is_caught(tmp_path):
    # sched_pick_step takes two passes off a normal head instead of one: the low process is
    # passed over half as often as BEAM's RESCHEDULE_LOW says (a survivor before the split)
    from test_switch_proofs import prove_planted
    result = prove_planted(tmp_path, "asm/scheduler.s", "    sub     w2, w2, #1\n    str     w2, "
                           "[x1, #PCB_SCHED_COUNT]\n", "    sub     w2, w2, #2\n    str     w2, "
                           "[x1, #PCB_SCHED_COUNT]\n", "sched_pick_step")
    assert result.verdict == "FAILED", result.reasons
    assert "postcondition" in result.counterexample.sentence
