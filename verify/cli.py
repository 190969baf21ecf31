"""The `verify` command: wires building, checking, reporting and booting together."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from . import build, qemu, report
from .prove import PROOF_BUDGET, Result
from .build import BuildError, Layout
from .program import ProgramError
from .spec import SpecError
from .harness.spec import HarnessError
from .litmus.threads import UNROLL


class UsageError(Exception):
    pass


def _layout(args) -> Layout:
    root = Path(args.root).resolve()
    if not (root / "asm").is_dir():
        raise UsageError(f"{root} has no asm/ folder: run from the repository root or pass --root")
    return Layout(root, scenario=getattr(args, "scenario", None))


def _progress(total: int):
    count, start = [0], time.monotonic()

    def show(r: Result) -> None:
        count[0] += 1
        took = "cached" if r.cached else f"{r.seconds:.2f}s"
        print(f"[{count[0]}/{total} {time.monotonic() - start:5.1f}s] {r.function:<28} "
              f"{report.shown_verdict(r):<22} {took}", file=sys.stderr, flush=True)
    return show


def _print_failures(results: list[Result], reports: Path) -> None:
    for r in results:
        if report.passes(r):
            continue
        print(f"\n{r.function} ({r.location}): {r.verdict}")
        if r.counterexample is not None:
            cx = r.counterexample
            print(f"  {cx.sentence}")
            print({"confirmed": "  confirmed by replay on unicorn",
                   "not replayable": f"  not replayable on unicorn ({cx.replay})"}.get(
                cx.replay_status,
                f"  NOT confirmed by replay ({cx.replay}): a verifier defect, please report it"))
            regs = ", ".join(f"{k}=0x{v:x}" for k, v in cx.registers.items()
                             if k in ("x0", "x1", "x2", "x3", "sp", "x30"))
            print(f"  inputs: {regs} (all registers in the report)")
            rows = [[t.line, t.text, t.regs, t.memory] for t in cx.trace[-12:]]
            print(tabulate(rows, headers=["source", "instruction", "writes", "memory"]))
        for reason in r.reasons:
            print(f"  - {reason}")
        print(f"  report: reports/{r.function}.md")


def _prove(layout: Layout, only: list[str] | None, jobs: int,
           use_cache: bool, budget: float) -> tuple[list[Result], bool]:
    from .cache import ProofCache
    from .check import check_all
    from .program import Program
    program = Program(layout.elf, layout.root)
    total = len(only) if only else len(program.functions)
    start = time.monotonic()
    cache = ProofCache(layout.build / "proof-cache", program, layout.root) if use_cache else None
    results, warnings = check_all(program, layout.root, only, _progress(total), jobs, cache,
                                  budget)
    reports = layout.root / "reports"
    report.write_reports(results, reports)
    print(report.summary_table(results))
    for w in warnings:
        print(f"warning: {w}")
    ok = all(report.passes(r) for r in results)
    _print_failures(results, reports)
    counts = {}
    for r in results:
        counts[report.shown_verdict(r)] = counts.get(report.shown_verdict(r), 0) + 1
    print("\n" + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) +
          f" in {time.monotonic() - start:.1f}s ({sum(r.cached for r in results)} from the "
          f"cache); reports in {reports.relative_to(layout.root)}/")
    return results, ok


def cmd_build(args) -> int:
    layout = _layout(args)
    print(build.build_elf(layout))
    return 0


def cmd_prove(args) -> int:
    layout = _layout(args)
    _, ok = _prove(layout, args.functions or None, args.jobs, not args.no_cache,
                   args.proof_budget)
    return 0 if ok else 1


def _difftest(layout: Layout, args) -> bool:
    """The semantics the proofs trusted, checked against unicorn on this image's encodings."""
    from .difftest import format_report, validate_image
    from .program import Program
    program = Program(layout.elf, layout.root)
    cache = layout.build / "difftest-cache.json"
    if args.no_cache:
        cache.unlink(missing_ok=True)
    print(f"\ndifftest: {args.difftest_states} random states per encoding "
          f"(budget {args.difftest_budget:.0f}s)", flush=True)
    start = time.monotonic()

    def show(done: int, total: int) -> None:
        if done % 100 == 0:
            print(f"[difftest {done} cases of about {total} encodings, "
                  f"{time.monotonic() - start:.0f}s]", file=sys.stderr, flush=True)
    result = validate_image(program, cache, args.difftest_states, 0, args.difftest_budget, show)
    if result is None:
        print("difftest: every encoding of the image was validated before by this verifier")
        return True
    text = format_report(result)
    (layout.root / "reports" / "difftest.txt").write_text(text + "\n")
    lines = text.splitlines()
    print(lines[0])
    # Everything from the first harness error or mismatch on (each one's inputs and
    # differences follow it on indented lines).
    trouble = [i for i, line in enumerate(lines) if line.startswith(("HARNESS ERROR",
                                                                      "MISMATCHES"))]
    if trouble:
        print("\n".join(lines[trouble[0]:]))
    return not (result.mismatches or result.errors or result.cut_short)


