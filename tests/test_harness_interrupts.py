"""Harness mode's model of the wake-up interrupt: an SGI is ordered after earlier stores by
a DSB only, a WFI takes it, and a core whose WFI no wake-up ever ends sleeps for good."""

from verify.litmus.parse import parse
from verify.litmus.run import run

TEST = """AArch64 wake
{{ 0:X0=x; 1:X0=x; 0:MPIDR_EL1=0x0; 1:MPIDR_EL1=0x1; }}
 P0                        | P1            ;
 MOV X1,#1                 | WFI           ;
 STR X1,[X0]               | LDR X3,[X0]   ;
 {barrier}                 |               ;
 MOV X2,#{targets}         |               ;
 MSR ICC_SGI1R_EL1,X2      |               ;
forall (1:X3=1)
"""


def _run(barrier: str, targets: int = 2):
    test = parse(TEST.format(barrier=barrier, targets=targets), "wake.litmus")
    test.harness = True
    return run(test)


def test_a_dsb_before_the_sgi_makes_the_woken_core_see_the_store():
    assert _run("DSB ISH").ok
    assert _run("DSB ISHST").ok


def test_a_dmb_does_not_order_the_sgi():
    out = _run("DMB ISH")
    assert not out.ok and out.violation is not None


def test_no_barrier_is_caught():
    assert not _run("NOP").ok


def test_a_core_no_wake_up_reaches_sleeps_for_good():
    # the SGI goes to core 0 (target list bit 0) and the harness's core 1 sleeps forever
    out = _run("DSB ISH", targets=1)
    assert not out.ok
    assert out.violation is not None and out.violation.blocked
