"""Contracts of asm/scheduler.s.

Run queues: runq_push and runq_pop keep a queue's invariant, stated over its ghost list (the
PCBs reached from the head through PCB_NEXT): the length field equals the list's length,
the tail is the last node, and the queue is empty (head 0, tail 0) exactly when its length
is 0. Push appends, pop removes the head, each in FIFO order.

The ghost view is bounded: queues of up to BOUND nodes. Why that suffices: both functions are
loop-free and read only the queue header, the head node's link (pop) and the tail node's
link (push); a node further in is never read or written, so a longer queue behaves as one of
these with its middle nodes left out.

runq_choose is BEAM's pick order: max before high before normal and low (which share the
normal queue).
"""

import z3

from verify.harness.spec import Harness, block, call
from verify.spec import (AAPCS64_SCRATCH, MEMORY, Contract, NotCallable, Region, ghost_list,
                         member)

BOUND = 2


def layout(e):
    c = e.const
    return c("RUNQ_HEAD"), c("RUNQ_TAIL"), c("RUNQ_LEN"), c("PCB_NEXT")


def queue(view, q, bound=BOUND):
    head, _, _, nxt = layout(view)
    return ghost_list(view, view.u64(q + head), nxt, bound)


def last_of(nodes, length):
    tail = z3.BitVecVal(0, 64)
    for i, node in enumerate(nodes):
        tail = z3.If(length == i + 1, node, tail)
    return tail


def invariant(view, q, ghost):
    """The queue's invariant over its ghost list."""
    _, tail, length, _ = layout(view)
    return z3.And(ghost.within_bound, view.u64(q + length) == ghost.length,
                  view.u64(q + tail) == last_of(ghost.nodes, ghost.length),
                  (view.u64(q + layout(view)[0]) == 0) == (view.u64(q + length) == 0))


def separate(e, q, ghost, *extra):
    """Queue header and nodes are distinct, aligned objects (as the runtime allocates them)."""
    c = e.const
    size = c("PCB_SIZE")
    aligned = [q & 7 == 0] + [n & (c("PCB_ALIGN") - 1) == 0 for n in ghost.nodes] + \
        [x & (c("PCB_ALIGN") - 1) == 0 for x in extra]
    apart = [z3.UGE(x - q, c("RUNQ_SIZE")) for x in extra]
    apart += [z3.UGE(q - x, size) for x in extra]
    return z3.And(*aligned, *apart, ghost.distinct_and_apart(size, q, *extra),
                  *[z3.UGE(q - n, size) for n in ghost.nodes],
                  *[z3.UGE(n - q, c("RUNQ_SIZE")) for n in ghost.nodes],
                  *[z3.ULT(n, 2 ** 48) for n in ghost.nodes], z3.ULT(q, 2 ** 48),
                  *[z3.ULT(x, 2 ** 48) for x in extra])


HEADER = 24   # RUNQ_HEAD, RUNQ_TAIL, RUNQ_LEN


def link_apart(e, q, node):
    """The node's PCB_NEXT word and the queue header q do not overlap (in either direction,
    modulo 2^64)."""
    link = node + e.const("PCB_NEXT")
    return z3.And(z3.UGE(link - q, HEADER), z3.UGE(q - link, 8))


def push_pre(e):
    """What push needs, pointwise: the header, the new node and the tail node (if any) are
    aligned and apart, so that its stores are exactly the ones the post names."""
    q, pcb = e.x(0), e.x(1)
    tail_at = layout(e)[1]
    tail = e.u64(q + tail_at)
    return z3.And(q & 7 == 0, pcb & 7 == 0, tail & 7 == 0, pcb != 0,
                  link_apart(e, q, pcb), z3.Or(tail == 0, link_apart(e, q, tail)))


