"""Mutation testing of the runtime's assembly: plant one-line bugs, run the gate on each.

Each mutant changes one line of one `asm/` file in a way a person could get wrong:

- off-by-one: an immediate of an arithmetic, compare or move instruction, plus or minus one;
- flipped condition: a branch, compare-and-branch, test-and-branch or conditional select on
  the opposite condition;
- dropped store: a store becomes a NOP;
- skipped save: a register pair push allocates its 16 bytes but stores nothing;
- ignored store-exclusive status: the retry branch after a store-exclusive becomes a NOP;
- dropped barrier / weakened ordering: a DMB, DSB or ISB becomes a NOP; an acquire or release
  access (LDAR, STLR, LDAXR, STLXR, acquire-release atomics) loses its ordering; DMB ISH
  becomes DMB ISHST;
- swapped operands: the two source registers of a non-commutative instruction change places.

Replacements keep the instruction count, so every other function keeps its address and bytes
and the proof cache answers for it. The gate on a mutant is the proofs of every function
(cached where unchanged) and the weak-memory harnesses that run the mutated function; the
mutant is caught ("killed") when a result that passes on the unmutated tree no longer does,
for a reason other than a spent proof budget; one lost only to the budget is "undecided" and
counts as not caught. A mutant that does not assemble is not counted. A survivor is either an
equivalent mutant (`specs/mutants.toml` says why) or a gap in the contracts.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import re
import shutil
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .build import BuildError, Layout, build_elf
from .prove import BUDGET_REASON

KILLED, SURVIVED, UNDECIDED = "killed", "survived", "undecided"
INVALID, EQUIVALENT = "invalid", "equivalent"

INVERSE = {"eq": "ne", "ne": "eq", "hs": "lo", "lo": "hs", "cs": "cc", "cc": "cs",
           "mi": "pl", "pl": "mi", "vs": "vc", "vc": "vs", "hi": "ls", "ls": "hi",
           "ge": "lt", "lt": "ge", "gt": "le", "le": "gt"}
# Acquire/release forms and what they are without their ordering.
WEAKER = {"ldar": "ldr", "ldarb": "ldrb", "ldarh": "ldrh", "stlr": "str", "stlrb": "strb",
          "stlrh": "strh", "ldaxr": "ldxr", "ldaxrb": "ldxrb", "ldaxrh": "ldxrh",
          "stlxr": "stxr", "stlxrb": "stxrb", "stlxrh": "stxrh", "ldaxp": "ldxp",
          "stlxp": "stxp", "casal": "cas", "casa": "cas", "casl": "cas", "ldaddal": "ldadd",
          "ldadda": "ldadd", "ldaddl": "ldadd", "swpal": "swp", "swpa": "swp", "swpl": "swp",
          "ldapr": "ldr"}
STORES = ("str", "strb", "strh", "stur", "sturb", "sturh", "stp", "stlr", "stlrb", "stlrh")
IMMEDIATE_OPS = ("add", "adds", "sub", "subs", "cmp", "cmn", "mov")
SWAPPABLE = ("sub", "subs", "sbc", "cmp", "lsl", "lsr", "asr", "udiv", "sdiv", "bic", "orn")
CONDITIONAL_SELECTS = ("csel", "csinc", "csinv", "csneg", "cset", "csetm", "cinc")


@dataclass(frozen=True)
class Mutant:
    file: str          # asm/<file>.s
    line: int          # 1-based
    function: str
    operator: str
    original: str
    mutated: str

    @property
    def key(self) -> str:
        """What names the mutant across edits elsewhere in the file (not its line number)."""
        return f"{self.file}:{self.function}:{self.operator}:{self.original.strip()} -> " \
               f"{self.mutated.strip()}"


@dataclass
class Outcome:
    mutant: Mutant
    status: str                    # KILLED, SURVIVED, INVALID or EQUIVALENT
    by: list[str] = field(default_factory=list)     # what caught it
    reason: str = ""               # equivalent: why; invalid: the assembler's complaint
    seconds: float = 0.0


# -- generating mutants -----------------------------------------------------------------------

def _code(line: str) -> str:
    """The instruction part of a source line: comments and labels removed."""
    line = re.sub(r"/\*.*?\*/", "", line).split("//")[0]
    line = re.sub(r"^\s*[\w.$]+:", "", line)
    return line.strip()


def _operands(text: str) -> tuple[str, list[str]]:
    mnemonic, _, rest = text.partition(" ")
    ops = [o.strip() for o in rest.split(",")] if rest.strip() else []
    return mnemonic.lower(), ops


def _replace_code(line: str, old: str, new: str) -> str:
    return line.replace(old, new, 1)


def mutations_of(line: str, previous: str = "") -> list[tuple[str, str]]:
    """(operator, mutated line) for one source line; `previous` is the instruction before
    it (a store-exclusive's status register is tested by the instruction after it)."""
    text = _code(line)
    if not text or text.startswith("."):
        return []
    mnemonic, ops = _operands(text)
    out: list[tuple[str, str]] = []
    indent = line[:len(line) - len(line.lstrip())]

    def whole(new_text: str) -> str:
        return indent + new_text

    if mnemonic.startswith("b.") and mnemonic[2:] in INVERSE:
        out.append(("flipped condition", _replace_code(line, text.split()[0],
                                                       "b." + INVERSE[mnemonic[2:]])))
    elif mnemonic in ("cbz", "cbnz", "tbz", "tbnz"):
        other = {"cbz": "cbnz", "cbnz": "cbz", "tbz": "tbnz", "tbnz": "tbz"}[mnemonic]
        out.append(("flipped condition", _replace_code(line, text.split()[0], other)))
        prev_mn, prev_ops = _operands(_code(previous))
        if mnemonic == "cbnz" and prev_mn.startswith(("stxr", "stlxr", "stxp", "stlxp")) \
                and prev_ops and ops and prev_ops[0] == ops[0]:
            out.append(("ignored store-exclusive status", whole("nop")))
    elif mnemonic in CONDITIONAL_SELECTS and ops and ops[-1].lower() in INVERSE:
        flipped = ", ".join(ops[:-1] + [INVERSE[ops[-1].lower()]])
        out.append(("flipped condition", whole(f"{mnemonic} {flipped}")))
        if mnemonic == "csel" and len(ops) == 4:
            out.append(("swapped operands",
                        whole(f"csel {ops[0]}, {ops[2]}, {ops[1]}, {ops[3]}")))
    if mnemonic in IMMEDIATE_OPS and ops and ops[-1].startswith("#") and "lsl" not in text:
        imm = ops[-1][1:]
        for delta in ("+1", "-1"):
            new_ops = ops[:-1] + [f"#({imm}){delta}"]
            out.append(("off-by-one", whole(f"{mnemonic} {', '.join(new_ops)}")))
    if mnemonic in STORES:
        out.append(("dropped store", whole("nop")))
    if mnemonic in WEAKER:
        out.append(("weakened ordering", _replace_code(line, text.split()[0], WEAKER[mnemonic])))
    if mnemonic in ("dmb", "dsb", "isb"):
        out.append(("dropped barrier", whole("nop")))
        if mnemonic == "dmb" and ops == ["ish"]:
            out.append(("weakened ordering", whole("dmb ishst")))
    if text.startswith("PUSH2"):
        out.append(("skipped save", whole("sub sp, sp, #16")))
    if mnemonic in SWAPPABLE and len(ops) >= 2:
        regs = ops[1:3] if mnemonic not in ("cmp",) else ops[0:2]
        if len(regs) == 2 and all(re.fullmatch(r"[xw]\d+|[xw]zr", r) for r in regs) \
                and regs[0] != regs[1]:
            if mnemonic == "cmp":
                new_ops = [regs[1], regs[0]] + ops[2:]
            else:
                new_ops = [ops[0], regs[1], regs[0]] + ops[3:]
            out.append(("swapped operands", whole(f"{mnemonic} {', '.join(new_ops)}")))
    return out


FUNC_START = re.compile(r"^\s*(?:FUNC|LFUNC)\s+(\w+)")
FUNC_END = re.compile(r"^\s*ENDFUNC\b")


def mutants_of_file(root: Path, path: Path) -> list[Mutant]:
    """Every mutant of one asm file, inside functions only (data and macros are left alone)."""
    rel = path.relative_to(root).as_posix()
    mutants, function, previous = [], None, ""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        start = FUNC_START.match(line)
        if start:
            function, previous = start.group(1), ""
            continue
        if FUNC_END.match(line):
            function = None
            continue
        if function is None:
            continue
        for operator, new in mutations_of(line, previous):
            mutants.append(Mutant(rel, number, function, operator, line, new))
        if _code(line):
            previous = line
    return mutants


def runtime_sources(root: Path) -> list[Path]:
    """The runtime's own asm files: asm/*.s and the board layer (not the test scenarios)."""
    return sorted(root.glob("asm/*.s")) + sorted(root.glob("asm/board/*/*.s"))


# -- equivalent mutants -----------------------------------------------------------------------

def load_equivalents(root: Path) -> dict[str, str]:
    """specs/mutants.toml: mutants that cannot change behaviour, each with why."""
    path = root / "specs" / "mutants.toml"
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text())
    out = {}
    for entry in data.get("equivalent", []):
        if not entry.get("mutant") or not entry.get("why", "").strip():
            raise ValueError(f"{path}: each [[equivalent]] needs `mutant` (its key, as "
                             "`verify mutants` prints it) and `why`")
        out[entry["mutant"]] = entry["why"].strip()
    return out


