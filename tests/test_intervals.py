"""The layout facts that settle aliasing without the solver: each answer "apart" is checked
against Z3 on the same constraints, and the cases where overlap is possible must not be
called apart."""

import z3

from verify import intervals

PCBS, PCB_SIZE, PCBS_N = 0x40400000, 1152, 64
CORES, CORE_SIZE = 0x41800000, 1280


def is_pcb(x):
    return z3.And(z3.ULT(x - PCBS, PCBS_N * PCB_SIZE), z3.URem(x - PCBS, PCB_SIZE) == 0)


def is_core(x):
    return z3.And(z3.ULE(x - CORES, 7 * CORE_SIZE), x & 127 == 0)


p, q, t, v = z3.BitVecs("p q t v", 64)
w = z3.BitVec("w", 32)
FACTS = [is_pcb(p), z3.Or(t == 0, is_pcb(t)), is_core(q), v == q + 2 * CORE_SIZE]


def overlap_possible(a, asize, b, bsize, constraints):
    s = z3.Solver()
    s.add(*constraints, z3.Or(z3.ULT(a - b, bsize), z3.ULT(b - a, asize)))
    return s.check() == z3.sat


CASES = [
    # (a, asize, b, bsize, apart by the facts?)
    (p + 24, 4, q + 8, 8, True),          # a PCB field and a core block field: intervals
    (p + 24, 4, t + 16, 8, True),         # fields of two PCBs that may be one: alignment
    (p + 16, 8, t + 16, 8, False),        # the same field of maybe the same PCB
    (p + 20, 8, t + 16, 8, False),        # overlapping offsets
    (v + 8, 8, p + 16, 8, True),          # through an equality (a callee's result)
    (q + 1280 * 7, 8, p, 8, True),
    (q + 112 + z3.ZeroExt(32, w) * 4, 4, p, 8, True),   # an index above a core block: still above the PCBs
    (t + 16, 8, z3.BitVecVal(16, 64), 8, False),   # t may be 0
]


def test_every_answer_apart_is_right_and_overlaps_are_not_missed():
    for a, asize, b, bsize, expected in CASES:
        got = intervals.apart(a, asize, b, bsize, FACTS)
        assert got == expected, (a, b)
        if got:
            assert not overlap_possible(a, asize, b, bsize, FACTS), (a, b)


def test_a_bound_on_only_one_disjunct_gives_no_range():
    facts = [z3.Or(t == 0, z3.ULT(p, 5)), is_core(q)]
    assert not intervals.apart(t + 8, 8, q, 8, facts)
    assert overlap_possible(t + 8, 8, q, 8, facts)


def test_addresses_that_wrap_are_followed_round():
    near_top = [z3.ULE(p - (2 ** 64 - 64), 63), z3.ULE(q, 200)]
    assert not intervals.apart(p + 128, 8, q, 8, near_top)      # p + 128 wraps to 64..127
    assert overlap_possible(p + 128, 8, q, 8, near_top)
    assert intervals.apart(p + 64, 8, q + 512, 8, near_top)     # 0..63 against 512..712
    assert not overlap_possible(p + 64, 8, q + 512, 8, near_top)
    straddles = [z3.ULE(p - (2 ** 64 - 64), 127), z3.ULE(q - 1000, 8)]
    assert not intervals.apart(p, 8, q, 8, straddles)           # p's range wraps: no interval


def _member(x, base, count, stride):
    """spec.member's form, over plain numbers."""
    low = (stride & -stride).bit_length() - 1
    top = (count * stride - 1).bit_length() - 1
    off = x - base
    return z3.And(z3.ULT(off, count * stride), off & ((1 << low) - 1) == 0,
                  z3.URem(z3.Extract(top, low, off), stride >> low) == 0)


def _offsets_hold(a, nbytes, constraints, base, count, stride, found):
    """Every value of a the constraints allow lies at one of the `found` offsets of an object
    of the array (or outside it, for an empty set)."""
    s = z3.Solver()
    rel = a - base
    if not found:
        s.add(*constraints, z3.ULT(rel, count * stride))
    else:
        s.add(*constraints, z3.And(*[z3.URem(rel, stride) != c for c in found]))
    return s.check() == z3.unsat


