"""Run a litmus test under the model and report it as herd does: the final states, Ok/No,
the witness counts, the condition and the observation."""

from __future__ import annotations

import re
import time
from pathlib import Path
from dataclasses import dataclass, field

from .model import (INIT_TID, Execution, Focus, check, executions, initial_state,
                    memory_finals)
from .parse import (And, Atom, Const, Fault, Implies, Litmus, LitmusError, Not, Or,
                    check_variants)
from .events import Addr
from .program import Code, code_label, instruction, label_address
from .threads import UNROLL


@dataclass
class Outcome:
    test: Litmus
    states: list[str]                # herd's lines, sorted
    positive: int                    # allowed executions that satisfy the condition
    negative: int
    ok: bool                         # the condition's claim holds
    kind: str                        # Allowed / Forbidden / Required, as herd's Test line says
    observation: str                 # Always / Sometimes / Never
    seconds: float
    executions: int = 0              # candidates considered
    witness: Execution | None = None # an allowed execution satisfying the condition
    forbidden: list[tuple[Execution, str]] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)  # where paths past the unroll limit were cut
    hexa: bool = False               # values shown in hex
    violation: Execution | None = None   # an allowed execution the claim rules out
    awaited: dict = field(default_factory=dict)   # harnesses: await iterations ended, by place
    # harnesses: (thread, line) of every access that reads from, or is read by, another
    # thread in some allowed execution
    communicating: set = field(default_factory=set)
    gone_wrong: str = ""             # harnesses: what went wrong in `violation` (the code, or
                                     # the harness's condition on the execution)
    stopped_early: bool = False      # ended at the first violation: counts and states partial

    def verdict(self) -> str:
        """Allowed (some allowed execution satisfies the condition), Forbidden (none does) or,
        for `forall`, Required (all do)."""
        return _verdict(self)


def expectation(test: Litmus) -> str | None:
    """What the test says the model must give: an `Expected=Allowed|Forbidden|Required`
    header line, else its line in a kinds.txt beside it (herd's catalogue), else None."""
    if "Expected" in test.meta:
        return _kind(test.meta["Expected"])
    kinds = Path(test.path).with_name("kinds.txt")
    if kinds.is_file():
        for line in kinds.read_text().splitlines():
            words = line.split("#")[0].split()
            if len(words) >= 2 and words[0] == test.name:
                return _kind(words[1])
    return None


def _kind(word: str) -> str:
    return {"Allow": "Allowed", "Forbid": "Forbidden"}.get(word, word)