def _litmus_idioms(layout: Layout) -> bool:
    """The runtime's ordering idioms (litmus/*.litmus) under Arm's model: each must give the
    verdict it declares. Reports, witnesses and forbidding cycles go to reports/litmus/."""
    from .litmus.parse import LitmusError, parse_file
    from .litmus.run import expectation, herd_text, run, explain_into
    tests = sorted((layout.root / "litmus").glob("*.litmus"))
    out_dir = layout.root / "reports" / "litmus"
    print(f"\nlitmus: {len(tests)} ordering idioms under Arm's ARMv8 model")
    ok = True
    for path in tests:
        try:
            outcome = run(parse_file(path))
        except LitmusError as exc:
            print(f"  {path.name}: error: {exc}")
            ok = False
            continue
        expected = expectation(outcome.test)
        verdict = outcome.verdict()
        # with loops cut at the unroll limit only a witness (Allowed) is conclusive
        bounded = bool(outcome.cut) and verdict != "Allowed"
        met = expected is not None and expected == verdict and not bounded
        ok = ok and met
        notes = explain_into(outcome, out_dir / path.stem)
        (out_dir / f"{path.stem}.txt").write_text(herd_text(outcome) + "\n" + notes + "\n")
        status = "as declared" if met else f"DECLARED {expected}"
        if bounded:
            status = f"BOUNDED: loops cut at {', '.join(outcome.cut)}, so not proved"
        print(f"  {outcome.test.name:28} {verdict:9} {status}  "
              f"({outcome.seconds * 1000:.0f} ms)")
        if not met:
            print("    " + notes.replace("\n", "\n    "))
    return ok