def push_effect(e, x, q, pcb):
    """Push's stores, stated pointwise: the new node ends the queue (its link 0, unless it
    was the tail already), the old tail (if any) links to it, the header's head (if the
    queue was empty), tail and length follow. No bound: it holds for queues of any length."""
    head_at, tail_at, len_at, nxt = layout(e)
    tail = e.u64(q + tail_at)
    return z3.And(x.u64(q + head_at) == z3.If(tail == 0, pcb, e.u64(q + head_at)),
                  x.u64(q + tail_at) == pcb,
                  x.u64(q + len_at) == e.u64(q + len_at) + 1,
                  x.u64(pcb + nxt) == z3.If(tail == pcb, pcb, z3.BitVecVal(0, 64)),
                  z3.Implies(z3.And(tail != 0, tail != pcb), x.u64(tail + nxt) == pcb))


def push_fifo(e, x):
    """For a queue whose invariant holds (ghost list, up to BOUND - 1 nodes before): the FIFO
    append that keeps the invariant."""
    q, pcb = e.x(0), e.x(1)
    before, after = queue(e, q), queue(x, q)
    appended = [z3.Implies(before.length == k, after.equals(before.nodes[:k] + [pcb]))
                for k in range(BOUND)]
    well_formed = z3.And(invariant(e, q, before), z3.ULT(before.length, BOUND),
                         separate(e, q, before, pcb))
    return z3.Implies(well_formed, z3.And(*appended, invariant(x, q, after)))


def pop_pre(e):
    """What pop needs, pointwise: the header and the head node (if any) are aligned and
    apart."""
    q = e.x(0)
    head_at = layout(e)[0]
    head = e.u64(q + head_at)
    return z3.And(q & 7 == 0, head & 7 == 0, z3.Or(head == 0, link_apart(e, q, head)))


def pop_effect(e, x, q):
    """Pop's stores, pointwise: an empty queue (head 0) is left alone and 0 returned; else
    the head is returned, its successor becomes the head, the tail is cleared if there is
    none, and the length drops by one."""
    head_at, tail_at, len_at, nxt = layout(e)
    head = e.u64(q + head_at)
    succ = e.u64(head + nxt)
    return z3.And(x.x(0) == head,
                  z3.Implies(head == 0, z3.And(*[x.u64(q + f) == e.u64(q + f)
                                                 for f in (head_at, tail_at, len_at)])),
                  z3.Implies(head != 0, z3.And(
                      x.u64(q + head_at) == succ,
                      x.u64(q + tail_at) == z3.If(succ == 0, z3.BitVecVal(0, 64),
                                                  e.u64(q + tail_at)),
                      x.u64(q + len_at) == e.u64(q + len_at) - 1)))


def pop_fifo(e, x):
    """For a queue whose invariant holds (ghost list, up to BOUND nodes): the FIFO removal of
    its head that keeps the invariant."""
    q = e.x(0)
    before, after = queue(e, q), queue(x, q)
    empty = before.length == 0
    removed = [z3.Implies(before.length == k, after.equals(before.nodes[1:k]))
               for k in range(1, BOUND + 1)]
    well_formed = z3.And(invariant(e, q, before), separate(e, q, before))
    return z3.Implies(well_formed, z3.And(
        z3.Implies(empty, z3.And(x.x(0) == 0, after.length == 0)),
        z3.Implies(z3.Not(empty), z3.And(x.x(0) == before.nodes[0], *removed)),
        invariant(x, q, after)))


QUEUE = Region(lambda e: e.x(0), 24)
PUSH_NEXT = Region(lambda e: e.x(1) + e.const("PCB_NEXT"), 8)
TAIL_NEXT = Region(lambda e: e.u64(e.x(0) + e.const("RUNQ_TAIL")) + e.const("PCB_NEXT"), 8)


def choice(view, mask):
    """runq_choose's answer for a non-empty mask (32 bits): BEAM's pick order."""
    c = view.const
    k = lambda name: z3.BitVecVal(c(name), 32)
    return z3.If(mask & c("MASK_MAX") != 0, k("PRIO_MAX"),
                 z3.If(mask & c("MASK_HIGH") != 0, k("PRIO_HIGH"),
                       z3.If(mask & (c("MASK_NORMAL") | c("MASK_LOW")) != 0, k("RUNQ_NORMAL"),
                             k("RUNQ_NONE"))))