def run(test: Litmus, hexa: bool = False, unroll: int = UNROLL,
        variant: str | None = None, first_violation: bool = False) -> Outcome:
    """The test under the model; `hexa` shows values in hex (herd's `hexa` option), and
    `variant` adds herd variants to the test's own (`mixed`, as herd's `-variant mixed`).
    Loops are unrolled `unroll` times; the places a path was cut are in Outcome.cut. With
    `first_violation`, the search ends at the first allowed execution that breaks the claim
    (the verdict is the same; the states and counts are those seen so far)."""
    start = time.monotonic()
    if variant:
        test.extra_variants |= {w.lower() for w in re.split(r"[,\s]+", variant) if w}
    check_variants(test)
    shown, types = _shown(test), _types(test)
    _, memory, arrays = initial_state(test)
    known = set(memory) | set(arrays) | _accessed(test)
    for atom in _atoms(test.condition.prop):
        name = _canon(atom.lhs)
        if ":" not in name and name.split("[")[0] not in known and name not in known:
            raise LitmusError(test.path, None, f"the condition names {name}, a location the "
                                               f"test neither declares nor uses")
        value = atom.value.strip().lstrip("&")
        if re.fullmatch(r"[A-Za-z_]\w*", value) and value not in known | set(arrays):
            raise LitmusError(test.path, None, f"the condition compares with {value}, a "
                                               f"location the test neither declares nor uses")
    for fault in _atoms(test.condition.prop, Fault):
        _fault_place(test, fault)            # names a label and a kind we know, or fails
    states, pos, neg, total = set(), 0, 0, 0
    witness, forbidden = None, []
    cut: set[str] = set()
    awaited: dict = {}
    communicating: set = set()
    violation = None
    stopped = False
    sleeping = None                  # an allowed execution in which a core sleeps for good
    gone_wrong = None                # (execution, what): a harness's code or condition broken
    claim = test.condition.quantifier
    for ex in executions(test, unroll, cut, awaited):
        if ex.blocked and not _sleeps_for_good(ex):
            continue                 # a wake-up comes later: the path that takes it runs on
        total += 1
        broken = check(ex)
        final = _final(ex, arrays)
        if broken is not None:
            continue
        if ex.errors:                # an allowed execution takes a path that cannot go on
            if not test.harness:
                raise ex.errors[0]
            # shipped code that goes wrong (an access through a register holding no
            # address) in an allowed execution is a violation, whatever the condition
            gone_wrong = gone_wrong or (ex, ex.errors[0].message)
            continue
        if test.harness:
            communicating.update(_communicating(ex))
        if test.filter is not None and not _holds(test, test.filter, final):
            continue
        if ex.blocked:               # a core sleeps for good: a lost wake-up, whatever else
            sleeping = sleeping or ex
        elif test.execution_check is not None and gone_wrong is None:
            said = test.execution_check(Accesses(ex))
            if said:
                gone_wrong = (ex, f"the harness's condition on the execution: {said}")
        states.add(_state_line(test, shown, final, types, hexa))
        if _holds(test, test.condition.prop, final):
            pos += 1
            witness = witness or ex
            if claim == "~exists":
                violation = violation or ex
        else:
            neg += 1
            if claim == "forall":
                violation = violation or ex
        if first_violation and (violation or sleeping or gone_wrong):
            stopped = True
            break
    if witness is None and not test.harness:
        forbidden = _forbidden_example(test, unroll, arrays)
    q = test.condition.quantifier
    ok = {"exists": pos > 0, "~exists": pos == 0, "forall": neg == 0}[q] and \
        sleeping is None and gone_wrong is None
    violation = (gone_wrong[0] if gone_wrong else None) or sleeping or violation
    observation = "Never" if pos == 0 else "Always" if neg == 0 else "Sometimes"
    kind = {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required"}[q]
    return Outcome(test, sorted(states), pos, neg, ok, kind, observation,
                   time.monotonic() - start, total, witness, forbidden, sorted(cut), hexa,
                   violation, awaited, communicating, gone_wrong[1] if gone_wrong else "",
                   stopped)


def _forbidden_example(test: Litmus, unroll: int, arrays) -> list[tuple[Execution, str]]:
    """A candidate the model rejects that satisfies the condition, with the axiom it breaks
    (none if no candidate satisfies it): what shows why the outcome is forbidden. The search
    above never builds such candidates, so they are looked for among all of them."""
    for ex in executions(test, unroll, every=True):
        if _holds(test, test.condition.prop, _final(ex, arrays)):
            broken = check(ex)
            if broken is not None:
                return [(ex, broken)]
    return []


def _sleeps_for_good(ex: Execution) -> bool:
    """Whether every WFI of `ex` that slept read its interrupt line's last write: no
    wake-up comes after it, so the core sleeps for good. Otherwise a later wake-up ends the
    sleep, and the execution is not a final one (the path where the WFI reads it is)."""
    ev = {e.id: e for e in ex.events}
    return all(ex.co[ev[r].loc][-1] == ex.rf[r] for r in ex.blocked)


def _communicating(ex: Execution) -> set[tuple[int, int]]:
    ev = {e.id: e for e in ex.events}
    out = set()
    for r, w in ex.rf.items():
        if ev[w].tid not in (INIT_TID, ev[r].tid):
            out |= {(ev[r].tid, ev[r].line), (ev[w].tid, ev[w].line)}
    return out


@dataclass(frozen=True)
class Access:
    """A read or write of an allowed execution, as a harness's execution condition sees it."""
    id: int
    core: int
    kind: str                        # "R" or "W"
    loc: str                         # a harness object, or a block's field as `name+offset`
    value: object
    where: str                       # its asm/ source line, or "" for harness code


class Accesses:
    """An allowed execution for a harness's `execution` condition: `accesses(core, loc,
    kind)` lists the matching reads and writes in program order, core by core, and
    `read_from(read)` gives the write it took its value from (None: the initial value)."""

    def __init__(self, ex: Execution):
        self._ex = ex
        self._all = [Access(e.id, e.tid, e.kind, e.loc, e.value, e.where or "")
                     for e in ex.events if e.tid != INIT_TID and e.kind in ("R", "W")]
        self._by_id = {a.id: a for a in self._all}

    def __call__(self, core: int | None = None, loc: str | None = None,
                 kind: str | None = None) -> list[Access]:
        return [a for a in self._all if (core is None or a.core == core)
                and (loc is None or a.loc == loc) and (kind is None or a.kind == kind)]

    def read_from(self, read: Access) -> Access | None:
        return self._by_id.get(self._ex.rf[read.id])


@dataclass
class Decision:
    """decide()'s answer: the verdict, and the allowed execution that settles it (a witness
    for exists, a violation for ~exists and forall), if there is one."""
    test: Litmus
    verdict: str                     # Allowed / Forbidden / Required, as herd's
    ok: bool                         # the condition's claim holds
    execution: Execution | None
    candidates: int
    seconds: float
    cut: list[str] = field(default_factory=list)


def decide(test: Litmus, unroll: int = UNROLL) -> Decision:
    """The test's verdict alone, without its states or witness counts: only candidates that
    may settle it are built (model.Focus: the condition, for exists and ~exists, or its
    negation, for forall, is evaluated on each thread's registers, each combination of
    paths and each location's last write before any execution is put together), and the
    first allowed one ends the search. Unlike run(), a path that cannot go on is not
    reported when it lies in an execution the condition rules out."""
    start = time.monotonic()
    check_variants(test)
    q, prop = test.condition.quantifier, test.condition.prop
    cut: set[str] = set()
    found, candidates = _search(test, Not(prop) if q == "forall" else prop, unroll, cut)
    ok = (found is not None) if q == "exists" else found is None
    if q != "forall":
        verdict = "Allowed" if found else "Forbidden"
    elif found is None:
        verdict = "Required"
    else:                         # as herd: Allowed if some execution satisfies it at all
        some, more = _search(test, prop, unroll, cut)
        candidates += more
        verdict = "Allowed" if some else "Forbidden"
    return Decision(test, verdict, ok, found, candidates, time.monotonic() - start,
                    sorted(cut))


def _search(test: Litmus, target, unroll: int, cut: set) -> tuple[Execution | None, int]:
    """The first allowed execution satisfying target (and the test's filter), if any; and
    how many candidates were built."""
    _, _, arrays = initial_state(test)
    known = lambda final: _partial(test, target, final) is not False
    prefix = lambda t, regs: {f"{t}:{r}": v for r, v in regs.items()}
    registers = lambda combo: {k: v for t, run in enumerate(combo)
                               for k, v in prefix(t, run.regs).items()}
    focus = Focus(
        run_ok=lambda t, run: known(prefix(t, run.regs)),
        combo_ok=lambda combo: known(registers(combo)),
        final_ok=lambda loc, value, combo: known({**registers(combo), loc: value}))
    candidates = 0
    for ex, local in executions(test, unroll, cut, None, focus):
        candidates += 1
        final = _final(ex, arrays)
        if not _holds(test, target, final) or \
                test.filter is not None and not _holds(test, test.filter, final):
            continue
        if check(ex, local) is not None:
            continue
        if ex.errors:
            raise ex.errors[0]
        return ex, candidates
    return None, candidates


def _partial(test: Litmus, prop, final: dict):
    """prop on what `final` knows: True, False, or None when what it lacks decides it
    (Kleene's three values)."""
    if isinstance(prop, Const):
        return prop.value
    if isinstance(prop, Not):
        inner = _partial(test, prop.arg, final)
        return None if inner is None else not inner
    if isinstance(prop, (And, Or)):
        parts = [_partial(test, a, final) for a in prop.args]
        decisive = isinstance(prop, Or)
        if decisive in parts:
            return decisive
        return None if None in parts else not decisive
    if isinstance(prop, Implies):
        return _partial(test, Or((Not(prop.left), prop.right)), final)
    if isinstance(prop, Fault):
        return None
    name = _canon(prop.lhs)
    if name not in final or isinstance(final[name], tuple) or prop.value.startswith("{"):
        return None
    return _holds(test, prop, final)


def _verdict(o: "Outcome") -> str:
    if o.test.condition.quantifier == "forall":
        return "Required" if o.negative == 0 else "Allowed" if o.positive else "Forbidden"
    return "Allowed" if o.positive else "Forbidden"


def _accessed(test: Litmus) -> set[str]:
    """Location names the initial state gives to registers (the ones the code can reach)."""
    return {i.value.strip().lstrip("&") for i in test.init
            if i.value and re.fullmatch(r"&?[A-Za-z_]\w*", i.value.strip())}


def _final(ex: Execution, arrays) -> dict[str, object]:
    final = {}
    for t, regs in enumerate(ex.regs):
        for r, v in regs.items():
            final[f"{t}:{r}"] = v
    final.update(memory_finals(ex))
    final["faults"] = ex.faults
    for name in arrays:              # an array as a whole: a tuple of its elements
        final[name] = tuple(final.get(f"{name}[{i}]", 0) for i in range(arrays.count(name)))
    return final


def _shown(test: Litmus) -> list[str]:
    names = [_canon(x) for x in test.locations]
    for atom in _atoms(test.condition.prop):
        names.append(_canon(atom.lhs))
    seen = list(dict.fromkeys(names))
    def key(n):
        t, r = n.split(":", 1)
        digits = r[1:]
        if r == "XZR":               # herd lists the zero register before X0
            digits = "-1"
        return (int(t) if t.isdigit() else 0, r[0], int(digits) if digits.lstrip("-").isdigit()
                else 0, r)
    regs = sorted((n for n in seen if ":" in n), key=key)
    # herd lists whole locations first, then array elements, each by name
    memory = sorted((n for n in seen if ":" not in n),
                    key=lambda n: ("[" in n, n.split("[")[0], int(re.sub(r"\D", "", n) or 0)))
    return regs + memory


def _canon(name: str) -> str:
    name = name.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1].strip()
    if ":" in name:
        t, r = name.split(":", 1)
        r = r.upper()
        return f"{t}:X{r[1:]}" if r[0] in "WX" else f"{t}:{r}"
    return name


