"""The `.litmus` parser: herd's corpus parses, and malformed input names file, line and what
was expected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from verify.litmus.parse import And, Atom, Const, Fault, LitmusError, Not, Or, parse, parse_file

from conftest import ROOT

CORPUS = Path(os.environ.get("ACTLY_LITMUS_CORPUS", ROOT.parent / "shared" / "litmus-corpus"))

MP = """AArch64 MP+dmb.sy+po
"DMB.SYdWW Rfe PodRR Fre"
Cycle=Rfe PodRR Fre DMB.SYdWW
{
0:X1=x; 0:X3=y;
1:X1=y; 1:X3=x;
}
 P0          | P1          ;
 MOV W0,#1   | LDR W0,[X1] ;
 STR W0,[X1] | LDR W2,[X3] ;
 DMB SY      |             ;
 MOV W2,#1   |             ;
 STR W2,[X3] |             ;
exists
(1:X0=1 /\\ 1:X2=0)
"""


def test_message_passing_test_in_full():
    t = parse(MP, "mp.litmus")
    assert (t.name, t.doc, t.meta["Cycle"]) == ("MP+dmb.sy+po", "DMB.SYdWW Rfe PodRR Fre",
                                                "Rfe PodRR Fre DMB.SYdWW")
    assert [(i.lhs, i.value) for i in t.init] == [("0:X1", "x"), ("0:X3", "y"),
                                                  ("1:X1", "y"), ("1:X3", "x")]
    assert t.threads == ["P0", "P1"]
    assert [text for _, text in t.code[0]] == ["MOV W0,#1", "STR W0,[X1]", "DMB SY",
                                               "MOV W2,#1", "STR W2,[X3]"]
    assert t.code[1] == [(9, "LDR W0,[X1]"), (10, "LDR W2,[X3]")]
    assert t.condition.quantifier == "exists"
    assert t.condition.prop == And((Atom("1:X0", "1"), Atom("1:X2", "0")))


def test_types_arrays_comments_and_connectives():
    t = parse("""AArch64 T
(* a comment
   over lines *)
{ uint64_t 0:X0; int x[2] = {1, 2}; int *p = &x; 0:X1=x; }
P0 ;
 L0: ;
 LDR X0,[X1] ;
locations [x; v[0];]
forall (0:X0=1 \\/ ~(x=2 /\\ 0:X0 <> 3)) /\\ not fault(P0:L0,x);
""", "t.litmus")
    assert [(i.type, i.lhs, i.value) for i in t.init] == [
        ("uint64_t", "0:X0", None), ("int", "x[2]", "{1, 2}"), ("int *", "p", "&x"),
        (None, "0:X1", "x")]
    assert t.code[0] == [(6, "L0:"), (7, "LDR X0,[X1]")]
    assert t.locations == ["x", "v[0]"]
    assert t.condition.quantifier == "forall"
    assert t.condition.prop == And((
        Or((Atom("0:X0", "1"), Not(And((Atom("x", "2"), Atom("0:X0", "3", "<>")))))),
        Not(Fault("P0:L0", "x"))))


def test_no_condition_is_forall_true():
    t = parse("AArch64 A\n{\n}\n P0 ;\n BL L0 ;\nL0: ;\nlocations[0:X30;]\n", "a.litmus")
    assert t.condition.prop == Const(True) and t.condition.text == "forall (true)"


@pytest.mark.parametrize("text, line, expected", [
    ("", None, "expected `AArch64 NAME`"),
    ("X86 SB\n{}\nP0;\nexists (x=1)\n", 1, "architecture `X86` is not supported"),
    ("AArch64 T\n{ 0:X1=x;\n P0 ;\n", 2, "the initial state is not closed: expected `}`"),
    ("AArch64 T\n{}\n LDR W0,[X1] ;\nexists (x=1)\n", 3, "expected the thread header"),
    ("AArch64 T\n{}\n P1 | P0 ;\n NOP | NOP ;\nexists (x=1)\n", 3, "threads must be P0, P1"),
    ("AArch64 T\n{}\n P0 ;\n NOP | NOP ;\nexists (x=1)\n", 4, "2 columns, but the header"),
    ("AArch64 T\n{}\n P0 ;\n NOP ;\nexists (x=1 /\\\n", 6, "expected a condition"),
    ("AArch64 T\n{}\n P0 ;\n NOP ;\nexists (x=1\n", 6, "expected `)`"),
    ("AArch64 T\n{}\n P0 ;\n NOP ;\nexists (x=1) junk\n", 5, "unexpected `junk`"),
])
def test_malformed_input_names_file_line_and_what_was_expected(text, line, expected):
    with pytest.raises(LitmusError) as err:
        parse(text, "bad.litmus")
    assert err.value.path == "bad.litmus" and err.value.line == line, str(err.value)
    assert expected in err.value.message
    assert str(err.value).startswith(f"bad.litmus:{line}:" if line else "bad.litmus:")


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(LitmusError, match="cannot be read"):
        parse_file(tmp_path / "missing.litmus")


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the herd corpus is not at {CORPUS} "
                                                "(set ACTLY_LITMUS_CORPUS)")
def test_every_corpus_test_herd_accepts_parses():
    """Every test herd runs parses; those we reject herd rejects too (tags, page tables)."""
    parsed, rejected = 0, []
    for path in sorted(CORPUS.rglob("*.litmus")):
        try:
            test = parse_file(path)
        except LitmusError as exc:
            rejected.append(path.name)
            assert path.with_name(path.name + ".expected-failure").exists(), str(exc)
            continue
        parsed += 1
        assert test.condition is not None and test.threads, path
    assert parsed >= 560 and len(rejected) <= 10, (parsed, rejected)
