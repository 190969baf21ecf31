"""Weak memory on the shipped code: the harnesses of specs/ run the ELF's functions under Arm's
model. A dropped acquire or release in the runtime must fail them with a counterexample that
names its source line, and fail `verify all` with no image written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from verify.cli import main
from verify.harness.barriers import weaker_forms
from verify.harness.engine import BUDGET_REASON, FAILED, PROVED, UNKNOWN, check
from verify.harness.report import write_harness
from verify.harness.spec import Harness, HarnessError, call, code, load_harnesses
from verify.program import Program

from conftest import PLANTED_ALL, ROOT, copy_tree

TRANSITIONS = ["proc_state_spawn", "proc_state_wake", "proc_state_block", "proc_state_run",
               "proc_state_out", "proc_state_suspend", "proc_state_resume", "proc_state_exit",
               "proc_state_free"]
# (file, function, instruction, its weaker form): the acceptance's planted bugs. console_lock
# and console_unlock order through print_lock and print_unlock, which they call.
MUTANTS = [("asm/lock.s", "spin_lock", "ldaxr", "ldxr"),
           ("asm/lock.s", "spin_unlock", "stlr", "str"),
           ("asm/uart.s", "print_lock", "ldaxr", "ldxr"),
           ("asm/uart.s", "print_unlock", "stlr", "str"),
           ("asm/runtime.s", "runtime_count_up", "stlxr", "stxr"),
           *[("asm/process.s", f, "stlxr", "stxr") for f in TRANSITIONS],
           *[("asm/process.s", f, "ldaxr", "ldxr") for f in TRANSITIONS]]


def first_line(root: Path, source: str, function: str, op: str) -> int:
    """The 1-based line of the first `op` instruction of `function`."""
    lines = (root / source).read_text().split("\n")
    start = next(i for i, line in enumerate(lines)
                 if re.match(rf"\s*L?FUNC\s+{function}\b", line))
    for i in range(start, len(lines)):
        if re.match(rf"\s*{op}\s", lines[i]):
            return i + 1
        assert not re.match(rf"\s*ENDL?FUNC\s+{function}\b", lines[i]), f"no {op} in {function}"
    raise AssertionError(f"{function} not closed")


def plant(root: Path, source: str, function: str, old: str, new: str) -> int:
    """Replace the first `old` instruction of `function` by `new`; its 1-based line."""
    line = first_line(root, source, function, old)
    path = root / source
    lines = path.read_text().split("\n")
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("\n".join(lines))
    return line


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Program:
    root = copy_tree(tmp_path_factory.mktemp("harness"))
    assert main(["--root", str(root), "build"]) == 0
    return Program(root / "build" / "actly.elf", root)


@pytest.fixture(scope="module")
def harnesses() -> dict[str, Harness]:
    found, _ = load_harnesses(ROOT)
    return {h.name: h for h in found}


def test_every_runtime_harness_is_proved(program, harnesses):
    for h in harnesses.values():
        r = check(h, program)
        assert r.verdict == PROVED, (h.name, r.reasons)
        # not vacuous: some execution completes, and each core ran its calls
        assert r.outcome.positive + r.outcome.negative > 0


def test_verdict_only_stops_at_the_first_violation(program, harnesses):
    h = harnesses["print_lock_2"]
    [release] = [i.addr for i in program.instructions(program.functions["print_unlock"])
                 if i.text.startswith("stlr")]
    weakened = {release: "STR wzr, [x0]"}
    full = check(h, program, weakened)
    quick = check(h, program, weakened, verdict_only=True)
    assert full.verdict == quick.verdict == FAILED
    assert quick.outcome.stopped_early and not full.outcome.stopped_early
    assert quick.outcome.executions < full.outcome.executions
    intact = check(h, program, verdict_only=True)     # nothing to stop at: every execution
    assert intact.verdict == PROVED and not intact.outcome.stopped_early
    assert intact.outcome.executions == check(h, program).outcome.executions


@pytest.mark.parametrize("source,function,old,new", MUTANTS,
                         ids=[f"{m[1]}-{m[2]}" for m in MUTANTS])
def test_a_dropped_ordering_fails_with_its_source_line(tmp_path, capsys, caches, source,
                                                       function, old, new):
    # With the gate's caches: a harness that does not run the weakened function keeps its
    # verdict, every one that does is decided again.
    root = copy_tree(tmp_path, caches)
    line = plant(root, source, function, old, new)
    assert main(["--root", str(root), "build"]) == 0
    capsys.readouterr()
    assert main(["--root", str(root), "harness"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"\): FAILED", out)
    # the sentence names the weakened instruction at its line, and what it needs
    assert re.search(rf"`{new.upper()} [^`]*`, {re.escape(source)}:{line}\)", out), out
    assert "is not ordered before" in out and "needs" in out
    # the interleaving table shows every event at its source line
    assert f"{source}:{line}" in out.split("FAILED", 1)[1]
    report = next((root / "reports" / "harness").glob("*.md")).parent
    failed = [p for p in report.glob("*.md") if "FAILED" in p.read_text().split("\n")[0]]
    assert failed and all((p.with_name(p.stem + "-counterexample.dot")).is_file()
                          for p in failed)


def test_verify_all_fails_on_a_dropped_release_and_writes_no_image(tmp_path, capsys,
                                                                    caches):
    root = copy_tree(tmp_path, caches)
    (root / "build").mkdir(exist_ok=True)
    stale = root / "build" / "actly.img"
    stale.write_bytes(b"stale image from an earlier run")
    # print_unlock, not spin_unlock: the same failure, without the minute the barrier
    # report spends on the scheduler harnesses that run spin_unlock
    line = plant(root, "asm/uart.s", "print_unlock", "stlr", "str")
    acquire = first_line(root, "asm/uart.s", "print_lock", "ldaxr")
    assert main(["--root", str(root), "all", *PLANTED_ALL]) == 1
    out = capsys.readouterr().out
    assert not stale.exists() and "no image written" in out
    assert re.search(r"print_lock_2 \(specs/uart\.py\): FAILED", out)
    assert f"asm/uart.s:{line}" in out
    barriers = (root / "reports" / "barriers.md").read_text()
    assert f"| asm/uart.s:{acquire} " in barriers      # the acquire is still analysed
    section = (root / "reports" / "print_unlock.md").read_text()
    assert "## Under weak memory" in section and "print_lock_2: FAILED" in section


def test_litmus_export_is_what_the_engine_runs(program, harnesses, tmp_path, capsys):
    root = program.source_root
    assert main(["--root", str(root), "harness", "spin_lock_2", "--litmus",
                 str(tmp_path)]) == 0
    text = (tmp_path / "spin_lock_2.litmus").read_text()
    assert text.startswith("AArch64 spin_lock_2") and "forall (count=2" in text
    # the code is the ELF's: spin_lock's instructions with their source lines
    assert "LDAXR w2, [x0]" in text and "asm/lock.s:26" in text
    capsys.readouterr()
    # the file runs as any litmus test (herd's semantics: loops unrolled, not reduced)
    main(["litmus", str(tmp_path / "spin_lock_2.litmus")])
    assert "Test spin_lock_2 Required" in capsys.readouterr().out


def test_weaker_forms():
    assert weaker_forms("DMB ISH") == ["DMB ISHST", "DMB ISHLD", "NOP"]
    assert weaker_forms("DMB SY") == ["DMB ST", "DMB LD", "NOP"]
    assert weaker_forms("DSB ISHST") == ["NOP"]
    assert weaker_forms("LDAR x1, [x0]") == ["LDAPR x1, [x0]", "LDR x1, [x0]"]
    assert weaker_forms("STLRB w1, [x0]") == ["STRB w1, [x0]"]
    assert weaker_forms("CASAL x0, x1, [x2]") == ["CASA x0, x1, [x2]", "CASL x0, x1, [x2]",
                                                  "CAS x0, x1, [x2]"]
    assert weaker_forms("SWPAL x0, x1, [x2]")[-1] == "SWP x0, x1, [x2]"
    assert weaker_forms("LDADDA x0, x1, [x2]") == ["LDADD x0, x1, [x2]"]
    assert weaker_forms("LDR x1, [x0]") == [] and weaker_forms("CAS x0, x1, [x2]") == []


def test_a_wait_that_never_ends_proves_nothing(program):
    # the lock is held and nobody releases it: every path waits, so nothing is PROVED
    h = Harness("held", "", objects={"lock": 4}, init={"lock": 1},
                cores=[[call("spin_lock", x0="lock")], [call("spin_lock", x0="lock")]],
                condition="forall (lock=1)", module="test")
    r = check(h, program)
    assert r.verdict == UNKNOWN and "no execution completes" in r.reasons[0]


def test_a_value_bug_fails_without_a_weak_execution(program):
    # a harness whose claim is wrong even in program order: a lost update is impossible, so
    # claiming one is required must fail
    h = Harness("wrong", "", objects={"lock": 4, "count": 8},
                cores=[[call("spin_lock", x0="lock"),
                        code("LDR X9,[{count}]", "ADD X9,X9,#1", "STR X9,[{count}]"),
                        call("spin_unlock", x0="lock")]] * 2,
                condition="exists (count=1)", module="test")
    r = check(h, program)
    assert r.verdict == FAILED and "no allowed execution satisfies" in r.reasons[0]


@pytest.mark.parametrize("harness,message", [
    (Harness("h", "", cores=[[call("no_such_function")]] * 2, condition="forall (true)",
             module="specs/x.py"), "calls no_such_function, which is not a function"),
    (Harness("h", "", cores=[[call("spin_lock", x0="nothing")]] * 2,
             condition="forall (true)", module="specs/x.py"), "names nothing, which is"),
    (Harness("h", "", cores=[[call("spin_lock", x9=1)]] * 2, condition="forall (true)",
             module="specs/x.py"), "arguments are x0 to x7"),
    (Harness("h", "", objects={"lock": 4}, cores=[[call("spin_lock", x0="lock")]] * 2,
             condition="forall (", module="specs/x.py"), "harness h"),
    # it ends with a call that does not return: the code after it is another function
    (Harness("h", "", cores=[[call("runtime_first_process")]] * 2, condition="forall (true)",
             module="specs/x.py"), "runtime_first_process runs off its end"),
])
def test_bad_harnesses_are_errors_naming_what_to_fix(program, harness, message):
    with pytest.raises(HarnessError, match=re.escape(message)):
        check(harness, program)


def test_malformed_harness_module_exits_2(tmp_path, capsys):
    root = copy_tree(tmp_path)
    assert main(["--root", str(root), "build"]) == 0
    (root / "specs" / "broken.py").write_text(
        "from verify.harness.spec import Harness, call\n"
        "HARNESSES = [Harness('one_core', '', cores=[[call('spin_lock')]], "
        "condition='forall (true)')]\n")
    assert main(["--root", str(root), "harness"]) == 2
    assert "specs/broken.py: harness one_core has 1 cores; give 2 to 4" in capsys.readouterr().err
    shutil.rmtree(root / "reports", ignore_errors=True)


def test_an_instruction_without_a_rule_names_its_source_line(program, tmp_path):
    # board_send_wake writes ICC_SGI1R_EL1, which the litmus checker does not model
    h = Harness("sgi", "", cores=[[call("board_send_wake", x0=1)]] * 2,
                condition="forall (true)", module="test")
    with pytest.raises(HarnessError, match=r"asm/board/virt/board\.s:\d+: .*icc_sgi1r_el1"):
        check(h, program)


def test_the_engines_semantics_agree_with_unicorn(program, harnesses):
    from verify.litmus.difftest import check_encodings
    from verify.harness.translate import translate
    encodings = {}
    for h in harnesses.values():
        encodings.update(translate(h, program).encodings(program))
    report = check_encodings(encodings, 20)
    assert report.encodings > 100 and not report.mismatches and not report.skipped, \
        report.text()


def test_the_semantics_check_reuses_only_encodings_that_passed(program, harnesses,
                                                               monkeypatch, tmp_path):
    """An encoding that passed is not run again with as many states; one that mismatched is
    never kept, so it is run again once the rule is right; more states run everything."""
    from verify.litmus import alu
    from verify.litmus.difftest import check_encodings
    from verify.harness.translate import translate
    encodings = translate(harnesses["proc_state_free_releases"], program).encodings(program)
    cache = tmp_path / "semantics.json"
    monkeypatch.setitem(alu.BINARY, "ADD", lambda a, b, bits: a + b + 1)
    wrong = check_encodings(encodings, 20, cache_file=cache)
    adds = {f.addr for f in wrong.mismatches}
    # (an encoding met twice is run once, unless it reads the pc)
    assert adds and wrong.reused <= len(encodings) - len(set(encodings.values()))
    monkeypatch.undo()
    right = check_encodings(encodings, 20, cache_file=cache)
    assert not right.mismatches and len(encodings) - len(adds) <= right.reused < len(encodings)
    again = check_encodings(encodings, 20, cache_file=cache)
    assert again.reused == len(encodings) and again.states == 0
    assert "passed before" in again.text()
    # Moved by an instruction: only what reads the pc (branches, calls, returns) runs again.
    moved = check_encodings({a + 4: v for a, v in encodings.items()}, 20, cache_file=cache)
    still = [t for _, t in encodings.values() if not re.match(r"(B|BL|B\.\w+|CBN?Z|TBN?Z|RET) ",
                                                                 t + " ")]
    assert len(still) <= moved.reused < len(encodings)
    more = check_encodings(encodings, 21, cache_file=cache)
    assert more.reused <= len(encodings) - len(set(encodings.values()))


@pytest.mark.parametrize("family,op,wrong", [
    ("BINARY", "ORR", lambda a, b, bits: a | b | 1),          # a bit too many
    ("BINARY", "ADD", lambda a, b, bits: a + b + 1),          # an off-by-one
])
def test_a_wrong_rule_in_the_engine_is_caught(program, harnesses, monkeypatch, family, op,
                                              wrong):
    from verify.litmus import alu
    from verify.litmus.difftest import check_encodings
    from verify.harness.translate import translate
    encodings = translate(harnesses["proc_state_free_releases"], program).encodings(program)
    assert any(text.startswith(op + " ") for _, text in encodings.values())
    monkeypatch.setitem(getattr(alu, family), op, wrong)
    report = check_encodings(encodings, 50)
    assert any(f.text.startswith(op + " ") for f in report.mismatches), report.text()
    assert all(f.text.startswith(op + " ") for f in report.mismatches)


def test_a_wrong_system_register_rule_is_caught(program, harnesses, monkeypatch):
    """MRS of TPIDRRO_EL0 planted wrong in the engine (the core pointer off by 8): the
    difftest against unicorn finds it, and only it."""
    from verify.litmus import instructions
    from verify.litmus.difftest import check_encodings
    from verify.litmus.events import Val
    from verify.harness.translate import translate
    encodings = translate(harnesses["enqueue_wakes_idle_core"], program).encodings(program)
    right = instructions._harness_system

    def wrong(s, op, args):
        done = right(s, op, args)
        if op == "MRS" and args[1].strip().upper() == "TPIDRRO_EL0":
            regs = done[0][1]
            value = regs[args[0].strip().upper().replace("W", "X")]
            done = [(done[0][0], {**regs, args[0].strip().upper(): Val(value.v + 8)},
                     *done[0][2:])]
        return done
    monkeypatch.setattr(instructions, "_harness_system", wrong)
    report = check_encodings(encodings, 20)
    assert report.mismatches and all("tpidrro_el0" in f.text for f in report.mismatches), \
        report.text()


def test_a_store_exclusive_that_always_fails_is_caught(program, harnesses, monkeypatch):
    # the engine's rule for STXR planted wrong: it never succeeds (the opposite of angr's bug)
    from verify.litmus import instructions
    from verify.litmus.difftest import check_encodings
    from verify.harness.translate import translate
    real = instructions._loads_and_stores

    def never_succeeds(s, op, args):
        forks = real(s, op, args)
        if forks and op in ("STXR", "STLXR"):
            return forks[-1:]                   # only the failing way
        return forks
    monkeypatch.setattr(instructions, "FAMILIES", tuple(
        never_succeeds if f is real else f for f in instructions.FAMILIES))
    encodings = translate(harnesses["spin_lock_2"], program).encodings(program)
    report = check_encodings(encodings, 10)
    assert [f.text for f in report.mismatches] == ["STXR w2, w1, [x0]"], report.text()


# -- golden fixtures from the literature ------------------------------------------------------
@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    from conftest import build_fixture
    program = build_fixture("weak_memory", tmp_path_factory.mktemp("golden"))
    found, _ = load_harnesses(ROOT, [ROOT / "tests" / "fixtures" / "weak_memory.py"])
    return program, {h.name: h for h in found}


def test_chase_lev_needs_exactly_its_two_full_fences(golden):
    # Le, Pop, Cohen, Zappa Nardelli (PPoPP 2013), the ARM form: a take racing steals never
    # hands one task to two, and the fence in take (store of bottom, load of top) and the
    # one in steal (load of top, load of bottom) are each needed
    from verify.harness import barriers
    program, hs = golden
    result = check(hs["chase_lev_take_steal"], program)
    assert result.verdict == PROVED
    sites = barriers.analyse(program, [result])
    assert [(s.source, s.text, s.verdict) for s in sites] == [
        ("tests/fixtures/weak_memory.s:25", "DMB ish", "NEEDED"),
        ("tests/fixtures/weak_memory.s:58", "DMB ish", "NEEDED")]
    # without either fence a task goes to both
    for site in sites:
        broken = check(hs["chase_lev_take_steal"], program, {site.addr: "NOP"})
        assert broken.verdict == FAILED and "is not ordered before" in broken.sentence


def test_an_outcome_is_reused_only_for_the_same_litmus_test(golden, tmp_path):
    """The engine's outcome cache: the same harness on the same code comes from the cache
    with its verdict; with a fence dropped it is another test, decided afresh (FAILED, not
    the cached PROVED) and then reused with its counterexample; a broken entry is a miss."""
    from verify.harness import barriers
    from verify.harness.engine import OutcomeCache
    program, hs = golden
    cache = OutcomeCache(tmp_path / "outcomes")
    h = hs["chase_lev_take_steal"]
    first = check(h, program, cache=cache)
    again = check(h, program, cache=cache)
    assert not first.cached and again.cached and first.verdict == again.verdict == PROVED
    fence = barriers.ordering_sites(program, [first.translation])[0].addr
    broken = check(h, program, {fence: "NOP"}, cache=cache)
    assert not broken.cached and broken.verdict == FAILED
    reused = check(h, program, {fence: "NOP"}, cache=cache)
    assert reused.cached and reused.verdict == FAILED and reused.sentence == broken.sentence
    for entry in (tmp_path / "outcomes").iterdir():
        entry.write_bytes(b"not a pickle")
    assert not check(h, program, cache=cache).cached


def test_code_that_moves_keeps_its_harness_outcomes_and_a_change_in_it_does_not(
        tmp_path, program, harnesses):
    """A nop early in boot.s moves every harness's code: the tests it becomes are the same
    (labels are offsets), so their outcomes are reused; a release dropped in the moved code
    is another test, decided afresh (FAILED)."""
    from verify.harness.engine import OutcomeCache
    cache = OutcomeCache(tmp_path / "outcomes")
    first = check(harnesses["spin_lock_2"], program, cache=cache)
    root = copy_tree(tmp_path / "tree")
    boot = root / "asm" / "boot.s"
    boot.write_text(boot.read_text().replace("FUNC psci_call\n", "FUNC psci_call\n    nop\n"))
    assert main(["--root", str(root), "build"]) == 0
    moved = Program(root / "build" / "actly.elf", root)
    assert moved.functions["spin_lock"].addr != program.functions["spin_lock"].addr
    again = check(harnesses["spin_lock_2"], moved, cache=cache)
    assert again.cached and again.verdict == first.verdict == PROVED
    plant(root, "asm/lock.s", "spin_unlock", "stlr", "str")
    assert main(["--root", str(root), "build"]) == 0
    broken = check(harnesses["spin_lock_2"], Program(root / "build" / "actly.elf", root),
                   cache=cache)
    assert not broken.cached and broken.verdict == FAILED


def test_acquire_release_rmw_is_not_a_full_barrier(golden):
    # Linux 8e86f0b409a4: LDAXR/STLXR lets a later load pass; the DMB ISH after it does not
    program, hs = golden
    bad = check(hs["sb_add_return_acquire_release"], program)
    assert bad.verdict == FAILED
    assert "tests/fixtures/weak_memory.s:" in bad.sentence
    assert check(hs["sb_add_return_full"], program).verdict == PROVED


def test_otp_6309_lost_wake_up(golden):
    # the shape of Erlang/OTP #6309: an add-and-read without a barrier loses a wake-up
    program, hs = golden
    bad = check(hs["send_send_notify_relaxed"], program)
    assert bad.verdict == FAILED and "LDADD x3, x0, [x1]" in bad.sentence
    assert check(hs["send_send_notify_mb"], program).verdict == PROVED


def test_an_enqueue_that_sends_no_wake_up_leaves_the_idle_core_asleep(tmp_path, harnesses):
    """enqueue_wakes_idle_core on an enqueue without its SGI: the core that looked before
    the enqueue sleeps for good, and the counterexample shows it asleep."""
    root = copy_tree(tmp_path)
    source = root / "asm" / "scheduler.s"
    text = source.read_text()
    call_line = re.search(r"\n(\s+)bl\s+board_send_wake[^\n]*", text)
    assert call_line
    source.write_text(text.replace(call_line.group(0), f"\n{call_line.group(1)}nop", 1))
    assert main(["--root", str(root), "build"]) == 0
    r = check(harnesses["enqueue_wakes_idle_core"], Program(root / "build" / "actly.elf", root))
    assert r.verdict == FAILED
    assert r.outcome.violation is not None and r.outcome.violation.blocked


def _one_after_another(accesses) -> str | None:
    """Each critical section reads the count the previous one wrote: exactly one reads the
    initial value, every other read takes another core's write."""
    reads = accesses(loc="count", kind="R")
    initial = [r for r in reads if accesses.read_from(r) is None]
    if len(initial) != 1:
        return f"{len(initial)} critical sections read the initial count"
    stale = [r for r in reads if r not in initial and accesses.read_from(r).core == r.core]
    return f"P{stale[0].core} reads its own count" if stale else None


