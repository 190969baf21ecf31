"""The ARMv8 model on small tests whose verdicts Arm's model fixes, and `verify litmus`."""

from __future__ import annotations

import json

import pytest

from verify.cli import main
from verify.litmus.parse import parse
from verify.litmus.run import run

# Message passing: P0 writes data then flag, P1 reads flag then data.
MP = """AArch64 {name}
{{ 0:X1=data; 0:X3=flag; 1:X1=flag; 1:X3=data; }}
 P0          | P1          ;
 MOV W0,#1   | {read_flag} ;
 STR W0,[X1] | {between}   ;
 {publish}   | LDR W2,[X3] ;
 MOV W2,#1   |             ;
 {store_flag} |            ;
exists (1:X0=1 /\\ 1:X2=0)
"""


def mp(name, publish="NOP", store_flag="STR W2,[X3]", read_flag="LDR W0,[X1]",
       between="NOP"):
    return run(parse(MP.format(name=name, publish=publish, store_flag=store_flag,
                               read_flag=read_flag, between=between), f"{name}.litmus"))


@pytest.mark.parametrize("name, kwargs, verdict", [
    ("MP", {}, "Allowed"),
    ("MP+dmb.st", {"publish": "DMB ISHST"}, "Allowed"),     # the reader is not ordered
    ("MP+dmb.st+dmb.ld", {"publish": "DMB ISHST", "between": "DMB ISHLD"}, "Forbidden"),
    ("MP+stlr+ldar", {"store_flag": "STLR W2,[X3]", "read_flag": "LDAR W0,[X1]"},
     "Forbidden"),
    ("MP+stlr+ldapr", {"store_flag": "STLR W2,[X3]", "read_flag": "LDAPR W0,[X1]"},
     "Forbidden"),
    ("MP+stlr+po", {"store_flag": "STLR W2,[X3]"}, "Allowed"),
    ("MP+dmb.sy+dmb.sy", {"publish": "DMB SY", "between": "DMB SY"}, "Forbidden"),
])
def test_message_passing(name, kwargs, verdict):
    outcome = mp(name, **kwargs)
    assert outcome.verdict() == verdict, (name, outcome.states)
    assert len(outcome.states) == 4 - (verdict == "Forbidden")


def test_coherence_of_reads_forbids_going_back():
    o = run(parse("""AArch64 CoRR
{ 0:X1=x; 1:X1=x; }
 P0          | P1          ;
 MOV W0,#1   | LDR W0,[X1] ;
 STR W0,[X1] | LDR W2,[X1] ;
exists (1:X0=1 /\\ 1:X2=0)
""", "corr.litmus"))
    assert o.verdict() == "Forbidden" and o.states == [
        "1:X0=0; 1:X2=0;", "1:X0=0; 1:X2=1;", "1:X0=1; 1:X2=1;"]


def test_store_buffering_needs_full_barriers():
    sb = """AArch64 SB
{{ 0:X1=x; 0:X3=y; 1:X1=y; 1:X3=x; }}
 P0          | P1          ;
 MOV W0,#1   | MOV W0,#1   ;
 STR W0,[X1] | STR W0,[X1] ;
 {b}         | {b}         ;
 LDR W2,[X3] | LDR W2,[X3] ;
exists (0:X2=0 /\\ 1:X2=0)
"""
    assert run(parse(sb.format(b="NOP"))).verdict() == "Allowed"
    assert run(parse(sb.format(b="DMB ISHST"))).verdict() == "Allowed"
    assert run(parse(sb.format(b="DMB ISH"))).verdict() == "Forbidden"


def test_load_buffering_with_data_dependencies_is_forbidden():
    lb = """AArch64 LB
{{ 0:X1=x; 0:X3=y; 1:X1=y; 1:X3=x; }}
 P0             | P1             ;
 LDR W0,[X1]    | LDR W0,[X1]    ;
 {dep}          | {dep}          ;
 STR W2,[X3]    | STR W2,[X3]    ;
exists (0:X0=1 /\\ 1:X0=1)
"""
    assert run(parse(lb.format(dep="MOV W2,#1"))).verdict() == "Allowed"
    assert run(parse(lb.format(dep="ADD W2,W0,#1"))).verdict() == "Forbidden"