def choose_post(e, x):
    # x0 whole (w0 is written, so the top half is 0), and its cases spelt out: the layout
    # checks place a queue's words case by case (verify/intervals.py)
    return z3.And(x.x(0) == z3.ZeroExt(32, choice(e, e.w(0))),
                  z3.Or(*[x.x(0) == i for i in range(e.const("RUNQ_NONE") + 1)]))


def core_block(e, index):
    """The scheduler block of core `index` (sched_cores is an array of CORE_SIZE blocks)."""
    return z3.BitVecVal(e.symbol("sched_cores"), 64) + index * e.const("CORE_SIZE")


def core_init_post(e, x):
    c = e.const
    block = core_block(e, e.x(0))
    stack_top = z3.BitVecVal(e.symbol("sched_stacks"), 64) + (e.x(0) + 1) * c("SCHED_STACK_SIZE")
    return z3.And(x.sysreg("TPIDRRO_EL0") == block,
                  x.u64(block + c("CORE_INDEX")) == e.x(0),
                  x.u64(block + c("CORE_MPIDR")) == e.sysreg("MPIDR_EL1"),
                  x.u64(block + c("CORE_FRAME")) == block + c("CORE_IDLE_FRAME"),
                  x.u64(block + c("CORE_SCHED_SP")) == stack_top)


# ---- sched_enqueue and sched_pick: a core block's queues and counts -----------------------

def is_core_block(e, block):
    return member(e, block, "sched_cores", "MAX_CORES", "CORE_SIZE")


def is_pcb(e, pcb):
    return member(e, pcb, "proc_pcbs", "MAX_PROCS", "PCB_SIZE")


def prio_of(view, pcb):
    return view.u32(pcb + view.const("PCB_PRIO"))


def queue_of(view, block, prio):
    """The run queue a priority uses: its own, or normal's for low."""
    c = view.const
    index = z3.If(z3.ULT(prio, c("RUNQ_NORMAL")), prio, z3.BitVecVal(c("RUNQ_NORMAL"), 32))
    return block + c("CORE_QUEUES") + z3.ZeroExt(32, index) * c("RUNQ_SIZE")


def per_prio(view, block, field, prio):
    """A core block's u32 per priority (CORE_PRIO_LEN, STAT_MAX_LEN): its address."""
    return block + view.const(field) + z3.ZeroExt(32, prio) * 4


def enqueue_pre(e):
    """A core block, one of the PCBs with a priority, and its queue's tail none or a PCB."""
    block, pcb = e.x(0), e.x(1)
    prio = prio_of(e, pcb)
    tail = e.u64(queue_of(e, block, prio) + e.const("RUNQ_TAIL"))
    return z3.And(is_core_block(e, block), is_pcb(e, pcb), z3.ULT(prio, e.const("PRIO_LEVELS")),
                  z3.Or(tail == 0, is_pcb(e, tail)))


def enqueue_post(e, x):
    c = e.const
    block, pcb = e.x(0), e.x(1)
    prio = prio_of(e, pcb)
    length = x.u32(per_prio(e, block, "CORE_PRIO_LEN", prio))
    longest = e.u32(per_prio(e, block, "STAT_MAX_LEN", prio))
    passes = z3.If(prio == c("PRIO_LOW"), z3.BitVecVal(c("RESCHEDULE_LOW"), 32),
                   z3.BitVecVal(1, 32))
    return z3.And(push_effect(e, x, queue_of(e, block, prio), pcb),
                  x.u32(pcb + c("PCB_SCHED_COUNT")) == passes,
                  length == e.u32(per_prio(e, block, "CORE_PRIO_LEN", prio)) + 1,
                  x.u32(per_prio(e, block, "STAT_MAX_LEN", prio)) ==
                  z3.If(z3.UGT(length, longest), length, longest),
                  x.u32(block + c("CORE_MASK")) ==
                  e.u32(block + c("CORE_MASK")) | (z3.BitVecVal(1, 32) << prio),
                  x.u32(block + c("CORE_LOCK")) == c("LOCK_FREE"))


