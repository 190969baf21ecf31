"""Barrier necessity: every ordering the harnesses' code carries, weakened in turn.

An ordering site is a barrier (DMB, DSB, ISB) or an access with an ordering (acquire,
acquire-PC, release, the A/L forms of exclusives, CAS and the LSE atomics) in a function some
harness runs. Each weaker form (DMB ISH to ISHST, ISHLD and nothing; LDAR to LDAPR and LDR;
CASAL to CASA, CASL and CAS; ...) replaces it in the shipped code and every harness that runs
it is decided again:

- NEEDED: some weaker form breaks some harness (its counterexample is kept; a form that
  breaks one harness is not run under the harnesses after it);
- REDUNDANT: every weaker form, down to none, is PROVED under every harness that runs it;
- UNDECIDED: otherwise: a weaker form BOUNDED, UNKNOWN or not modelled; an access that in
  no harness reads from or is read by another core (its weakening was not tested); a DSB that
  also orders something outside the model (SEV, a system register). Never REDUNDANT.

REDUNDANT speaks only of the harnesses named and of memory ordering under Arm's model: what a
DSB orders against a system-register write or an event (SEV, an SGI) is outside it, and such
sites say so.
"""

from __future__ import annotations

import multiprocessing
import re
from dataclasses import dataclass, field

from .. import sysorder
from ..program import Program
from .engine import FAILED, PROVED, HarnessResult, OutcomeCache, check
from .spec import HarnessError
from .translate import Translation, herd_text

NEEDED, REDUNDANT, UNDECIDED = "NEEDED", "REDUNDANT", "UNDECIDED"

_ACCESS_WEAKER = {"LDAR": ["LDAPR", "LDR"], "LDAPR": ["LDR"], "LDAXR": ["LDXR"],
                  "STLR": ["STR"], "STLXR": ["STXR"], "LDAXP": ["LDXP"], "STLXP": ["STXP"]}
_RMW = re.compile(r"(CAS|CASP|SWP|LDADD|LDCLR|LDSET|LDEOR|LDSMAX|LDSMIN|LDUMAX|LDUMIN)"
                  r"(AL|A|L)?([BH]?)$")
_ORDER_WEAKER = {"AL": ["A", "L", ""], "A": [""], "L": [""]}


def weaker_forms(text: str) -> list[str]:
    """The weaker forms of the instruction `text` (herd syntax), strongest first; [] if it
    carries no ordering."""
    label, _, body = text.rpartition(": ") if re.match(r"L[0-9a-f]+: ", text) else ("", "", text)
    op, _, ops = body.partition(" ")
    op = op.upper()
    out: list[str] = []
    if op in ("DMB", "DSB"):
        option = ops.strip().upper()
        domain = option[:-2] if option.endswith(("ST", "LD")) else option
        if option in ("ISH", "SY", "OSH", "NSH"):
            prefix = "" if domain == "SY" else domain
            out = [f"{op} {prefix}ST", f"{op} {prefix}LD", "NOP"]
        else:
            out = ["NOP"]
    elif op == "ISB":
        out = ["NOP"]
    else:
        size = re.search(r"([BH])$", op)
        base = op[:-1] if size and op[:-1] in _ACCESS_WEAKER else op
        if base in _ACCESS_WEAKER:
            suffix = size.group(1) if size and base != op else ""
            out = [f"{w}{suffix} {ops}" for w in _ACCESS_WEAKER[base]]
        else:
            m = _RMW.match(op)
            if m and m.group(2):
                out = [f"{m.group(1)}{o}{m.group(3)} {ops}" for o in _ORDER_WEAKER[m.group(2)]]
    return [f"{label}: {w}" if label else w for w in out]