def test_exclusive_increments_are_atomic():
    inc = """AArch64 2xINC
{ 0:X1=x; 1:X1=x; }
 P0              | P1              ;
 LDXR W0,[X1]    | LDXR W0,[X1]    ;
 ADD W0,W0,#1    | ADD W0,W0,#1    ;
 STXR W2,W0,[X1] | STXR W2,W0,[X1] ;
exists (0:X2=0 /\\ 1:X2=0 /\\ x=1)
"""
    o = run(parse(inc))
    assert o.verdict() == "Forbidden"          # both succeed yet one increment is lost
    assert "[x]=2;" in " ".join(o.states)


def test_unknown_instruction_is_an_error_naming_the_line():
    from verify.litmus.parse import LitmusError
    with pytest.raises(LitmusError, match=r"t.litmus:4: instruction `FROB` is not modelled"):
        run(parse("AArch64 T\n{ 0:X1=x; }\n P0 ;\n FROB X0 ;\nexists (x=0)\n", "t.litmus"))


def test_cli_exit_codes_and_json(tmp_path, capsys):
    good = tmp_path / "mp.litmus"
    good.write_text(MP.format(name="MP", publish="DMB ISH", between="DMB ISH",
                              read_flag="LDR W0,[X1]", store_flag="STR W2,[X3]")
                    .replace("{", "{", 1).replace("AArch64 MP\n", "AArch64 MP\nExpected=Forbidden\n"))
    assert main(["litmus", str(good)]) == 0
    out = capsys.readouterr().out
    assert "Test MP Allowed" in out and "\nNo\n" in out and "Expected Forbidden: met" in out
    wrong = tmp_path / "wrong.litmus"
    wrong.write_text(good.read_text().replace("Expected=Forbidden", "Expected=Allowed"))
    assert main(["litmus", "--json", str(wrong)]) == 1
    [report] = json.loads(capsys.readouterr().out)
    assert (report["expected"], report["met"], report["positive"]) == ("Allowed", False, 0)
    bad = tmp_path / "bad.litmus"
    bad.write_text("AArch64 T\n{ 0:X1=x;\n P0 ;\n")
    assert main(["litmus", str(bad)]) == 2
    assert f"{bad}:2: the initial state is not closed" in capsys.readouterr().err


from conftest import ROOT  # noqa: E402
from test_litmus_parse import CORPUS  # noqa: E402

# Outside the mixed-size folders every test must agree with herd (final states where a
# .expected file gives them, else the verdict) or be rejected by both; a test may only be
# excluded for a herd variant the checker does not implement, with that reason.
MIXED_FOLDERS = {"catalogue/aarch64-mixed", "herd/tests/instructions/AArch64.mixed"}
EXCLUDED = {"A235": "morello", "CoWR+tlbi-sync.ishsptev0p": "vmsa",
            "MP.V2I+dsb.ish-tlbi.vaae1is-dsh.ish+dsb.ish-isb": "vmsa", "coRR+BBM+W": "vmsa",
            "coRR-pte9-mod": "vmsa", "DIC1.MP.FF+dmb.st+po": "ifetch",
            "MP.FF+dc.cvau-dsb.ish-ic.ivau-dsb.ish+po": "ifetch"}
# The mixed-size folders (herd's mixed variant): every test agrees.
MIXED_FLOOR = {"catalogue/aarch64-mixed": 20, "herd/tests/instructions/AArch64.mixed": 19}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the herd corpus is not at {CORPUS} "
                                                "(set ACTLY_LITMUS_CORPUS)")