def _enqueue_writes():
    at = lambda f: (lambda e: f(e, e.x(0), e.x(1), prio_of(e, e.x(1))))
    c = lambda e, name: e.const(name)
    return (
        Region(at(lambda e, b, p, prio: b + c(e, "CORE_LOCK")), 4),
        Region(at(lambda e, b, p, prio: b + c(e, "CORE_MASK")), 4),
        Region(at(lambda e, b, p, prio: queue_of(e, b, prio)), 24),
        Region(at(lambda e, b, p, prio: per_prio(e, b, "CORE_PRIO_LEN", prio)), 4),
        Region(at(lambda e, b, p, prio: per_prio(e, b, "STAT_MAX_LEN", prio)), 4),
        Region(at(lambda e, b, p, prio: p + c(e, "PCB_NEXT")), 8),
        Region(at(lambda e, b, p, prio: p + c(e, "PCB_SCHED_COUNT")), 4),
        Region(at(lambda e, b, p, prio: e.u64(queue_of(e, b, prio) + c(e, "RUNQ_TAIL")) +
                  c(e, "PCB_NEXT")), 8),
    )


def _step_post(e, x):
    """One step of the pick, pointwise (no bound: queues of any length). With h the head of
    the queue runq_choose names: none (x0 and x1 0, the mask as it was, an empty queue's
    head still 0) if there is no such queue or it is empty; in the normal queue h's pass count drops by one, and if it is still positive
    and h has a successor, h goes from the head to the tail (runq_pop then runq_push, the
    length kept) and x1 is 1 (choose again, x0 0); otherwise h is popped and returned, a PCB, its
    priority's length drops by one and at 0 its bit leaves the non-empty mask, x1 0. Stated per
    queue, so that each case's addresses lie at constant distances from the block."""
    c = e.const
    block = e.x(0)
    mask_at = block + c("CORE_MASK")
    mask = e.u32(mask_at)
    chosen = choice(e, mask)
    unchanged = z3.And(x.x(0) == 0, x.x(1) == 0, x.u32(mask_at) == mask)
    cases = [z3.Implies(chosen == c("RUNQ_NONE"), unchanged)]
    for k in (c("PRIO_MAX"), c("PRIO_HIGH"), c("RUNQ_NORMAL")):
        q = block + c("CORE_QUEUES") + k * c("RUNQ_SIZE")
        cases.append(z3.Implies(chosen == k, _step_on(e, x, block, q, k == c("RUNQ_NORMAL"))))
    return z3.And(*cases)


