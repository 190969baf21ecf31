"""Differential testing of the verifier's semantics against unicorn (verify/difftest.py)."""

from __future__ import annotations

import re

import z3

from verify import difftest, machine, overlay, semantics

ADD = 0x8B020020          # add x0, x1, x2
SUBS = 0xEB02003F         # cmp x1, x2
B_NE = 0x54000041         # b.ne .+8
LDR_POST = 0xF8408420     # ldr x0, [x1], #8
LDR_INDEX = 0xF862D820    # ldr x0, [x1, w2, sxtw #3]
LDADD = 0xF8220023        # ldadd x2, x3, [x1]
LDADDALB = 0x38E20023     # ldaddalb w2, w3, [x1]
CAS = 0xC8A27C23          # cas x2, x3, [x1]
STXR = 0xC8007C22         # stxr w0, x2, [x1]
LDAXP = 0xC87F8C22        # ldaxp x2, x3, [x1]
MRS_MIDR = 0xD5380009     # mrs x9, midr_el1
DAIFSET = 0xD50342DF      # msr daifset, #2
UDIV = 0x9AC20820         # udiv x0, x1, x2


def run(words, states=60, **kw):
    return difftest.run_difftest(None, states_per_encoding=states, seed=1, words=words,
                                 workers=1, **kw)


def test_small_set_agrees_with_unicorn():
    words = [ADD, SUBS, B_NE, LDR_POST, LDR_INDEX, LDADD, LDADDALB, CAS, STXR, LDAXP,
             MRS_MIDR, DAIFSET, UDIV]
    report = run(words)
    assert report.mismatches == [], difftest.format_report(report)
    assert not report.errors and not report.skipped and report.complete
    assert report.encodings_tested == len(words)
    assert report.states_run == 60 * (len(words) + 1)   # STXR runs armed and not armed
    assert report.coverage_gaps == []                    # both ways of b.ne, CAS, STXR


def test_planted_wrong_overlay_rule_is_caught(monkeypatch):
    real = overlay._lse_op

    def wrong(opc, old, s):  # LDADD subtracts
        return old - s if opc == 0 else real(opc, old, s)
    monkeypatch.setattr(overlay, "_lse_op", wrong)
    report = run([LDADD, CAS], states=30)
    assert report.mismatches
    assert {m.word for m in report.mismatches} == {LDADD}
    described = report.mismatches[0].describe()
    assert "ldadd x2, x3, [x1]" in described and "mem[" in described


def test_planted_wrong_vex_semantics_is_caught(monkeypatch):
    monkeypatch.setitem(semantics.BINOPS, "Add", lambda a, b: a + b + 1)
    report = run([ADD], states=20)
    assert [m.word for m in report.mismatches] == [ADD] * len(report.mismatches)
    assert any(w == "x0" for m in report.mismatches for w, _o, _u in m.differences)


def _plant_in_evaluator(monkeypatch, term: int) -> None:
    """The compiled evaluator returns term `term` (guard 0, pc 1, x0 2, x1 3...) plus one."""
    real = difftest.Compiled.__init__

    def planted(self, exprs, inputs, free):
        real(self, exprs, inputs, free)
        fn = self.fn
        self.fn = lambda I, F, M: tuple(v + (k == term) for k, v in enumerate(fn(I, F, M)))
    monkeypatch.setattr(difftest.Compiled, "__init__", planted)


def test_a_wrong_compiled_term_is_caught_by_z3s_own_evaluation(monkeypatch):
    _plant_in_evaluator(monkeypatch, 2)           # x0 = x1 + x2, one too high
    report = run([ADD], states=5)
    assert len(report.errors) == 1 and "evaluator disagrees with Z3" in report.errors[0]
    assert "x1 + x2" in report.errors[0]


def test_the_wrong_term_is_named_even_after_registers_passed_through(monkeypatch):
    # cmp x1, x2: guard, pc, then x0-x30 and sp (passed through), then the flags (term 34)
    _plant_in_evaluator(monkeypatch, 34)
    report = run([SUBS], states=5)
    assert len(report.errors) == 1 and "evaluator disagrees with Z3 on" in report.errors[0]
    found = re.search(r"disagrees with Z3 on Concat\(.*compiled (\d+), Z3 (\d+)",
                      report.errors[0], re.S)       # the flags, four bits put together
    assert found and int(found[1]) == int(found[2]) + 1, report.errors