def _harnesses(layout: Layout, names: list[str] | None, unroll: int,
               litmus_dir: Path | None = None, barriers: bool = False,
               semantics_states: int = 0, use_cache: bool = True,
               jobs: int = os.cpu_count() or 1) -> bool:
    """The harnesses of specs/ on the shipped code under Arm's model (reports/harness/);
    with `semantics_states`, the litmus checker's semantics of every encoding they run
    against unicorn (reports/harness-semantics.txt); with `barriers` the barrier-necessity
    report (reports/barriers.md), its weakened variants decided in `jobs` processes. With
    `use_cache`, outcomes and semantics checks decided before on the same tests are taken
    from build/; without, the outcomes go to a cache of this run only."""
    from .harness import barriers as necessity
    from .harness.engine import PROVED, OutcomeCache, check, interleaving
    from .harness.report import (barrier_table, function_sections, summary, write_barriers,
                                 write_harness)
    from .harness.spec import HarnessError, load_harnesses
    from .program import Program
    program = Program(layout.elf, layout.root)
    harnesses, unchecked = load_harnesses(layout.root)
    if names:
        missing = sorted(set(names) - {h.name for h in harnesses})
        if missing:
            raise HarnessError(f"no harness named {', '.join(missing)} in specs/ (known: "
                               f"{', '.join(h.name for h in harnesses)})")
        harnesses = [h for h in harnesses if h.name in names]
    reports = layout.root / "reports"
    print(f"\nharnesses: {len(harnesses)} of the shipped code under Arm's ARMv8 model",
          flush=True)
    fresh = None if use_cache else tempfile.TemporaryDirectory(prefix="actly-harness-")
    cache = OutcomeCache(Path(fresh.name) if fresh else layout.build / "harness-cache")
    results = []
    for h in harnesses:
        r = check(h, program, unroll=unroll, cache=cache)
        results.append(r)
        write_harness(r, reports / "harness")
        if litmus_dir is not None:
            litmus_dir.mkdir(parents=True, exist_ok=True)
            (litmus_dir / f"{h.name}.litmus").write_text(r.translation.text)
        took = "cached" if r.cached else f"{r.seconds:.2f}s"
        print(f"  {h.name:34} {r.verdict:8} {took:>7}", file=sys.stderr, flush=True)
    print(summary(results))
    for r in results:
        if r.verdict == PROVED:
            continue
        print(f"\n{r.name} ({r.harness.module}): {r.verdict}")
        if r.sentence:
            print(f"  {r.sentence}")
            cores = len(r.harness.cores)
            print(tabulate(interleaving(r.outcome.violation, cores),
                           headers=[f"P{t}" for t in range(cores)]))
        for reason in r.reasons:
            print(f"  - {reason}")
        print(f"  report: reports/harness/{r.name}.md")
    ok = all(r.verdict == PROVED for r in results)
    if semantics_states:
        from .litmus.difftest import check_encodings
        encodings = {}
        for r in results:
            encodings.update(r.translation.encodings(program))
        print(f"\nlitmus semantics: {len(encodings)} encodings the harnesses run, "
              f"{semantics_states} random states each, against unicorn", flush=True)
        semantics = check_encodings(encodings, semantics_states, cache_file=(
            layout.build / "litmus-semantics-cache.json" if use_cache else None))
        (reports / "harness-semantics.txt").write_text(semantics.text() + "\n")
        print("\n".join(line for line in semantics.text().splitlines()
                        if not line.startswith("  note")))
        ok = ok and not semantics.mismatches and not semantics.skipped
    sites = None
    if barriers:
        start = time.monotonic()
        def show(done, total, site):
            what = (f"{site.source} {site.text}: {site.verdict}" if site else
                    "weakened variants decided")
            print(f"[barriers {done}/{total} {time.monotonic() - start:5.1f}s] {what}",
                  file=sys.stderr, flush=True)
        sites = necessity.analyse(program, results, show, cache, jobs)
        missing = necessity.uncovered(program, sites, unchecked)
        write_barriers(sites, missing, reports)
        print("\nbarrier necessity (reports/barriers.md):\n" + barrier_table(sites, missing))
    function_sections(results, sites, reports)
    if fresh:
        fresh.cleanup()
    return ok


def cmd_harness(args) -> int:
    layout = _layout(args)
    ok = _harnesses(layout, args.names or None, args.unroll,
                    Path(args.litmus) if args.litmus else None,
                    semantics_states=args.semantics_states, use_cache=not args.no_cache)
    return 0 if ok else 1


def cmd_barriers(args) -> int:
    layout = _layout(args)
    _harnesses(layout, args.names or None, args.unroll, barriers=True,
               use_cache=not args.no_cache)
    return 0


