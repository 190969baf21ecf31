"""System-ordering rules (verify/sysorder.py) on known-good and known-bad fixtures
(tests/fixtures/sysorder_cases.s), and on the runtime with a barrier dropped."""

import pytest

from conftest import build_fixture
from test_switch_proofs import prove_planted
from verify.sysorder import check


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return build_fixture("sysorder_cases", tmp_path_factory.mktemp("sysorder"))


def broken(program, name):
    return [v.describe(program) for v in check(program, program.functions[name])]


@pytest.mark.parametrize("name", ["sgi_good", "direct_registers", "gic_good", "tlbi_good",
                                  "ttbr_good", "ic_good", "dc_good", "sev_good",
                                  "window_good", "tlbi_broadcast_good"])
def test_a_function_that_keeps_the_rules_passes(cases, name):
    assert broken(cases, name) == []


@pytest.mark.parametrize("name, where, what", [
    ("sgi_after_dmb", "msr icc_sgi1r_el1", "SGI sent while a store may not be complete"),
    ("sgi_at_entry", "msr icc_sgi1r_el1", "the caller's stores"),
    ("timer_unsynced", "ret", "CNTP_CTL_EL0 written and not synchronized"),
    ("vectors_unsynced_on_one_path", "ret", "VBAR_EL1 written and not synchronized"),
    ("vectors_unsynced_at_call", "bl ", "before the call"),
    ("gic_before_sre", "msr icc_igrpen1_el1", "before the ICC_SRE_EL1 write"),
    ("tlbi_no_dsb", "isb", "TLBI not completed"),
    ("tlbi_old_context", "tlbi vmalle1", "TCR_EL1 write is not synchronized"),
    ("ttbr_store_in_flight", "isb", "TTBR0_EL1 write takes effect while a store"),
    ("ttbr_after_nsh", "isb", "TTBR0_EL1 write takes effect while a store"),
    ("ic_no_isb", "mov x0, #1", "stale instruction"),
    ("dc_store_in_flight", "dc ivac", "while a store may not be complete"),
    ("dc_incomplete", "ret", "DC IVAC not completed"),
    ("sev_store_in_flight", "sev", "event sent while a store may not be complete"),
    ("window_empty", "msr daifset", "a pending one need not be taken"),
    ("tlbi_store_only_dsb", "isb", "TLBI not completed"),
    ("tlbi_broadcast_nsh", "isb", "TLBI not completed"),
    ("window_across_call", "msr daifset", "a pending one need not be taken"),
    ("window_closed_by_register", "msr daif, x1", "a pending one need not be taken"),
])
def test_a_broken_rule_is_caught_where_it_breaks(cases, name, where, what):
    found = broken(cases, name)
    assert any(f"`{where}" in v and what in v for v in found), found


def test_the_runtime_without_its_dsb_before_the_wake_up_sgi_fails(tmp_path):
    result = prove_planted(tmp_path, "asm/board/virt/board.s", "    dsb     ish\n",
                           "    nop\n", "board_send_wake")
    assert result.verdict == "FAILED"
    assert any("system ordering" in r and "SGI sent" in r for r in result.reasons), \
        result.reasons


def test_the_barrier_report_asks_the_rules_what_a_dropped_barrier_breaks(cases):
    # sgi_good's DSB ISH is needed (without it the SGI may overtake the store); its STR is
    # not a barrier, and dropping it breaks nothing
    from verify.sysorder import needed_by
    func = cases.functions["sgi_good"]
    dsb, store = func.addr + 4, func.addr
    assert any("SGI sent while a store may not be complete" in v.rule
               for v in needed_by(cases, dsb))
    assert needed_by(cases, store) == []