# -- running the gate on one mutant -------------------------------------------------------------

@dataclass
class Baseline:
    """What passes on the unmutated tree: the functions' verdicts and the harnesses."""
    passing: set[str]
    harnesses_proved: set[str]
    reached: dict[str, set[str]]     # harness name -> functions its code can run


def _copy_tree(root: Path, dest: Path) -> None:
    for part in ("asm", "specs"):
        shutil.copytree(root / part, dest / part)
    for cache in ("proof-cache", "harness-cache"):     # keyed by content: safe to share
        if (root / "build" / cache).is_dir():
            shutil.copytree(root / "build" / cache, dest / "build" / cache)


def _gate(root: Path, budget: float, harness_names: set[str] | None,
          only: list[str] | None = None, proofs: bool = True,
          ) -> tuple[set[str], set[str], dict[str, set[str]], dict[str, str]]:
    """Proofs (cached; of `only` and the callees they rely on, if given; none without
    `proofs`) and harnesses on the tree at root: the passing functions, the PROVED harnesses,
    each harness's reachable functions, and why each failing function fails."""
    from . import report
    from .cache import ProofCache
    from .check import check_all
    from .harness.engine import (BUDGET_REASON as HARNESS_BUDGET_REASON, PROVED,
                                 OutcomeCache, check)
    from .harness.spec import HarnessError, load_harnesses
    from .litmus.parse import NotModelled
    from .program import Program
    layout = Layout(root)
    program = Program(build_elf(layout), root)
    cache = ProofCache(layout.build / "proof-cache", program, root)
    results, _ = check_all(program, root, only, cache=cache, budget=budget) if proofs \
        else ([], [])
    passing = {r.function for r in results if report.passes(r)}
    # Not passing only because a proof budget ran out: not evidence either way.
    budget_only = {r.function for r in results
                   if not report.passes(r) and r.verdict == "UNKNOWN" and r.reasons
                   and all(x.startswith(BUDGET_REASON) for x in r.reasons)}
    why = {r.function: (r.verdict + (f": {r.counterexample.sentence}" if r.counterexample
                                      else (f": {r.reasons[0]}" if r.reasons else "")))
           for r in results if not report.passes(r)}
    harnesses, _ = load_harnesses(root)
    engine_cache = OutcomeCache(layout.build / "harness-cache")
    reached = {h.name: program.reachable(h.functions()) for h in harnesses}
    proved, out_of_time = set(), set()
    for h in harnesses:
        if harness_names is not None and h.name not in harness_names:
            continue
        try:
            # a mutant needs only the verdict; the unmutated tree's run is the full one
            r = check(h, program, budget=budget, cache=engine_cache,
                      verdict_only=harness_names is not None)
        except HarnessError as exc:
            if harness_names is None:
                raise                   # the unmutated tree: the harness itself is wrong
            if isinstance(exc.__cause__, NotModelled) or "instructions on a path" in str(exc):
                why[f"harness {h.name}"] = f"undecided, a limit of the checker: {exc}"
                out_of_time.add(f"harness {h.name}")    # not a bug found
                proved.add(h.name)
            else:
                why[f"harness {h.name}"] = f"the mutated code breaks it: {exc}"
            continue
        if r.verdict == PROVED:
            proved.add(h.name)
        elif r.reasons and r.reasons[0].startswith(HARNESS_BUDGET_REASON):
            out_of_time.add(f"harness {h.name}")     # evidence neither way
            if harness_names is not None:            # never proved on the unmutated tree
                proved.add(h.name)
            why[f"harness {h.name}"] = f"{r.verdict}: {r.reasons[0]}"
        else:
            why[f"harness {h.name}"] = f"{r.verdict}: {r.reasons[0] if r.reasons else ''}"
    return passing | budget_only, proved, reached, why, budget_only | out_of_time