def test_corpus_agrees_with_herd_outside_the_mixed_folders():
    from verify.litmus.corpus import AGREE, EXCLUDED as OUT, REJECTED_TOO, regress
    report = regress(CORPUS)
    assert len(report.rows) == 570
    plain = [r for r in report.rows if r.folder not in MIXED_FOLDERS]
    assert len(plain) == 531
    wrong = [r for r in plain if r.outcome not in (AGREE, REJECTED_TOO, OUT)]
    assert not wrong, "\n".join(f"{r.outcome}: {r.path}: {r.cause}" for r in wrong)
    excluded = {r.name: r.cause for r in plain if r.outcome == OUT}
    assert set(excluded) == set(EXCLUDED)
    for name, variant in EXCLUDED.items():
        assert variant in excluded[name] and "not modelled" in excluded[name]
    folders = report.by_folder()
    for folder, floor in MIXED_FLOOR.items():
        assert folders[folder].get(AGREE, 0) + folders[folder].get(REJECTED_TOO, 0) >= floor


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the herd corpus is not at {CORPUS} "
                                                "(set ACTLY_LITMUS_CORPUS)")
def test_decide_gives_runs_verdict_on_every_corpus_test():
    # decide() builds only the candidates that can settle the verdict: it must agree with
    # the full enumeration (which agrees with herd) on every test both can run
    from verify.litmus.parse import LitmusError, parse_file
    from verify.litmus.run import decide
    compared = 0
    for path in sorted(CORPUS.rglob("*.litmus")):
        try:
            full = run(parse_file(path))
        except LitmusError:
            continue
        quick = decide(parse_file(path))
        assert (quick.verdict, quick.ok) == (full.verdict(), full.ok), path
        compared += 1
    assert compared > 500


def test_decide_gives_runs_verdict_on_random_tests():
    import random
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from random_litmus import random_test
    from verify.litmus.run import decide
    rng = random.Random(7)
    for i in range(8):
        text = random_test(rng, f"R{i}", threads=3, writes=(3, 4))
        full, quick = run(parse(text)), decide(parse(text))
        assert (quick.verdict, quick.ok) == (full.verdict(), full.ok), text
        if quick.execution is not None:       # the execution it found is allowed
            from verify.litmus.model import check
            assert check(quick.execution) is None


def test_runtime_idioms_give_their_declared_verdicts(tmp_path):
    import shutil
    from verify.build import Layout
    from verify.cli import _litmus_idioms
    from conftest import ROOT
    shutil.copytree(ROOT / "litmus", tmp_path / "litmus")
    assert len(list((tmp_path / "litmus").glob("*.litmus"))) >= 16
    assert _litmus_idioms(Layout(tmp_path))
    report = (tmp_path / "reports" / "litmus" / "steal+dmb.ish.txt").read_text()
    assert "by DMB ISH" in report and "cycle in ordered-before" in report

    # Without the owner's DMB the take/steal race is allowed: the gate fails, with a witness.
    steal = tmp_path / "litmus" / "steal+dmb.ish.litmus"
    steal.write_text(steal.read_text().replace(" DMB ISH      | DMB ISH      ;",
                                               " NOP          | DMB ISH      ;"))
    assert not _litmus_idioms(Layout(tmp_path))
    report = (tmp_path / "reports" / "litmus" / "steal+dmb.ish.txt").read_text()
    assert "is not ordered before the read of top by P0" in report
    assert "needs DMB ISH" in report
    witness = (tmp_path / "reports" / "litmus" / "steal+dmb.ish-witness.txt").read_text()
    assert "fr: P0: R top=0" in witness and "fr: P1: R bottom=1" in witness
    dot = (tmp_path / "reports" / "litmus" / "steal+dmb.ish-witness.dot").read_text()
    assert dot.startswith('digraph "steal+dmb.ish"') and 'label="fr"' in dot


def test_comparing_an_address_with_a_number_names_the_line():
    from verify.litmus.parse import LitmusError
    with pytest.raises(LitmusError, match=r"t.litmus:4: flags from comparing an address with a number"):
        run(parse("AArch64 T\n{ 0:X1=x; }\n P0 ;\n CMP X1,#1 ;\nexists (0:X1=x)\n",
                  "t.litmus"))
