"""Where an address can lie, from the path condition's layout facts, without the solver.

A precondition that places a pointer in one of the runtime's arrays (a PCB, a core block, a
wheel slot: `ULT(p - proc_pcbs, MAX_PROCS * PCB_SIZE)`, `URem(p - proc_pcbs, PCB_SIZE) == 0`)
gives the pointer an interval and an alignment. An address built from such pointers,
constants, scaled indices and masks gets both too, by interval and modular arithmetic. Two
accesses cannot overlap when their intervals are disjoint (a PCB field against a core
block's field) or when their offsets from a common alignment never meet (two fields of PCBs
that may be the same one). Most aliasing questions about the runtime's layout are settled
here; the rest go to the solver as before.

Sound by construction: every fact is a conjunct of a constraint that holds on the path, every
interval step gives up (the full range) where the arithmetic could wrap, and alignments are
powers of two, which the 2^64 wrap preserves.
"""

from dataclasses import dataclass

import z3

_MOD = 2 ** 64


@dataclass
class Fact:
    """What the path condition says of one term."""
    term: z3.ExprRef
    lo: int = 0
    hi: int = _MOD - 1
    align: int = 1          # a power of two: term = residue (mod align)
    residue: int = 0
    equal: z3.ExprRef | None = None   # term == equal (a callee's result, say)
    # Any modulus: (term + stride_k) mod 2^64 is a multiple of stride (0: nothing known). An
    # array of objects whose size is no power of two (a PCB) places its members this way.
    stride: int = 0
    stride_k: int = 0

    def meet(self, other: "Fact") -> "Fact":
        align, residue = (self.align, self.residue) if self.align >= other.align else \
            (other.align, other.residue)
        stride, k = (self.stride, self.stride_k) if self.stride else \
            (other.stride, other.stride_k)
        return Fact(self.term, max(self.lo, other.lo), min(self.hi, other.hi), align, residue,
                    self.equal if self.equal is not None else other.equal, stride, k)

    def hull(self, other: "Fact") -> "Fact":
        align = min(self.align, other.align)
        same = self.residue % align == other.residue % align
        stride = (self.stride, self.stride_k) == (other.stride, other.stride_k)
        return Fact(self.term, min(self.lo, other.lo), max(self.hi, other.hi),
                    align if same else 1, self.residue % align if same else 0,
                    stride=self.stride if stride else 0, stride_k=self.stride_k if stride else 0)

    def empty(self) -> bool:
        return self.lo > self.hi


# Per constraint (by AST id; the AST is kept so that the id stays its own): its facts.
_facts_of: dict[int, tuple[z3.ExprRef, dict[int, Fact]]] = {}


class Known(dict):
    """The facts of one path condition, by term id, with the bounds and residues already
    worked out from them: the same addresses are asked about again and again (every load
    against every store it passes). Each memo keeps its expression, so the id stays its own."""

    def __init__(self):
        super().__init__()
        # by term id (and modulus): (term, the depth it was found at, the answer)
        self.intervals: dict[int, tuple[z3.ExprRef, int, tuple[int, int]]] = {}
        self.residues: dict[tuple[int, int], tuple[z3.ExprRef, int, int | None]] = {}
        # Disjunctions the facts could not narrow to one case (a pointer that is a wheel slot
        # or a PCB's timer link): each case's facts, for apart() to try one by one.
        self.cases: list[list[tuple[z3.BoolRef, dict[int, Fact]]]] = []
        self._case_known: dict[tuple[int, int], "Known"] = {}

    def with_case(self, which: int, case: int) -> "Known":
        """These facts and case `case` of disjunction `which` (memoised: its own memos)."""
        hit = self._case_known.get((which, case))
        if hit is None:
            hit = self._case_known[(which, case)] = Known()
            hit.update(self)
            for key, f in self.cases[which][case][1].items():
                hit[key] = hit[key].meet(f) if key in hit else f
        return hit


# The facts of the last few path conditions, by their constraints' ids: a path's loads ask
# about the same condition many times over, and a path condition only grows by appending.
_KNOWN_KEPT = 32
_known_of: dict[tuple[int, ...], tuple[list[z3.BoolRef], Known]] = {}


