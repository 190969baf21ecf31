"""Loop invariants and heap invariants: a walk over a linked list is proved for lists of any
length only with both; a store that breaks a heap invariant, and a loop invariant that does
not hold, are found with counterexamples."""

from __future__ import annotations

import z3

from verify.heap import HeapInvariant
from verify.prove import Proof
from verify.spec import AAPCS64_SCRATCH, MEMORY, Contract, Links, Region, member

from conftest import build_fixture


def is_node(e, v):
    return member(e, v, "nodes", "NODE_COUNT", "NODE_SIZE")


def node_or_none(e, v):
    return z3.Or(v == 0, is_node(e, v))


LINKS = [Links("a node's link holds 0 or a node", "nodes", "NODE_COUNT", "NODE_SIZE",
               ("NODE_NEXT",), node_or_none)]
TABLE = Region("nodes", lambda e: z3.BitVecVal(e.const("NODE_COUNT") * e.const("NODE_SIZE"),
                                                   64))


def mark(invariant):
    return Contract("marks each node of the list at x0", maychange=("x0", "x1", TABLE),
                    pre=lambda e: is_node(e, e.x(0)),
                    invariants={".Llist_mark_walk": invariant})


WALK = mark(lambda e, here: z3.And(is_node(e, here.x(0)), here.x(1) == 1))
LINK = Contract("links node x0 to x1", maychange=(Region(lambda e: e.x(0) + 8, 8),),
                pre=lambda e: z3.And(is_node(e, e.x(0)), node_or_none(e, e.x(1))))


def prove(program, name, contract, links=LINKS):
    heap = HeapInvariant(program, links) if links else None
    return Proof(program, program.functions[name], contract, heap=heap).run()