def test_a_wrongly_passed_through_register_is_caught(monkeypatch):
    _plant_in_evaluator(monkeypatch, 3)           # x1, which add x0, x1, x2 keeps
    report = run([ADD], states=5)
    assert len(report.errors) == 1 and "reads x1 wrongly" in report.errors[0]


def test_a_simd_register_unicorn_changes_behind_the_semantics_is_caught(monkeypatch):
    # add x0, x1, x2 keeps every SIMD register: they are compared as raw words
    real = difftest.Machine.read_raw

    def clobbered(self):
        xs, nzcv, qw, pc = real(self)
        return xs, nzcv, qw[:5] + [qw[5] ^ 1] + qw[6:], pc     # the high half of q2
    monkeypatch.setattr(difftest.Machine, "read_raw", clobbered)
    report = run([ADD], states=5)
    assert report.mismatches and all(
        [name for name, _o, _u in m.differences] == ["q2"] for m in report.mismatches)
    _name, ours, theirs = report.mismatches[0].differences[0]
    assert ours ^ theirs == 1 << 64


def test_planted_wrong_flags_are_caught(monkeypatch):
    real = semantics._add_with_carry

    def no_overflow(a, b, carry_in):
        n, z, c, _v = real(a, b, carry_in)
        return n, z, c, z3.BoolVal(False)
    monkeypatch.setattr(semantics, "_add_with_carry", no_overflow)
    report = run([SUBS], states=200)
    assert report.mismatches
    assert all(any(w == "nzcv" for w, _o, _u in m.differences) for m in report.mismatches)


def test_open_values_through_the_solver(monkeypatch):
    # With enumeration and guessing off, a store-exclusive's success bit goes to the solver
    # per state.
    monkeypatch.setattr(difftest, "ENUMERATE_BITS", 0)
    monkeypatch.setattr(difftest, "GUESSES", ())
    report = run([STXR], states=15)
    assert report.mismatches == [], difftest.format_report(report)
    assert report.z3_checks == report.states_run == 30


def test_a_dropped_store_exclusive_is_caught_through_the_solver(monkeypatch):
    # The store-exclusive's store is lost, its status still says success: unicorn's write
    # is a byte the successor never stores to, which no assignment of open values explains.
    monkeypatch.setattr(difftest, "ENUMERATE_BITS", 0)
    monkeypatch.setattr(difftest, "GUESSES", ())
    real = machine.State.store

    def drop_conditional(self, addr, value, cond=None):
        if cond is None:
            real(self, addr, value)
    monkeypatch.setattr(machine.State, "store", drop_conditional)
    report = run([STXR], states=15)
    assert report.mismatches and all(m.word == STXR for m in report.mismatches)


MRS_FPSR = 0xD53B4429       # mrs x9, fpsr: VEX keeps QC (bit 27) in two open 64-bit words


def test_wide_open_values_are_matched_by_a_guess_before_the_solver():
    report = run([MRS_FPSR], states=40)
    assert report.mismatches == [], difftest.format_report(report)
    assert report.states_run == 40 and report.z3_checks == 0


def test_wide_open_values_still_catch_a_wrong_rule(monkeypatch):
    # The rule reads FPSR with IOC (bit 0) set: no guess of QC matches unicorn's FPSR where
    # IOC is clear, and neither does the solver.
    real = overlay._fpsr_read
    monkeypatch.setattr(overlay, "_fpsr_read", lambda ex: real(ex) | 1)
    report = run([MRS_FPSR], states=40)
    assert report.mismatches
    assert all(m.word == MRS_FPSR for m in report.mismatches)
    assert "solver: unsat" in report.mismatches[0].describe()


def test_budget_cut_short_is_not_complete():
    report = run([ADD, SUBS], states=50, budget_seconds=0)
    assert report.cut_short and not report.complete
    assert "CUT SHORT" in report.summary()


def test_unrunnable_encodings_are_skipped_with_a_reason():
    hvc, msr_hcr = 0xD4000002, 0xD51C1109
    report = run([hvc, msr_hcr], states=5)
    reasons = {s.word: s.reason for s in report.skipped}
    assert "firmware" in reasons[hvc]
    assert "EL2" in reasons[msr_hcr]
    assert report.encodings_tested == 0


def test_generated_set_covers_the_overlay_families():
    words = difftest.generated_encodings()
    families = {overlay.rule_for(w).family for w in words if overlay.rule_for(w)}
    assert {"LSE atomic", "RCpc", "exclusive pair", "system register", "hint"} <= families
    assert len([w for w in words if w & 0x3F208C00 == 0x38200000]) == 8 * 4 * 4 + 8 * 4 * 2