class _Tee:
    """Writes to stdout and keeps a copy (the gate's output, for its memo)."""

    def __init__(self, out):
        self.out, self.parts = out, []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def cmd_all(args) -> int:
    from . import memo
    layout = _layout(args)
    build.remove_image(layout)  # a failed run must not leave an older image behind
    build.build_elf(layout)
    options = {k: v for k, v in vars(args).items() if k not in ("func", "jobs", "no_cache")}
    key = memo.gate_key(layout, options)
    last = None if args.no_cache else memo.recall(layout, key)
    if last is not None:
        image = build.write_image(layout)
        print(f"verify all: nothing changed since the pass of {last['when']} (the ELF, asm/, "
              f"specs/, litmus/, the verifier, its options and reports/ are as that run left "
              f"them), so its results stand; wrote {image}. Its output, for reference "
              f"(--no-cache decides everything again):\n")
        print(last["output"].rstrip())
        return 0
    memo.forget(layout)
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        _, ok = _prove(layout, None, args.jobs, not args.no_cache,
                       args.proof_budget)
        ok = _difftest(layout, args) and ok
        ok = _litmus_idioms(layout) and ok
        ok = _harnesses(layout, None, UNROLL, barriers=True,
                        semantics_states=args.semantics_states,
                        use_cache=not args.no_cache, jobs=args.jobs) and ok
    if not ok:
        print(f"\nverify all: FAILED; no image written ({layout.image.name} removed)")
        return 1
    image = build.write_image(layout)
    if memo.gate_key(layout, options) == key:    # nothing it read was edited while it ran
        memo.remember(layout, key, "".join(tee.parts))
    print(f"\nverify all: every check passed; wrote {image}")
    return 0


def cmd_mutants(args) -> int:
    """Plant one-line bugs in the runtime's asm and run the gate on each (verify/mutants.py)."""
    from . import mutants as mut
    layout = _layout(args)
    root = layout.root
    files = [root / f for f in args.files] if args.files else mut.runtime_sources(root)
    for f in files:
        if not f.is_file():
            raise UsageError(f"{f} is not a file; name asm/ files relative to the root")
    planted = [m for f in files for m in mut.mutants_of_file(root, f)
               if not args.functions or m.function in args.functions]
    if args.list:
        for m in planted:
            print(f"{m.file}:{m.line}  {m.function:24} {m.operator:32} {m.mutated.strip()}")
        print(f"{len(planted)} mutants")
        return 0
    if not planted:
        raise UsageError("no mutants: the files or functions named have no instruction to "
                         "mutate")
    build.build_elf(layout)   # the baseline's proofs fill the cache the mutants start from
    _prove(layout, None, args.jobs, True, args.proof_budget)
    start = time.monotonic()

    def show(o, done: int, total: int) -> None:
        m = o.mutant
        print(f"[mutants {done}/{total} {time.monotonic() - start:6.0f}s] {o.status:9} "
              f"{m.file}:{m.line} {m.operator}: {m.mutated.strip()}", file=sys.stderr,
              flush=True)
    cache = None if args.no_cache else layout.build / "mutants-cache"
    outcomes = mut.run_all(root, planted, args.jobs, args.proof_budget, cache, show)
    json_path, md_path = mut.write_reports(outcomes, root / "reports")
    print(md_path.read_text())
    print(f"verify mutants: {len(outcomes)} mutants in {time.monotonic() - start:.0f}s; "
          f"reports in {md_path.relative_to(root)} and {json_path.relative_to(root)}")
    return 1 if any(o.status in (mut.SURVIVED, mut.UNDECIDED) for o in outcomes) else 0


def cmd_boot(args) -> int:
    layout = _layout(args)
    # A scenario is a test program: its ELF boots as built; only the product image is gated.
    image = layout.elf if layout.scenario else layout.image
    result = qemu.boot(image, args.cores, args.timeout, args.el2)
    sys.stdout.write(result.output)
    if result.exit_code is None:
        print(f"verify boot: no power-off within {args.timeout:.0f}s", file=sys.stderr)
        return 1
    return result.exit_code


def cmd_difftest(args) -> int:
    """Differential test of the semantics against unicorn on build/actly.elf (not rebuilt)."""
    from .difftest import format_report, run_difftest
    from .program import Program
    layout = _layout(args)
    result = run_difftest(Program(layout.elf, layout.root), args.states, args.seed,
                          args.budget)
    print(format_report(result))
    return 1 if result.mismatches or result.errors or result.cut_short else 0


