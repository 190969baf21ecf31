r"""Arm's axiomatic ARMv8 model (herd's aarch64.cat, with the relations of its current
aarch64hwreqs.cat and aarch64deps.cat for plain memory) over the candidate executions of a
test.

A candidate execution is one path per thread (verify/litmus/threads.py), a reads-from map
(every read takes its value from a write to its location with that value, or from the
initial state) and a coherence order (a total order of the writes to each location, the
initial write first). It is allowed when:

- internal: po-loc | ca | rf is acyclic (ca = fr | co), and the coRW1/coWW/coWR rules;
- external: ordered-before is irreflexive. ob is the closure of obs (rfe, fre, coe), lob
  (lws = [M];po-loc;[W], dob, pob, aob, bob, IFB-ordered), pick-lob and hazard-ordered
  reads ([R];po-loc;[R];ca & ext;[W]), where
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

Every shareability domain is the inner one, as in the model. Candidates are enumerated
exhaustively: the threads' paths, then for each read the writes with its value, then
coherence orders; verify/litmus/run.py checks each one.

Under herd's mixed variant (mixed-size accesses) herd splits each access into byte events
and takes rf, co, fr, po-loc per byte, little-endian; a location's bytes are laid out by its
declared type (`int` when none is given), an array's elements one after the other. The model
then links the bytes of one access (sca-class): obs is followed by sca-class, so is the
local write successor lws in lob, and an rmw's order to the
acquire read of its write (rmw;lrs;[A | Q]) reaches all of that read's bytes. Here a
location is cut only where some access begins or ends (_with_rf_co_mixed), one event per
piece and access, which gives the same allowed executions and final states.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from typing import Callable

from .parse import MIXED, Atom, Litmus, LitmusError, NotModelled, variants
from .events import UNREAD, Addr, Arrays, Event, Run, place
from .program import initial_value, instruction, label_address
from .threads import UNROLL, runs

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
    blocked: list = field(default_factory=list)  # harnesses: reads of WFIs that slept on
    relations: dict[str, set] = field(default_factory=dict)
    # mixed variant: each access's events (its parts, one per piece of memory it covers),
    # and the memory's layout, to put a location's value together from its pieces
    parts: dict[int, list[int]] = field(default_factory=dict)
    layout: "Layout | None" = None


@dataclass
class Layout:
    """Under herd's mixed variant: every data location's size in bytes (an array's: all of
    it), the arrays, and the bytes each location holds at first."""
    regions: dict[str, int]
    arrays: Arrays
    initial: dict[str, bytes]


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
            if name in test.blocks:      # a harness's block: its fields come from block_init
                continue
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
    memory.update(test.block_init)
    for t in list(regs) + [memory]:
        for v in list(t.values()):
            if isinstance(v, Addr) and v.loc not in arrays and v.loc not in test.blocks:
                memory.setdefault(v.loc, 0)
    if "mixed" in variants(test):
        arrays.regions = _regions(test, memory, arrays)
    return regs, memory, arrays


def _regions(test: Litmus, memory: dict, arrays: Arrays) -> dict[str, int]:
    """Under the mixed variant, each data location's size in bytes, as herd lays memory out:
    a scalar's by its declared type (`int`, 4 bytes, when none is given; a pointer's, 8), an
    array's all its elements."""
    types = {i.lhs: (i.type or "").replace(" ", "") for i in test.init
             if re.fullmatch(r"[A-Za-z_]\w*", i.lhs)}
    regions = {name: arrays[name] * arrays.count(name) for name in arrays}
    for name, value in memory.items():
        if not isinstance(value, int):
            raise NotModelled(test.path, None, f"{name} holds an address or code at first: "
                                               f"not modelled under the mixed variant")
        if "[" in name:
            continue
        kind = types.get(name) or "int"
        size = 8 if kind.endswith("*") else ELEMENT_BYTES.get(kind)
        if size is None:
            raise NotModelled(test.path, None, f"the size of type `{kind}` (of {name}) is not "
                                               f"known: not modelled under the mixed variant")
        regions[name] = size
    return regions


def _layout(memory: dict, arrays: Arrays) -> Layout:
    """The bytes of every data location at first, little-endian."""
    initial = {}
    for name, size in arrays.regions.items():
        if name in arrays:
            width = arrays[name]
            initial[name] = b"".join((memory[f"{name}[{i}]"] & ((1 << 8 * width) - 1))
                                     .to_bytes(width, "little")
                                     for i in range(arrays.count(name)))
        else:
            initial[name] = (memory[name] & ((1 << 8 * size) - 1)).to_bytes(size, "little")
    return Layout(dict(arrays.regions), arrays, initial)