def test_array_offsets_from_the_member_form_are_right():
    n = z3.BitVec("n", 64)
    guard = z3.If(0 == z3.Extract(63, 0, t), z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)) == 0
    member_p = _member(p, PCBS, PCBS_N, PCB_SIZE)
    prio = z3.Concat(z3.BitVecVal(0, 32), w)
    cases = [
        # (constraints, address, bytes, offsets the facts must give)
        ([member_p], p + 24, 4, {24}),
        ([member_p], p + 104, 8, {104}),
        ([member_p], p + 1152 * 64, 8, set()),                        # past the table
        # a null check on a maybe-null link: the link is a member
        ([z3.Or(t == 0, _member(t, PCBS, PCBS_N, PCB_SIZE)), guard], t + 16, 8, {16}),
        # an index below 3 into a member (If(k <= x, k, x) bounds x below k)
        ([member_p, z3.ULT(w, 4)],
         p + 16 + 32 * z3.ZeroExt(32, z3.If(z3.ULE(2, w), z3.BitVecVal(2, 32), w)), 8,
         {16, 48, 80}),
        # a u32 field's bound through the Concat(0, ...) Z3 makes of a zero extension
        ([member_p, z3.ULT(w, 4)], p + 112 + 4 * z3.simplify(prio), 4, {112, 116, 120, 124}),
    ]
    for constraints, a, nbytes, expected in cases:
        known = intervals.facts(constraints)
        found = intervals.object_offsets(a, nbytes, PCBS, PCBS_N, PCB_SIZE, known)
        assert found == expected, (a, found)
        assert _offsets_hold(a, nbytes, constraints, PCBS, PCBS_N, PCB_SIZE, found), a
    # Without the facts nothing is placed.
    assert intervals.object_offsets(n + 24, 4, PCBS, PCBS_N, PCB_SIZE, {}) is None
    # Without the null check the link may be 0: not placed within the table.
    maybe = intervals.facts([z3.Or(t == 0, _member(t, PCBS, PCBS_N, PCB_SIZE))])
    assert intervals.object_offsets(t + 16, 8, PCBS, PCBS_N, PCB_SIZE, maybe) is None


WHEELS = 0x41000000
LINK = z3.BitVec("link", 64)
# A link word: a wheel slot, or the PCB_TIMER_NEXT (104) of a PCB.
LINK_WORD = z3.Or(z3.And(z3.ULT(LINK - WHEELS, 512), LINK & 7 == 0),
                  _member(LINK - 104, PCBS, PCBS_N, PCB_SIZE))
BLOCK = _member(q, CORES, 8, CORE_SIZE)
OWN = _member(v, CORES, 8, CORE_SIZE)
QUEUE = z3.ZeroExt(32, z3.If(z3.ULE(2, w), z3.BitVecVal(2, 32), w))   # 0, 1 or 2

CASE_SPLIT = [
    # (constraints, a, asize, b, bsize, apart by the facts?)
    # a PCB's priority against a link word: apart in each case of the disjunction
    ([member_pcb := _member(p, PCBS, PCBS_N, PCB_SIZE), LINK_WORD], p + 24, 4, LINK, 8, True),
    # a PCB's own timer link may be that word
    ([member_pcb, LINK_WORD], p + 104, 8, LINK, 8, False),
    # a run queue's tail (of any priority) against a statistic of a core block that may be
    # the same: offsets 24, 56, 88 against 344, in objects of 1280 bytes (no power of two)
    ([BLOCK, OWN], q + 24 + 32 * QUEUE, 8, v + 344, 8, True),
    ([BLOCK, OWN], q + 24 + 32 * QUEUE, 8, v + 88, 8, False),
]


def test_a_disjunction_and_an_array_of_any_stride_settle_aliasing():
    for constraints, a, asize, b, bsize, expected in CASE_SPLIT:
        got = intervals.apart(a, asize, b, bsize, constraints)
        assert got == expected, (a, b)
        if got:
            assert not overlap_possible(a, asize, b, bsize, constraints), (a, b)
        else:
            assert overlap_possible(a, asize, b, bsize, constraints), (a, b)


