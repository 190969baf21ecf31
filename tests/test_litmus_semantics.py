"""Instruction semantics and model rules of the litmus checker, each on a small test whose
result Arm's model (as herd computes it) fixes. These run without herd's corpus."""

from __future__ import annotations

import pytest

from verify.cli import main
from verify.litmus import alu
from verify.litmus.parse import LitmusError, NotModelled, parse
from verify.litmus.run import run


def outcome(text: str, **options):
    return run(parse(text, "t.litmus"), **options)


# --- data processing ---------------------------------------------------------------------

@pytest.mark.parametrize("got, want", [
    (alu.shift(0xFF, "ROR", 4, 32), 0xF000000F),
    (alu.shift(0xF0000000, "ASR", 4, 32), 0xFF000000),
    (alu.bitfield("UBFM", 0, 0x1122334455667788, 4, 32, 64), 0x5566778),
    (alu.bitfield("UBFM", 0, 0x1122334455667788, 56, 7, 64), 0x8800),
    (alu.bitfield("SBFM", 0, 0xEEDDCCBBAA998878, 4, 32, 64), 0xFFFFFFFFFAA99887),
    (alu.bitfield("BFM", 0xFFFF, 0, 60, 1, 64), 0xFFCF),   # BFI #4, #2 of zeros
    (alu.UNARY["REV16"](0x11223344, 32), 0x22114433),
    (alu.UNARY["RBIT"](1, 32), 0x80000000),
    (alu.UNARY["ABS"](0x80000000, 32), 0x80000000),
    (alu.multiply("SMADDL", 15, 0xFFFFFFFF, 3840, 64), 3825),   # 3840 + 15 * -1
    (alu.multiply("UMSUBL", 2, 2, 1, 64), (1 - 4) % 2 ** 64),
])
def test_data_processing_values(got, want):
    assert got == want


def test_flags_of_a_subtraction_and_a_logical_operation():
    assert alu.nzcv("SUB", 0, 0, 32) == (False, True, True, False)       # equal: Z, C
    assert alu.nzcv("SUB", 0, 1, 32) == (True, False, False, False)      # borrow: N, no C
    assert alu.nzcv("ADD", 0x7FFFFFFF, 1, 32) == (True, False, False, True)  # overflow
    assert alu.nzcv("BIC", 0xFFFFFFFD, 10, 32) == (True, False, False, False)


def test_instructions_in_a_thread_with_shifted_operands_and_a_constant_width_compare():
    o = outcome("""AArch64 alu
{ 0:X1=255; uint64_t 0:X0=0xffff; uint64_t 0:X6; }
 P0                  ;
 ORR W4,WZR,W1,ROR 4 ;
 NEG W5,W1,LSL 2     ;
 ORR X6,XZR,X0,ROR 8 ;
 SUBS WZR,WZR,W1,ASR #8 ;
 CSET W7,EQ          ;
 MNEG W8,W1,W1       ;
 SXTW X9,W8          ;
forall (0:X4=0xf000000f /\\ 0:X5=-1020 /\\ 0:X6=0xff000000000000ff /\\ 0:X7=1
        /\\ 0:X9=-65025)
""")
    assert o.ok and o.states == [
        "0:X4=-268435441; 0:X5=-1020; 0:X6=18374686479671623935; 0:X7=1; 0:X9=-65025;"]


# --- pairs -------------------------------------------------------------------------------

PAIR = """AArch64 pair
{{ uint64_t t[2]; 0:X2=t; 1:X2=t; uint64_t 1:X3; uint64_t 1:X4; }}
 P0               | P1               ;
 MOV X0,#1        | {load}           ;
 MOV X1,#2        |                  ;
 {store}          |                  ;
exists (1:X3=1 /\\ 1:X4=0)
"""


def test_an_exclusive_pair_is_read_whole_and_a_plain_pair_may_be_torn():
    torn = outcome(PAIR.format(store="STP X0,X1,[X2]", load="LDP X3,X4,[X2]"))
    assert torn.verdict() == "Allowed"
    whole = outcome(PAIR.format(store="LDXP X5,X6,[X2] ; STXP W9,X0,X1,[X2]".replace(
        " ; ", "       |                  ;\n "), load="LDXP X3,X4,[X2]"))
    assert whole.verdict() == "Forbidden"