def _initial_footprints(layout: Layout) -> dict[str, set]:
    """What each data location holds at first, as the writes events.footprint_values reads
    from: (offset, size, value), one per scalar and one per array element (herd's initial
    writes)."""
    out = {}
    for name, data in layout.initial.items():
        width = layout.arrays.get(name, len(data))
        out[name] = {(o, width, int.from_bytes(data[o:o + width], "little"))
                     for o in range(0, len(data), width)}
    return out


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


@dataclass
class Focus:
    """Only the candidates that may satisfy a condition (run.decide): a thread's path whose
    registers already falsify it, a combination of paths that does, or a coherence order
    whose last write leaves a location with a value that does, is never built. Each test
    returns False only when no completion can satisfy the condition."""
    run_ok: "Callable[[int, Run], bool]"
    combo_ok: "Callable[[tuple[Run, ...]], bool]"
    final_ok: "Callable[[str, object, tuple[Run, ...]], bool]"   # location, value, paths


def executions(test: Litmus, unroll: int = UNROLL, cuts: set | None = None,
               awaited: dict | None = None, focus: Focus | None = None,
               every: bool = False):
    """Every candidate execution, for check() to judge (with `focus`, only those that may
    satisfy its condition). Paths cut at the unroll limit are left out; the places they were
    cut go into `cuts`. For a harness, the await iterations threads.py ends are counted per
    place in `awaited`. With `every`, the inconsistent candidates are built too (to show why
    an outcome is forbidden)."""
    init_regs, memory, arrays = initial_state(test)
    at_end = _shown_registers(test)
    counter = itertools.count(1)
    # The values each location can hold: grown until the threads write nothing new.
    # A loop of dependencies (LB with data dependencies) grows the sets without end; those
    # values only arise in executions with a dependency cycle, which the model forbids
    # (external). In an allowed execution a chain of values passes through each of its
    # events at most once, so once the rounds reach the most events a combination of
    # paths can have, every value such an execution reads is known. Past VALUE_ROUNDS
    # without getting there the test is rejected rather than run on values that may miss some.
    layout = _layout(memory, arrays) if arrays.regions is not None else None
    # under the mixed variant, a data location's values are the (offset, size, value) of
    # the writes to it, its initial value's included
    values = _initial_footprints(layout) if layout else {loc: {v} for loc, v in memory.items()}
    # Outside the mixed variant a read takes its value from the initial state, another
    # thread's write, or a write of its own path (instructions.py adds those): never from a
    # write its thread makes on another path or later (coherence), so each thread sees the
    # others' writes only, and a thread's writes do not feed its own reads round after round.
    written = [dict() for _ in test.threads]
    initial = {loc: {v} for loc, v in memory.items()}

    def view(t: int) -> dict[str, set]:
        if layout:
            return values
        out = {loc: set(vs) for loc, vs in initial.items()}
        for other, writes in enumerate(written):
            if other != t:
                for loc, vs in writes.items():
                    out.setdefault(loc, {0}).update(vs)
        return out
    rounds = 0
    while True:
        rounds += 1
        before = {k: set(v) for k, v in values.items()}
        this_round: dict = {}
        # decide() leaves reads nothing uses unread (consistent_candidates picks their writes)
        unread = focus is not None and layout is None and test.filter is None
        all_runs = [runs(test, t, init_regs[t], view(t), lambda: next(counter), arrays, unroll,
                         this_round, at_end[t], unread) for t in range(len(test.threads))]
        # A path ended in an await loop is not run, but what it wrote before the loop is
        # written in real executions (the path that leaves the loop writes it too), and its
        # events count toward the longest path: later rounds may give its reads the values
        # that end the wait.
        longest = sum(max((len(r.events) for r in tr), default=0) for tr in all_runs)
        for t, thread_runs in enumerate(all_runs):
            if cuts is not None:
                cuts.update(f"P{t}:{r.cut}" for r in thread_runs if r.cut)
        for t, thread_runs in enumerate(all_runs):
            for run in thread_runs:
                for e in run.events:
                    where = place(e.loc) if layout and e.kind == "W" else None
                    if where:
                        values[where[0]].add((where[1], e.size, e.value))
                    elif e.kind == "W":
                        values.setdefault(e.loc, {0}).add(e.value)
                        written[t].setdefault(e.loc, set()).add(e.value)
        all_runs = [[r for r in tr if not r.cut and not r.awaited] for tr in all_runs]
        most_events = max(longest, sum(max((len(r.events) for r in tr), default=0)
                                       for tr in all_runs))
        if values == before or rounds > most_events:
            if awaited is not None:
                awaited.update(this_round)
            break
        if rounds >= VALUE_ROUNDS:
            raise LitmusError(test.path, None, f"the values the threads write do not settle "
                                               f"within {VALUE_ROUNDS} rounds")
    sizes: dict[str, set] = {}
    for thread_runs in all_runs:
        for run in thread_runs:
            for e in run.events:
                if e.kind != "F" and not (layout and place(e.loc)):
                    sizes.setdefault(e.loc, set()).add(e.size)
    _fields_apart(test, sizes)
    for loc, found in sorted(sizes.items()):
        if len(found) > 1:
            raise NotModelled(test.path, None, f"{MIXED}: accesses to {loc} of "
                                               f"({' and '.join(map(str, sorted(found)))} "
                                               f"bytes) are not modelled")
    fit = lambda loc, v: v if isinstance(v, Addr) or loc not in sizes else \
        v & ((1 << (8 * min(sizes[loc]))) - 1)
    inits = {loc: Event(-(i + 1), INIT_TID, "W", loc, fit(loc, v)) for i, (loc, v) in
             enumerate(sorted(memory.items()))}
    if focus is not None:
        all_runs = [[r for r in tr if focus.run_ok(t, r)] for t, tr in enumerate(all_runs)]
    if (focus is not None or layout) and any(r.blocked is not None for tr in all_runs
                                             for r in tr):
        raise NotModelled(test.path, None, "a WFI that may sleep (a harness's wake-up) is "
                                           "decided only by run(), outside the mixed variant")
    for combo in itertools.product(*all_runs):
        if focus is not None and not focus.combo_ok(combo):
            continue
        if focus is not None:           # (execution, its local orders or None)
            yield from (((ex, None) for ex in _with_rf_co_mixed(test, combo, layout))
                        if layout else consistent_candidates(
                            test, combo, inits,
                            lambda loc, v, combo=combo: focus.final_ok(loc, v, combo)))
        elif layout:
            yield from _with_rf_co_mixed(test, combo, layout)
        elif every:
            yield from _with_rf_co(test, combo, inits)
        else:       # the candidates check() could allow (the others are never built)
            yield from (ex for ex, _ in consistent_candidates(test, combo, inits))