def _atoms(prop, kind=Atom):
    """The condition's atoms (or its faults, with kind=Fault)."""
    if isinstance(prop, kind):
        yield prop
    elif isinstance(prop, Not):
        yield from _atoms(prop.arg, kind)
    elif isinstance(prop, (And, Or)):
        for a in prop.args:
            yield from _atoms(a, kind)
    elif isinstance(prop, Implies):
        yield from _atoms(prop.left, kind)
        yield from _atoms(prop.right, kind)


WIDTHS = {"8": 8, "16": 16, "32": 32, "64": 64}


def _types(test: Litmus) -> dict[str, str]:
    return {_canon(i.lhs).split("[")[0]: (i.type or "int").replace(" ", "") for i in test.init}


def _type_width(name: str, types: dict[str, str]) -> tuple[int, bool]:
    """The declared type's (bits, unsigned); `int`, 32-bit signed, if none."""
    kind = types.get(name) or types.get(name.split("[")[0], "int")
    if kind.endswith("*"):
        return 64, True
    m = re.fullmatch(r"(u?)int(\d*)_t", kind)
    return (int(m.group(2)) if m and m.group(2) else 32), bool(m and m.group(1))


def _number(name: str, v: int, types: dict[str, str]) -> int:
    """v as herd shows it: by the declared type. A default-typed value that needs more than
    32 bits is shown as 64-bit signed."""
    width, unsigned = _type_width(name, types)
    kind = types.get(name) or types.get(name.split("[")[0], "int")
    if kind in ("int", "int32_t") and v >= 2 ** 32:
        width = 64
    v &= (1 << width) - 1
    return v if unsigned or v < 2 ** (width - 1) else v - 2 ** width