def test_a_list_walk_is_proved_with_its_invariants(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    result = prove(program, "list_mark", WALK)
    assert result.verdict == "PROVED", (result.reasons, result.counterexample)
    assert any("loop invariant at .Llist_mark_walk" in a for a in result.assumptions)
    assert any("a node's link holds 0 or a node" in a for a in result.assumptions)
    # What keys the proof in the cache: the symbols its precondition and heap invariant
    # read, and where its loop head lies in the function.
    assert {"nodes", "NODE_COUNT", "NODE_SIZE"} <= set(result.layout), result.layout
    assert result.layout["list_mark/.Llist_mark_walk"] == \
        program.label(program.functions["list_mark"], ".Llist_mark_walk") - \
        program.functions["list_mark"].addr


def test_a_walk_whose_body_branches_is_proved_by_its_head_invariant(tmp_path):
    # The body's own jump target (.Llist_mark_odd_next) is not generalised by itself, which
    # would forget that x0 is a node: the head's invariant stands for every iteration.
    program = build_fixture("list_cases", tmp_path)
    contract = Contract("marks the odd nodes of the list at x0", maychange=("x0", "x1", "x2",
                                                                             TABLE),
                        pre=lambda e: is_node(e, e.x(0)),
                        invariants={".Llist_mark_odd_walk": lambda e, here: z3.And(
                            is_node(e, here.x(0)), here.x(1) == 1)})
    result = prove(program, "list_mark_odd", contract)
    assert result.verdict == "PROVED", (result.reasons, result.counterexample)


def test_without_the_heap_invariant_the_walk_is_not_proved(tmp_path):
    # The next node is read from memory the loop has forgotten: nothing says it is a node.
    program = build_fixture("list_cases", tmp_path)
    result = prove(program, "list_mark", WALK, links=[])
    assert result.verdict != "PROVED"


def test_a_loop_invariant_that_does_not_hold_is_found(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    result = prove(program, "list_mark", mark(lambda e, here: here.x(0) == e.x(0)))
    assert result.verdict == "FAILED"
    assert "loop invariant" in result.counterexample.sentence


def test_a_store_that_breaks_a_heap_invariant_is_found(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    assert prove(program, "list_link", LINK).verdict == "PROVED"
    for name in ("list_link_any", "list_tear_link"):
        # A store the layout cannot place, into a region too large for callers to check.
        wide = Contract("writes into node x0", maychange=(TABLE,),
                        pre=lambda e: is_node(e, e.x(0)))
        result = prove(program, name, wide)
        assert result.verdict == "FAILED", name
        assert "heap invariant" in result.counterexample.sentence


def test_a_store_into_a_small_region_is_checked_by_the_caller(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    small = Contract("links node x0 to x1", maychange=(Region(lambda e: e.x(0) + 8, 8),),
                     pre=lambda e: is_node(e, e.x(0)))
    result = prove(program, "list_link_any", small)
    assert result.verdict == "PROVED"
    assert any("each caller that takes this contract checks" in a for a in result.assumptions)
    callee = program.functions["list_link_any"].addr
    caller = Contract("relinks node x0", maychange=("x30", Region(lambda e: e.x(0) + 8, 8)),
                      pre=lambda e: is_node(e, e.x(0)))
    heap = HeapInvariant(program, LINKS)
    result = Proof(program, program.functions["relink"], caller, heap=heap,
                   summaries={callee: ("list_link_any", small)}).run()
    # The callee's contract lets it write anything there: the caller cannot keep the
    # invariant (a possible violation, since the value is the callee's unknown).
    assert result.verdict in ("FAILED", "UNKNOWN")
    found = [result.counterexample.sentence] if result.counterexample else result.reasons
    assert any("may break a heap invariant" in r for r in found)


def test_a_store_left_to_callers_is_not_assumed_to_keep_the_invariant(tmp_path):
    # Left to the callers, the store is not checked here; reading the word back must not
    # assume the invariant of it (that would make the path condition false, and every
    # check on return vacuous).
    program = build_fixture("list_cases", tmp_path)
    claims = Contract("links node x0 to a node", maychange=("x1", Region(lambda e: e.x(0) + 8,
                                                                          8)),
                      pre=lambda e: is_node(e, e.x(0)),
                      post=lambda e, x: node_or_none(e, x.u64(e.x(0) + 8)))
    result = prove(program, "list_link_five", claims)
    assert result.verdict == "FAILED"
    assert "postcondition" in result.counterexample.sentence


def test_the_caller_reads_a_callee_region_without_assuming_the_invariant(tmp_path):
    # The callee's post names what it wrote (x1, anything): the caller's check must not
    # take the invariant as given for that word.
    program = build_fixture("list_cases", tmp_path)
    exact = Contract("links node x0 to x1", maychange=(Region(lambda e: e.x(0) + 8, 8),),
                     pre=lambda e: is_node(e, e.x(0)),
                     post=lambda e, x: x.u64(e.x(0) + 8) == e.x(1))
    assert prove(program, "list_link_any", exact).verdict == "PROVED"
    callee = program.functions["list_link_any"].addr
    caller = Contract("relinks node x0", maychange=("x30", Region(lambda e: e.x(0) + 8, 8)),
                      pre=lambda e: is_node(e, e.x(0)))
    result = Proof(program, program.functions["relink"], caller,
                   heap=HeapInvariant(program, LINKS),
                   summaries={callee: ("list_link_any", exact)}).run()
    assert result.verdict in ("FAILED", "UNKNOWN")
    found = [result.counterexample.sentence] if result.counterexample else result.reasons
    assert any("may break a heap invariant" in r for r in found)


def mark_saved(walk_label):
    return Contract("marks each node of the list at x0, its pointer kept in x19",
                    maychange=("x0", "x1", TABLE), pre=lambda e: is_node(e, e.x(0)),
                    invariants={walk_label: lambda e, here: z3.And(
                        is_node(e, here.x(19)), here.x(1) == 1, here.sp == e.sp - 32)})


def test_a_walk_that_forgets_memory_keeps_its_saved_registers(tmp_path):
    # The walk stores through a pointer that moves, so its summary forgets all of memory but
    # the registers it saved in its own frame, which no iteration touches: x19, x20, x29 and
    # x30 come back as they were.
    program = build_fixture("list_cases", tmp_path)
    result = prove(program, "list_mark_saved", mark_saved(".Llist_mark_saved_walk"))
    assert result.verdict == "PROVED", (result.reasons, result.counterexample)


def test_a_loop_that_overwrites_a_saved_register_is_caught(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    result = prove(program, "list_mark_clobber", mark_saved(".Llist_mark_clobber_walk"))
    assert result.verdict == "FAILED", (result.reasons, result.counterexample)
    assert "x19" in result.counterexample.sentence


def test_a_switch_inside_a_loop_makes_memory_unknown_at_its_head(tmp_path):
    # Other processes run during the switch and may write the word read after the loop: a
    # summary of the loop that kept the memory from before it would prove the wrong claim.
    program = build_fixture("list_cases", tmp_path)
    func = program.functions["wait_rounds"]
    switches = {program.functions["switch_out"].addr: "switch_out"}
    contract = Contract("returns the 7 it stored before its loop",
                        maychange=AAPCS64_SCRATCH + ("x19", "x20", "DAIF", MEMORY),
                        post=lambda e, x: x.x(0) == 7)
    result = Proof(program, func, contract, switches=switches).run()
    assert result.verdict == "FAILED", (result.verdict, result.reasons)
    assert "postcondition" in result.counterexample.sentence


def test_a_loop_summary_forgets_the_system_registers_its_body_changes(tmp_path):
    # A switch in the body unmasks IRQs; a summary that kept DAIF from before the loop would
    # prove them still masked on return.
    program = build_fixture("list_cases", tmp_path)
    switches = {program.functions["switch_out"].addr: "switch_out"}
    contract = Contract("returns with IRQs masked",
                        maychange=AAPCS64_SCRATCH + ("x19", "x20", "DAIF", MEMORY),
                        post=lambda e, x: x.sysreg("DAIF") & 0x80 != 0)
    result = Proof(program, program.functions["wait_rounds_masked"], contract,
                   switches=switches).run()
    assert result.verdict == "FAILED", (result.verdict, result.reasons)
    assert "postcondition" in result.counterexample.sentence


def test_a_loop_summary_keeps_the_stores_it_left_to_the_callers_unchecked(tmp_path):
    # The loop writes 5 into the node's own link word (its region; callers check it). After
    # the loop's summary, the load of that word must not assume the link invariant.
    program = build_fixture("list_cases", tmp_path)
    contract = Contract("returns node x0's link, 0 or a node",
                        maychange=("x0", "x1", "x2", Region(lambda e: e.x(0) + 8, 8)),
                        pre=lambda e: is_node(e, e.x(0)),
                        post=lambda e, x: node_or_none(e, x.x(0)))
    result = prove(program, "relink_five_rounds", contract)
    assert result.verdict == "FAILED", (result.verdict, result.reasons)
    assert "postcondition" in result.counterexample.sentence


def test_the_symbols_a_precondition_reads_key_the_proof(tmp_path):
    # The precondition is read once, before the proof runs: its symbols count all the same.
    program = build_fixture("list_cases", tmp_path)
    result = prove(program, "list_link", LINK, links=[])
    assert result.verdict == "PROVED", result.reasons
    assert {"nodes", "NODE_COUNT", "NODE_SIZE"} <= set(result.layout), result.layout


def _relink_with(program, callee_contract):
    """relink (which calls list_link_any) proved with the callee taken as `callee_contract`."""
    caller = Contract("relinks node x0 to x1", maychange=("x30", Region(lambda e: e.x(0), 24)),
                      pre=lambda e: z3.And(is_node(e, e.x(0)), node_or_none(e, e.x(1))))
    callee = program.functions["list_link_any"].addr
    return Proof(program, program.functions["relink"], caller,
                 heap=HeapInvariant(program, LINKS),
                 summaries={callee: ("list_link_any", callee_contract)}).run()


def _links_to_x1(region):
    return Contract("links node x0 to x1", maychange=(region,),
                    pre=lambda e: z3.And(is_node(e, e.x(0)), node_or_none(e, e.x(1))),
                    post=lambda e, x: x.u64(e.x(0) + 8) == e.x(1))


def test_a_callee_region_that_ends_short_of_a_word_is_checked_to_its_end(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    # The link and half of the mark: the link keeps the invariant, the tail touches no link.
    kept = _relink_with(program, _links_to_x1(Region(lambda e: e.x(0) + 8, 12)))
    assert kept.verdict == "PROVED", (kept.reasons, kept.counterexample)
    # The value and half of the link: the tail tears the link word.
    torn = _relink_with(program, _links_to_x1(Region(lambda e: e.x(0), 12)))
    assert torn.verdict in ("FAILED", "UNKNOWN")
    found = [torn.counterexample.sentence] if torn.counterexample else torn.reasons
    assert any("may break a heap invariant" in r for r in found), found


def test_cache_maintenance_said_to_keep_memory_is_exempt_and_nothing_else_is(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    def inval(why=None):
        return Contract("invalidates node x0's line", maychange=("x1", MEMORY),
                        pre=lambda e: is_node(e, e.x(0)), cache_maintenance=why)
    # The model takes the invalidation as a write of unknown bytes: it may break the link...
    plain = prove(program, "list_inval", inval())
    assert plain.verdict == "FAILED"
    assert "heap invariant" in plain.counterexample.sentence
    # ...unless the contract says why memory keeps what was stored, which the report repeats.
    kept = prove(program, "list_inval", inval("a test's reason"))
    assert kept.verdict == "PROVED", (kept.reasons, kept.counterexample)
    assert any("cache maintenance is not held to the heap invariants" in a and
               "a test's reason" in a for a in kept.assumptions)
    # Every other store still is: a link to anything after the invalidation is caught.
    link = prove(program, "list_inval_link_any", inval("a test's reason"))
    assert link.verdict == "FAILED"
    assert "heap invariant" in link.counterexample.sentence


def test_a_caller_relying_on_the_heap_invariants_runs_the_code_of_such_a_callee(tmp_path):
    program = build_fixture("list_cases", tmp_path)
    exempt = Contract("links node x0 to anything", maychange=(Region(lambda e: e.x(0) + 8, 8),),
                      pre=lambda e: is_node(e, e.x(0)), cache_maintenance="a test's reason")
    caller = Contract("relinks node x0", maychange=("x30", Region(lambda e: e.x(0) + 8, 8)),
                      pre=lambda e: is_node(e, e.x(0)))
    callee = program.functions["list_link_any"].addr
    result = Proof(program, program.functions["relink"], caller,
                   heap=HeapInvariant(program, LINKS),
                   summaries={callee: ("list_link_any", exempt)}).run()
    assert "list_link_any" not in result.depends_on_contracts
    assert result.verdict == "FAILED"
    assert "heap invariant" in result.counterexample.sentence