def test_stilp_stores_its_first_register_first_unless_it_writes_back():
    test = """AArch64 stilp
{{ int64_t x[2]; 0:X2={base}; 1:X2=x; int64_t 1:X0; int64_t 1:X1; }}
 P0               | P1             ;
 MOV X0,#1        | LDR X1,[X2,#{first}] ;
 MOV X1,#2        | DMB LD         ;
 {stilp}          | LDR X0,[X2,#{second}] ;
exists (1:X1={seen} /\\ 1:X0=0)
"""
    # no writeback: x[0] is written before x[1]; seeing x[1] but not x[0] is forbidden
    plain = outcome(test.format(base="x", stilp="STILP X0,X1,[X2]", first=8, second=0,
                                seen=2))
    assert plain.verdict() == "Forbidden"
    # the same observation is fine the other way round
    other = outcome(test.format(base="x", stilp="STILP X0,X1,[X2]", first=0, second=8,
                                seen=1))
    assert other.verdict() == "Allowed"


# --- CAS and pick dependencies -----------------------------------------------------------

def test_a_successful_cas_orders_through_memory_but_its_rewritten_rs_need_not():
    lb = outcome("""AArch64 cas-rs-memory-addr
{ a=0; b=0; c=0; 0:X0=a; 0:X1=b; 1:X0=a; 1:X1=b; 1:X2=c; }
 P0            | P1                     ;
 LDR W3,[X0]   | LDR W3,[X1]            ;
 MOV W4,#1     | EOR W4,W3,W3           ;
 STLR W4,[X1]  | CAS W4,W5,[X2]         ;
               | LDR W5,[X2]            ;
               | EOR W5,W5,W5           ;
               | MOV W6,#1              ;
               | STR W6,[X0,W5,SXTW]    ;
exists (0:X3=1 /\\ 1:X3=1)
""")
    assert lb.verdict() == "Forbidden"
    mp = outcome("""AArch64 cas-rs-addr
{ a=0; b=0; 0:X0=a; 0:X1=b; 1:X0=a; 1:X1=b; }
 P0            | P1                     ;
 MOV W2,#1     | MOV W2,#1              ;
 STR W2,[X1]   | CAS W2,W5,[X0]         ;
 STLR W2,[X0]  | EOR W3,W2,W2           ;
               | LDR W4,[X1,W3,SXTW]    ;
exists (1:X2=1 /\\ 1:X4=0)
""")
    assert mp.verdict() == "Allowed"


@pytest.mark.parametrize("load, verdict", [("LDAR", "Forbidden"), ("LDR", "Allowed")])
def test_a_pick_dependency_reaches_a_later_read_of_the_same_location(load, verdict):
    o = outcome(f"""AArch64 pick-through-memory
{{ 0:X1=x; 0:X5=z; 0:X9=y; 1:X1=y; 1:X3=x; }}
 P0                | P1           ;
 LDR W0,[X1]       | LDAR W0,[X1] ;
 CMP W0,#1         | MOV W2,#1    ;
 MOV W3,#0         | STR W2,[X3]  ;
 MOV W4,#1         |              ;
 CSEL W2,W3,W4,EQ  |              ;
 STR W2,[X5]       |              ;
 {load} W6,[X5]    |              ;
 MOV W2,#1         |              ;
 STR W2,[X9]       |              ;
exists (0:X0=1 /\\ 1:X0=1)
""")
    assert o.verdict() == verdict


# --- barriers ----------------------------------------------------------------------------

@pytest.mark.parametrize("barrier, verdict", [("DSB ST", "Forbidden"), ("DMB ST", "Allowed")])
def test_dsb_st_orders_a_write_before_a_later_read(barrier, verdict):
    o = outcome(f"""AArch64 SB
{{ 0:X1=x; 0:X2=y; 1:X1=y; 1:X2=x; }}
 P0          | P1          ;
 MOV W0,#1   | MOV W0,#1   ;
 STR W0,[X1] | STR W0,[X1] ;
 {barrier}   | {barrier}   ;
 LDR W3,[X2] | LDR W3,[X2] ;
exists (0:X3=0 /\\ 1:X3=0)
""")
    assert o.verdict() == verdict


