"""The AAPCS64 proof on known-good and known-bad fixtures (tests/fixtures/abi_cases.s)."""

from __future__ import annotations

import pytest

from verify.prove import Proof
from verify.spec import aapcs64


def prove(program, name):
    return Proof(program, program.functions[name], aapcs64()).run()


def trace_lines(result):
    return [(row.line.rsplit(":", 1)[0].rsplit("/", 1)[-1], row.text)
            for row in result.counterexample.trace]


@pytest.mark.parametrize("name", ["saves_callee_saved", "string_length", "fixture_entry",
                                  "uses_whole_stack"])
def test_correct_functions_are_proved(abi_cases, name):
    result = prove(abi_cases, name)
    assert result.verdict == "PROVED", result.reasons
    assert result.counterexample is None


def test_loop_is_summarised_not_unrolled(abi_cases):
    result = prove(abi_cases, "string_length")
    assert "summarised for every iteration count" in result.loops


def test_clobbered_x19_fails_with_counterexample(abi_cases):
    result = prove(abi_cases, "clobbers_x19")
    assert result.verdict == "FAILED"
    cx = result.counterexample
    assert cx.sentence.startswith("x19 on return differs from x19 on entry")
    assert cx.registers["x19"] != 0  # the model must pick an x19 that the clobber changes
    texts = [text for _, text in trace_lines(result)]
    assert texts == ["add x0, x0, #1", "mov x19, xzr", "ret"]
    assert cx.trace[1].line.endswith("abi_cases.s:40")
    assert cx.confirmed, cx.replay


def test_a_frame_deeper_than_any_stack_keeps_fails(abi_cases):
    # 8 KiB below sp is past a process stack's guard page: the store is not the function's
    # own frame, and may change the caller's memory.
    from verify.spec import AAPCS64_SCRATCH, Contract
    own_frame_only = Contract("writes only its own frame", maychange=AAPCS64_SCRATCH)
    deep = Proof(abi_cases, abi_cases.functions["deep_frame"], own_frame_only).run()
    assert deep.verdict == "FAILED", deep.reasons
    assert "outside the MAYCHANGE frame" in deep.counterexample.sentence
    assert any("4 KiB below sp" in a for a in deep.assumptions)
    whole = Proof(abi_cases, abi_cases.functions["uses_whole_stack"], own_frame_only).run()
    assert whole.verdict == "PROVED", whole.reasons


def test_moved_sp_fails(abi_cases):
    result = prove(abi_cases, "moves_sp")
    assert result.verdict == "FAILED"
    assert result.counterexample.sentence.startswith("sp on return differs")
    store = result.counterexample.trace[1].memory
    assert store.startswith("store [0x")
    assert result.counterexample.confirmed


def test_wrong_return_address_fails(abi_cases):
    result = prove(abi_cases, "wrong_return")
    assert result.verdict == "FAILED"
    assert "x30" in result.counterexample.sentence or "x29" in result.counterexample.sentence
    assert result.counterexample.confirmed
    assert "returned to 0x" in result.counterexample.replay


def test_system_register_read_has_a_trusted_rule(abi_cases):
    # VEX lifts `mrs x0, tpidr_el1` to nothing; the overlay gives it a rule.
    result = prove(abi_cases, "reads_tpidr_el1")
    assert result.verdict == "PROVED", result.reasons
    assert any("mrs TPIDR_EL1" in r for r in result.trusted_rules)


def test_instruction_without_any_rule_is_unknown_and_named(abi_cases):
    result = prove(abi_cases, "reads_unlisted_sysreg")
    assert result.verdict == "UNKNOWN"
    [u] = result.unmodelled
    assert u["instruction"] == "mrs x0, s3_0_c15_c2_0"
    assert u["line"].endswith("abi_cases.s:66")
    assert "lifts it to nothing" in u["reason"]
    assert any("mrs x0, s3_0_c15_c2_0" in r for r in result.reasons)


def test_a_cache_invalidate_by_set_way_is_not_a_no_op(abi_cases):
    result = prove(abi_cases, "invalidates_by_set_way")
    assert result.verdict == "UNKNOWN"
    [u] = result.unmodelled
    assert "set/way" in u["reason"]


