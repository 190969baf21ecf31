"""Executions a person can read: an event list, a DOT graph (SVG through graphviz's `dot`
when it is installed), and for a forbidden outcome the cycle that forbids it, in a sentence."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .model import INIT_TID, Execution, check
from .events import Addr

EDGE_STYLE = {"rf": "red", "co": "blue", "fr": "orange", "po": "black", "addr": "darkgreen",
              "data": "darkgreen", "ctrl": "darkgreen", "bob": "purple", "dob": "darkgreen",
              "aob": "brown", "pob": "darkgreen"}
SHOWN = ("po", "rf", "co", "fr", "addr", "data", "ctrl", "bob", "aob")


def _label(e) -> str:
    if e.tid == INIT_TID:
        return f"init: W {e.loc}={_v(e.value)}"
    if e.kind == "F":
        return f"P{e.tid}: {e.text} ({_at(e)})"
    tags = "".join(sorted(t for t in e.tags if t in "AQLX"))
    acc = f"{e.kind}{tags} {e.loc}={_v(e.value)}"
    return f"P{e.tid}: {acc}  [{e.text}, {_at(e)}]"


def _at(e) -> str:
    """Where an event's instruction is: its asm/ source line (a harness), else its line."""
    return e.where or f"line {e.line}"


def _v(v) -> str:
    return str(v) if isinstance(v, Addr) else str(v)


def _edges(ex: Execution):
    rel = ex.relations
    po = rel.get("po", set())
    # po drawn between neighbours only; the rest as they are
    ev = {e.id: e for e in ex.events}
    succ = {}
    for a, b in po:
        if a not in succ or b < succ[a]:
            succ[a] = b
    yield from (("po", a, b) for a, b in sorted(succ.items()))
    for name in SHOWN[1:]:
        for a, b in sorted(rel.get(name, ())):
            if name in ("co", "fr") and ev[a].tid == ev[b].tid == INIT_TID:
                continue
            if name == "co" and any((a, c) in rel["co"] and (c, b) in rel["co"]
                                    for c in ev):
                continue                                # co drawn between neighbours
            if name == "bob" and (a, b) not in po:
                continue
            yield name, a, b


def text(ex: Execution) -> str:
    ev = {e.id: e for e in ex.events}
    lines = ["events:"]
    lines += [f"  e{abs(e.id)}{'i' if e.id < 0 else ''}: {_label(e)}" for e in ex.events]
    lines.append("relations:")
    for name, a, b in _edges(ex):
        if name != "po":
            lines.append(f"  {name}: {_label(ev[a])}  ->  {_label(ev[b])}")
    return "\n".join(lines)


def dot(ex: Execution, title: str) -> str:
    out = [f'digraph "{title}" {{', '  rankdir=TB; node [shape=box, fontsize=10];']
    threads = sorted({e.tid for e in ex.events})
    for t in threads:
        name = "init" if t == INIT_TID else f"P{t}"
        out.append(f'  subgraph "cluster_{name}" {{ label="{name}";')
        for e in ex.events:
            if e.tid == t:
                out.append(f'    n{e.id + 1000} [label="{_label(e)}"];')
        out.append("  }")
    for name, a, b in _edges(ex):
        colour = EDGE_STYLE.get(name, "gray")
        out.append(f'  n{a + 1000} -> n{b + 1000} [label="{name}", color={colour}, '
                   f'fontcolor={colour}];')
    out.append("}")
    return "\n".join(out) + "\n"