# --- control flow and code ---------------------------------------------------------------

LOOP = """AArch64 loop
{ x=1; 0:X0=x; }
 P0              ;
L0:              ;
 LDXR W1,[X0]    ;
 MOV W3,#2       ;
 STXR W4,W3,[X0] ;
 CBNZ W4,L0      ;
forall (x=2)
"""


def test_a_loop_is_cut_at_the_unroll_limit_and_says_so(tmp_path, capsys):
    o = outcome(LOOP)
    assert o.cut == ["P0:L0"] and o.positive == 3       # 1, 2 or 3 passes succeed
    assert outcome(LOOP, unroll=4).positive == 5
    path = tmp_path / "loop.litmus"
    path.write_text(LOOP)
    assert main(["litmus", str(path)]) == 0
    captured = capsys.readouterr()
    assert "Loop Ok" in captured.out
    assert "unrolling limit (2) exceeded at P0:L0" in captured.err


def test_a_loop_on_a_known_constant_runs_in_full():
    o = outcome("""AArch64 count
{ }
 P0           ;
 MOV W0,#10   ;
 MOV W1,#0    ;
L0:           ;
 ADD W1,W1,#1 ;
 SUB W0,W0,#1 ;
 CBNZ W0,L0   ;
forall 0:X1=10
""")
    assert o.ok and not o.cut and o.states == ["0:X1=10;"]


def test_calls_returns_and_another_threads_code():
    o = outcome("""AArch64 calls
{ 0:X8=P1:Ldec; }
 P0           | P1           ;
 MOV W9,#4    | MOV W9,#4    ;
 BL Linc      | B Lend       ;
 BLR X8       |Ldec:         ;
 B Lzero      | SUB W9,W9,#2 ;
Linc:         | RET          ;
 ADD W9,W9,#1 |Lend:         ;
 RET          |              ;
Lzero:        |              ;
forall (0:X9=3 /\\ 1:X9=4)
""")
    assert o.ok and o.states == ["0:X9=3; 1:X9=4;"]


def test_a_load_from_code_reads_the_instruction():
    o = outcome("""AArch64 code-as-data
{ ins_t 0:X2; }
 P0           ;
 ADR X1,L0    ;
 LDR W2,[X1]  ;
 B L1         ;
L0:           ;
 B L1         ;
L1:           ;
locations [0:X2;]
forall (0:X2=instr:"B .+4")
""")
    assert o.ok and o.states == ['0:X2=instr:"B .+4";']


def test_a_path_through_a_register_holding_no_address_fails_only_if_allowed():
    test = """AArch64 bad-address
{{ x=0; y=16; 0:X1=x; 1:X1=x; 1:X3=y; }}
 P0          | P1           ;
 MOV W0,#1   | LDR W0,[X1]  ;
 STR W0,[X1] | LDR W2,[X1]  ;
             | EOR W4,W0,#1 ;
             | ORR W4,W4,W2 ;
             | CBNZ W4,L1   ;
             | LDR X5,[X3]  ;
             | LDR W6,[X5]  ;
             |L1:           ;
forall 1:X4={v}
"""
    # reading x=1 then x=0 would reach the bad access; coherence forbids it
    assert outcome(test.format(v=1)).ok
    with pytest.raises(LitmusError, match=r"`X5` does not hold a location's address"):
        outcome(test.replace("LDR W2,[X1]", "MOV W2,#0  ").format(v=1))


def test_svc_stops_the_thread_with_a_fault_under_variant_fatal():
    test = """AArch64 svc
{}variant
{{ }}
 P0         ;
 MOV W0,#1  ;
L0:         ;
 SVC #0     ;
 MOV W0,#2  ;
forall (0:X0=1 /\\ Fault(P0:L0,SupervisorCall))
"""
    o = outcome(test.format("Variant=fatal\n").replace("variant\n", ""))
    assert o.ok and o.states == ["0:X0=1; Fault(P0:L0,SupervisorCall);"]
    with pytest.raises(LitmusError, match="exception handlers are not modelled"):
        outcome(test.format("").replace("variant\n", ""))


# --- what is not modelled is rejected, with the reason -------------------------------------