def test_a_field_of_a_member_is_placed_at_its_offset():
    # LINK - 104 is a PCB: LINK lies at offset 104 of one, in the link word's second case.
    known = intervals.facts([_member(LINK - 104, PCBS, PCBS_N, PCB_SIZE)])
    found = intervals.object_offsets(LINK, 8, PCBS, PCBS_N, PCB_SIZE, known)
    assert found == {104}
    assert _offsets_hold(LINK, 8, [_member(LINK - 104, PCBS, PCBS_N, PCB_SIZE)], PCBS, PCBS_N,
                         PCB_SIZE, found)
    # Its interval ends at the last PCB's link, not past the table.
    assert intervals.interval(LINK, known)[1] == PCBS + (PCBS_N - 1) * PCB_SIZE + 104


def test_two_accesses_outside_an_array_are_not_called_apart():
    # t is the first PCB, u the second: from t's facts the table is one PCB long, and t +
    # PCB_SIZE and u both lie past it; they are the same address.
    u = z3.BitVec("u", 64)
    facts = [_member(t, PCBS, PCBS_N, PCB_SIZE), z3.ULE(t, PCBS),
             _member(u, PCBS, PCBS_N, PCB_SIZE), u == PCBS + PCB_SIZE]
    assert overlap_possible(t + PCB_SIZE, 8, u, 8, facts)
    assert not intervals.apart(t + PCB_SIZE, 8, u, 8, facts)


def _carry_flag(x, n, carried):
    """What VEX says of `cmp x, #n` on the branch where the carry is `carried` (b.hs taken,
    or b.lo taken for not carried): the carry out of x + ~n + 1."""
    total = z3.ZeroExt(1, x) + z3.ZeroExt(1, ~z3.BitVecVal(n, 64)) + \
        z3.If(z3.BoolVal(True), z3.BitVecVal(1, 65), z3.BitVecVal(0, 65))
    bit = z3.If(z3.Extract(64, 64, total) == 1, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1))
    return z3.Extract(0, 0, z3.ZeroExt(63, bit)) == (1 if carried else 0)


def test_an_unsigned_compare_as_vex_states_it_bounds_the_value():
    x = z3.BitVec("x", 64)
    assert intervals.interval(x, intervals.facts([_carry_flag(x, 3, False)])) == (0, 2)
    assert intervals.interval(x, intervals.facts([_carry_flag(x, 3, True)])) == (3, 2 ** 64 - 1)
    for carried in (False, True):       # each bound is what the solver says too
        lo, hi = intervals.interval(x, intervals.facts([_carry_flag(x, 3, carried)]))
        s = z3.Solver()
        s.add(_carry_flag(x, 3, carried), z3.Or(z3.ULT(x, lo), z3.UGT(x, hi)))
        assert s.check() == z3.unsat


def test_a_scaled_index_as_z3_writes_it_has_its_range_and_alignment():
    # 16 + (x << 5), which Z3 folds into Concat(Extract(58, 0, x), 16): a queue of 32 bytes
    # at offset 16 of a block, chosen by an index below 3.
    x = z3.BitVec("x", 64)
    known = intervals.facts([z3.ULT(x, 3)])
    e = z3.simplify(16 + z3.Concat(z3.Extract(58, 0, x), z3.BitVecVal(0, 5)))
    assert intervals.interval(e, known) == (16, 80)
    assert intervals.residue(e, 32, known) == 16
    assert intervals.residue(e, 64, known) is None


def test_a_term_equal_to_a_member_is_placed_like_it():
    # A callee returned v, which the path says equals p, a member of an array of 24-byte
    # objects: v + 8 is the field at offset 8 of some object.
    base, count, stride = 0x1000, 16, 24
    p, v = z3.BitVec("p", 64), z3.BitVec("v", 64)
    member = [z3.ULT(p - base, count * stride), z3.URem(p - base, stride) == 0]
    known = intervals.facts(member + [v == p])
    assert intervals.object_offsets(z3.simplify(v + 8), 8, base, count, stride, known) == {8}