def test_violation_after_a_loop_is_found_by_unrolling(abi_cases):
    result = prove(abi_cases, "clobbers_after_loop")
    assert result.verdict == "FAILED"
    assert result.counterexample.sentence.startswith("x20 on return differs")
    assert result.counterexample.registers["x2"] >= 1
    assert result.counterexample.confirmed


def test_violation_after_long_loop_is_found_through_the_summary(abi_cases):
    result = prove(abi_cases, "clobbers_after_long_loop")
    assert result.verdict == "FAILED"
    assert result.counterexample.sentence.startswith("x21 on return differs")
    assert result.counterexample.confirmed, result.counterexample.replay


def test_a_replay_still_running_does_not_confirm_a_wrong_return(abi_cases):
    # The jump to x1 lies 2^32 iterations ahead; a replay that stops before it saw nothing.
    result = prove(abi_cases, "jumps_after_long_count")
    assert result.verdict == "UNKNOWN", result.verdict
    assert any("other than x30" in r and "did not return within" in r
               for r in result.reasons), result.reasons


def test_function_that_never_returns_is_not_proved(abi_cases):
    result = prove(abi_cases, "never_returns")
    assert result.verdict == "UNKNOWN"
    assert any("vacuous" in r for r in result.reasons)


def test_frame_assumption_covers_caller_pointers_only():
    import z3
    from verify.machine import MemAccess, fresh
    from verify.prove import frame_assumption
    x0, sp = z3.BitVec("x0", 64), z3.BitVec("sp", 64)
    assert frame_assumption(MemAccess("store", x0 + 8, 8, z3.BitVecVal(0, 64))) is not None
    assert frame_assumption(MemAccess("store", sp - 16, 8, z3.BitVecVal(0, 64))) is None
    # A loop summary's pointer may have come from sp: no assumption may restrict it.
    widened = fresh("loop_16", 64)
    assert frame_assumption(MemAccess("store", widened, 8, z3.BitVecVal(0, 64))) is None


def _indexed(split_values, off_by=0):
    """load_indexed's contract: x0 on return is table entry u32[x0] (below 3) of table x1."""
    import z3

    from verify.spec import Contract
    index = lambda e: e.u32(e.x(0))
    return Contract(
        "entry u32[x0] of the table x1", maychange=("x0", "x2"),
        pre=lambda e: z3.ULT(index(e), 3),
        post=lambda e, x: x.x(0) == e.u64(e.x(1) + 8 * (z3.ZeroExt(32, index(e)) + off_by)),
        split=lambda e: (index(e), split_values))


def test_split_proof_covers_each_case_and_says_so(abi_cases):
    result = Proof(abi_cases, abi_cases.functions["load_indexed"], _indexed([0, 1, 2])).run()
    assert result.verdict == "PROVED", result.reasons
    assert any("proved case by case" in a for a in result.assumptions)


def test_split_that_misses_a_case_is_not_proved(abi_cases):
    result = Proof(abi_cases, abi_cases.functions["load_indexed"], _indexed([0, 1])).run()
    assert result.verdict == "UNKNOWN"
    assert any("does not cover" in r for r in result.reasons)


def test_split_proof_still_finds_a_wrong_postcondition(abi_cases):
    result = Proof(abi_cases, abi_cases.functions["load_indexed"],
                   _indexed([0, 1, 2], off_by=1)).run()
    assert result.verdict == "FAILED" and result.counterexample.confirmed


def test_ghost_post_is_proved_on_return_and_a_wrong_one_is_found(abi_cases):
    """A contract's ghost_post is checked like post (callers do not assume it, but the
    function must meet it)."""
    import dataclasses
    right = _indexed([0, 1, 2])
    wrong = dataclasses.replace(right, ghost_post=lambda e, x: x.x(0) == 0)
    assert Proof(abi_cases, abi_cases.functions["load_indexed"],
                 dataclasses.replace(right, ghost_post=right.post)).run().verdict == "PROVED"
    result = Proof(abi_cases, abi_cases.functions["load_indexed"], wrong).run()
    assert result.verdict == "FAILED"
    assert "ghost-view postcondition" in result.counterexample.sentence