def _conjuncts(c: z3.BoolRef):
    todo = [c]
    while todo:
        x = todo.pop()
        if z3.is_and(x):
            todo.extend(x.children())
        else:
            yield x


def _term_plus(x: z3.BitVecRef) -> tuple[z3.BitVecRef, int] | None:
    """x as (term, k) with x = term + k, k a constant."""
    x = z3.simplify(x)
    if z3.is_bv_value(x):
        return None
    if z3.is_app_of(x, z3.Z3_OP_BADD):
        rest = [a for a in x.children() if not z3.is_bv_value(a)]
        if len(rest) != 1:
            return None
        k = sum(a.as_long() for a in x.children() if z3.is_bv_value(a))
        return rest[0], k % _MOD
    return x, 0


def _power_of_two_part(n: int) -> int:
    return n & -n if n > 0 else 1


def _fact(c: z3.BoolRef) -> Fact | None:
    """The fact one conjunct states about one 64-bit term, or None."""
    if z3.is_or(c):
        hull = None
        for d in c.children():
            found = {}
            for f in filter(None, map(_fact, _conjuncts(d))):
                key = f.term.get_id()
                found[key] = found[key].meet(f) if key in found else f
            if hull is None:
                hull = found
            else:
                hull = {k: f.hull(found[k]) for k, f in hull.items() if k in found}
        return next(iter(hull.values())) if hull and len(hull) == 1 else None
    if z3.is_app_of(c, z3.Z3_OP_ULT) or z3.is_app_of(c, z3.Z3_OP_ULEQ):
        x, n = c.arg(0), c.arg(1)
        if not z3.is_bv_value(n):
            return None
        top = n.as_long() - (1 if z3.is_app_of(c, z3.Z3_OP_ULT) else 0)
        if x.size() != 64:       # a narrower value (a u32 field): its own bound only
            return Fact(z3.simplify(x), 0, top) if top >= 0 else None
        split = _term_plus(x)
        if top < 0 or split is None:
            return None
        term, k = split
        lo = (-k) % _MOD           # term + k in [0, top]  <=>  term in [-k, -k + top]
        return Fact(term, lo, lo + top) if lo + top < _MOD else None
    if not z3.is_eq(c) or c.arg(0).sort() != z3.BitVecSort(64):
        return None
    a, b = c.arg(0), c.arg(1)
    for x, v in ((a, b), (b, a)):
        if not z3.is_bv_value(v):
            continue
        v = v.as_long()
        if v == 0 and (z3.is_app_of(x, z3.Z3_OP_BUREM_I) or z3.is_app_of(x, z3.Z3_OP_BUREM)) \
                and z3.is_bv_value(x.arg(1)):
            # URem(term + k, n) == 0: term = -k modulo n's power-of-two part m
            split, n = _term_plus(x.arg(0)), x.arg(1).as_long()
            m = _power_of_two_part(n)
            if split is None or n <= 1:
                return None
            return Fact(split[0], align=m, residue=(-split[1]) % m,
                        stride=0 if n == m else n, stride_k=0 if n == m else split[1])
        if v == 0 and z3.is_app_of(x, z3.Z3_OP_BAND):
            mask = [k for k in x.children() if z3.is_bv_value(k)]
            rest = [k for k in x.children() if not z3.is_bv_value(k)]
            if len(mask) == 1 and len(rest) == 1 and (mask[0].as_long() + 1) & \
                    mask[0].as_long() == 0:
                split, m = _term_plus(rest[0]), mask[0].as_long() + 1
                return None if split is None or m == 1 else \
                    Fact(split[0], align=m, residue=(-split[1]) % m)
            return None
        term = z3.simplify(x)
        return Fact(term, v, v, 2 ** 63, v % 2 ** 63)
    for var, expr in ((a, b), (b, a)):
        var = _whole(var)     # a view's whole-register Extract(63, 0, x)
        if z3.is_const(var) and var.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            return Fact(var, equal=z3.simplify(expr))
    return None


def _whole(x: z3.ExprRef) -> z3.ExprRef:
    """x without a whole-width Extract(63, 0, .) around it."""
    while z3.is_app_of(x, z3.Z3_OP_EXTRACT) and x.arg(0).size() == x.size():
        x = x.arg(0)
    return x


