r"""Arm's axiomatic ARMv8 model (herd's aarch64.cat, with the relations of its current
aarch64hwreqs.cat and aarch64deps.cat for plain memory) over the candidate executions of a
test.

A candidate execution is one path per thread (verify/litmus/threads.py), a reads-from map
(every read takes its value from a write to its location with that value, or from the
initial state) and a coherence order (a total order of the writes to each location, the
initial write first). It is allowed when:

- internal: po-loc | ca | rf is acyclic (ca = fr | co), and the coRW1/coWW/coWR rules;
- external: ordered-before is irreflexive. ob is the closure of obs (rfe, fre, coe), lob
  (dob, pob, aob, bob, IFB-ordered), pick-lob and hazard-ordered reads ([R];po-loc;[R];
  ca & ext;[W]), where
  dob = addr | data | ctrl;[W] | addr;po;[W] | (addr | data);lrs;[R],
  pob = pick-addr;[W] | pick-data | pick-ctrl;[W] | pick-addr;po;[W],
  aob = rmw | rmw;lrs;[A | Q],
  bob = [M];po;[dmb.full];po;[M] | [R \ NoRet];po;[dmb.ld];po;[M] | [W];po;[dmb.st];po;[W]
        | [range([A];amo;[L])];po | [L];po;[A] | [A | Q];po | po;[L]
        | [W];po;[dsb.st];po;[M] (a DSB waits for the accesses it orders to complete,
          so a DSB ST orders writes before reads too; dmb.full and dmb.ld include DSBs);
- atomic: no write comes between an rmw's read and write in coherence, unless both it and
  the read's overwritten value are the thread's own; a single-copy-atomic pair read
  (LDXP, CASP) sees both halves of an atomic pair write or neither.

Every shareability domain is the inner one, as in the model. Candidates are enumerated exhaustively: the threads' paths, then for each read the
writes with its value, then coherence orders; verify/litmus/run.py checks each one.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field

from .parse import MIXED, Litmus, LitmusError, NotModelled
from .threads import (UNROLL, Addr, Arrays, Event, Run, initial_value, instruction,
                      label_address, runs)

FULL = {"DMB.SY", "DMB.ISH", "DMB.OSH", "DSB.SY", "DSB.ISH", "DSB.OSH"}
LD = {"DMB.LD", "DMB.ISHLD", "DMB.OSHLD", "DSB.LD", "DSB.ISHLD", "DSB.OSHLD"}
ST = {"DMB.ST", "DMB.ISHST", "DMB.OSHST", "DSB.ST", "DSB.ISHST", "DSB.OSHST"}
INIT_TID = -1
VALUE_ROUNDS = 40


@dataclass
class Execution:
    events: list[Event]
    rf: dict[int, int]                     # read id -> write id
    co: dict[str, list[int]]               # location -> write ids, initial write first
    rmw: list[tuple[int, int]]
    regs: list[dict[str, object]]          # final registers per thread
    errors: list = field(default_factory=list)  # why a thread's path stopped, if one did
    faults: set = field(default_factory=set)    # (where, kind) of each fault taken
    relations: dict[str, set] = field(default_factory=dict)


ELEMENT_BYTES = {"int": 4, "int32_t": 4, "uint32_t": 4, "int64_t": 8, "uint64_t": 8,
                 "int16_t": 2, "uint16_t": 2, "int8_t": 1, "uint8_t": 1, "char": 1, "long": 8}


def initial_state(test: Litmus):
    """(registers per thread, initial value per location, the arrays). An array x[N] is N
    locations x[0]..x[N-1]."""
    regs = [dict() for _ in test.threads]
    memory: dict[str, object] = {}
    arrays = Arrays()
    # arrays first: a value may be the address of an element (`0:X0=x[2]`)
    for item in sorted(test.init, key=lambda i: not re.fullmatch(r"\w+\[\d+\]", i.lhs)):
        if re.fullmatch(r"\[\s*[A-Za-z_]\w*\s*\]", item.lhs):     # `[x]=1` is `x=1`
            item = dataclasses.replace(item, lhs=item.lhs.strip("[] "))
        if not re.fullmatch(r"(\d+:)?\s*%?[A-Za-z_]\w*(\[\d+\])?", item.lhs):
            what = " (page-table entries: the vmsa variant)" if "PTE" in item.lhs else ""
            raise LitmusError(test.path, item.line, f"`{item.lhs}` in the initial state is not "
                                                    f"modelled{what}")
        value = None if "[" in item.lhs else _value(item.value, test, item.line, arrays)
        if re.fullmatch(r"%\w+|[WX]\d+", item.lhs):
            for thread_regs in regs:  # a register named without a thread: every thread's
                name = item.lhs.upper() if item.lhs[0] == "%" else "X" + item.lhs[1:]
                thread_regs[name] = value
            continue
        if ":" in item.lhs:
            t, r = item.lhs.split(":", 1)
            if not t.isdigit() or int(t) >= len(test.threads):
                raise LitmusError(test.path, item.line, f"no thread {t} for `{item.lhs}`")
            r = r.upper()
            if r.startswith("W"):
                r = "X" + r[1:]
            regs[int(t)][r] = value
        elif re.fullmatch(r"\w+\[\d+\]", item.lhs):
            name, count = item.lhs[:-1].split("[")
            size = ELEMENT_BYTES.get((item.type or "int").replace(" ", ""))
            if size is None:
                raise LitmusError(test.path, item.line, f"array element type `{item.type}` "
                                                        f"is not modelled")
            arrays[name], arrays.lengths[name] = size, int(count)
            elements = [x.strip() for x in (item.value or "{}").strip("{} ").split(",")
                        if x.strip()]
            if len(elements) > int(count):
                raise LitmusError(test.path, item.line, f"{len(elements)} values for "
                                                        f"{item.lhs}")
            for i in range(int(count)):
                memory[f"{name}[{i}]"] = _value(elements[i] if i < len(elements) else None,
                                                test, item.line)
        else:
            if (item.value or "").startswith("{"):
                raise LitmusError(test.path, item.line, f"a list of values for {item.lhs}, "
                                                        f"which is not an array")
            memory[item.lhs] = value
    for t in list(regs) + [memory]:
        for v in list(t.values()):
            if isinstance(v, Addr) and v.loc not in arrays:
                memory.setdefault(v.loc, 0)
    return regs, memory, arrays


def _value(text, test, line, arrays=None):
    if text is None:
        return 0
    text = text.strip()
    m = re.fullmatch(r"&?(\w+)\[(\d+)\]", text)
    if m and arrays is not None and m.group(1) in arrays:
        return Addr(m.group(1), int(m.group(2)) * arrays[m.group(1)])
    try:
        return int(text, 0) & ((1 << 64) - 1)
    except ValueError:
        pass
    if text.startswith("&"):
        text = text[1:]
    if text.replace("_", "").isalnum() and not text[0].isdigit():
        return Addr(text)
    code = label_address(test, text)
    if code is not None:
        return code
    m = re.fullmatch(r'instr:"(.*)"|(NOP)', text)
    if m:
        return instruction(m.group(1) or m.group(2))
    raise LitmusError(test.path, line, f"expected a number or a location's name, found `{text}`")


def executions(test: Litmus, unroll: int = UNROLL, cuts: set | None = None):
    """Every candidate execution, for check() to judge. Paths cut at the unroll limit are
    left out; the places they were cut go into `cuts`."""
    init_regs, memory, arrays = initial_state(test)
    counter = itertools.count(1)
    # The values each location can hold: grown until the threads write nothing new.
    # A loop of dependencies (LB with data dependencies) grows the sets without end; those
    # values only arise in executions with a dependency cycle, which the model forbids
    # (external). In an allowed execution a chain of values passes through each of its
    # events at most once, so once the rounds reach the most events a combination of
    # paths can have, every value such an execution reads is known. Past VALUE_ROUNDS
    # without getting there the test is rejected rather than run on values that may miss some.
    values = {loc: {v} for loc, v in memory.items()}
    rounds = 0
    while True:
        rounds += 1
        before = {k: set(v) for k, v in values.items()}
        all_runs = [runs(test, t, init_regs[t], values, lambda: next(counter), arrays, unroll)
                    for t in range(len(test.threads))]
        for t, thread_runs in enumerate(all_runs):
            if cuts is not None:
                cuts.update(f"P{t}:{r.cut}" for r in thread_runs if r.cut)
            all_runs[t] = [r for r in thread_runs if not r.cut]
        for thread_runs in all_runs:
            for run in thread_runs:
                for e in run.events:
                    if e.kind == "W":
                        values.setdefault(e.loc, {0}).add(e.value)
        most_events = sum(max((len(r.events) for r in tr), default=0) for tr in all_runs)
        if values == before or rounds > most_events:
            break
        if rounds >= VALUE_ROUNDS:
            raise LitmusError(test.path, None, f"the values the threads write do not settle "
                                               f"within {VALUE_ROUNDS} rounds")
    sizes: dict[str, set] = {}
    for thread_runs in all_runs:
        for run in thread_runs:
            for e in run.events:
                if e.kind != "F":
                    sizes.setdefault(e.loc, set()).add(e.size)
    for loc, found in sorted(sizes.items()):
        if len(found) > 1:
            raise NotModelled(test.path, None, f"{MIXED}: accesses to {loc} of "
                                               f"({' and '.join(map(str, sorted(found)))} "
                                               f"bytes) are not modelled")
    fit = lambda loc, v: v if isinstance(v, Addr) or loc not in sizes else \
        v & ((1 << (8 * min(sizes[loc]))) - 1)
    inits = {loc: Event(-(i + 1), INIT_TID, "W", loc, fit(loc, v)) for i, (loc, v) in
             enumerate(sorted(memory.items()))}
    for combo in itertools.product(*all_runs):
        yield from _with_rf_co(test, combo, inits)


def _with_rf_co(test, combo: tuple[Run, ...], inits: dict[str, Event]):
    events = [e for run in combo for e in run.events]
    for e in events:
        if e.kind != "F" and e.loc not in inits:
            inits[e.loc] = Event(-(len(inits) + 1), INIT_TID, "W", e.loc,
                                 initial_value(test, e.loc))
    writes: dict[str, list[Event]] = {}
    for e in events:
        if e.kind == "W":
            writes.setdefault(e.loc, []).append(e)
    reads = [e for e in events if e.kind == "R"]
    choices = []
    for r in reads:
        sources = [w for w in [inits[r.loc]] + writes.get(r.loc, []) if w.value == r.value
                   and not (w.tid == r.tid and _po_before(r, w, combo))]
        if not sources:
            return
        choices.append(sources)
    locs = sorted(writes)
    orders = [list(itertools.permutations(writes[loc])) for loc in locs]
    rmw = [pair for run in combo for pair in run.rmw]
    for rf_choice in itertools.product(*choices):
        rf = {r.id: w.id for r, w in zip(reads, rf_choice)}
        for co_choice in itertools.product(*orders):
            co = {loc: [inits[loc].id] + [w.id for w in order]
                  for loc, order in zip(locs, co_choice)}
            for loc in inits:
                co.setdefault(loc, [inits[loc].id])
            ex = Execution(list(inits.values()) + events, rf, co, rmw,
                           [run.regs for run in combo],
                           [run.error for run in combo if run.error is not None],
                           {run.fault for run in combo if run.fault is not None})
            yield ex


def _po_before(a: Event, b: Event, combo) -> bool:
    return a.tid == b.tid and a.id < b.id


def check(ex: Execution) -> str | None:
    """None if the model allows the execution; else the axiom it breaks."""
    ev = {e.id: e for e in ex.events}
    ids = [e.id for e in ex.events]
    po = {(a.id, b.id) for a in ex.events for b in ex.events
          if a.tid == b.tid and a.tid != INIT_TID and a.id < b.id}
    rf = {(w, r) for r, w in ex.rf.items()}
    co = {(order[i], order[j]) for order in ex.co.values()
          for i in range(len(order)) for j in range(i + 1, len(order))}
    fr = {(r, w2) for (w, r) in rf for (w1, w2) in co if w1 == w}
    ext = lambda rel: {(a, b) for a, b in rel if ev[a].tid != ev[b].tid}
    internal = lambda rel: {(a, b) for a, b in rel if ev[a].tid == ev[b].tid}
    kind = lambda k: {e.id for e in ex.events if e.kind == k}
    R, W = kind("R"), kind("W")
    M = R | W
    po_loc = {(a, b) for a, b in po if ev[a].loc is not None and ev[a].loc == ev[b].loc}
    ca = fr | co
    rmw = set(ex.rmw)
    ex.relations = dict(po=po, rf=rf, co=co, fr=fr)
    # Internal visibility: no write is coherence-after a later write, or a later read, of
    # its own thread to the same location; no read sees a write of its thread that follows
    # it (or that its own rmw made).
    rfi, ca_int = internal(rf), internal(ca)
    if any(r == r2 for (r, w) in po_loc | rmw if r in R and w in W
           for (w2, r2) in rfi if w2 == w):
        return "internal"
    if any((b, a) in ca_int for a, b in po_loc if a in W and b in W):
        return "internal"
    if any((b, a) in ca_int for a, b in po_loc if a in W and b in R):
        return "internal"
    # Coherence per location (SC per location): po-loc | ca | rf is acyclic.
    if _cyclic(ids, po_loc | ca | rf):
        return "internal"
    # Atomic: nothing writes between an rmw's read and its write, unless both the write
    # read over and the one between are the thread's own.
    fri, coi = internal(fr), internal(co)
    for r, w in rmw:
        for (r2, w2) in fr:
            if r2 == r and (w2, w) in co and not ((r, w2) in fri and (w2, w) in coi):
                return "atomic"
    # A single-copy-atomic pair read sees both halves of an atomic pair write, or neither.
    seen = lambda w, r: w == ex.rf[r] or (w, ex.rf[r]) in co
    for r1 in (e for e in ex.events if e.kind == "R" and e.pair is not None):
        r2 = ev[r1.pair]
        for w1 in (e for e in ex.events if e.kind == "W" and e.pair is not None
                   and e.loc == r1.loc and ev[e.pair].loc == r2.loc):
            if seen(w1.id, r1.id) != seen(w1.pair, r2.id):
                return "atomic"
    tag = lambda t: {e.id for e in ex.events if t in e.tags}
    A, Q, L, amo, noret = tag("A"), tag("Q"), tag("L"), tag("amo"), tag("NoRet")
    fences = {e.id: next(iter(e.tags)) for e in ex.events if e.kind == "F"}
    full = {i for i, f in fences.items() if f in FULL}
    ld = {i for i, f in fences.items() if f in LD}
    st = {i for i, f in fences.items() if f in ST}
    isb = {i for i, f in fences.items() if f == "ISB"}

    def deps(field, picked):
        return {(x[1] if picked else x, e.id) for e in ex.events for x in getattr(e, field)
                if ((isinstance(x, tuple) and x[0] == "pick") if picked else isinstance(x, int))}
    addr, data, ctrl = deps("addr", False), deps("data", False), deps("ctrl", False)
    paddr, pdata, pctrl = deps("addr", True), deps("data", True), deps("ctrl", True)
    after = {}
    for a, b in po:
        after.setdefault(a, set()).add(b)
    then = lambda rel, keep=None: {(a, c) for a, b in rel for c in after.get(b, ())
                                   if keep is None or c in keep}
    # lrs: a read and the latest po-earlier write of its thread to its location.
    lrs = {(w, r) for w, r in po_loc if w in W and r in R
           and not any((w, x) in po_loc and (x, r) in po_loc for x in W)}
    dob = addr | data | {(a, b) for a, b in ctrl if b in W}
    dob |= then({(a, b) for a, b in addr if b in M}, W)
    dob |= {(a, c) for a, b in addr | data if b in M for (b2, c) in lrs if b2 == b}
    ifb = {(a, c) for a, b in ctrl | pctrl if a in R and b in isb for c in after.get(b, ())}
    ifb |= {(a, d) for a, b in then({(a, b) for a, b in addr | paddr if a in R and b in M},
                                    isb) for d in after.get(b, ())}
    pob = {(a, b) for a, b in paddr | pctrl if b in W} | pdata
    pob |= then({(a, b) for a, b in paddr if b in M}, W)
    aob = rmw | {(a, c) for a, b in rmw for (b2, c) in lrs if b2 == b and c in A | Q}
    bob = {(a, c) for a, b in po if a in M and b in full for c in after.get(b, ()) if c in M}
    bob |= {(a, c) for a, b in po if a in R - noret and b in ld
            for c in after.get(b, ()) if c in M}
    # DMB ST orders writes before writes; DSB ST orders them before everything after it
    bob |= {(a, c) for a, b in po if a in W and b in st for c in after.get(b, ())
            if c in W or (c in M and fences[b].startswith("DSB"))}
    bob |= {(w, c) for r, w in rmw if r in A and r in amo and w in L for c in after.get(w, ())}
    bob |= {(a, b) for a, b in po if a in L and b in A}
    bob |= {(a, b) for a, b in po if a in A | Q and b in M}
    bob |= {(a, b) for a, b in po if a in M and b in L}
    lob = _closure(dob | ifb | pob | aob | bob)
    pick = paddr | pdata | pctrl
    # pick-basic-dep runs through memory as dtrm does (lrs): a pick dependency into a
    # write reaches the thread's next read of that location, and lob goes on from there.
    pick |= {(a, r) for a, w in paddr | pdata if w in W for (w2, r) in lrs if w2 == w}
    pick_lob = {(a, c) for a, b in pick for (b2, c) in lob if b2 == b and c in W}
    haz = {(a, d) for a, b in po_loc if a in R and b in R
           for (b2, d) in ext(ca) if b2 == b and d in W}
    obs = ext(rf) | ext(ca)
    ex.relations.update(addr=addr, data=data, ctrl=ctrl, dob=dob, aob=aob, bob=bob, pob=pob)
    if _cyclic(ids, lob | pick_lob | haz | obs):
        return "external"
    return None


def _closure(rel: set) -> set:
    out = set(rel)
    while True:
        more = _compose(out, out) - out
        if not more:
            return out
        out |= more


def _compose(r1: set, r2: set) -> set:
    by_src: dict[int, list[int]] = {}
    for a, b in r2:
        by_src.setdefault(a, []).append(b)
    return {(a, c) for a, b in r1 for c in by_src.get(b, ())}


def _cyclic(nodes, edges) -> bool:
    succ: dict[int, list[int]] = {n: [] for n in nodes}
    for a, b in edges:
        if a == b:
            return True
        succ.setdefault(a, []).append(b)
    colour: dict[int, int] = {}
    for start in succ:
        if colour.get(start):
            continue
        stack = [(start, iter(succ[start]))]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
            elif colour.get(nxt) == 1:
                return True
            elif not colour.get(nxt):
                colour[nxt] = 1
                stack.append((nxt, iter(succ.get(nxt, ()))))
    return False
