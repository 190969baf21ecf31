"""Context switches proved as round trips: save A, restore B, save B, restore A gives A back.

A switch path is not a function with a return: its save half ends in a branch to the
scheduler and its restore half returns into whichever process the scheduler picked. So it
is proved by running the real code four times on one symbolic machine:

1. process A (every register symbolic) enters the save code, up to the `saved_at` address;
2. the scheduler (abstracted: every register unknown but the frame pointer it passes) enters
   the restore code with B's frame, which must put B's saved state in place and return into
   B: checked against the frame's contents;
3. B, now in an arbitrary state of its own, enters the save code again;
4. the scheduler restores A's frame, and A must get back what the switch keeps: for the
   voluntary switch (a call) x19-x29, sp, d8-d15, DAIF and the return to x30; for the
   involuntary one (an IRQ) every GPR, SP_EL0, NZCV, DAIF, q0-q31, FPCR, FPSR and the pc.

The exception entry of an IRQ is modelled as the architecture defines it: ELR_EL1 takes the
pc, SPSR_EL1 the PSTATE (NZCV, DAIF, mode EL1t), SP_EL0 the stack pointer, sp becomes the
exception stack and DAIF masks everything. Assumptions are stated in every report: the two
frames, the core block and the exception stack do not overlap; nothing but the switch code
writes a saved frame between the segments; PSTATE fields other than NZCV, DAIF and the mode
are not modelled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3

from .explore import EndKind, Explorer, Limits, Mode, PathEnd
from .machine import State, fresh, solver
from .program import Program
from .overlay import WRITABLE_BITS
from .prove import Counterexample, Result, TraceRow
from .spec import RoundTrip

CALLEE_SAVED = [f"x{i}" for i in range(19, 30)]
ALL_GPRS = [f"x{i}" for i in range(31)]
DAIF_BITS = 0x3C0
DAIF_I = 0x80
SPSR_EL1T = 0b0100
FPSR_QC = 1 << 27
FPSR_BITS = WRITABLE_BITS["FPSR"]
ADDRESS_LIMIT = 2 ** 48

ASSUMPTIONS = [
    "the two saved frames, the two PCBs, the core's scheduler block and the exception stack "
    "do not overlap, and each is aligned as the runtime allocates it",
    "between the segments the scheduler changes no saved frame, and passes the frame to "
    "resume in x0; every other register it leaves is unknown",
    "both processes run with IRQs unmasked (DAIF.I = 0), at EL1t",
]
INVOLUNTARY_ASSUMPTIONS = [
    "an IRQ's exception entry sets ELR_EL1 = pc, SPSR_EL1 = NZCV:DAIF:EL1t, SP_EL0 = sp, "
    "sp = the exception stack, DAIF = all masked; PSTATE fields other than NZCV, DAIF and the "
    "mode are not modelled",
    "the frame restored holds an EL1t SPSR, and an FPSR with only the bits FPSR keeps (it was "
    "saved from FPSR)",
]


class _Unknown(Exception):
    """A segment did not end where the round trip needs it to."""


@dataclass
class _Process:
    """The symbols of one process's architectural state."""
    regs: dict[str, z3.BitVecRef]       # x0-x30, sp
    q: list[z3.BitVecRef]
    nzcv: z3.BitVecRef
    daif: z3.BitVecRef
    fpcr: z3.BitVecRef                  # 32 bits, as VEX keeps it
    fpsr: z3.BitVecRef
    pc: z3.BitVecRef


def _symbols(prefix: str) -> _Process:
    bv = lambda name, bits=64: z3.BitVec(f"{prefix}.{name}", bits)
    return _Process({r: bv(r) for r in ALL_GPRS + ["sp"]}, [bv(f"q{i}", 128) for i in range(32)],
                    bv("nzcv", 4), bv("daif"), bv("fpcr", 32), bv("fpsr"), bv("pc"))


def _set_nzcv(state: State, nzcv: z3.BitVecRef) -> None:
    state.set_reg("cc_op", z3.BitVecVal(0, 64))
    state.set_reg("cc_dep1", z3.ZeroExt(32, z3.Concat(nzcv, z3.BitVecVal(0, 28))))
    state.set_reg("cc_dep2", z3.BitVecVal(0, 64))
    state.set_reg("cc_ndep", z3.BitVecVal(0, 64))