def _branch(c: z3.BoolRef) -> z3.BoolRef:
    """A branch guard `If(p, 1, 0) == k` as p or Not(p) (what the lifter's compare gives)."""
    if z3.is_eq(c) and z3.is_app_of(c.arg(0), z3.Z3_OP_ITE) and z3.is_bv_value(c.arg(1)):
        cond, yes, no = c.arg(0).children()
        if z3.is_bv_value(yes) and z3.is_bv_value(no) and yes.as_long() != no.as_long():
            k = c.arg(1).as_long()
            if k == yes.as_long():
                return cond
            if k == no.as_long():
                return z3.Not(cond)
    return c


def _nonzero(c: z3.BoolRef) -> Fact | None:
    """Not(term == 0): the term is at least 1 (a branch on a null pointer not taken)."""
    c = _branch(c)
    if not z3.is_not(c) or not z3.is_eq(c.arg(0)):
        return None
    a, b = c.arg(0).arg(0), c.arg(0).arg(1)
    for x, v in ((a, b), (b, a)):
        if z3.is_bv_value(v) and v.as_long() == 0 and x.size() == 64:
            return Fact(z3.simplify(_whole(x)), lo=1)
    return None


def _disjunct_facts(d: z3.BoolRef) -> dict[int, Fact]:
    found: dict[int, Fact] = {}
    strides = []
    for c in _conjuncts(d):
        f = _fact(c) or _nonzero(c) or _carry(c)
        if f is not None:
            key = f.term.get_id()
            found[key] = found[key].meet(f) if key in found else f
        elif z3.is_eq(c):
            strides.append(c)
    for c in strides:       # after the range and alignment facts they rest on
        f = _stride(c, found)
        if f is not None:
            key = f.term.get_id()
            found[key] = found[key].meet(f) if key in found else f
    return found


def _carry(c: z3.BoolRef) -> Fact | None:
    """An unsigned compare with a constant as VEX's flags state it, the carry out of x + K
    (`cmp x, #n` then b.hs or b.lo): Extract(64, 64, K + ZeroExt(1, x)) == 0 says x + K
    does not carry, so x < 2^64 - K; == 1 that it does, x >= 2^64 - K."""
    if not z3.is_eq(c) or not z3.is_app_of(c.arg(0), z3.Z3_OP_EXTRACT):
        return None
    c = z3.simplify(c)          # VEX's form has the carry inside an If, a ZeroExt, an Extract
    if not z3.is_eq(c):
        return None
    bit, value = c.arg(0), c.arg(1)
    if not (z3.is_app_of(bit, z3.Z3_OP_EXTRACT) and bit.params() == [64, 64] and
            z3.is_bv_value(value) and bit.arg(0).size() == 65):
        return None
    total = bit.arg(0)
    if not z3.is_app_of(total, z3.Z3_OP_BADD) or total.num_args() != 2:
        return None
    consts = [k for k in total.children() if z3.is_bv_value(k)]
    others = [k for k in total.children() if not z3.is_bv_value(k)]
    if len(consts) != 1 or len(others) != 1:
        return None
    x = _zero_extended(others[0])
    k = consts[0].as_long()
    if x is None or x.size() != 64 or not 0 < k <= _MOD:
        return None
    bound = _MOD - k
    if value.as_long() == 0:
        return _fact(z3.ULT(x, bound)) if bound > 0 else None
    split = _term_plus(x)
    return Fact(x, bound, _MOD - 1) if split is not None and split[1] == 0 else None


def _stride(c: z3.BoolRef, known: dict[int, Fact]) -> Fact | None:
    """URem(Extract(top, low, term + k), m) == 0 where term + k is known below 2^(top+1) and
    a multiple of 2^low: term + k is a multiple of m * 2^low (spec.member's form)."""
    x, v = c.arg(0), c.arg(1)
    if not (z3.is_bv_value(v) and v.as_long() == 0 and z3.is_app_of(x, z3.Z3_OP_BUREM_I)
            or z3.is_bv_value(v) and v.as_long() == 0 and z3.is_app_of(x, z3.Z3_OP_BUREM)):
        return None
    field, m = x.arg(0), x.arg(1)
    if not z3.is_bv_value(m) or not z3.is_app_of(field, z3.Z3_OP_EXTRACT):
        return None
    top, low = field.params()
    y = field.arg(0)
    split = _term_plus(y)
    if split is None or y.size() != 64:
        return None
    lo, hi = interval(z3.simplify(y), known)
    if hi >= 2 ** (top + 1) or (low and residue(z3.simplify(y), 2 ** low, known) != 0):
        return None
    stride = m.as_long() << low
    return Fact(split[0], stride=stride, stride_k=split[1])