def _same(name: str, v: int, want: int, types: dict[str, str]) -> bool:
    """herd compares a value with a condition's constant at the location's declared width:
    `u[0]=4294967295` holds for an int32_t u[0] of -1."""
    width, _ = _type_width(name, types)
    return (v - want) % (1 << width) == 0


def _state_line(test: Litmus, shown: list[str], final: dict, types: dict[str, str],
                hexa: bool) -> str:
    def text_of(n, x, types):
        if isinstance(x, Code):
            return f'label:"{code_label(test, x)}"'
        if not isinstance(x, int):   # a location's address or an instruction
            return str(x)
        if hexa:                     # herd shows hex unsigned, as the bits are held
            return hex(x)
        return str(_number(n, x, types))

    def show(n):
        v = final.get(n, 0)
        if isinstance(v, tuple):     # an array: herd writes x={1,2}
            kind = types.get(n, "int")
            items = [text_of(n, x, {n: kind}) for x in v]
            return f"{n}={{{','.join(items)}}};"
        text = text_of(n, v, types)
        return f"{n}={text};" if ":" in n or "[" in n else f"[{n}]={text};"
    # faults are shown when the condition asks about them: ` Fault(P0:L0,SupervisorCall);`
    asked = [f for f in _atoms(test.condition.prop, Fault)]
    faults = "".join(f" Fault({where},{kind});" for where, kind in sorted(final["faults"])
                     if any(_fault_place(test, f) == where and f.what in (None, kind)
                            for f in asked))
    return " ".join(show(n) for n in shown) + faults