def cmd_litmus(args) -> int:
    """Each test under Arm's model: herd's report, or JSON; 1 if a test's claim fails."""
    import json
    from .litmus.parse import LitmusError, parse_file
    from .litmus.run import as_json, expectation, herd_text, run
    failed, reports = 0, []
    for path in args.paths:
        try:
            outcome = run(parse_file(path), unroll=args.unroll, variant=args.variant,
                          hexa=args.hexa)
        except LitmusError as exc:
            print(f"verify litmus: error: {exc}", file=sys.stderr)
            return 2
        if outcome.cut:
            print(f"verify litmus: warning: {path}: unrolling limit ({args.unroll}) exceeded at "
                  f"{', '.join(outcome.cut)}; executions past it are missing (--unroll N)",
                  file=sys.stderr)
        expected = expectation(outcome.test)
        verdict = outcome.verdict()
        # with loops cut at the unroll limit only a witness (Allowed) is conclusive
        bounded = bool(outcome.cut) and verdict != "Allowed"
        met = expected is None or (expected == verdict and not bounded)
        failed += not met
        if args.json:
            reports.append(dict(as_json(outcome), expected=expected, met=met))
        else:
            print(herd_text(outcome))
            if expected is not None:
                status = ("met" if met else "NOT PROVED: loops were cut at the unroll limit"
                          if bounded else "NOT MET, the model says " + verdict)
                print(f"Expected {expected}: {status}")
            print()
    if args.json:
        print(json.dumps(reports, indent=2))
    return 1 if failed else 0


def cmd_litmus_corpus(args) -> int:
    """The corpus regression; exit 1 if any test disagrees with herd."""
    from .litmus.corpus import AGREE, REJECTED_TOO, UNCOUNTED, regress
    from .litmus.parse import LitmusError
    try:
        report = regress(Path(args.corpus), args.only)
    except LitmusError as exc:
        print(f"verify litmus-corpus: error: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if all(r.outcome in (AGREE, REJECTED_TOO, *UNCOUNTED)
                    for r in report.rows) else 1


def cmd_bench(args) -> int:
    """Instruction counts under QEMU -icount shift=0, beside BEAM's figures."""
    from .bench import table
    layout = _layout(args)
    print(tabulate(table(layout.root), headers=["benchmark", "Actly instructions/op", "runs",
                                                "BEAM metric", "BEAM instructions/op"]))
    return 0