def facts(constraints: list[z3.BoolRef]) -> Known:
    key = tuple(c.get_id() for c in constraints)
    hit = _known_of.get(key)
    if hit is not None:
        return hit[1]
    out = _facts(constraints)
    if len(_known_of) >= _KNOWN_KEPT:
        del _known_of[next(iter(_known_of))]
    _known_of[key] = (list(constraints), out)
    return out


def _facts(constraints: list[z3.BoolRef]) -> Known:
    out = Known()
    alternatives = []
    for c in constraints:
        hit = _facts_of.get(c.get_id())
        if hit is None:
            found = _disjunct_facts(c)
            ors = [[(d, _disjunct_facts(d)) for d in x.children()] for x in _conjuncts(c)
                   if z3.is_or(x)]
            hit = _facts_of[c.get_id()] = (c, found, ors)
        for key, f in hit[1].items():
            out[key] = out[key].meet(f) if key in out else f
        alternatives += hit[2]
    # A disjunction whose other cases the rest contradicts says what its remaining cases say
    # (`p == 0 or is_pcb(p)` on a path where p != 0: p is a PCB).
    for cases in alternatives:
        live = [(formula, d) for formula, d in cases
                if not any(k in out and out[k].meet(f).empty() for k, f in d.items())]
        if len(live) > 1:
            out.cases.append(live)
        if not live or len(live) == len(cases):
            continue
        hull = live[0][1]
        for _, d in live[1:]:
            hull = {k: f.hull(d[k]) for k, f in hull.items() if k in d}
        for key, f in hull.items():
            out[key] = out[key].meet(f) if key in out else f
    return out


def interval(e: z3.BitVecRef, known: dict[int, Fact], depth: int = 0) -> tuple[int, int]:
    """Unsigned bounds (lo, hi) on e's value on every path where `known` holds. Every answer
    is sound; one found at a smaller depth (more room left) is as precise, so it is reused."""
    memo = getattr(known, "intervals", None)
    if memo is None:
        return _interval(e, known, depth)
    hit = memo.get(e.get_id())
    if hit is None or hit[1] > depth:
        hit = memo[e.get_id()] = (e, depth, _interval(e, known, depth))
    return hit[2]


def _interval(e: z3.BitVecRef, known: dict[int, Fact], depth: int) -> tuple[int, int]:
    width = e.size()
    full = (0, 2 ** width - 1)
    if depth > 12:
        return full
    if z3.is_bv_value(e):
        return e.as_long(), e.as_long()
    fact = known.get(e.get_id())
    if fact is not None:
        lo, hi = fact.lo, fact.hi
        if fact.equal is not None:
            elo, ehi = interval(fact.equal, known, depth + 1)
            lo, hi = max(lo, elo), min(hi, ehi)
        if fact.align > 1 and lo <= hi:      # the first and last values with the residue
            lo += (fact.residue - lo) % fact.align
            hi -= (hi - fact.residue) % fact.align
        k = fact.stride_k
        if fact.stride and lo <= hi and (lo + k) // _MOD == (hi + k) // _MOD:
            lo += -((lo + k) % _MOD) % fact.stride      # ...and with the stride's, when
            hi -= ((hi + k) % _MOD) % fact.stride       # term + k does not wrap between
        return lo, hi
    kids = e.children()
    if z3.is_app_of(e, z3.Z3_OP_BADD):
        lo = hi = 0
        for k in kids:
            klo, khi = interval(k, known, depth + 1)
            lo, hi = lo + klo, hi + khi
        wraps = 2 ** width
        if lo // wraps != hi // wraps:
            return full                      # straddles a wrap: anything
        return lo % wraps, hi % wraps
    scale = _scale(e)
    if scale is not None:
        c, x = scale
        lo, hi = interval(x, known, depth + 1)
        return (c * lo, c * hi) if c * hi < 2 ** width else full
    if z3.is_app_of(e, z3.Z3_OP_BAND):
        return 0, min(interval(k, known, depth + 1)[1] for k in kids)
    shifted = _shifted(e)
    if shifted is not None:
        c, x, k = shifted
        lo, hi = interval(x, known, depth + 1)
        return (c * lo + k, c * hi + k) if c * hi + k < 2 ** width else full
    low = _zero_extended(e)
    if low is not None:
        return interval(low, known, depth + 1)
    if z3.is_app_of(e, z3.Z3_OP_EXTRACT) and e.params()[1] == 0:
        lo, hi = interval(kids[0], known, depth + 1)
        return (lo, hi) if hi < 2 ** width else full
    if z3.is_app_of(e, z3.Z3_OP_ITE):
        alo, ahi = interval(kids[1], known, depth + 1)
        blo, bhi = interval(kids[2], known, depth + 1)
        cond = kids[0]
        if z3.is_app_of(cond, z3.Z3_OP_ULT) and z3.eq(cond.arg(0), kids[1]) and \
                z3.is_bv_value(cond.arg(1)):
            ahi = min(ahi, cond.arg(1).as_long() - 1)     # If(x < k, x, .): x below k there
        if z3.is_app_of(cond, z3.Z3_OP_ULEQ) and z3.eq(cond.arg(1), kids[2]) and \
                z3.is_bv_value(cond.arg(0)):
            bhi = min(bhi, cond.arg(0).as_long() - 1)     # If(k <= x, ., x): x below k there
        return min(alo, blo), max(ahi, bhi)
    return full