def _step_on(e, x, block, q, normal: bool):
    c = e.const
    head_at, tail_at, len_at, nxt = layout(e)
    mask_at = block + c("CORE_MASK")
    mask = e.u32(mask_at)
    h = e.u64(q + head_at)
    succ, tail, length = e.u64(h + nxt), e.u64(q + tail_at), e.u64(q + len_at)
    passes = e.u32(h + c("PCB_SCHED_COUNT")) - 1
    passed = z3.And(passes != 0, succ != 0) if normal else z3.BoolVal(False)
    prio = e.u32(h + c("PCB_PRIO"))
    prio_len_at = per_prio(e, block, "CORE_PRIO_LEN", prio)
    left = e.u32(prio_len_at) - 1
    one = z3.BitVecVal(1, 32)
    out = [z3.Implies(h == 0, z3.And(x.x(0) == 0, x.x(1) == 0, x.u32(mask_at) == mask,
                                     x.u64(q + head_at) == 0))]
    if normal:
        out.append(z3.Implies(h != 0, x.u32(h + c("PCB_SCHED_COUNT")) == passes))
        out.append(z3.Implies(z3.And(h != 0, passed), z3.And(
            x.x(0) == 0, x.x(1) == 1, x.u32(mask_at) == mask,
            x.u64(q + head_at) == z3.If(tail == 0, h, succ), x.u64(q + tail_at) == h,
            x.u64(q + len_at) == length,
            x.u64(h + nxt) == z3.If(tail == h, h, z3.BitVecVal(0, 64)),
            z3.Implies(z3.And(tail != 0, tail != h), x.u64(tail + nxt) == h))))
    out.append(z3.Implies(z3.And(h != 0, z3.Not(passed)), z3.And(
        x.x(0) == h, x.x(1) == 0, is_pcb(x, h),
        x.u64(q + head_at) == succ,
        x.u64(q + tail_at) == z3.If(succ == 0, z3.BitVecVal(0, 64), tail),
        x.u64(q + len_at) == length - 1,
        x.u32(prio_len_at) == left,
        x.u32(mask_at) == z3.If(left == 0, mask & ~(one << prio), mask))))
    return z3.And(*out)


def _pick_loop(e, here):
    """At both heads of the pick (take the lock, step): x19 the core block, the frame as
    pushed."""
    saved = [here.u64(e.sp + off) == e.x(r) for off, r in ((-32, 19), (-24, 20), (-16, 29))]
    return z3.And(here.x(19) == e.x(0), here.sp == e.sp - 32, is_core_block(e, e.x(0)),
                  is_core_block(here, here.x(19)), here.u64(e.sp - 8) == e.x(30), *saved)


def _pick_post(e, x):
    """None (0), or a PCB the pick made RUNNING; the core's lock is free. None only when
    there is nothing to run: the queue runq_choose names on return is none or empty."""
    c = e.const
    block, pcb = e.x(0), x.x(0)
    running = x.u64(pcb + c("PCB_STATE")) & c("PS_RUNNING") != 0
    chosen = choice(x, x.u32(block + c("CORE_MASK")))
    empty = [z3.Implies(chosen == k, x.u64(block + c("CORE_QUEUES") + k * c("RUNQ_SIZE") +
                                           c("RUNQ_HEAD")) == 0)
             for k in (c("PRIO_MAX"), c("PRIO_HIGH"), c("RUNQ_NORMAL"))]
    return z3.And(z3.Or(pcb == 0, z3.And(is_pcb(x, pcb), running)),
                  z3.Implies(pcb == 0, z3.And(*empty)),
                  x.u32(block + c("CORE_LOCK")) == c("LOCK_FREE"))


# ---- sched_enter: the scheduling loop, entry code proved to its hand-offs -----------------

def _left(e):
    """The core block and the process that left (CORE_CURRENT on entry, 0 for none)."""
    block = e.sysreg("TPIDRRO_EL0")
    return block, e.u64(block + e.const("CORE_CURRENT"))


def _accounted(e, x):
    """The core's statistics after the one that left is accounted for: the reductions it
    used (the slice less the budget left) credited, an exit counted, a kill too."""
    c = e.const
    block, left = _left(e)
    stat = lambda view, name: view.u64(block + c(name))
    zero, one = z3.BitVecVal(0, 64), z3.BitVecVal(1, 64)
    credit = z3.If(left != 0, c("CONTEXT_REDS") - stat(e, "CORE_BUDGET"), zero)
    exiting = z3.And(left != 0, e.u64(left + c("PCB_STATE")) & c("PS_EXITING") != 0)
    killed = z3.And(exiting, e.u64(left + c("PCB_EXIT_REASON")) == c("EXIT_FAULT"))
    return [stat(x, "STAT_REDUCTIONS") == stat(e, "STAT_REDUCTIONS") + credit,
            stat(x, "STAT_EXITED") == stat(e, "STAT_EXITED") + z3.If(exiting, one, zero),
            stat(x, "STAT_KILLED") == stat(e, "STAT_KILLED") + z3.If(killed, one, zero)]