@pytest.mark.parametrize("variant, reason", [("vmsa", "page tables"),
                                             ("ifetch", "instruction fetch"),
                                             ("memtag", "memory tagging")])
def test_an_unmodelled_variant_is_rejected(variant, reason):
    with pytest.raises(NotModelled, match=reason):
        outcome(f"AArch64 v\nVariant={variant}\n{{ 0:X1=x; }}\n P0 ;\n LDR W0,[X1] ;\n"
                "exists (0:X0=0)\n")


def test_a_wider_access_to_an_array_element_is_mixed_size():
    with pytest.raises(NotModelled, match="mixed-size"):
        outcome("AArch64 m\n{ uint8_t t[4]; 0:X2=t; }\n P0 ;\n MOV W0,#1 ;\n"
                " STR W0,[X2] ;\nexists (t[0]=1)\n")


def test_an_offset_into_a_scalar_is_mixed_size_without_the_mixed_variant():
    with pytest.raises(NotModelled, match="mixed-size"):
        outcome("AArch64 m\n{ uint64_t x; 0:X2=x; }\n P0 ;\n MOV W0,#1 ;\n"
                " STR W0,[X2,#4] ;\nexists (x=0)\n")


# --- mixed-size accesses (herd's mixed variant) ---------------------------------------------

def test_mixed_size_writes_put_a_location_together_little_endian():
    # M000/SmallEndian: bytes of an array and halves of an int, read back whole
    o = outcome("AArch64 m\nVariant=mixed\n{ uint8_t t[4]; int x; 0:X2=t; 0:X3=x; }\n P0 ;\n"
                " MOV W0,#1 ;\n STRB W0,[X2] ;\n MOV W0,#2 ;\n STRH W0,[X2,#2] ;\n"
                " LDR W1,[X2] ;\n STRH W0,[X3,#2] ;\n"
                "forall (t[0]=1 /\\ t[1]=0 /\\ t[2]=2 /\\ 0:X1=0x20001 /\\ x=0x20000)\n")
    assert o.ok and o.states == ["0:X1=131073; [x]=131072; t[0]=1; t[1]=0; t[2]=2;"]


def test_the_mixed_variant_may_come_from_outside_the_test():
    text = "AArch64 m\n{ uint64_t x; 0:X2=x; }\n P0 ;\n MOV W0,#1 ;\n STR W0,[X2,#4] ;\n" \
           "forall (x=0x100000000)\n"
    o = outcome(text, variant="mixed", hexa=True)
    assert o.ok and o.states == ["[x]=0x100000000;"]


def test_a_read_sees_all_of_a_single_copy_atomic_write_or_none():
    # MP-Koeln: the release's byte, then a halfword write over it; the acquire reads the
    # halfword's other byte, so everything before the release is visible
    o = outcome("AArch64 K\nVariant=mixed\n{ uint16_t y; uint16_t x; uint16_t 1:X3;\n"
                "0:X0=0x101; 0:X1=x; 0:X2=0x1; 0:X3=y; 0:X4=0x202; 1:X1=y; 1:X4=x; }\n"
                " P0            | P1            ;\n"
                " STRH W0,[X1]  | ADD X2,X1,#1  ;\n"
                " STLRB W2,[X3] | LDARB W0,[X2] ;\n"
                " STRH W4,[X3]  | LDRH W3,[X4]  ;\n"
                "exists (y=0x202 /\\ 1:X0=0x2 /\\ 1:X3=0x0)\n")
    assert o.verdict() == "Forbidden" and o.states


def test_an_acquire_read_of_an_rmw_write_is_ordered_whole():
    # catalogue/aarch64-mixed CoRR+amo.swph0h0-posh0a.w0+w0 (Linux's qspinlock)
    o = outcome("AArch64 Q\nVariant=mixed\n{ uint32_t 0:X3; uint32_t 0:X2; 0:X0=x;\n"
                " uint32_t 1:X1=0xccddeeff; 1:X0=x; }\n"
                " P0              | P1          ;\n"
                " MOV W2,#42      | STR W1,[X0] ;\n"
                " SWPH W2,W1,[X0] |             ;\n"
                " LDAR W3,[X0]    |             ;\n"
                "exists (0:X1=0xeeff /\\ 0:X3=42)\n", hexa=True)
    assert o.verdict() == "Forbidden"
    assert "0:X1=0xeeff; 0:X3=0xccdd002a;" in o.states