def _proof_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="prove in N processes (default: one per core)")
    p.add_argument("--no-cache", action="store_true",
                   help="prove every function again, ignoring build/proof-cache")
    p.add_argument("--proof-budget", type=float, default=PROOF_BUDGET, metavar="SECONDS",
                   help=f"CPU seconds per proof (of the process proving it, so a busy machine "
                   f"does not change a verdict); past it the verdict is UNKNOWN "
                   f"(default {PROOF_BUDGET:.0f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verify", description=__doc__)
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="assemble and link build/actly.elf")
    p.add_argument("--scenario", help="also link asm/scenarios/NAME.s (a test program) into "
                   "build/scenarios/NAME/actly.elf")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("prove", help="check functions of build/actly.elf; writes reports only")
    p.add_argument("functions", nargs="*", help="only these functions")
    p.set_defaults(func=cmd_prove)
    _proof_options(p)
    p = sub.add_parser("all", help="build, check everything, and only then write build/actly.img")
    p.set_defaults(func=cmd_all)
    _proof_options(p)
    p.add_argument("--difftest-states", type=int, default=1000,
                   help="random states per encoding for the semantics check (default 1000)")
    p.add_argument("--difftest-budget", type=float, default=600.0,
                   help="seconds the semantics check may take; a run cut short fails")
    p.add_argument("--semantics-states", type=int, default=100, metavar="N",
                   help="random states per encoding for the litmus checker's semantics of "
                   "the code the harnesses run, against unicorn (default 100)")
    p = sub.add_parser("boot", help="boot build/actly.img on QEMU virt and show its output")
    p.add_argument("--cores", type=int, default=4, help="number of cores, 1 to 8 (default 4)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for power-off")
    p.add_argument("--el2", action="store_true", help="enter at EL2 (virtualization=on)")
    p.add_argument("--scenario", help="boot the scenario image built by "
                   "`verify build --scenario NAME` instead of the product image")
    p.set_defaults(func=cmd_boot)
    p = sub.add_parser("litmus", help="run .litmus tests under Arm's ARMv8 model: herd's "
                       "report per test; exit 1 if a test's declared expectation (an "
                       "`Expected=` header line, or kinds.txt beside it) is not met")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per test")
    p.add_argument("--unroll", type=int, default=2, metavar="N",
                   help="jumps back to one place a path may take before it is cut, with a "
                        "warning (default 2, herd's)")
    p.add_argument("--variant", metavar="NAMES", help="herd variants to add to each test's "
                   "own `Variant=` line, as herd's -variant (e.g. `mixed`)")
    p.add_argument("--hexa", action="store_true", help="values in hex (herd's -hexa)")
    p.set_defaults(func=cmd_litmus)
    p = sub.add_parser("litmus-corpus", help="run herd's litmus corpus and compare with its "
                       "reference results: agreement per folder, each disagreement and why")
    p.add_argument("corpus", help="the corpus folder (with index.tsv)")
    p.add_argument("--only", help="only folders whose name contains this")
    p.set_defaults(func=cmd_litmus_corpus)
    for name, func, what in (
            ("harness", cmd_harness, "run the weak-memory harnesses of specs/ on the shipped "
             "functions of build/actly.elf under Arm's model; exit 1 unless every one is "
             "PROVED"),
            ("barriers", cmd_barriers, "weaken each ordering the harnesses cover and decide "
             "them again: NEEDED, REDUNDANT or UNDECIDED (reports/barriers.md)")):
        p = sub.add_parser(name, help=what)
        p.add_argument("names", nargs="*", help="only these harnesses")
        p.add_argument("--unroll", type=int, default=UNROLL, metavar="N",
                       help=f"jumps back to one place a path may take (default {UNROLL}); "
                       f"past it the verdict is BOUNDED")
        p.add_argument("--no-cache", action="store_true", help="decide every harness again, "
                       "ignoring build/harness-cache")
        if name == "harness":
            p.add_argument("--litmus", metavar="DIR", help="also write each harness as a "
                           "herd-format .litmus file into DIR")
            p.add_argument("--semantics-states", type=int, default=0, metavar="N",
                           help="also check the litmus checker's semantics of every encoding "
                           "the harnesses run against unicorn, N random states each")
        p.set_defaults(func=func)
    p = sub.add_parser("mutants", help="plant one-line bugs in the runtime's asm and run the "
                       "gate on each: survivors, a score per file (reports/mutants.md, "
                       "reports/mutants.json); exit 1 if any non-equivalent mutant survives")
    p.add_argument("files", nargs="*", help="asm files to mutate (default: the runtime's)")
    p.add_argument("--function", dest="functions", action="append", metavar="NAME",
                   help="only mutants inside this function (repeatable)")
    p.add_argument("--list", action="store_true", help="list the mutants; run nothing")
    _proof_options(p)
    p.set_defaults(func=cmd_mutants)
    sub.add_parser("bench", help="instruction counts of runtime operations under QEMU "
                   "-icount, beside BEAM's").set_defaults(func=cmd_bench)
    p = sub.add_parser("difftest", help="compare the verifier's instruction semantics with "
                       "unicorn on random states, for every encoding in build/actly.elf")
    p.add_argument("--states", type=int, default=1000, help="random states per encoding")
    p.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")
    p.add_argument("--budget", type=float, default=None, help="stop after SECONDS "
                   "(the run is then reported as cut short and fails)")
    p.set_defaults(func=cmd_difftest)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, BuildError, ProgramError, SpecError, HarnessError, qemu.QemuError,
            KeyError) as exc:
        print(f"verify: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