def _enter_pick(e, here):
    """At the pick (the loop's head): x19 the core block, no process current, the idle
    frame the IRQ frame if one left, and the statistics accounted."""
    c = e.const
    block, left = _left(e)
    return z3.And(here.x(19) == block, here.sysreg("TPIDRRO_EL0") == block,
                  is_core_block(here, block),
                  here.u64(block + c("CORE_CURRENT")) == 0,
                  z3.Implies(left != 0, here.u64(block + c("CORE_FRAME")) ==
                             block + c("CORE_IDLE_FRAME")),
                  *_accounted(e, here))


def _resumes(full: bool):
    """Where sched_enter leaves for a frame's restore: the PCB it picked, RUNNING, is
    current; x0 and CORE_FRAME its frame, of the kind this restore takes (a full one by way
    of sched_resume_full, which selects the exception stack); a full slice of
    reductions, begun at the counter's last reading; the statistics accounted."""
    def cond(e, x):
        c = e.const
        block, _ = _left(e)
        pcb = x.u64(block + c("CORE_CURRENT"))
        frame = pcb + c("PCB_FRAME")
        kind = x.u32(pcb + c("PCB_FRAME_KIND"))
        return z3.And(is_pcb(x, pcb), x.u64(pcb + c("PCB_STATE")) & c("PS_RUNNING") != 0,
                      x.x(0) == frame, x.u64(block + c("CORE_FRAME")) == frame,
                      x.u64(block + c("CORE_BUDGET")) == c("CONTEXT_REDS"),
                      x.u64(block + c("CORE_SLICE_START")) == x.last_read("CNTPCT_EL0"),
                      (kind != 0) if full else (kind == 0),
                      *_accounted(e, x))
    return cond


def _enter_pre(e):
    """This core's block, and the process that left none or a PCB."""
    block, left = _left(e)
    return z3.And(is_core_block(e, block), z3.Or(left == 0, is_pcb(e, left)))


# What a pick may write: the first line of its core's block (lock, mask, queues, per-priority
# lengths) and PCBs (state words, pass counts, run-queue links).
PICKS = (Region(lambda e: e.x(0), 128),
         Region("proc_pcbs", lambda e: z3.BitVecVal(e.const("MAX_PROCS") * e.const("PCB_SIZE"),
                                                    64)))

IDLE_STAT = Region(lambda e: e.x(0) + e.const("STAT_IDLE"), 8)

# What printing may write, as specs/uart.py says (spec modules are loaded on their own, and
# each one's hash keys the proofs that use it, so this is repeated rather than imported).
UART = Region(lambda e: z3.BitVecVal(e.const("BOARD_UART_BASE"), 64), 0x1000)
LOCK = Region("uart_print_lock_word", 4)
PRINTS = AAPCS64_SCRATCH + (UART, "out:console")   # the UART, and so the console