def baseline(root: Path, budget: float) -> Baseline:
    passing, proved, reached, _, _ = _gate(root, budget, None)
    return Baseline(passing, proved, reached)


def run_mutant(root: Path, mutant: Mutant, base: Baseline, budget: float) -> Outcome:
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="actly-mutant-") as tmp:
        tree = Path(tmp)
        _copy_tree(root, tree)
        path = tree / mutant.file
        lines = path.read_text().splitlines(keepends=True)
        lines[mutant.line - 1] = mutant.mutated + "\n"
        path.write_text("".join(lines))
        harnesses = {h for h, fns in base.reached.items() if mutant.function in fns}
        try:
            # The quick checks first, each able to catch it on its own: the function's own
            # contract, then the harnesses that run it; only a mutant both miss pays for
            # the proofs of every function that ran through it.
            if mutant.function in base.passing:
                own, _, _, why, _ = _gate(tree, budget, set(), [mutant.function])
                if mutant.function not in own:     # (a spent budget counts as passing)
                    return Outcome(mutant, KILLED, by=[f"{mutant.function}: "
                                                       f"{why[mutant.function]}"],
                                   seconds=time.monotonic() - start)
            run = harnesses & base.harnesses_proved
            if run:
                _, proved, _, why, _ = _gate(tree, budget, run, proofs=False)
                if run - proved:
                    return Outcome(mutant, KILLED, by=[f"harness {h}: {why[f'harness {h}']}"
                                                       for h in sorted(run - proved)],
                                   seconds=time.monotonic() - start)
            passing, proved, _, why, budget_only = _gate(tree, budget, run)
        except BuildError as exc:
            return Outcome(mutant, INVALID, reason=str(exc).splitlines()[0][:200],
                           seconds=time.monotonic() - start)
    caught = [f"{name}: {why.get(name, 'not passing')}"
              for name in sorted(base.passing - passing)]
    caught += [f"harness {h}: {why.get(f'harness {h}', '')}"
               for h in sorted((harnesses & base.harnesses_proved) - proved)]
    undecided = sorted(budget_only & (base.passing | {f"harness {h}" for h in harnesses}))
    status = KILLED if caught else UNDECIDED if undecided else SURVIVED
    if not caught:
        caught = [f"{name}: {why.get(name, '')}" for name in undecided]
    return Outcome(mutant, status, by=caught, seconds=time.monotonic() - start)