def _set_fpsr(state: State, fpsr: z3.BitVecRef) -> None:
    """FPSR as the overlay keeps it: the rule's storage plus VEX's QC flag."""
    state.sysregs["FPSR"] = fpsr
    bit = z3.LShR(fpsr, 27) & 1
    state.set_reg("qcflag", z3.Concat(bit, bit))


def _fpsr(state: State) -> z3.BitVecRef:
    qc = z3.If(state.reg("qcflag") != 0, z3.BitVecVal(FPSR_QC, 64), z3.BitVecVal(0, 64))
    return (state.sysreg_value("FPSR") & ~z3.BitVecVal(FPSR_QC, 64)) | qc


def _load_process(state: State, p: _Process) -> None:
    """Put a process's whole state into the machine (it runs at EL1t)."""
    for r, v in p.regs.items():
        state.set_reg(r, v)
    for i, v in enumerate(p.q):
        state.set_reg(f"q{i}", v)
    _set_nzcv(state, p.nzcv)
    state.set_reg("fpcr", p.fpcr)
    _set_fpsr(state, p.fpsr)
    state.sysregs["DAIF"] = p.daif
    state.sysregs["CurrentEL"] = z3.BitVecVal(1 << 2, 64)
    state.constraints += [p.daif & ~z3.BitVecVal(DAIF_BITS, 64) == 0,
                          p.daif & DAIF_I == 0,
                          p.fpsr & ~z3.BitVecVal(FPSR_BITS, 64) == 0]


def _havoc(state: State, keep: set[str], tag: str) -> None:
    """What the scheduler leaves between segments: unknown values but in `keep`."""
    for r in ALL_GPRS + ["sp"]:
        if r not in keep:
            state.set_reg(r, fresh(f"{tag}_{r}", 64))
    for i in range(32):
        state.set_reg(f"q{i}", fresh(f"{tag}_q{i}", 128))
    _set_nzcv(state, fresh(f"{tag}_nzcv", 4))
    state.set_reg("fpcr", fresh(f"{tag}_fpcr", 32))
    _set_fpsr(state, fresh(f"{tag}_fpsr", 64) & FPSR_BITS)
    state.monitor = None


def _apart(a, asize: int, b, bsize: int) -> z3.BoolRef:
    return z3.And(z3.UGE(b - a, asize), z3.UGE(a - b, bsize))