def _zero_extended(e: z3.BitVecRef) -> z3.BitVecRef | None:
    """x when e is x with zeros above it (ZeroExt, or the Concat(0, x) Z3 simplifies it to)."""
    if z3.is_app_of(e, z3.Z3_OP_ZERO_EXT):
        return e.children()[0]
    if z3.is_app_of(e, z3.Z3_OP_CONCAT) and e.num_args() >= 2 and \
            z3.is_bv_value(e.arg(0)) and e.arg(0).as_long() == 0:
        rest = e.children()[1:]
        return rest[0] if len(rest) == 1 else z3.simplify(z3.Concat(*rest))  # Concat(0, b3, .., b0)
    return None


def _scale(e: z3.BitVecRef) -> tuple[int, z3.BitVecRef] | None:
    """e as (c, x) with e = c * x: a product with a constant, or a shift by one."""
    kids = e.children()
    if z3.is_app_of(e, z3.Z3_OP_BMUL) and len(kids) == 2:
        for k, x in ((kids[0], kids[1]), (kids[1], kids[0])):
            if z3.is_bv_value(k):
                return k.as_long(), x
    if z3.is_app_of(e, z3.Z3_OP_BSHL) and z3.is_bv_value(kids[1]):
        return 2 ** min(kids[1].as_long(), e.size()), kids[0]   # a shift past the width: 0
    return None


def _shifted(e: z3.BitVecRef) -> tuple[int, z3.BitVecRef, int] | None:
    """e as (c, x, k) with e = c * x + k, k below c: Concat(hi, k of m bits), which is how Z3
    writes a value shifted left by m with k added (16 + (x << 5) is Concat(Extract(58, 0, x),
    16); a u32 field times 4 is Concat(0, its bytes, 0)). x is the whole of a 64-bit term
    whose low bits make hi (c * x wraps as the shift does), or hi itself."""
    kids = e.children()
    if not (z3.is_app_of(e, z3.Z3_OP_CONCAT) and len(kids) >= 2 and z3.is_bv_value(kids[-1])):
        return None
    shift = kids[-1].size()
    hi = kids[0] if len(kids) == 2 else z3.simplify(z3.Concat(*kids[:-1]))
    if z3.is_app_of(hi, z3.Z3_OP_EXTRACT) and hi.params() == [e.size() - 1 - shift, 0] and \
            hi.arg(0).size() == e.size():
        hi = hi.arg(0)
    return 2 ** shift, hi, kids[-1].as_long()


def residue(e: z3.BitVecRef, m: int, known: dict[int, Fact], depth: int = 0) -> int | None:
    """e modulo the power of two m on every path where `known` holds, or None."""
    memo = getattr(known, "residues", None)
    if memo is None:
        return _residue(e, m, known, depth)
    hit = memo.get((e.get_id(), m))
    if hit is None or hit[1] > depth:
        hit = memo[e.get_id(), m] = (e, depth, _residue(e, m, known, depth))
    return hit[2]