def _fields_apart(test: Litmus, sizes: dict[str, set]) -> None:
    """A harness's block is cut into the fields its accesses touch, each a location of its
    own; that is Arm's model only if no two accesses overlap without coinciding (else
    the mixed variant would be needed)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for loc, found in sizes.items():
        where = place(loc)
        if where and where[0] in test.blocks:
            spans.setdefault(where[0], []).extend((where[1], n) for n in found)
    for block, fields in spans.items():
        fields = sorted(set(fields))
        for (a, n), (b, m) in zip(fields, fields[1:]):
            if b < a + n:
                raise NotModelled(test.path, None, f"{MIXED}: accesses to {block} overlap: "
                                                   f"{n} bytes at offset {a} and {m} at {b}")


SPLIT = 16      # mixed variant: the parts of access i are events i*SPLIT, i*SPLIT+1, ...


def _with_rf_co_mixed(test, combo: tuple[Run, ...], layout: Layout):
    """The candidates of one combination of paths under herd's mixed variant. herd splits
    every access into byte events, reads-from and coherence are per byte, and the model
    relates the bytes of one access (sca-class). Here a location is cut only where an access
    begins or ends (and between array elements): within one piece every access covers all
    bytes or none, so the bytes of a piece behave alike in every allowed execution, and
    one event per piece and access stands for herd's bytes."""
    accesses = [e for run in combo for e in run.events]
    cuts: dict[str, set] = {}
    for e in accesses:
        where = place(e.loc) if e.kind != "F" else None
        if where:
            cuts.setdefault(where[0], set()).update((where[1], where[1] + e.size))
    pieces = {}
    for region, found in cuts.items():
        size = layout.regions[region]
        found |= set(range(0, size + 1, layout.arrays.get(region, size)))
        ends = sorted(found)
        pieces[region] = list(zip(ends, ends[1:]))
    events, parts = [], {}
    for e in accesses:
        where = place(e.loc) if e.kind != "F" else None
        if where is None:
            parts[e.id] = [e.id * SPLIT]
            events.append(dataclasses.replace(e, id=e.id * SPLIT, sca=e.id))
            continue
        region, off = where
        mine = [(a, b) for a, b in pieces[region] if off <= a and b <= off + e.size]
        if len(mine) > SPLIT:
            raise NotModelled(test.path, e.line, f"an access in more than {SPLIT} pieces "
                                                 f"in `{e.text}`")
        parts[e.id] = [e.id * SPLIT + k for k in range(len(mine))]
        for k, (a, b) in enumerate(mine):
            value = (e.value >> (8 * (a - off))) & ((1 << (8 * (b - a))) - 1)
            events.append(dataclasses.replace(e, id=e.id * SPLIT + k, loc=f"{region}+{a}",
                                              value=value, size=b - a, sca=e.id))
    for e in events:
        if e.pair is not None:      # how herd groups a pair's bytes is not known here
            raise NotModelled(test.path, e.line, f"a single-copy-atomic pair access (exclusive "
                                                 f"pair, CASP) under the mixed variant is not "
                                                 f"modelled in `{e.text}`")
    # the initial writes: one event per piece (herd's initial write of a scalar is one
    # access of its size, of an array one per element)
    inits: dict[str, Event] = {}
    for region, found in pieces.items():
        data = layout.initial[region]
        width = layout.arrays.get(region, len(data))
        for a, b in found:
            inits[f"{region}+{a}"] = Event(-(len(inits) + 1), INIT_TID, "W", f"{region}+{a}",
                                           int.from_bytes(data[a:b], "little"), size=b - a,
                                           sca=("init", region, a // width))
    for e in events:
        if e.kind != "F" and e.loc not in inits:        # code, read as data
            inits[e.loc] = Event(-(len(inits) + 1), INIT_TID, "W", e.loc,
                                 initial_value(test, e.loc))
    ev = {e.id: e for e in events}
    covers = {}                # access -> the pieces it covers (an initial write: its own)
    for e in list(events) + list(inits.values()):
        covers.setdefault(e.sca if e.sca is not None else e.id, set()).add(e.loc)
    writes: dict[str, list[Event]] = {}
    for e in events:
        if e.kind == "W":
            writes.setdefault(e.loc, []).append(e)
    # reads-from, per read access: each part from a write to its piece with its value, and
    # never two parts from two writes that both cover both (the model forbids it)
    read_ids = [i for i, ids in parts.items() if ev[ids[0]].kind == "R"]
    reads, choices = [], []
    for i in read_ids:
        options = []
        for k in parts[i]:
            r = ev[k]
            options.append([w for w in [inits[r.loc]] + writes.get(r.loc, [])
                            if w.value == r.value and not (w.tid == r.tid and w.sca > r.sca)])
        found = []
        for pick in itertools.product(*options):
            src = [w.sca if w.sca is not None else w.id for w in pick]
            if all(src[x] == src[y] or not ({ev[parts[i][y]].loc, ev[parts[i][x]].loc}
                                            <= covers[src[x]] & covers[src[y]])
                   for x in range(len(pick)) for y in range(x)):
                found.append(pick)
        if not found:
            return
        reads.append(parts[i])
        choices.append(found)
    # coherence: an order of the writes to a location, the same on every piece two writes
    # share (the model forbids any other), so orders of whole accesses, seen per piece
    by_region: dict[str, list[int]] = {}
    for e in events:
        if e.kind == "W":
            ws = by_region.setdefault(place(e.loc)[0] if place(e.loc) else e.loc, [])
            if e.sca not in ws:
                ws.append(e.sca)
    region_orders = []
    for region, ws in sorted(by_region.items()):
        seen = {}
        for order in itertools.permutations(ws):
            co = {}
            for w in order:
                for k in parts[w]:
                    co.setdefault(ev[k].loc, []).append(k)
            key = tuple(sorted((loc, tuple(ids)) for loc, ids in co.items()))
            seen.setdefault(key, co)
        region_orders.append(list(seen.values()))
    rmw = [(a, b) for run in combo for r, w in run.rmw
           for a in parts[r] for b in parts[w] if ev[a].loc == ev[b].loc]
    all_events = list(inits.values()) + events
    for rf_choice in itertools.product(*choices):
        rf = {r: w.id for ids, pick in zip(reads, rf_choice) for r, w in zip(ids, pick)}
        for co_choice in itertools.product(*region_orders):
            co = {loc: [inits[loc].id] for loc in inits}
            for part in co_choice:
                for loc, ids in part.items():
                    co[loc] = co[loc] + ids
            yield Execution(all_events, rf, co, rmw, [run.regs for run in combo],
                            [run.error for run in combo if run.error is not None],
                            {run.fault for run in combo if run.fault is not None},
                            parts=parts, layout=layout)


def _sources(test, combo: tuple[Run, ...], inits: dict[str, Event]):
    """The events of a combination of paths, the writes per location, the reads, and for
    each read the writes it may read from (its value, not its own thread's later one); None
    if some read has none. Adds an initial write for every location the paths touch."""
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
        sources = [w for w in [inits[r.loc]] + writes.get(r.loc, [])
                   if (w.value == r.value or r.value is UNREAD)
                   and not (w.tid == r.tid and _po_before(r, w, combo))]
        if not sources:
            return None
        choices.append(sources)
    return events, writes, reads, choices


def _with_rf_co(test, combo: tuple[Run, ...], inits: dict[str, Event]):
    found = _sources(test, combo, inits)
    if found is None:
        return
    events, writes, reads, choices = found
    locs = sorted(writes)
    rmw = [pair for run in combo for pair in run.rmw]
    for rf_choice in itertools.product(*choices):
        rf = {r.id: w.id for r, w in zip(reads, rf_choice)}
        orders = [list(_coherent_orders(writes[loc], reads, rf_choice)) for loc in locs]
        for co_choice in itertools.product(*orders):
            co = {loc: [inits[loc].id] + [w.id for w in order]
                  for loc, order in zip(locs, co_choice)}
            for loc in inits:
                co.setdefault(loc, [inits[loc].id])
            ex = Execution(list(inits.values()) + events, rf, co, rmw,
                           [run.regs for run in combo],
                           [run.error for run in combo if run.error is not None],
                           {run.fault for run in combo if run.fault is not None},
                           blocked=[run.blocked for run in combo if run.blocked is not None])
            yield ex


def consistent_candidates(test, combo: tuple[Run, ...], inits: dict[str, Event],
                          final_ok=None):
    """The candidates of one combination of paths (outside the mixed variant), with the
    local orders to check them with, built so that most inconsistent ones never are. The
    search goes location by location: first the write each of its reads reads from, one
    read at a time, then the coherence order of its writes, one write at a time, then the
    write each unread load (decide()) reads from. Each choice adds its rf, co and fr edges
    and is dropped as soon as they close a cycle in coherence per location or in
    ordered-before (with the local orders); a write that another unplaced one must precede
    is not placed next. The edges used are a subset of what check() relates, so a dropped
    candidate is one check() would reject; check() still judges every candidate yielded.
    Yields (execution, local)."""
    found = _sources(test, combo, inits)
    if found is None:
        return
    events, writes, reads, choices = found
    if final_ok is not None and any(not final_ok(loc, e.value) for loc, e in inits.items()
                                    if loc not in writes):
        return
    rmw = [pair for run in combo for pair in run.rmw]
    skeleton = Execution(list(inits.values()) + events, {}, {}, rmw,
                         [run.regs for run in combo])
    loc_of = {e.id: e.loc for e in skeleton.events}
    tid = {e.id: e.tid for e in skeleton.events}
    po = {(a.id, b.id) for a in events for b in events if a.tid == b.tid and a.id < b.id}
    po_loc = {(a, b) for a, b in po if loc_of[a] is not None and loc_of[a] == loc_of[b]}
    local = local_order(skeleton, po, po_loc)
    read_ids = {r.id for r in reads}
    rr_before: dict[int, list[int]] = {}       # a read -> earlier reads of its location
    for a, b in po_loc:
        if a in read_ids and b in read_ids:
            rr_before.setdefault(b, []).append(a)
    value = {w.id: w.value for w in events if w.kind == "W"}
    value.update({e.id: e.value for e in inits.values()})
    # a read after its own thread's write to its location reads that write or one
    # coherence-after it: never the initial value, nor an own write the later one overwrote
    latest = {}
    for r in reads:
        own = [w for w in writes.get(r.loc, ()) if w.tid == r.tid and w.id < r.id]
        if own:
            latest[r.id] = max(w.id for w in own)
    sources = {r.id: [w for w in c if r.id not in latest or
                      (w.tid != INIT_TID and (w.tid != r.tid or w.id == latest[r.id]))]
               for r, c in zip(reads, choices)}
    if not all(sources.values()):
        return
    by_loc: dict[str, list[Event]] = {}
    for r in reads:
        by_loc.setdefault(r.loc, []).append(r)
    valued = {loc: [r for r in rs if r.value is not UNREAD] for loc, rs in by_loc.items()}
    unread = {loc: [r for r in rs if r.value is UNREAD] for loc, rs in by_loc.items()}
    # the busiest locations first: their choices constrain the most
    locs = sorted(set(writes) | set(by_loc),
                  key=lambda loc: (-len(writes.get(loc, ())) - len(by_loc.get(loc, ())), loc))
    internal, external = _Graph(po_loc), _Graph(local[0] | local[1])

    def add(edges) -> tuple[list, bool]:
        """Add edges (with the hazard-ordered reads before an external one); whether none
        closes a cycle. Returns what was added, to undo."""
        taken_i, taken_e, checks_i, checks_e = [], [], [], []
        for a, b in edges:
            taken_i.append(internal.add(a, b))
            checks_i.append((a, b))
            if tid[a] != tid[b]:
                for a2 in [a] + rr_before.get(a, []):
                    taken_e.append(external.add(a2, b))
                    checks_e.append((a2, b))
        ok = all(not graph.reaches(b, sources) for graph, checks in
                 ((internal, checks_i), (external, checks_e))
                 for b, sources in _by_target(checks).items())
        return (taken_i, taken_e), ok

    def undo(taken) -> None:
        internal.undo(taken[0])
        external.undo(taken[1])

    co: dict[str, list[int]] = {loc: [inits[loc].id] for loc in inits}
    rf: dict[int, int] = {}
    readers: dict[int, list[int]] = {}

    def pick_reads(k: int, i: int):
        """The write each read of locs[k] reads from, from its i-th read on; then its
        coherence order."""
        if k == len(locs):
            events_now = [dataclasses.replace(e, value=value[rf[e.id]])
                          if e.kind == "R" and e.value is UNREAD else e
                          for e in skeleton.events]
            yield Execution(events_now, dict(rf), {loc: list(o) for loc, o in co.items()},
                            rmw, [run.regs for run in combo],
                            [run.error for run in combo if run.error is not None],
                            {run.fault for run in combo if run.fault is not None},
                            blocked=[run.blocked for run in combo
                                     if run.blocked is not None]), local
            return
        loc_reads = valued.get(locs[k], ())
        if i == len(loc_reads):
            yield from place_writes(k)
            return
        r = loc_reads[i]
        for w in sources[r.id]:
            taken, ok = add([(w.id, r.id)])
            if ok:
                rf[r.id] = w.id
                readers.setdefault(w.id, []).append(r.id)
                yield from pick_reads(k, i + 1)
                readers[w.id].pop()
                del rf[r.id]
            undo(taken)

    def pick_unread(k: int, i: int):
        """The writes of the unread reads of locs[k] (any write of the location), from the
        i-th on, once its coherence order is known: each with its rf and fr edges."""
        loc_reads = unread.get(locs[k], ())
        if i == len(loc_reads):
            yield from pick_reads(k + 1, 0)
            return
        r, order = loc_reads[i], co[locs[k]]
        for w in sources[r.id]:
            later = order[order.index(w.id) + 1:]
            taken, ok = add([(w.id, r.id)] + [(r.id, w2) for w2 in later])
            if ok:
                rf[r.id] = w.id
                yield from pick_unread(k, i + 1)
                del rf[r.id]
            undo(taken)

    def place_writes(k: int):
        """Coherence of locs[k], write by write after the initial one: co from each earlier
        write, fr from each earlier write's readers; then the next location."""
        loc = locs[k]
        order = co[loc]
        if len(order) == len(writes.get(loc, ())) + 1:
            if final_ok is None or final_ok(loc, value[order[-1]]):
                yield from pick_unread(k, 0)
            return
        unplaced = [w.id for w in writes[loc] if w.id not in order]
        # a write that another unplaced one must precede (a path from it in either graph)
        # cannot come next: its subtree would fail only when that one is placed
        reach = {u: internal.reachable(u) | {w for w in external.reachable(u)
                                              if tid[w] != tid[u]} for u in unplaced}
        after = set().union(*reach.values())
        # and the last write must give a final value the condition can still hold on
        left = set(unplaced)
        if final_ok is not None and not any(
                final_ok(loc, value[w]) and not reach[w] & (left - {w}) for w in unplaced):
            return
        for w in unplaced:
            if w in after:
                continue
            taken, ok = add([(p, w) for p in order] +
                            [(r, w) for p in order for r in readers.get(p, ())])
            if ok:
                order.append(w)
                yield from place_writes(k)
                order.pop()
            undo(taken)

    yield from pick_reads(0, 0)


def _by_target(edges) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for a, b in edges:
        out.setdefault(b, set()).add(a)
    return out


class _Graph:
    """A directed graph that edges can be added to and taken back from."""

    def __init__(self, edges=()):
        self.succ: dict[int, set[int]] = {}
        for a, b in edges:
            self.succ.setdefault(a, set()).add(b)

    def add(self, a: int, b: int):
        out = self.succ.setdefault(a, set())
        if b in out:
            return None
        out.add(b)
        return (a, b)

    def undo(self, added) -> None:
        for edge in added:
            if edge is not None:
                self.succ[edge[0]].discard(edge[1])

    def reaches(self, start: int, targets: set[int]) -> bool:
        """Whether a path of one or more edges goes from start to one of targets."""
        seen, stack = set(), [start]
        while stack:
            for b in self.succ.get(stack.pop(), ()):
                if b in targets:
                    return True
                if b not in seen:
                    seen.add(b)
                    stack.append(b)
        return False

    def reachable(self, start: int) -> set[int]:
        """Every node a path of one or more edges reaches from start."""
        seen, stack = set(), [start]
        while stack:
            for b in self.succ.get(stack.pop(), ()):
                if b not in seen:
                    seen.add(b)
                    stack.append(b)
        return seen

    def cyclic(self) -> bool:
        return _cyclic(list(self.succ), [(a, b) for a, bs in self.succ.items() for b in bs])


def _shown_registers(test: Litmus) -> list[set[str]]:
    """Per thread, the registers the final state shows (the condition's, the filter's and
    `locations`'), as X names."""
    names = [x for x in test.locations]

    def walk(prop):
        if isinstance(prop, Atom):
            names.append(prop.lhs)
        for child in (getattr(prop, "args", ()) or ()):
            walk(child)
        for part in ("arg", "left", "right"):
            if hasattr(prop, part):
                walk(getattr(prop, part))
    for prop in (test.condition.prop if test.condition else None, test.filter):
        if prop is not None:
            walk(prop)
    out = [set() for _ in test.threads]
    for name in names:
        m = re.fullmatch(r"\s*(\d+)\s*:\s*([WXwx])(\d+)\s*", name)
        if m and int(m.group(1)) < len(out):
            out[int(m.group(1))].add(f"X{m.group(3)}")
    return out


def _coherent_orders(writes: list[Event], reads: list[Event], sources: tuple[Event, ...]):
    """The coherence orders of one location's writes that coherence per location leaves
    possible for this reads-from (_coherence_constraints). Every order left out breaks
    `internal`, so no allowed execution is lost."""
    after = _coherence_constraints(writes, reads, sources)
    order: list[int] = []
    placed: set[int] = set()
    by_id = {w.id: w for w in writes}

    def extend():
        if len(order) == len(writes):
            yield tuple(by_id[i] for i in order)
            return
        for w in writes:
            if w.id not in placed and after[w.id] <= placed:
                order.append(w.id)
                placed.add(w.id)
                yield from extend()
                order.pop()
                placed.discard(w.id)
    yield from extend()


def _coherence_constraints(writes: list[Event], reads: list[Event],
                           sources: tuple[Event, ...]) -> dict[int, set[int]]:
    """For each write of one location, the writes coherence must put before it: a thread's
    writes in program order (coWW); a write after a read of its thread follows the write
    that read saw (coRW), one before it precedes or is it (coWR)."""
    ids = {w.id for w in writes}
    after: dict[int, set[int]] = {w.id: set() for w in writes}      # must come before
    for a in writes:
        for b in writes:
            if a.tid == b.tid and a.id < b.id:
                after[b.id].add(a.id)
    for r, w0 in zip(reads, sources):
        if w0.id not in ids:
            continue                     # the initial write, first anyway
        for w in writes:
            if w.tid == r.tid and w.loc == r.loc and w.id != w0.id:
                if w.id > r.id:
                    after[w.id].add(w0.id)
                else:
                    after[w0.id].add(w.id)
    return after


def _po_before(a: Event, b: Event, combo) -> bool:
    return a.tid == b.tid and a.id < b.id


def check(ex: Execution, local=None) -> str | None:
    """None if the model allows the execution; else the axiom it breaks. `local` is
    local_order's answer for its paths, when the caller has it."""
    ev = {e.id: e for e in ex.events}
    ids = [e.id for e in ex.events]
    # program order is between accesses: the parts of one access (mixed variant) are not
    # ordered among themselves
    if ex.parts:
        po = {(a.id, b.id) for a in ex.events for b in ex.events
              if a.tid == b.tid and a.tid != INIT_TID and a.sca < b.sca}
    else:
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
    if local is None:
        local = local_order(ex, po, po_loc)
    lob, pick_lob, sm, shown = local
    then_sm = lambda rel: rel | _compose(rel, sm) if sm else rel
    haz = {(a, d) for a, b in po_loc if a in R and b in R
           for (b2, d) in ext(ca) if b2 == b and d in W}
    obs = then_sm(ext(rf) | ext(ca))
    ex.relations.update(shown)
    if _cyclic(ids, lob | pick_lob | haz | obs):
        return "external"
    return None


def local_order(ex: Execution, po: set, po_loc: set):
    """What orders a thread's own events, whatever the reads-from and coherence: lob (the
    closure of dob, ifb, pob, aob, bob and lws) and pick-lob, with sca-class (mixed) and the
    relations a graph shows. It depends only on the paths, so it is the same for every
    candidate of one combination of paths."""
    kind = lambda k: {e.id for e in ex.events if e.kind == k}
    R, W = kind("R"), kind("W")
    M = R | W
    rmw = set(ex.rmw)
    tag = lambda t: {e.id for e in ex.events if t in e.tags}
    A, Q, L, amo, noret = tag("A"), tag("Q"), tag("L"), tag("amo"), tag("NoRet")
    fences = {e.id: next(iter(e.tags)) for e in ex.events if e.kind == "F"}
    full = {i for i, f in fences.items() if f in FULL}
    ld = {i for i, f in fences.items() if f in LD}
    st = {i for i, f in fences.items() if f in ST}
    isb = {i for i, f in fences.items() if f == "ISB"}

    def deps(field, picked):
        # a dependency on a read access is on each of its parts (mixed variant)
        return {(y, e.id) for e in ex.events for x in getattr(e, field)
                if ((isinstance(x, tuple) and x[0] == "pick") if picked else isinstance(x, int))
                for y in ex.parts.get(x[1] if picked else x, (x[1] if picked else x,))}
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
    # A harness's SGI (MSR ICC_SGI1R_EL1, modelled as a write to the target's interrupt
    # line) is a system-register write: no DMB, acquire or release orders memory accesses
    # before it, only a DSB, which waits for them to complete (DSB LD for reads, DSB ST
    # for writes); dependencies into it stay (it cannot be sent before its value is known).
    sgi = tag("SGI")
    if sgi:
        dsb = {i for i, f in fences.items() if f.startswith("DSB")}
        bob = {(a, c) for a, c in bob if c not in sgi}
        bob |= {(a, c) for a, b in po if b in dsb and a in M
                and (b in full or (a in R and b in ld) or (a in W and b in st))
                for c in after.get(b, ()) if c in sgi}
    # sca-class (mixed variant): the other parts of the same access
    sm = {(a, b) for group in ex.parts.values() if len(group) > 1
          for a in group for b in group if a != b}
    then_sm = lambda rel: rel | _compose(rel, sm) if sm else rel
    # local write successor: an access, then a po-later write to its location (under the
    # mixed variant, with sca-class, it also orders that write's other parts)
    lws = then_sm({(a, b) for a, b in po_loc if a in M and b in W})
    # an rmw orders the acquire read that reads its write with all of that read's parts
    # (Linux's qspinlock needs it: catalogue/aarch64-mixed CoRR+amo.swph0h0-posh0a.w0+w0)
    aob = rmw | then_sm(aob - rmw)
    lob = _closure(dob | ifb | pob | aob | bob | lws)
    pick = paddr | pdata | pctrl
    # pick-basic-dep runs through memory as dtrm does (lrs): a pick dependency into a
    # write reaches the thread's next read of that location, and lob goes on from there.
    pick |= {(a, r) for a, w in paddr | pdata if w in W for (w2, r) in lrs if w2 == w}
    pick_lob = {(a, c) for a, b in pick for (b2, c) in lob if b2 == b and c in W}
    shown = dict(addr=addr, data=data, ctrl=ctrl, dob=dob, aob=aob, bob=bob, pob=pob)
    return lob, pick_lob, sm, shown


def memory_finals(ex: Execution) -> dict[str, object]:
    """Each location's final value: its last write in coherence. Under the mixed variant a
    data location's value is put together from its pieces' (little-endian), the pieces no
    access touched keeping their initial bytes; an array's elements as `t[i]`."""
    ev = {e.id: e for e in ex.events}
    last = {loc: ev[order[-1]] for loc, order in ex.co.items()}
    if ex.layout is None:
        return {loc: e.value for loc, e in last.items()}
    out = {loc: e.value for loc, e in last.items() if not place(loc)}
    data = {name: bytearray(b) for name, b in ex.layout.initial.items()}
    for loc, e in last.items():
        where = place(loc)
        if where:
            data[where[0]][where[1]:where[1] + e.size] = e.value.to_bytes(e.size, "little")
    for name, b in data.items():
        if name in ex.layout.arrays:
            width = ex.layout.arrays[name]
            for i in range(len(b) // width):
                out[f"{name}[{i}]"] = int.from_bytes(b[i * width:(i + 1) * width], "little")
        else:
            out[name] = int.from_bytes(b, "little")
    return out


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