# -- the whole run ------------------------------------------------------------------------------

def _mutant_cache_key(root: Path, mutant: Mutant, budget: float) -> str:
    """The whole verifier (the proofs, the weak-memory engine and this tester decide an
    outcome), the budget, the mutant and the tree it was planted in."""
    h = hashlib.sha256()
    h.update(f"{budget}|{mutant.key}|{mutant.line}".encode())
    verify = Path(__file__).resolve().parent
    for path in sorted(verify.rglob("*.py")):
        h.update(path.relative_to(verify).as_posix().encode())
        h.update(path.read_bytes())
    for path in sorted((root / "asm").rglob("*")) + sorted((root / "specs").rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


_worker: dict = {}


def _init(root: Path, base: Baseline, budget: float) -> None:
    _worker.update(root=root, base=base, budget=budget)


def _work(mutant: Mutant) -> Outcome:
    try:
        return run_mutant(_worker["root"], mutant, _worker["base"], _worker["budget"])
    except Exception as exc:    # a verifier defect on one mutant: reported, the run goes on
        return Outcome(mutant, UNDECIDED, by=[f"the gate itself failed on this mutant: "
                                              f"{type(exc).__name__}: {exc}"])


def run_all(root: Path, mutants: list[Mutant], jobs: int, budget: float,
            cache_dir: Path | None, progress: Callable[[Outcome, int, int], None] | None = None
            ) -> list[Outcome]:
    """Every mutant through the gate (from the cache where nothing changed), in `jobs`
    processes; equivalent ones (specs/mutants.toml) are still run, and reported as such only
    if they survive."""
    with tempfile.TemporaryDirectory(prefix="actly-mutants-") as tmp:
        # A snapshot: editing asm/ or specs/ while mutants run changes neither their
        # outcomes nor the keys they are cached under.
        snapshot = Path(tmp)
        _copy_tree(root, snapshot)
        outcomes = _run_all(snapshot, mutants, jobs, budget, cache_dir, progress)
        for cache in ("proof-cache", "harness-cache"):
            kept = snapshot / "build" / cache    # the baseline's, keyed by content: kept
            if kept.is_dir():
                shutil.copytree(kept, root / "build" / cache, dirs_exist_ok=True)
        return outcomes


def _run_all(root: Path, mutants: list[Mutant], jobs: int, budget: float,
             cache_dir: Path | None, progress: Callable[[Outcome, int, int], None] | None
             ) -> list[Outcome]:
    equivalents = load_equivalents(root)
    outcomes: dict[Mutant, Outcome] = {}
    todo = []
    for m in mutants:
        cached = _cached(cache_dir, root, m, budget)
        if cached is not None:
            outcomes[m] = cached
            if progress:
                progress(cached, len(outcomes), len(mutants))
        else:
            todo.append(m)
    if todo:
        base = baseline(root, budget)

        def finish(outcome: Outcome) -> None:
            outcomes[outcome.mutant] = outcome
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
                (cache_dir / f"{_mutant_cache_key(root, outcome.mutant, budget)}.json"
                 ).write_text(json.dumps(_as_dict(outcome)))
            if progress:
                progress(outcome, len(outcomes), len(mutants))
        # Each mutant in a fresh process: an outcome must not depend on what the process
        # decided before it (Z3's models do, through the terms it has already built).
        with concurrent.futures.ProcessPoolExecutor(
                jobs, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1,
                initializer=_init, initargs=(root, base, budget)) as pool:
            for outcome in pool.map(_work, todo):
                finish(outcome)
    result = [outcomes[m] for m in mutants]
    for o in result:
        if o.status == SURVIVED and o.mutant.key in equivalents:
            o.status, o.reason = EQUIVALENT, equivalents[o.mutant.key]
    return result


def _as_dict(o: Outcome) -> dict:
    return dict(asdict(o), mutant=asdict(o.mutant))


def _cached(cache_dir: Path | None, root: Path, m: Mutant, budget: float) -> Outcome | None:
    if cache_dir is None:
        return None
    path = cache_dir / f"{_mutant_cache_key(root, m, budget)}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Outcome(**dict(data, mutant=Mutant(**data["mutant"])))
    except (ValueError, TypeError, KeyError):
        return None


# -- reports ------------------------------------------------------------------------------------

def scores(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Per file: how many mutants were killed, survived, undecided, equivalent, invalid."""
    table: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = table.setdefault(o.mutant.file, {KILLED: 0, SURVIVED: 0, UNDECIDED: 0,
                                               EQUIVALENT: 0, INVALID: 0})
        row[o.status] += 1
    return table


def score(row: dict[str, int]) -> float | None:
    """Killed over the non-equivalent mutants that assembled (undecided ones count as not
    killed)."""
    counted = row[KILLED] + row[SURVIVED] + row[UNDECIDED]
    return row[KILLED] / counted if counted else None


def write_reports(outcomes: list[Outcome], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    table = scores(outcomes)
    total = {k: sum(row[k] for row in table.values())
             for k in (KILLED, SURVIVED, UNDECIDED, EQUIVALENT, INVALID)}
    data = {"score": score(total), "totals": total,
            "files": {f: dict(row, score=score(row)) for f, row in sorted(table.items())},
            "mutants": [_as_dict(o) for o in outcomes]}
    json_path = out_dir / "mutants.json"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    lines = ["# Mutants", "", "Planted one-line bugs and whether the gate caught them "
             "(`verify mutants`).", "", "| file | killed | survived | undecided | equivalent | "
             "invalid | score |", "|---|---|---|---|---|---|---|"]
    for f, row in sorted(table.items()) + [("all", total)]:
        s = score(row)
        lines.append(f"| {f} | {row[KILLED]} | {row[SURVIVED]} | {row[UNDECIDED]} | "
                     f"{row[EQUIVALENT]} | {row[INVALID]} | "
                     f"{'-' if s is None else f'{100 * s:.1f}%'} |")
    survivors = [o for o in outcomes if o.status == SURVIVED]
    lines += ["", f"## Survivors ({len(survivors)})", ""]
    for o in survivors:
        m = o.mutant
        lines.append(f"- `{m.file}:{m.line}` ({m.function}, {m.operator}): "
                     f"`{m.original.strip()}` -> `{m.mutated.strip()}`")
    undecided = [o for o in outcomes if o.status == UNDECIDED]
    if undecided:
        lines += ["", f"## Undecided: a proof budget ran out ({len(undecided)})", ""]
        lines += [f"- `{o.mutant.file}:{o.mutant.line}` ({o.mutant.function}, "
                  f"{o.mutant.operator}): {'; '.join(o.by)}" for o in undecided]
    equivalent = [o for o in outcomes if o.status == EQUIVALENT]
    if equivalent:
        lines += ["", "## Equivalent mutants", ""]
        lines += [f"- `{o.mutant.file}:{o.mutant.line}` `{o.mutant.mutated.strip()}`: "
                  f"{o.reason}" for o in equivalent]
    md_path = out_dir / "mutants.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