def _residue(e: z3.BitVecRef, m: int, known: dict[int, Fact], depth: int) -> int | None:
    if depth > 12 or m > 2 ** e.size():
        return None
    if z3.is_bv_value(e):
        return e.as_long() % m
    fact = known.get(e.get_id())
    if fact is not None:
        if fact.align >= m:
            return fact.residue % m
        if fact.equal is not None:
            return residue(fact.equal, m, known, depth + 1)
        return None
    kids = e.children()
    if z3.is_app_of(e, z3.Z3_OP_BADD):
        total = 0
        for k in kids:
            r = residue(k, m, known, depth + 1)
            if r is None:
                return None
            total += r
        return total % m
    scale = _scale(e)
    if scale is not None:
        c, x = scale
        if c % m == 0:
            return 0
        r = residue(x, m, known, depth + 1)
        return None if r is None else c * r % m
    shifted = _shifted(e)
    if shifted is not None:
        c, x, k = shifted
        if c % m == 0:
            return k % m
        r = residue(x, m, known, depth + 1)
        return None if r is None else (c * r + k) % m
    low = _zero_extended(e)
    if low is not None:
        return residue(low, m, known, depth + 1)
    if z3.is_app_of(e, z3.Z3_OP_EXTRACT) and e.params()[1] == 0:
        return residue(kids[0], m, known, depth + 1)
    return None


def _alignment(e: z3.BitVecRef, known: dict[int, Fact]) -> int:
    """The largest power of two (up to 2^12) e is known modulo. Whether residue() knows e
    modulo 2^k only gets likelier as k falls, so a binary search over k finds it."""
    lo, hi = 0, 12              # known modulo 2^lo (every value is, modulo 1); find the top
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if residue(e, 2 ** mid, known) is None:
            hi = mid - 1
        else:
            lo = mid
    return 2 ** lo


def apart(a: z3.BitVecRef, asize: int, b: z3.BitVecRef, bsize: int,
          constraints: list[z3.BoolRef]) -> bool:
    """True when [a, a+asize) and [b, b+bsize) cannot overlap, by the layout facts alone."""
    known = facts(constraints)
    if not known:
        return False
    a, b = z3.simplify(a), z3.simplify(b)
    if _apart(a, asize, b, bsize, known):
        return True
    # A disjunction on the path that the facts could not narrow (a pointer that is a wheel
    # slot or a PCB's link): apart if apart in each of its cases that mentions a term here.
    for which, cases in relevant_cases(known, a, b):
        if all(_apart(a, asize, b, bsize, known.with_case(which, i))
               for i in range(len(cases))):
            return True
    return False


_CASE_SPLITS = 4      # disjunctions tried for one question, one at a time


def relevant_cases(known: Known, *exprs: z3.BitVecRef):
    """(index, cases) of the first few disjunctions that say something of a term of exprs;
    each case is (its formula, its facts)."""
    if not getattr(known, "cases", None):
        return []
    terms = {t.get_id() for e in exprs for t in _subterms(z3.simplify(e))}
    found = [(i, cases) for i, cases in enumerate(known.cases)
             if any(k in terms for _, case in cases for k in case)]
    return found[:_CASE_SPLITS]


def _subterms(e: z3.ExprRef, limit: int = 64) -> list[z3.ExprRef]:
    """e and its subterms, breadth first, at most `limit` of them."""
    out, todo = [], [e]
    while todo and len(out) < limit:
        x = todo.pop(0)
        out.append(x)
        todo.extend(x.children())
    return out


