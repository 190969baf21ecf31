"""Ghost views in specs: a linked queue seen as a list of nodes, up to a stated bound."""

from __future__ import annotations

import z3

from verify.prove import Proof
from verify.spec import AAPCS64_SCRATCH, Contract, Region, ghost_list

from conftest import build_fixture

BOUND = 3          # queues of up to 2 nodes before the push, 3 after
NODE = 8           # a node is its `next` word


def queue(view, q):
    return ghost_list(view, view.u64(q), 0, BOUND)


def tail_of(items, length):
    tail = z3.BitVecVal(0, 64)
    for i, node in enumerate(items):
        tail = z3.If(length == i + 1, node, tail)
    return tail


def pre(e):
    q, node = e.x(0), e.x(1)
    before = queue(e, q)
    # Queues and nodes are word-aligned objects: saying so spares the solver partial overlaps.
    aligned = [q & 7 == 0, node & 7 == 0] + [n & 7 == 0 for n in before.nodes]
    return z3.And(before.within_bound, z3.ULT(before.length, BOUND), node != 0, *aligned,
                  e.u64(q + 8) == tail_of(before.nodes, before.length),
                  before.distinct_and_apart(NODE, node, q, q + 8),
                  z3.UGE(node - q, 16), z3.UGE(q - node, NODE))


def post(e, x):
    q, node = e.x(0), e.x(1)
    before, after = queue(e, q), queue(x, q)
    appended = [z3.Implies(before.length == k, after.equals(before.nodes[:k] + [node]))
                for k in range(BOUND)]
    return z3.And(*appended, x.u64(q + 8) == node)


QUEUE_PUSH = Contract(
    "appends node x1 to the queue at x0",
    maychange=AAPCS64_SCRATCH + (Region(lambda e: e.x(0), 16), Region(lambda e: e.x(1), 8),
                                 Region(lambda e: e.u64(e.x(0) + 8), 8)),
    pre=pre, post=post)


def test_queue_push_keeps_the_ghost_list(tmp_path):
    program = build_fixture("overlay_cases", tmp_path)
    result = Proof(program, program.functions["queue_push"], QUEUE_PUSH).run()
    assert result.verdict == "PROVED", (result.reasons, result.counterexample)


def test_forgotten_tail_update_is_caught(tmp_path):
    program = build_fixture("overlay_cases", tmp_path)
    result = Proof(program, program.functions["queue_push_keeps_tail"], QUEUE_PUSH).run()
    assert result.verdict == "FAILED"
    assert "postcondition" in result.counterexample.sentence
    assert result.counterexample.confirmed, result.counterexample.replay