class RoundTripProof:
    def __init__(self, program: Program, name: str, rt: RoundTrip):
        self.program, self.name, self.rt = program, name, rt
        self.const = program.constant
        self.traces: list[tuple[str, PathEnd]] = []
        self.paths = 0
        self.rules: set[str] = set()
        self.ran: set[str] = set()      # the functions the segments went through

    # -- segments ---------------------------------------------------------------------
    def _segment(self, label: str, state: State, start: str, stop: str | None = None,
                 ret: z3.BitVecRef | None = None) -> PathEnd:
        """Run from `start` until `stop` or a return to `ret`; exactly one path may end,
        and it must end there."""
        func = self.program.functions[start]
        state.pc = func.addr
        stops = frozenset([self.program.symbol(stop)]) if stop else frozenset()
        target = ret if ret is not None else fresh("no_return", 64)
        explorer = Explorer(self.program, func, Limits(mode=Mode.BOUNDED, bound=2), target,
                            stops=stops)
        ends = explorer.run(state)
        self.paths += explorer.paths_explored
        for end in ends:
            self.ran.update(f.name for f in (self.program.function_at(e.addr)
                                             for e in end.path.trace) if f is not None)
            for at, verdict in end.path.rules:
                self.rules.add(f"{self.program.line(at)} `{self.program.instruction(at).text}`: "
                               f"{verdict.rule.summary}")
        wanted = EndKind.STOP if stop else EndKind.RETURN
        live = [e for e in ends if e.kind != EndKind.CLOSED]
        bad = [e for e in live if e.kind != wanted]
        if bad or len(live) != 1:
            e = bad[0] if bad else None
            where = f"{e.kind.value} at {self.program.line(e.addr)}: {e.detail}" if e else \
                f"{len(live)} paths"
            raise _Unknown(f"{label}: the segment from {start} did not end "
                           f"{'at ' + stop if stop else 'in one return'} ({where})")
        self.traces.append((label, live[0]))
        return live[0]

    # -- checking ---------------------------------------------------------------------
    def _check(self, state: State, goals: list[tuple[str, z3.BoolRef]]) -> tuple[str, z3.ModelRef] | None:
        quick = solver()
        quick.add(*state.constraints)
        quick.add(z3.Or(*[z3.Not(g) for _, g in goals]))
        if quick.check() == z3.unsat:
            return None
        for sentence, goal in goals:
            s = solver()
            s.add(*state.constraints)
            s.add(z3.Not(goal))
            verdict = s.check()
            if verdict == z3.sat:
                return sentence, s.model()
            if verdict == z3.unknown:
                raise _Unknown(f"the solver did not decide whether {sentence}")
        raise _Unknown("the solver found the round trip may break, but no single way")

    def run(self) -> Result:
        start = time.monotonic()
        self.program.looked_up.clear()
        func = self.program.functions[self.name]
        result = Result(self.name, "UNKNOWN", self.rt.summary, self.program.line(func.addr),
                        func.bytes_hash, assumptions=list(ASSUMPTIONS))
        if self.rt.kind == "involuntary":
            result.assumptions += INVOLUNTARY_ASSUMPTIONS
        try:
            failure = self._voluntary() if self.rt.kind == "voluntary" else self._involuntary()
        except _Unknown as exc:
            result.reasons.append(str(exc))
            failure = None
        if failure is not None:
            sentence, model = failure
            result.verdict = "FAILED"
            result.counterexample = self._counterexample(sentence, model)
        elif not result.reasons:
            result.verdict = "PROVED"
        result.paths = self.paths
        result.loops = "no loops: each segment runs straight through"
        result.trusted_rules = sorted(self.rules)
        result.depends_on = {n: self.program.functions[n].bytes_hash
                             for n in sorted({self.rt.save, self.rt.restore} | self.ran)}
        result.layout = dict(self.program.looked_up)    # the stop symbol, the frame constants
        result.seconds = time.monotonic() - start
        return result

    # -- the two kinds ----------------------------------------------------------------------
    def _layout(self, state: State) -> tuple:
        c = self.const
        core, pcb_a, pcb_b = (z3.BitVec(n, 64) for n in ("core", "A.pcb", "B.pcb"))
        pcb, core_size = c("PCB_SIZE"), c("CORE_SIZE")
        state.constraints += [
            core & (c("CACHE_LINE") - 1) == 0, pcb_a & (c("PCB_ALIGN") - 1) == 0,
            pcb_b & (c("PCB_ALIGN") - 1) == 0,
            z3.ULT(core, ADDRESS_LIMIT), z3.ULT(pcb_a, ADDRESS_LIMIT), z3.ULT(pcb_b, ADDRESS_LIMIT),
            _apart(pcb_a, pcb, pcb_b, pcb), _apart(core, core_size, pcb_a, pcb),
            _apart(core, core_size, pcb_b, pcb)]
        state.sysregs["TPIDRRO_EL0"] = core
        state.objects = ((core, 0, core_size), (pcb_a, 0, pcb), (pcb_b, 0, pcb))
        return core, pcb_a, pcb_b

    def _voluntary(self):
        c, rt = self.const, self.rt
        a, b2 = _symbols("A"), _symbols("B")
        state = State({}, None, [], 0, resolve_aliases=True)
        _load_process(state, a)
        core, pcb_a, pcb_b = self._layout(state)
        frame_a, frame_b = pcb_a + c("PCB_FRAME"), pcb_b + c("PCB_FRAME")
        state.store(core + c("CORE_CURRENT"), pcb_a)   # as the scheduler left it

        s1 = self._segment("1. save A", state, rt.save, stop=rt.saved_at).path.state
        expect_b = self._voluntary_frame(s1, frame_b)
        _havoc(s1, {"x0"}, "scheduler")
        s1.set_reg("x0", frame_b)
        end = self._segment("2. restore B", s1, rt.restore, ret=expect_b["x30"])
        s2 = end.path.state
        found = self._check(s2, self._voluntary_goals(s2, end.target, expect_b, "B's frame"))
        if found:
            return found

        _load_process(s2, b2)
        s2.store(core + c("CORE_CURRENT"), pcb_b)
        s3 = self._segment("3. save B", s2, rt.save, stop=rt.saved_at).path.state
        _havoc(s3, {"x0"}, "scheduler2")
        s3.set_reg("x0", frame_a)
        expect_a = dict(a.regs, **{f"d{i}": z3.Extract(63, 0, a.q[i]) for i in range(8, 16)})
        end = self._segment("4. restore A", s3, rt.restore, ret=a.regs["x30"])
        s4 = end.path.state
        goals = self._voluntary_goals(s4, end.target, expect_a, "A on entry")
        goals.append(("IRQs are masked on return (DAIF.I set)",
                      s4.sysreg_value("DAIF") & DAIF_I == 0))
        return self._check(s4, goals)

    def _voluntary_frame(self, state: State, frame) -> dict[str, z3.BitVecRef]:
        c = self.const
        out = {f"x{i}": state.load(frame + c("FRAME_X0") + 8 * i, 8) for i in range(19, 31)}
        out["sp"] = state.load(frame + c("FRAME_SP"), 8)
        for i in range(8, 16):
            out[f"d{i}"] = state.load(frame + c("FRAME_Q0") + 16 * i, 8)
        return out

    @staticmethod
    def _voluntary_goals(state: State, target, expect: dict, whose: str) -> list:
        goals = [(f"returns to an address other than the x30 of {whose}", target == expect["x30"])]
        goals += [(f"{r} differs from {whose}", state.reg(r) == expect[r])
                  for r in CALLEE_SAVED + ["sp"]]
        goals += [(f"d{i} differs from {whose}",
                   z3.Extract(63, 0, state.reg(f"q{i}")) == expect[f"d{i}"]) for i in range(8, 16)]
        return goals

    def _take_irq(self, state: State, p: _Process, spx) -> None:
        """The exception entry of an IRQ taken from process p at EL1t."""
        spsr = (z3.ZeroExt(60, p.nzcv) << 28) | p.daif | SPSR_EL1T
        state.sysregs.update({"ELR_EL1": p.pc, "SPSR_EL1": spsr, "SP_EL0": p.regs["sp"],
                              "DAIF": z3.BitVecVal(DAIF_BITS, 64)})
        state.set_reg("sp", spx)

    def _involuntary(self):
        c, rt = self.const, self.rt
        a, b2 = _symbols("A"), _symbols("B")
        state = State({}, None, [], 0, resolve_aliases=True)
        _load_process(state, a)
        core, pcb_a, pcb_b = self._layout(state)
        frame_a, frame_b = pcb_a + c("PCB_FRAME"), pcb_b + c("PCB_FRAME")
        spx = z3.BitVec("exception_sp", 64)
        stack = 256   # the most the entry code keeps on the exception stack, and then some
        state.constraints += [spx & 15 == 0, z3.ULT(spx, ADDRESS_LIMIT), z3.UGE(spx, stack),
                              _apart(spx - stack, stack, core, c("CORE_SIZE")),
                              _apart(spx - stack, stack, pcb_a, c("PCB_SIZE")),
                              _apart(spx - stack, stack, pcb_b, c("PCB_SIZE"))]
        state.store(core + c("CORE_FRAME"), frame_a)   # as the scheduler left it
        state.objects += ((spx, -stack, 0),)
        self._take_irq(state, a, spx)

        s1 = self._segment("1. save A (IRQ)", state, rt.save, stop=rt.saved_at).path.state
        spsr_b = s1.load(frame_b + c("FRAME_SPSR"), 8)
        s1.constraints += [spsr_b & 0x1F == SPSR_EL1T,   # B's frame came from a save:
                           s1.load(frame_b + c("FRAME_FPSR"), 8) & ~z3.BitVecVal(FPSR_BITS, 64)
                           == 0]                   # its FPSR has only the bits FPSR keeps
        expect_b = self._full_frame(s1, frame_b)
        _havoc(s1, {"x0", "sp"}, "scheduler")
        s1.set_reg("x0", frame_b)
        s1.set_reg("sp", spx)
        end = self._segment("2. restore B", s1, rt.restore, ret=expect_b["pc"])
        s2 = end.path.state
        found = self._check(s2, self._full_goals(s2, end.target, expect_b, "B's frame"))
        if found:
            return found

        _load_process(s2, b2)
        s2.store(core + c("CORE_FRAME"), frame_b)
        self._take_irq(s2, b2, spx)
        s3 = self._segment("3. save B (IRQ)", s2, rt.save, stop=rt.saved_at).path.state
        _havoc(s3, {"x0", "sp"}, "scheduler2")
        s3.set_reg("x0", frame_a)
        s3.set_reg("sp", spx)
        s3.constraints.append(s3.load(frame_a + c("FRAME_SPSR"), 8) & 0x1F == SPSR_EL1T)
        expect_a = dict(a.regs, pc=a.pc, nzcv=a.nzcv, daif=a.daif, fpcr=a.fpcr, fpsr=a.fpsr,
                        **{f"q{i}": a.q[i] for i in range(32)})
        end = self._segment("4. restore A", s3, rt.restore, ret=a.pc)
        s4 = end.path.state
        return self._check(s4, self._full_goals(s4, end.target, expect_a, "A when interrupted"))

    def _full_frame(self, state: State, frame) -> dict[str, z3.BitVecRef]:
        c = self.const
        load = lambda off, n=8: state.load(frame + off, n)
        out = {f"x{i}": load(c("FRAME_X0") + 8 * i) for i in range(31)}
        out["sp"] = load(c("FRAME_SP"))
        out["pc"] = load(c("FRAME_ELR"))
        spsr = load(c("FRAME_SPSR"))
        out["nzcv"] = z3.Extract(31, 28, spsr)
        out["daif"] = spsr & DAIF_BITS
        out["fpcr"] = z3.Extract(31, 0, load(c("FRAME_FPCR")))
        out["fpsr"] = load(c("FRAME_FPSR"))
        for i in range(32):
            out[f"q{i}"] = load(c("FRAME_Q0") + 16 * i, 16)
        return out

    @staticmethod
    def _full_goals(state: State, target, expect: dict, whose: str) -> list:
        goals = [(f"ERET goes to an address other than the pc of {whose}", target == expect["pc"])]
        goals += [(f"{r} differs from {whose}", state.reg(r) == expect[r])
                  for r in ALL_GPRS + ["sp"]]
        goals.append((f"NZCV differs from {whose}", state.nzcv() == expect["nzcv"]))
        goals.append((f"DAIF differs from {whose}", state.sysreg_value("DAIF") == expect["daif"]))
        goals += [(f"q{i} differs from {whose}", state.reg(f"q{i}") == expect[f"q{i}"])
                  for i in range(32)]
        goals.append((f"FPCR differs from {whose}", state.reg("fpcr") == expect["fpcr"]))
        goals.append((f"FPSR differs from {whose}", _fpsr(state) == expect["fpsr"]))
        return goals

    # -- reporting ------------------------------------------------------------------------------
    def _counterexample(self, sentence: str, model: z3.ModelRef) -> Counterexample:
        ev = lambda e: model.eval(e, model_completion=True).as_long()
        regs = {}
        for r in CALLEE_SAVED + ["x30", "sp"]:
            regs[f"A.{r}"] = ev(z3.BitVec(f"A.{r}", 64))
        for n in ("core", "A.pcb", "B.pcb"):
            regs[n] = ev(z3.BitVec(n, 64))
        rows = []
        for label, end in self.traces:
            for effect in end.path.trace:
                insn = self.program.instruction(effect.addr)
                touched = "; ".join(f"{acc.kind} [0x{ev(acc.addr):x}] = 0x{ev(acc.value):x}"
                                    for acc in effect.accesses)
                rows.append(TraceRow(effect.addr, f"{label}: {self.program.line(effect.addr)}",
                                     insn.text, ", ".join(dict.fromkeys(effect.regs_written)),
                                     touched))
        last = self.traces[-1][1] if self.traces else None
        where = self.program.line(last.addr) if last else ""
        return Counterexample(f"round trip: {sentence} (at {where})", regs, [], rows, where,
                              replay_status="not replayable",
                              replay="a round trip is four runs with the scheduler between "
                                     "them; unicorn replays one function at a time")
