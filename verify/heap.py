"""Heap invariants: words of an array of objects that always hold a value of one kind.

A spec lists them as `Links` in specs/heap.py ("a node's link holds 0 or a node"; the
runtime declares none yet, tests/test_invariants.py has an example). A proof assumes them of
every word it reads and proves them of every word it writes (a store they cannot be shown
for ends its path as a violation); a store into a small region of the function's own
contract is left to its callers, which check the region where they take the contract. Every
function keeps them, so they hold wherever any function starts: that is what lets a loop walk
a list whose nodes it has forgotten (verify/explore.py generalises memory at a loop head).
Not yet checked by the round-trip and weak-memory explorers.

Where a load or store lies is decided from the layout facts without the solver
(intervals.object_offsets); a store it cannot place is asked of the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from . import intervals
from .machine import State, solver

STORE_MS = 5000     # how long to try to show that a store keeps the invariants
APART, WORD = "apart", "word"
REGION_WORDS = 64   # a callee's region up to this many bytes is checked word by word


def _bv(addr) -> z3.BitVecRef:
    return z3.BitVecVal(addr, 64) if isinstance(addr, int) else addr


@dataclass(frozen=True)
class _Array:
    links: object           # the spec's Links
    base: int
    count: int
    stride: int
    offsets: tuple[int, ...]
    size: int               # bytes per word: 8 (a link) or 4 (a u32 field)


class HeapInvariant:
    def __init__(self, program, links: list, in_frame=None, frame_floor: int = 0):
        from .spec import View
        self._view = View
        # in_frame(addr, nbytes): the access lies in the function's own stack frame, which
        # the prover assumes apart from the runtime's arrays (stacks are objects of their own).
        self.in_frame = in_frame
        self.frame_floor = frame_floor     # no stack frame lies below this address
        self.program = program
        self.links = list(links)
        value = lambda n: n if isinstance(n, int) else n(program.constant) if callable(n) \
            else program.constant(n)
        self.arrays = [_Array(l, program.symbol(l.symbol), value(l.count), value(l.stride),
                              tuple(value(o) for o in l.offsets), l.size) for l in self.links]
        for a in self.arrays:
            if a.size not in (4, 8) or a.stride % a.size or any(
                    (a.base + o) % a.size or not 0 <= o <= a.stride - a.size for o in a.offsets):
                raise ValueError(f"heap invariant \"{a.links.summary}\": its words must be 4 "
                                 "or 8 bytes, aligned, and lie within one object each")

    @property
    def summaries(self) -> list[str]:
        return [l.summary for l in self.links]

    def _holds(self, array: _Array, state: State, value: z3.BitVecRef) -> z3.BoolRef:
        return array.links.holds(self._view(state, self.program), value)

    def _place(self, array: _Array, addr, nbytes: int, known) -> str | None:
        """APART: the access misses the array's invariant words; WORD: it is one of them
        (whichever its possible offsets are); None: not known, or a partial overlap."""
        found = intervals.object_offsets(addr, nbytes, array.base, array.count, array.stride,
                                         known)
        if found is None:
            return None
        w = array.size
        if nbytes == w and found and found <= set(array.offsets):
            return WORD
        if all(c + nbytes <= o or o + w <= c for c in found for o in array.offsets):
            return APART
        return None

    def assume_load(self, state: State, addr: z3.BitVecRef, nbytes: int,
                    value: z3.BitVecRef) -> None:
        """A word the layout places at one of the invariant's offsets holds what it says
        (not one a store left to the callers may have written)."""
        addr = _bv(addr)
        if any(not intervals.apart(addr, nbytes, a, n, state.constraints)
               for a, n in state.unchecked):
            return
        arrays = [a for a in self.arrays if a.size == nbytes]
        if not arrays:
            return
        known = intervals.facts(state.constraints)
        placed = [a for a in arrays if self._place(a, addr, nbytes, known) == WORD]
        if placed:
            state.constraints += [self._holds(a, state, value) for a in placed]
            return
        # Placed case by case (a word that is a list head or a node's link): what holds in
        # every case is a plain fact, which the layout checks can use; the rest is per case.
        for which, cases in intervals.relevant_cases(known, addr):
            each = [[self._holds(a, state, value) for a in arrays
                     if self._place(a, addr, nbytes, known.with_case(which, i)) == WORD]
                    for i in range(len(cases))]
            if not any(each):
                continue
            common = [h for h in each[0] if all(any(z3.eq(h, g) for g in hs) for hs in each[1:])]
            state.constraints += common
            state.constraints += [z3.Implies(formula, z3.And(*hs))
                                  for (formula, _), hs in zip(cases, each) if hs and not common]
            return

    def spans(self) -> list[tuple[int, int]]:
        """Each array's [start, end) in memory."""
        return [(a.base, a.base + a.count * a.stride) for a in self.arrays]

    def apart_from_frames(self, state: State, addr: z3.BitVecRef, nbytes: int) -> bool:
        """The access cannot touch a stack frame: the layout places it inside the arrays,
        which the prover assumes apart from every frame, or below frame_floor, where no frame
        lies (in each case of a disjunction that places it: a link, 0 or a PCB)."""
        low = self.frame_floor
        addr = z3.simplify(_bv(addr))
        known = intervals.facts(state.constraints)

        def placed(k) -> bool:
            lo, hi = intervals.interval(addr, k)
            return hi + nbytes <= low or any(start <= lo and hi + nbytes <= end
                                             for start, end in self.spans())
        if placed(known):
            return True
        return any(all(placed(known.with_case(which, i)) for i in range(len(cases)))
                   for which, cases in intervals.relevant_cases(known, addr))

    def at(self, array: _Array, addr: z3.BitVecRef) -> z3.BoolRef:
        """addr is one of the array's invariant words (the solver's form)."""
        cases = []
        for off in array.offsets:
            rel = addr - (array.base + off)
            cases.append(z3.And(z3.ULT(rel, array.count * array.stride),
                                z3.URem(rel, array.stride) == 0))
        return z3.Or(*cases)

    def region_obligation(self, state: State, start: z3.BitVecRef,
                          size: int) -> z3.BoolRef | None:
        """What must hold, after a callee taken by its contract wrote `size` bytes at `start`,
        for the words there to keep every invariant (the callee left them to its callers):
        None when the layout shows the region misses every invariant word."""
        if size > REGION_WORDS:
            return None       # the callee checked its stores there itself (explore.py)
        start = _bv(start)
        known = intervals.facts(state.constraints)
        needs = []
        for array in self.arrays:
            if self._place(array, start, size, known) == APART:
                continue
            w = array.size
            for i in range((size + w - 1) // w):
                addr = z3.simplify(start + w * i)
                n = min(w, size - w * i)
                for case, place in self._placements(array, addr, n, known):
                    if place == APART:
                        continue
                    if n < w:
                        # The region's tail, short of a word: it must touch no invariant word.
                        need = z3.Not(self._torn(array, addr, n))
                        needs.append(need if case is None else z3.Implies(case, need))
                        continue
                    holds = self._holds(array, state, state.load(addr, w, assume=False))
                    need = holds if place == WORD else \
                        z3.And(z3.Implies(self.at(array, addr), holds),
                               z3.Implies(addr & (w - 1) != 0,
                                          z3.Not(self._torn(array, addr, w))))
                    needs.append(need if case is None else z3.Implies(case, need))
        return z3.And(*needs) if needs else None

    def _placements(self, array: _Array, addr: z3.BitVecRef, nbytes: int,
                    known) -> list[tuple[z3.BoolRef | None, str | None]]:
        """[(case, place)]: where the access lies, as _place says, or case by case when a
        disjunction on the path places it in each of its cases (a queue's tail, 0 or a PCB:
        its PCB_NEXT is a link word or lies outside every array)."""
        place = self._place(array, addr, nbytes, known)
        if place is not None:
            return [(None, place)]
        for which, cases in intervals.relevant_cases(known, addr):
            each = [(formula, self._place(array, addr, nbytes, known.with_case(which, i)))
                    for i, (formula, _) in enumerate(cases)]
            if all(place is not None for _, place in each):
                return each
        return [(None, None)]

    def _torn(self, array: _Array, addr: z3.BitVecRef, nbytes: int) -> z3.BoolRef:
        """Some invariant word overlaps [addr, addr + nbytes)."""
        w = array.size
        first = addr & ~(w - 1)
        return z3.Or(*[z3.And(z3.ULT(w * i - (addr - first), nbytes) if i else True,
                              self.at(array, first + w * i))
                       for i in range((nbytes + 2 * w - 2) // w)])

    def store_obligation(self, state: State, addr: z3.BitVecRef, nbytes: int,
                         value: z3.BitVecRef | None) -> z3.BoolRef | None:
        """What must hold for this store to keep every invariant, or None when the layout
        shows it does (it misses every invariant word, or writes a value that always
        qualifies). `value` None: an unknown value (a callee's writes are its own proof's)."""
        addr = _bv(addr)
        if self.in_frame is not None and self.in_frame(addr, nbytes):
            return None
        known = intervals.facts(state.constraints)
        needs = []
        for array in self.arrays:
            for case, place in self._placements(array, addr, nbytes, known):
                need = self._store_need(array, state, addr, nbytes, value, place)
                if need is not None:
                    needs.append(need if case is None else z3.Implies(case, need))
        return z3.And(*needs) if needs else None

    def _store_need(self, array: _Array, state: State, addr: z3.BitVecRef, nbytes: int,
                    value: z3.BitVecRef | None, place: str | None) -> z3.BoolRef | None:
        if place == APART:
            return None
        if place == WORD and value is not None:
            return self._holds(array, state, value)
        # Not placed: a whole word gets a value that qualifies; any other word it touches
        # (a partial overlap would tear it) must not be an invariant word.
        w = array.size
        torn = z3.Not(self._torn(array, addr, nbytes))
        if nbytes == w and value is not None:
            return z3.And(z3.Implies(self.at(array, addr), self._holds(array, state, value)),
                          z3.Implies(addr & (w - 1) != 0, torn))
        return torn

    def store_kept(self, state: State, obligation: z3.BoolRef) -> bool:
        s = solver()
        s.set("timeout", STORE_MS)
        s.add(*state.constraints)
        s.add(z3.Not(obligation))
        return s.check() == z3.unsat