def write_graph(ex: Execution, title: str, directory: Path, name: str) -> list[Path]:
    """name.txt and name.dot in directory, and name.svg when graphviz's `dot` is installed."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / f"{name}.txt", directory / f"{name}.dot"]
    written[0].write_text(text(ex) + "\n")
    written[1].write_text(dot(ex, title))
    if shutil.which("dot"):
        svg = directory / f"{name}.svg"
        subprocess.run(["dot", "-Tsvg", "-o", str(svg), str(written[1])], check=True,
                       capture_output=True)
        written.append(svg)
    return written


def why_forbidden(ex: Execution) -> str:
    """The cycle that forbids an execution that satisfies the condition, in a sentence."""
    axiom = check(ex)
    rel = ex.relations
    ev = {e.id: e for e in ex.events}
    if axiom is None:
        return "the model allows this execution"
    if axiom in ("internal", "atomic"):
        return (f"it breaks {axiom}: coherence per location (po-loc, rf, co, fr) would have "
                f"a cycle" if axiom == "internal" else
                "it breaks atomic: a write comes between an exclusive or atomic pair")
    edges = []
    for name in ("bob", "dob", "aob", "pob"):
        edges += [(a, b, name) for a, b in rel.get(name, ()) if ev[a].kind != "F"
                  and ev[b].kind != "F"]
    edges += [(a, b, n) for n in ("rf", "fr", "co") for a, b in rel.get(n, ())
              if ev[a].tid != ev[b].tid and INIT_TID not in (ev[a].tid, ev[b].tid)]
    cycle = _cycle(edges)
    if not cycle:
        return "forbidden (external): ordered-before has a cycle"
    parts = []
    for a, b, n in cycle:
        if n in ("rf", "fr", "co"):
            what = {"rf": "is read by", "fr": "reads a value that is then overwritten by",
                    "co": "is overwritten by"}[n]
            parts.append(f"the {_acc(ev[a])} {what} the {_acc(ev[b])}")
        else:
            why = _barrier_between(ex, a, b) if n == "bob" else {
                "dob": "a dependency", "aob": "atomicity", "pob": "a pick dependency"}[n]
            parts.append(f"the {_acc(ev[a])} is ordered before the {_acc(ev[b])} by {why}")
    return ("forbidden: " + "; ".join(parts) +
            "; this is a cycle in ordered-before, which the model does not allow")


# What would order two accesses of one thread, by their kinds (earlier, later).
REMEDY = {("R", "R"): "acquire (LDAR or LDAPR), an address dependency or DMB ISHLD",
          ("R", "W"): "acquire, a dependency or DMB ISHLD",
          ("W", "W"): "release (STLR) on the later write or DMB ISHST",
          ("W", "R"): "DMB ISH, or release then acquire (STLR then LDAR)"}


def why_allowed(ex: Execution) -> str:
    """For an allowed execution, the cycle of program order and communication that it
    closes, in a sentence: which steps are ordered, and what the others would need."""
    rel = ex.relations
    ev = {e.id: e for e in ex.events}
    ordered = _closure_of(set().union(*(rel.get(n, set()) for n in ("dob", "aob", "bob",
                                                                    "pob"))))
    memory = lambda i: ev[i].kind in "RW" and ev[i].tid != INIT_TID
    edges = [(a, b, "po") for a, b in rel.get("po", ()) if memory(a) and memory(b)]
    edges += [(a, b, n) for n in ("rf", "fr", "co") for a, b in rel.get(n, ())
              if memory(a) and memory(b) and ev[a].tid != ev[b].tid]
    # the cycle with the fewest steps nothing orders: it names the ordering that is missing
    gap = lambda e: e[2] == "po" and (e[0], e[1]) not in ordered
    cycle = _fewest(edges, gap) or _cycle(edges)
    if not cycle:
        return "allowed: no cycle of program order and communication is closed"
    gaps = [i for i, (a, b, n) in enumerate(cycle) if n == "po" and (a, b) not in ordered]
    if gaps:                                    # end on the first step nothing orders
        cycle = cycle[gaps[0] + 1:] + cycle[:gaps[0] + 1]
    parts, missing = [], False
    for a, b, n in cycle:
        if n != "po":
            what = {"rf": "is read by", "fr": "reads a value that is then overwritten by",
                    "co": "is overwritten by"}[n]
            parts.append(f"the {_acc(ev[a])} {what} the {_acc(ev[b])}")
        elif (a, b) in ordered:
            why = next((_barrier_between(ex, a, b) if name == "bob" else what
                        for name, what in (("bob", ""), ("dob", "a dependency"),
                                           ("aob", "atomicity"), ("pob", "a pick dependency"))
                        if (a, b) in rel.get(name, ())), "a chain of the above")
            parts.append(f"the {_acc(ev[a])} is ordered before the {_acc(ev[b])} by {why}")
        else:
            missing = True
            between = [e for e in ex.events if e.tid == ev[a].tid and a < e.id < b and
                       (e.kind == "F" or set(e.tags) & {"A", "Q", "L", "X"})]
            inside = ""
            if between:
                inside = " (what lies between, " + ", ".join(
                    dict.fromkeys(f"`{e.text}` ({_at(e)})" for e in between)) + \
                    ", does not order them)"
            parts.append(f"but the {_acc(ev[a])} is not ordered before the {_acc(ev[b])}"
                         f"{inside}: needs {REMEDY[ev[a].kind, ev[b].kind]}")
    end = ("nothing closes this cycle in ordered-before, so the outcome is allowed"
           if missing else "the cycle is allowed")
    return "allowed: " + "; ".join(parts) + "; " + end


def _closure_of(rel: set) -> set:
    out = set(rel)
    while True:
        more = {(a, d) for a, b in out for c, d in out if b == c} - out
        if not more:
            return out
        out |= more


def _fewest(edges, cost, longest: int = 8):
    """Among the simple cycles of at most `longest` edges, one with the fewest edges for
    which cost(edge) holds, then the shortest, then the fewest coherence edges; None if
    there is none."""
    succ = {}
    for e in edges:
        succ.setdefault(e[0], []).append(e)
    best, best_key = None, None
    for start in sorted(succ):
        stack = [(start, [], {start})]
        while stack:
            node, path, seen = stack.pop()
            for e in succ.get(node, ()):
                if e[1] == start:
                    cycle = path + [e]
                    # ties: rather a write read than one overwritten (rf over co)
                    key = (sum(map(cost, cycle)), len(cycle),
                           sum(e[2] == "co" for e in cycle))
                    if best_key is None or key < best_key:
                        best, best_key = cycle, key
                elif e[1] > start and e[1] not in seen and len(path) + 1 < longest:
                    stack.append((e[1], path + [e], seen | {e[1]}))
    return best


def _cycle(edges):
    """One shortest cycle of (a, b, label) edges, as a list of edges."""
    succ = {}
    for a, b, n in edges:
        succ.setdefault(a, []).append((b, n))
    best = None
    for start in sorted(succ):
        # breadth-first from start back to start
        prev = {start: None}
        queue = [start]
        found = None
        while queue and found is None:
            nxt = []
            for node in queue:
                for b, n in succ.get(node, ()):
                    if b == start:
                        found = (node, n)
                        break
                    if b not in prev:
                        prev[b] = (node, n)
                        nxt.append(b)
                if found:
                    break
            queue = nxt
        if found:
            path, node, label = [], found[0], found[1]
            path.append((node, start, label))
            while prev[node] is not None:
                p, n = prev[node]
                path.append((p, node, n))
                node = p
            path.reverse()
            if best is None or len(path) < len(best):
                best = path
    return best


def _acc(e) -> str:
    kind = "read of" if e.kind == "R" else "write to"
    return f"{kind} {e.loc} by P{e.tid} (`{e.text}`, {_at(e)})"


def _barrier_between(ex: Execution, a: int, b: int) -> str:
    ev = {e.id: e for e in ex.events}
    ea, eb = ev[a], ev[b]
    fences = [e for e in ex.events if e.kind == "F" and e.tid == ea.tid and a < e.id < b]
    if fences:
        return fences[0].text
    if "L" in eb.tags:
        return f"release ({eb.text})"
    if "A" in ea.tags or "Q" in ea.tags:
        return f"acquire ({ea.text})"
    return "a barrier"