SERIALISED = Harness("spin_lock_serialised",
                     "critical sections under spin_lock see each other's writes (a condition "
                     "on the execution, not on its final state)",
                     objects={"lock": 4, "count": 8},
                     cores=[[call("spin_lock", x0="lock"),
                             code("LDR X9,[{count}]", "ADD X9,X9,#1", "STR X9,[{count}]"),
                             call("spin_unlock", x0="lock")]] * 2,
                     condition="forall (true)", execution=_one_after_another)


def test_a_condition_on_the_execution_is_checked(program, tmp_path):
    assert check(SERIALISED, program).verdict == PROVED
    root = copy_tree(tmp_path)
    plant(root, "asm/lock.s", "spin_lock", "ldaxr", "ldxr")
    assert main(["--root", str(root), "build"]) == 0
    r = check(SERIALISED, Program(root / "build" / "actly.elf", root))
    assert r.verdict == FAILED
    assert any("condition on the execution: 2 critical sections read the initial count" in x
               for x in r.reasons), r.reasons


def test_barriers_ordering_system_register_writes_are_never_redundant(program):
    """The DSB before the wake-up SGI and the ISBs after MSRs carry a note, which keeps them
    from REDUNDANT however the harnesses come out."""
    from verify.harness.barriers import _outside_note
    notes = {}
    for name in ("board_send_wake", "sched_idle"):
        func = program.functions[name]
        for insn in program.instructions(func):
            if insn.text.startswith(("dsb", "isb")):
                notes[(name, insn.text.split()[0])] = _outside_note(program, insn.addr)
    assert "wake-up SGI" in notes[("board_send_wake", "dsb")]
    assert "msr icc_sgi1r_el1" in notes[("board_send_wake", "isb")]
    assert "msr daifclr" in notes[("sched_idle", "isb")]


def test_a_harness_that_runs_out_of_time_is_unknown_never_proved(tmp_path, harnesses):
    """runtime_count_up retrying on success: every path writes again, so nothing ends the
    enumeration; past its budget the harness is UNKNOWN with the budget as the reason."""
    root = copy_tree(tmp_path)
    plant(root, "asm/runtime.s", "runtime_count_up", "cbnz", "cbz")
    assert main(["--root", str(root), "build"]) == 0
    r = check(harnesses["rendezvous_2"], Program(root / "build" / "actly.elf", root), budget=5)
    assert r.verdict == UNKNOWN and r.reasons[0].startswith(BUDGET_REASON)
    write_harness(r, tmp_path / "reports")     # a report all the same, without executions
    assert "not every execution built" in (tmp_path / "reports" / "rendezvous_2.md").read_text()