def test_a_store_exclusive_of_another_size_fails():
    o = outcome("AArch64 M007\nVariant=mixed\n{ int x=0; 0:X0=x; }\n P0 ;\n MOV W3,#1 ;\n"
                " LDXRH W1,[X0] ;\n STXR W4,W3,[X0] ;\nforall (x=0 /\\ 0:X4=1)\n")
    assert o.ok


def test_an_unaligned_or_out_of_bound_access_is_rejected_under_the_mixed_variant():
    for access in ("STR W0,[X2,#2]", "STR X0,[X2]"):
        with pytest.raises(LitmusError, match="unaligned or out-of-bound"):
            outcome(f"AArch64 u\nVariant=mixed\n{{ int x; 0:X2=x; }}\n P0 ;\n {access} ;\n"
                    "exists (x=0)\n")


def test_what_the_mixed_variant_does_not_model_is_rejected():
    with pytest.raises(NotModelled, match="address"):
        outcome("AArch64 p\nVariant=mixed\n{ int *p=x; 0:X2=p; }\n P0 ;\n LDR X0,[X2] ;\n"
                "exists (0:X0=0)\n")
    with pytest.raises(NotModelled, match="pair"):
        outcome("AArch64 p\nVariant=mixed\n{ uint64_t t[2]; 0:X2=t; }\n P0 ;\n"
                " MOV W0,#1 ;\n STRB W0,[X2,#1] ;\n LDXP X0,X1,[X2] ;\nexists (0:X0=0)\n")


def test_a_constant_is_compared_at_the_locations_declared_width():
    o = outcome("AArch64 w\n{ int32_t u[1]={-1}; uint8_t v=255; }\n P0 ;\n NOP ;\n"
                "forall (u[0]=4294967295 /\\ v=-1)\n")
    assert o.ok


# --- herd's output, and what is not proved -------------------------------------------------

def test_addresses_compare_for_equality_only():
    test = "AArch64 a\n{{ 0:X1=x; 0:X2=y; }}\n P0 ;\n CMP X1,X2 ;\n {use} ;\nexists (0:X3=1)\n"
    assert outcome(test.format(use="CSET W3,NE")).ok
    with pytest.raises(LitmusError, match="condition LS on comparing addresses"):
        outcome(test.format(use="CSET W3,HI"))
    with pytest.raises(LitmusError, match="a bit test of an address"):
        outcome("AArch64 t\n{ 0:X1=x; }\n P0 ;\n TBZ X1,#3,L0 ;\nL0: ;\nexists (0:X1=x)\n")


def test_herd_text_prints_the_condition_and_witnesses_as_herd_does():
    from verify.litmus.run import herd_text
    o = outcome("AArch64 h\n{ x=0; 0:X1=x; }\n P0 ;\n MOV W0,#1 ;\n STR W0,[X1] ;\n"
                "~exists ((x=2 /\\ 0:X0=1) \\/ 0:X0<>1)\n")
    lines = herd_text(o).splitlines()
    assert "Positive: 1 Negative: 0" in lines             # ~exists: the claim's witnesses
    assert "Condition ~exists ([x]=2 /\\ 0:X0=1 \\/ not (0:X0=1))" in lines
    assert lines[-1] == "Observation h Never 0 1"


def test_a_failed_cas_counts_twice_as_in_herd():
    o = outcome("AArch64 c\n{ x=1; 0:X1=x; }\n P0 ;\n MOV W0,#0 ;\n MOV W2,#2 ;\n"
                " CAS W0,W2,[X1] ;\nforall (x=1)\n")
    assert o.ok and o.positive == 2


def test_a_verdict_that_rests_on_cut_loops_is_not_met(tmp_path, capsys):
    path = tmp_path / "loop.litmus"
    path.write_text(LOOP.replace("AArch64 loop\n", "AArch64 loop\nExpected=Required\n"))
    assert main(["litmus", str(path)]) == 1
    assert "NOT PROVED: loops were cut at the unroll limit" in capsys.readouterr().out