def _apart(a: z3.BitVecRef, asize: int, b: z3.BitVecRef, bsize: int, known: Known) -> bool:
    alo, ahi = interval(a, known)
    blo, bhi = interval(b, known)
    if ahi + asize <= _MOD and bhi + bsize <= _MOD and (ahi + asize <= blo or bhi + bsize <= alo):
        return True
    m = min(_alignment(a, known), _alignment(b, known))
    if m >= asize + bsize:
        d = (residue(a, m, known) - residue(b, m, known)) % m
        if bsize <= d <= m - asize:     # (a - b) mod m never in (-asize, bsize)
            return True
    # Both within objects of one array (its stride need not be a power of two: a core block,
    # a PCB) at offsets that never meet: a queue's tail of any priority against a statistic.
    for base, count, stride in _arrays(a, known) | _arrays(b, known):
        inside_a = object_offsets(a, asize, base, count, stride, known)
        inside_b = object_offsets(b, bsize, base, count, stride, known)
        # (both outside the array says nothing: they may be the same address)
        if inside_a is not None and inside_b is not None and (inside_a or inside_b) and all(
                ca + asize <= cb or cb + bsize <= ca for ca in inside_a for cb in inside_b):
            return True
    return False


def _arrays(e: z3.BitVecRef, known: Known) -> set[tuple[int, int, int]]:
    """The arrays (base, count, stride) that a term of e is known to be a member of."""
    out = set()
    for t in e.children() if z3.is_app_of(e, z3.Z3_OP_BADD) else [e]:
        fact = known.get(t.get_id())
        if fact is None or not fact.stride:
            continue
        base = -fact.stride_k % _MOD
        lo, hi = interval(t, known)
        if base <= lo <= hi < _MOD - fact.stride:
            out.add((base, (hi - base) // fact.stride + 1, fact.stride))
    return out


def same_offset(a: z3.BitVecRef, asize: int, b: z3.BitVecRef, bsize: int,
                constraints: list[z3.BoolRef]) -> bool:
    """True when a and b sit at the same offset from a common alignment at least as large as
    both accesses: the same field of two objects that may be one (a queue's tail and a new
    PCB). Such accesses overlap exactly when the objects are the same; asking the solver
    whether they can is slow and, under the layout facts alone, the answer is yes."""
    known = facts(constraints)
    if not known:
        return False
    a, b = z3.simplify(a), z3.simplify(b)
    m = min(_alignment(a, known), _alignment(b, known))
    return m >= max(asize, bsize) and residue(a, m, known) == residue(b, m, known)


def object_offsets(a: z3.BitVecRef, nbytes: int, base: int, count: int, stride: int,
                   known: dict[int, Fact]) -> set[int] | None:
    """Where [a, a + nbytes) may lie in an array of `count` objects of `stride` bytes at
    `base`: the offsets within one object it may start at (an empty set: wholly outside the
    array), or None when the facts do not say, or it may straddle two objects."""
    end = base + count * stride
    lo, hi = interval(a, known)
    if hi + nbytes <= _MOD and (hi + nbytes <= base or lo >= end):
        return set()
    if stride & (stride - 1) == 0:
        if lo < base or hi + nbytes > end:
            return None
        r = residue(a, stride, known)
        c = None if r is None else (r - base) % stride
        return {c} if c is not None and c + nbytes <= stride else None
    # a = t + rest with t a member of the array (its stride fact) and rest within one object
    a = z3.simplify(a)
    kids = a.children() if z3.is_app_of(a, z3.Z3_OP_BADD) else [a]
    for i, t in enumerate(kids):
        fact = known.get(t.get_id())
        if fact is not None and fact.stride != stride and fact.equal is not None:
            # t equals another term (a callee's result, the value it was given): its facts
            t = fact.equal
            fact = known.get(t.get_id())
        if fact is None or fact.stride != stride:
            continue
        # t sits at offset `at` of an object (t + stride_k is a multiple of stride): a member
        # itself, or a field of one (a link word)
        at = (-fact.stride_k - base) % _MOD
        tlo, thi = interval(t, known)
        if at >= stride or tlo < base + at or thi - at >= end:   # then t - base - at, a
            continue                              # multiple of stride, is below count * it
        rest = kids[:i] + kids[i + 1:]
        if not rest:
            return {at} if at + nbytes <= stride else None
        rest = z3.simplify(sum(rest[1:], rest[0]))
        rlo, rhi = interval(rest, known)
        if at + rhi + nbytes > stride:
            return None
        m = _alignment(rest, known)
        first = rlo + ((residue(rest, m, known) or 0) - rlo) % m   # modulo 1: anything
        offsets = {at + c for c in range(first, rhi + 1, m)}
        return offsets if len(offsets) <= 64 else None
    return None