CONTRACTS = {
    "runq_push": Contract(
        f"appends PCB x1 to the run queue x0: its stores, pointwise, for any length; and the "
        f"FIFO append keeping the queue's invariant (ghost list, up to {BOUND} nodes after)",
        maychange=("x2", "nzcv", QUEUE, PUSH_NEXT, TAIL_NEXT), pre=push_pre,
        post=lambda e, x: push_effect(e, x, e.x(0), e.x(1)), ghost_post=push_fifo),
    "runq_pop": Contract(
        f"removes and returns the head of the run queue x0 (0 if empty): its stores, "
        f"pointwise, for any length; and the FIFO removal keeping the queue's invariant "
        f"(ghost list, up to {BOUND} nodes)",
        maychange=("x0", "x1", "x2", "nzcv", QUEUE), pre=pop_pre,
        post=lambda e, x: pop_effect(e, x, e.x(0)), ghost_post=pop_fifo),
    "runq_choose": Contract(
        "BEAM's pick order over the non-empty mask: max, then high, then normal or low (one "
        "queue); RUNQ_NONE if all are empty",
        maychange=("x0", "x1", "nzcv"), post=choose_post),
    "sched_core": Contract("the block of core x0 (below MAX_CORES): sched_cores + x0 * "
                           "CORE_SIZE", maychange=("x0", "x1"),
                           pre=lambda e: z3.ULT(e.x(0), e.const("MAX_CORES")),
                           post=lambda e, x: z3.And(x.x(0) == core_block(e, e.x(0)),
                                                    is_core_block(x, x.x(0)))),
    "sched_enqueue": Contract(
        "appends PCB x1 to core block x0's queue for its priority (low shares normal's) "
        "under the core's lock, with runq_push's stores (pointwise, any length); its passes "
        "(RESCHEDULE_LOW for low, else 1), the priority's length (+1), its longest-seen and "
        "the non-empty mask follow; the lock is free and DAIF as on entry on return; another "
        "core is sent the wake-up SGI (that the wake-up is not lost is the harness "
        "enqueue_wakes_idle_core)",
        maychange=AAPCS64_SCRATCH + _enqueue_writes() + ("ICC_SGI1R_EL1",),
        pre=enqueue_pre, post=enqueue_post,
        split=lambda e: (prio_of(e, e.x(1)), [0, 1, 2, 3])),
    "sched_pick_step": Contract(
        "one step of the pick, core block x0's lock held, pointwise for queues of any "
        "length: the queue runq_choose names; a normal head's passes drop by one, and while "
        "some are left and it has a successor it goes to the tail (x1 1: again); otherwise "
        "the head is popped and returned, its priority's length drops by one, and at 0 its "
        "bit leaves the non-empty mask; 0 if the named queue is empty or none is",
        maychange=AAPCS64_SCRATCH + PICKS, pre=lambda e: is_core_block(e, e.x(0)),
        post=_step_post),
    "sched_pick": Contract(
        "takes the next process to run from core block x0's queues under its lock: "
        "sched_pick_step until it takes a head or finds none; an entry that may not run is "
        "dropped and the pick made again: returns a PCB it made RUNNING, or 0 when the queue "
        "runq_choose names is none or empty; the lock free; "
        "writes only the first line of the block and PCBs. That a pick sees an enqueue from "
        "another core is the harness enqueue_wakes_idle_core",
        maychange=AAPCS64_SCRATCH + PICKS, pre=lambda e: is_core_block(e, e.x(0)),
        post=_pick_post,
        invariants={".Lsched_pick_lock": _pick_loop, ".Lsched_pick_choose": _pick_loop}),
    "sched_core_init": Contract(
        "for core x0 (below MAX_CORES): TPIDRRO_EL0 is its block, which holds its index, its "
        "MPIDR_EL1, the idle frame as its frame and the top of its scheduler stack; then its "
        "GIC CPU interface and its tick (timer_core_init)",
        maychange=AAPCS64_SCRATCH + (MEMORY, "TPIDRRO_EL0", "CNTP_CVAL_EL0", "ICC_SRE_EL1",
                                     "ICC_PMR_EL1", "ICC_BPR1_EL1", "ICC_IGRPEN1_EL1"),
        pre=lambda e: z3.ULT(e.x(0), e.const("MAX_CORES")), post=core_init_post),
    # Printing: explicit frames, so that callers take them by contract.
    "sched_print_field": Contract("prints the string x0 and then x1 in decimal",
                                  maychange=PRINTS),
    "sched_report_kill": Contract("prints the fault report of PCB x0 under the print lock",
                                  maychange=PRINTS + (LOCK,)),
    "sched_print_stats": Contract("prints each running core's statistics under the console "
                                  "lock", maychange=PRINTS + (LOCK, "DAIF")),
    "sched_idle": Contract(
        "waits for work on core x0 (the WFI ends on an interrupt) and adds the time spent to "
        "its STAT_IDLE (the difference of two reads of the free-running counter, which no "
        "input determines); entered with IRQs masked, it returns with them masked; that the "
        "wake-up after an enqueue is not lost is the weak-memory harness "
        "enqueue_wakes_idle_core",
        maychange=("x1", "x2", "x3", "nzcv", "DAIF", IDLE_STAT),
        post=lambda e, x: z3.Implies(e.sysreg("DAIF") & 0x80 != 0,
                                     x.sysreg("DAIF") & 0x80 != 0)),
    "sched_start": NotCallable("leaves the boot stack for the scheduler; never returns"),
    "sched_resume_full": NotCallable("selects the exception stack (SPSel, which the prover "
                                     "does not model) and branches to frame_resume_full"),
    "sched_enter": Contract(
        "the scheduling loop, entered by a branch from a switch-out path on a fresh "
        "scheduler stack; never returns: it credits the reductions the process that left "
        "used, counts an exit (and a kill), then picks (idling while there is nothing) and "
        "hands the picked PCB's frame to the restore of its kind, with CORE_CURRENT, "
        "CORE_FRAME, a full budget and the slice's start set; what becomes of the process "
        "that left (re-enqueued or freed) is stated by the callees' contracts, not here",
        pre=_enter_pre,
        handoff={"frame_resume_voluntary": _resumes(full=False),
                 "sched_resume_full": _resumes(full=True)},
        invariants={".Lsched_enter_pick": _enter_pick}),
}