@dataclass
class Trial:
    form: str
    results: list[HarnessResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if any(r.verdict == FAILED for r in self.results):
            return FAILED
        if self.errors or any(r.verdict != PROVED for r in self.results):
            return UNDECIDED
        return PROVED


@dataclass
class Site:
    addr: int
    function: str
    source: str
    text: str
    harnesses: list[str]
    trials: list[Trial] = field(default_factory=list)
    note: str = ""
    unexercised: list[str] = field(default_factory=list)   # harnesses where it never talks
    rules: str = ""    # what the system-ordering rules say dropping it breaks

    @property
    def verdict(self) -> str:
        if any(t.verdict == FAILED for t in self.trials) or self.rules:
            return NEEDED
        if self.trials and all(t.verdict == PROVED for t in self.trials) and \
                not self.unexercised and not self.note:
            return REDUNDANT
        return UNDECIDED

    def sentence(self) -> str:
        """What the site's result means, in one line."""
        failing = [t for t in self.trials if t.verdict == FAILED]
        if failing:
            t = failing[0]
            r = next(r for r in t.results if r.verdict == FAILED)
            weakest_ok = [x.form for x in self.trials if x.verdict == PROVED]
            more = (f"; `{weakest_ok[-1]}` would do under these harnesses" if weakest_ok
                    else "")
            return f"as `{t.form}`, {r.name} fails{more}"
        if self.rules:
            return self.rules
        if self.verdict == REDUNDANT:
            return ("every weaker form down to `" + self.trials[-1].form +
                    "` is PROVED under " + ", ".join(self.harnesses))
        if self.note and all(t.verdict == PROVED for t in self.trials):
            return (f"every weaker form down to `{self.trials[-1].form}` is PROVED under "
                    f"{', '.join(self.harnesses)}, but {self.note}")
        if self.unexercised and all(t.verdict == PROVED for t in self.trials):
            return ("every weaker form is PROVED, but in no harness does this access read "
                    "from or get read by another core, so that says nothing: a harness "
                    "with its partner is missing")
        why = [f"`{t.form}`: " + "; ".join(t.errors + [f"{r.name} {r.verdict}" for r in
                                                       t.results if r.verdict != PROVED])
               for t in self.trials if t.verdict == UNDECIDED]
        return "not decided: " + " / ".join(why)


@dataclass
class Uncovered:
    function: str
    source: str
    text: str
    reason: str


def ordering_sites(program: Program, translations: list[Translation]) -> list[Site]:
    """Every ordering site in the code the harnesses run, with the harnesses that run it."""
    sites: dict[int, Site] = {}
    for tr in translations:
        for addr, text in tr.instructions().items():
            herd = herd_text(program.instruction(addr).text)
            if not weaker_forms(herd):
                continue
            if addr not in sites:
                func = program.function_at(addr)
                sites[addr] = Site(addr, func.name, program.line(addr), herd, [],
                                   note=_outside_note(program, addr),
                                   rules=_system_ordering(program, addr))
            if tr.harness.name not in sites[addr].harnesses:
                sites[addr].harnesses.append(tr.harness.name)
    return [sites[a] for a in sorted(sites)]


def _system_ordering(program: Program, addr: int) -> str:
    """What the system-ordering rules (verify/sysorder.py) say dropping this barrier breaks;
    empty when they say nothing."""
    if not program.instruction(addr).text.startswith(("dsb", "isb")):
        return ""
    broken = sysorder.needed_by(program, addr)
    if not broken:
        return ""
    return "needed by the system-ordering rules (verify/sysorder.py): without it, " + \
        "; ".join(v.describe(program) for v in broken)


def _outside_note(program: Program, addr: int) -> str:
    """For a DSB or ISB: what it orders that the model does not see (an event, a system
    register write taking effect)."""
    insn = program.instruction(addr)
    func = program.function_at(addr)
    if insn.text.startswith("isb"):
        for a in range(addr - 4, func.addr - 4, -4):
            text = program.instruction(a).text
            if text.startswith("msr"):
                return (f"it makes `{text}` ({program.line(a)}) take effect (context "
                        f"synchronization, outside Arm's memory model)")
            if re.match(r"(ld|st|cas|swp|ret\b|b\b|b\.|bl\b|br\b|blr\b|cbn?z|tbn?z)", text):
                break
        return ""
    if not insn.text.startswith("dsb"):
        return ""
    for a in range(addr + 4, func.end, 4):
        text = program.instruction(a).text
        if text.startswith("msr") and "icc_sgi1r_el1" in text:
            return (f"it also orders the wake-up SGI `{text}` ({program.line(a)}): the "
                    f"harnesses send it as a write to the target's interrupt line, which a "
                    f"control dependency orders too (an SGI is not sent speculatively); "
                    f"that assumption is outside Arm's memory model, so the DSB is not "
                    f"shown redundant by them")
        if text.startswith(("sev", "msr", "wfe", "wfi")):
            return (f"it also orders `{text}` ({program.line(a)}), which is outside Arm's "
                    f"memory model")
        if re.match(r"(ld|st|cas|swp)", text):
            break
    return ""


_shared: dict = {}          # what forked workers decide with (set before the fork)


def _try_form(trial: Trial, site: Site, harnesses: dict, program: Program,
              cache: OutcomeCache | None) -> None:
    """Decide one weaker form under the site's harnesses in turn. The first that fails
    decides the form (the site NEEDS more than it), so the rest are not run."""
    for name in site.harnesses:
        try:
            result = check(harnesses[name], program, {site.addr: trial.form}, cache=cache,
                           verdict_only=True)
        except HarnessError as exc:
            trial.errors.append(str(exc))
            continue
        trial.results.append(result)
        if result.verdict == FAILED:
            return


def _decide(job: tuple[Site, str]) -> None:
    site, form = job
    _try_form(Trial(form), site, _shared["harnesses"], _shared["program"], _shared["cache"])


def analyse(program: Program, results: list[HarnessResult], progress=None,
            cache: OutcomeCache | None = None, jobs: int = 1) -> list[Site]:
    """Each site's weaker forms, decided under every harness that runs it. An access whose
    weakening passes everywhere is REDUNDANT only if in some harness it talks to another
    core (reads from or is read by it); else nothing was tested. With a cache and `jobs`
    above one, the weakened tests are first decided into the cache by that many processes."""
    by_name = {r.harness.name: r.harness for r in results}
    talks = {r.harness.name: r.communicating() for r in results}
    sites = ordering_sites(program, [r.translation for r in results])
    if cache is not None and jobs > 1:
        todo = [(s, form) for s in sites for form in weaker_forms(s.text)]
        _shared.update(harnesses=by_name, program=program, cache=cache)
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for done, _ in enumerate(pool.imap_unordered(_decide, todo), 1):
                    if progress:
                        progress(done, len(todo), None)
        finally:
            _shared.clear()
    for k, site in enumerate(sites):
        if not site.text.startswith(("DMB", "DSB", "ISB")) and \
                not any(site.addr in talks[n] for n in site.harnesses):
            site.unexercised = list(site.harnesses)
        for form in weaker_forms(site.text):
            trial = Trial(form)
            _try_form(trial, site, by_name, program, cache)
            site.trials.append(trial)
        if progress:
            progress(k + 1, len(sites), site)
    return sites


def uncovered(program: Program, sites: list[Site], reasons: dict[str, str]) -> list[Uncovered]:
    """Ordering sites of the ELF that no harness runs, with the spec's reason where it gives
    one."""
    covered = {s.addr for s in sites}
    out = []
    for func in program.functions.values():
        for insn in program.instructions(func):
            if insn.addr in covered or not weaker_forms(herd_text(insn.text)):
                continue
            reason = reasons.get(func.name, "no harness runs this function")
            rules = _system_ordering(program, insn.addr)
            reason = f"{rules} (no harness runs it: {reason})" if rules else reason
            out.append(Uncovered(func.name, program.line(insn.addr), insn.text, reason))
    return out
