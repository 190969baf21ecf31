"""Each family of the semantics overlay on a correct and a broken function
(tests/fixtures/overlay_cases.s): the correct one PROVED, the broken one FAILED with a
counterexample that replaying on unicorn confirms."""

from __future__ import annotations

import pytest
import z3

from verify.prove import Proof
from verify.spec import AAPCS64_SCRATCH, Contract, Region

from conftest import build_fixture

ALIGNED_8 = lambda e: e.x(0) & 7 == 0
ALIGNED_16 = lambda e: e.x(0) & 15 == 0
WORD_AT_X0 = Region(lambda e: e.x(0), 8)
EL1 = lambda e: e.sysreg("CurrentEL") == 1 << 2


def old(e):
    return e.u64(e.x(0))


def frame(*extra):
    return AAPCS64_SCRATCH + tuple(extra)


CONTRACTS = {
    "lse_fetch_add": Contract(
        "returns [x0] and adds x1 to it", maychange=frame(WORD_AT_X0), pre=ALIGNED_8,
        post=lambda e, x: z3.And(x.x(0) == old(e), x.u64(e.x(0)) == old(e) + e.x(1))),
    "lse_cas": Contract(
        "x0 = 1 and [x0] = x2 if [x0] held x1, else x0 = 0 and [x0] unchanged",
        maychange=frame(WORD_AT_X0), pre=ALIGNED_8,
        post=lambda e, x: z3.And(
            x.x(0) == z3.If(old(e) == e.x(1), z3.BitVecVal(1, 64), z3.BitVecVal(0, 64)),
            x.u64(e.x(0)) == z3.If(old(e) == e.x(1), e.x(2), old(e)))),
    "lse_swap": Contract(
        "returns [x0] and stores x1 there", maychange=frame(WORD_AT_X0), pre=ALIGNED_8,
        post=lambda e, x: z3.And(x.x(0) == old(e), x.u64(e.x(0)) == e.x(1))),
    "rcpc_load": Contract("returns [x0]", pre=ALIGNED_8,
                          post=lambda e, x: x.x(0) == old(e)),
    "rcpc_store_below": Contract(
        "stores x1 at x0 - 8", maychange=frame(Region(lambda e: e.x(0) - 8, 8)),
        pre=ALIGNED_8, post=lambda e, x: x.u64(e.x(0) - 8) == e.x(1)),
    "pair_swap": Contract(
        "swaps the two words at x0", maychange=frame(Region(lambda e: e.x(0), 16)),
        pre=ALIGNED_16, post=lambda e, x: z3.And(x.u64(e.x(0)) == e.u64(e.x(0) + 8),
                                                  x.u64(e.x(0) + 8) == old(e))),
    "read_tpidr": Contract("returns TPIDR_EL1",
                           post=lambda e, x: x.x(0) == e.sysreg("TPIDR_EL1")),
    "write_tpidr": Contract("sets TPIDR_EL1 to x0", maychange=frame("TPIDR_EL1"),
                            post=lambda e, x: x.sysreg("TPIDR_EL1") == e.x(0)),
    "mask_irq": Contract("masks IRQs", maychange=frame("DAIF"),
                         post=lambda e, x: x.sysreg("DAIF") & 0x80 == 0x80),
    "wait_nonzero": Contract("returns a non-zero [x0]", pre=ALIGNED_8,
                             post=lambda e, x: x.x(0) != 0),
    "invalidate_line": Contract(
        "invalidates the cache line at x0",
        maychange=frame(Region(lambda e: e.x(0) & ~z3.BitVecVal(127, 64), 128))),
    "tlb_flush_clobbers": Contract("AAPCS64 callable"),
    "firmware_call": Contract("AAPCS64 callable"),
    "firmware_keeps_x9": Contract("returns x1", post=lambda e, x: x.x(0) == e.x(1)),
    "return_by_eret": Contract(
        "returns through ERET at EL1", pre=EL1,
        maychange=frame("ELR_EL1", "SPSR_EL1", "SP_EL1", "DAIF", "CurrentEL")),
    "cas_increment": Contract("adds 1 to [x0]", maychange=frame(WORD_AT_X0), pre=ALIGNED_8,
                              post=lambda e, x: x.u64(e.x(0)) == old(e) + 1),
    "llsc_increment": Contract("adds 1 to [x0]", maychange=frame(WORD_AT_X0), pre=ALIGNED_8,
                               post=lambda e, x: x.u64(e.x(0)) == old(e) + 1),
}
BROKEN = {  # broken variant -> the contract it breaks, and what the counterexample says
    "lse_fetch_add_twice": ("lse_fetch_add", "postcondition"),
    "lse_cas_inverted": ("lse_cas", "postcondition"),
    "lse_swap_word": ("lse_swap", "postcondition"),
    "rcpc_load_word": ("rcpc_load", "postcondition"),
    "rcpc_store_too_low": ("rcpc_store_below", "outside the MAYCHANGE frame"),
    "pair_swap_once": ("pair_swap", "postcondition"),
    "read_tpidr_off_by_one": ("read_tpidr", "postcondition"),
    "write_tpidr_wrong_source": ("write_tpidr", "postcondition"),
    "mask_fiq_instead": ("mask_irq", "postcondition"),
    "wait_nonzero_inverted": ("wait_nonzero", "postcondition"),
    "tlb_flush_clobbers": ("tlb_flush_clobbers", "x19 on return differs"),
    "firmware_keeps_x9": ("firmware_keeps_x9", "postcondition"),
    "return_by_eret_to_x1": ("return_by_eret", "returns to an address other than x30"),
    "llsc_increment_ignores_status": ("llsc_increment", "postcondition"),
}
CORRECT = [name for name in CONTRACTS if name not in BROKEN]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return build_fixture("overlay_cases", tmp_path_factory.mktemp("overlay"))


def prove(program, name, contract_of=None):
    return Proof(program, program.functions[name], CONTRACTS[contract_of or name]).run()


@pytest.mark.parametrize("name", CORRECT)
def test_correct_function_is_proved(cases, name):
    result = prove(cases, name)
    assert result.verdict == "PROVED", (result.reasons, result.counterexample)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_function_fails_with_confirmed_counterexample(cases, name):
    contract_of, says = BROKEN[name]
    result = prove(cases, name, contract_of)
    assert result.verdict == "FAILED", result.reasons
    cx = result.counterexample
    assert says in cx.sentence, cx.sentence
    assert cx.confirmed, (cx.replay_status, cx.replay)


@pytest.mark.parametrize("name", ["cas_increment", "llsc_increment"])
def test_retry_paths_are_explored(cases, name):
    result = prove(cases, name)
    assert result.verdict == "PROVED"
    assert result.paths > 1


def test_unlisted_system_register_write_breaks_the_default_contract(cases):
    result = Proof(cases, cases.functions["write_tpidr"], Contract("AAPCS64 callable")).run()
    assert result.verdict == "FAILED"
    assert result.counterexample.sentence.startswith("TPIDR_EL1 on return differs")