# The cores' MPIDR_EL1 in the harnesses, as QEMU virt numbers them.
MPIDR = [0x80000000, 0x80000001, 0x80000002]


def _idle_core(core: int) -> dict:
    return {"TPIDRRO_EL0": f"core{core}", "MPIDR_EL1": MPIDR[core], "CNTPCT_EL0": 0}


def _enqueuer(core: int) -> dict:
    return {"TPIDRRO_EL0": f"core{core}", "MPIDR_EL1": MPIDR[core], "DAIF": 0x3C0}


RUNNABLE = lambda p: (1 << p.constant("PS_GEN_SHIFT")) | p.constant("PS_ACTIVE") | \
    p.constant("PS_IN_RUNQ")


def _process(prio: str) -> dict:
    return {"PCB_STATE": RUNNABLE, "PCB_PRIO": lambda p: p.constant(prio)}


HARNESSES = [
    # The race sched_enter's idle path is written for: core 1 found its queues empty and
    # looks once more (sched_idle) before it sleeps in WFI; core 0 enqueues onto it and
    # sends the wake-up SGI. Core 1 must then pick the process: either its look sees the
    # non-empty mask, or it sleeps and the SGI wakes it after the queue is visible.
    Harness("enqueue_wakes_idle_core",
            "an enqueue onto a core that is going idle: the core wakes and picks the process "
            "(no lost wake-up)",
            objects={"core0": block(lambda p: p.constant("CORE_SIZE")),
                     "core1": block(lambda p: p.constant("CORE_SIZE")),
                     "pcb": block(lambda p: p.constant("PCB_SIZE"))},
            init={"core1": {"CORE_MPIDR": MPIDR[1]}, "pcb": _process("PRIO_NORMAL")},
            sysregs=[_enqueuer(0), _idle_core(1)],
            cores=[[call("sched_enqueue", x0="core1", x1="pcb")],
                   [call("sched_idle", x0="core1"), call("sched_pick", x0="core1")]],
            condition="forall (1:X0=pcb)"),
]

# Orderings no weak-memory harness checks yet (verify barriers lists them with these reasons).
UNCHECKED_ORDERING = {
    "sched_print_stats": "its LDAR of the core count orders the per-core statistics it then "
                         "prints through the UART (device memory, outside the model); the "
                         "statistics live in the per-core blocks, which harnesses cannot lay "
                         "out yet",
}