FAULT_KINDS = {"SupervisorCall", "UndefinedInstruction"}


def _fault_place(test: Litmus, fault: Fault) -> str:
    """`P0:L0` of a fault condition, checked: a label of the test, and a kind we know."""
    code = label_address(test, fault.where)
    if code is None:
        raise LitmusError(test.path, None, f"the condition's fault names {fault.where}, "
                                           f"which is not a label of the test")
    if fault.what is not None and fault.what not in FAULT_KINDS:
        raise LitmusError(test.path, None, f"fault kind `{fault.what}` is not modelled "
                                           f"(known: {', '.join(sorted(FAULT_KINDS))})")
    return code_label(test, code)


def _holds(test: Litmus, prop, final) -> bool:
    if isinstance(prop, Const):
        return prop.value
    if isinstance(prop, Not):
        return not _holds(test, prop.arg, final)
    if isinstance(prop, And):
        return all(_holds(test, a, final) for a in prop.args)
    if isinstance(prop, Or):
        return any(_holds(test, a, final) for a in prop.args)
    if isinstance(prop, Implies):
        return not _holds(test, prop.left, final) or _holds(test, prop.right, final)
    if isinstance(prop, Fault):
        return any(where == _fault_place(test, prop) and prop.what in (None, kind)
                   for where, kind in final.get("faults", ()))
    value = final.get(_canon(prop.lhs), 0)
    text = prop.value
    if isinstance(value, tuple) or text.startswith("{"):
        want = [x.strip() for x in text.strip("{}").split(",")]
        got = list(value) if isinstance(value, tuple) else [value]
        equal = len(want) == len(got) and all(
            (str(g) == w) if isinstance(g, Addr) else
            _same(_canon(prop.lhs), g, int(w, 0), _types(test))
            for g, w in zip(got, want))
        return equal if prop.op == "=" else not equal
    try:
        want = int(text, 0)
        name = _canon(prop.lhs)
        equal = isinstance(value, int) and _same(name, value, want, _types(test))
    except ValueError:
        code = label_address(test, text)
        m = re.fullmatch(r'instr:"(.*)"', text)
        if code is not None:
            equal = value == code
        elif m:
            equal = value == instruction(m.group(1))
        elif not re.fullmatch(r"&?[A-Za-z_]\w*", text):
            raise LitmusError(test.path, None, f"condition value `{text}` is not modelled")
        else:
            equal = value == Addr(text.lstrip("&"))
    return equal if prop.op == "=" else not equal


