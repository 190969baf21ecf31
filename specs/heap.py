"""The runtime's heap invariants (verify/heap.py): words that always hold a value of one kind.

Every proof assumes them of each word it reads and proves them of each word it writes, so a
loop that has forgotten the memory it walks (verify/explore.py generalises it at the loop
head) still knows that the next node of a list is a PCB. What they rest on outside the
sequential proofs: the round-trip and weak-memory explorers do not check them (said in
verify/heap.py), and memory is zero at boot, which every one of them allows.
"""

import z3

from verify.spec import Links, member

MAX_CORES = 8       # asm/scheduler.inc (spec modules do not import each other)
RUNQ_COUNT = 3


def queue_word(q, field):
    """The offset of run queue q's `field` (RUNQ_HEAD, RUNQ_TAIL) in a core block."""
    return lambda c: c("CORE_QUEUES") + q * c("RUNQ_SIZE") + c(field)


def is_pcb(e, value):
    return member(e, value, "proc_pcbs", "MAX_PROCS", "PCB_SIZE")


def pcb_or_none(e, value):
    return z3.Or(value == 0, is_pcb(e, value))


LINKS = [
    Links("a PCB's timer link (PCB_TIMER_NEXT) holds 0 or a PCB", "proc_pcbs", "MAX_PROCS",
          "PCB_SIZE", ("PCB_TIMER_NEXT",), pcb_or_none),
    Links("a timer wheel slot holds 0 or a PCB", "timer_wheels",
          lambda c: MAX_CORES * c("WHEEL_SLOTS"), 8, (0,), pcb_or_none),
    Links("a PCB's run-queue link (PCB_NEXT) holds 0 or a PCB", "proc_pcbs", "MAX_PROCS",
          "PCB_SIZE", ("PCB_NEXT",), pcb_or_none),
    Links("a run queue's head and tail hold 0 or a PCB", "sched_cores", "MAX_CORES",
          "CORE_SIZE", tuple(queue_word(q, f) for q in range(RUNQ_COUNT)
                             for f in ("RUNQ_HEAD", "RUNQ_TAIL")), pcb_or_none),
    Links("a core block's index (CORE_INDEX) is below MAX_CORES", "sched_cores", "MAX_CORES",
          "CORE_SIZE", ("CORE_INDEX",), lambda e, index: z3.ULT(index, MAX_CORES)),
    Links("a PCB's core (PCB_CORE) is below MAX_CORES", "proc_pcbs", "MAX_PROCS", "PCB_SIZE",
          ("PCB_CORE",), lambda e, core: z3.ULT(core, MAX_CORES), size=4),
    Links("a PCB's priority (PCB_PRIO) is one of the PRIO_LEVELS", "proc_pcbs", "MAX_PROCS",
          "PCB_SIZE", ("PCB_PRIO",), lambda e, prio: z3.ULT(prio, e.const("PRIO_LEVELS")),
          size=4),
]