def herd_condition(test: Litmus, hexa: bool = False) -> str:
    """The condition as herd prints it: `[x]` for a location, constants in decimal (or hex),
    `/\\` binding tighter than `\\/` with parentheses only where needed."""
    types = _types(test)

    def value(name, text):
        text = text.strip()
        if text.startswith("{"):
            return "{" + ",".join(value(name, x) for x in text.strip("{}").split(",")) + "}"
        try:
            v = int(text, 0)
        except ValueError:
            code = label_address(test, text)
            if code is not None:
                return f'label:"{code_label(test, code)}"'
            m = re.fullmatch(r'instr:"(.*)"', text)
            return str(instruction(m.group(1))) if m else text.lstrip("&")
        if not hexa:                 # herd reads a constant as a 64-bit signed number
            return str(v - (1 << 64) if v >= 1 << 63 else v)
        width, _ = _type_width(name, types)
        return hex(v & ((1 << width) - 1) if v < 0 else v)

    def show(p, tight=False):
        if isinstance(p, Const):
            return "true" if p.value else "false"
        if isinstance(p, Atom):
            name = _canon(p.lhs)
            whole = ":" not in name and "[" not in name and not p.value.startswith("{")
            atom = f"{'[' + name + ']' if whole else name}={value(name, p.value)}"
            return atom if p.op == "=" else f"not ({atom})"
        if isinstance(p, Fault):
            return f"fault({p.where}" + (f",{p.what})" if p.what else ")")
        if isinstance(p, Not):
            return f"not ({show(p.arg)})"
        if isinstance(p, Implies):
            return f"({show(p.left)}) => ({show(p.right)})"
        if isinstance(p, And):
            return " /\\ ".join(show(a, True) for a in p.args)
        text = " \\/ ".join(show(a) for a in p.args)          # Or
        return f"({text})" if tight else text
    return f"{test.condition.quantifier} ({show(test.condition.prop)})"


def herd_text(o: Outcome) -> str:
    """herd7's output for the test, without its Time and Hash lines."""
    lines = [f"Test {o.test.name} {o.kind}", f"States {len(o.states)}", *o.states,
             ("Loop " if o.cut else "") + ("Ok" if o.ok else "No"), "Witnesses",
             # herd's witnesses are of the claim: for ~exists, of the negated condition
             "Positive: {} Negative: {}".format(*((o.negative, o.positive)
                                                 if o.test.condition.quantifier == "~exists"
                                                 else (o.positive, o.negative))),
             f"Condition {herd_condition(o.test, o.hexa)}",
             f"Observation {o.test.name} {o.observation} {o.positive} {o.negative}"]
    return "\n".join(lines)


def as_json(o: Outcome) -> dict:
    return {"test": o.test.name, "path": o.test.path, "kind": o.test.condition.quantifier,
            "states": o.states, "ok": o.ok, "unrolling_cut_at": o.cut,
            "positive": o.positive, "negative": o.negative,
            "condition": herd_condition(o.test, o.hexa), "observation": o.observation,
            "candidates": o.executions, "seconds": round(o.seconds, 4)}


def explain_into(o: Outcome, stem: Path) -> str:
    """For an outcome the model allows, a witness (stem-witness.txt/.dot/.svg); for one it
    forbids, the cycle that forbids a candidate satisfying the condition. Returns the text."""
    from .explain import why_allowed, why_forbidden, write_graph
    if o.witness is not None:
        files = write_graph(o.witness, o.test.name, stem.parent, stem.name + "-witness")
        return why_allowed(o.witness) + "\nwitness: " + ", ".join(f.name for f in files)
    if o.forbidden:
        ex, _ = o.forbidden[0]
        files = write_graph(ex, o.test.name, stem.parent, stem.name + "-forbidden")
        return why_forbidden(ex) + "\nexecution: " + ", ".join(f.name for f in files)
    return "no candidate execution satisfies the condition"
