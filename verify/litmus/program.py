"""A thread's code: its instructions and labels, and code as values (code addresses, and
the instruction a load from code returns)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .parse import Litmus, LitmusError


class Program:
    """Thread tid's instructions (line, text) and its labels (name -> index)."""

    def __init__(self, test: Litmus, tid: int):
        self.test, self.tid = test, tid
        self.code = test.code[tid]
        self.labels = {}
        self.insns = []
        for line, text in self.code:
            m = re.match(r"^([\w.]+):\s*(.*)$", text)
            if m and not re.match(r"^[A-Z0-9]+\s", text):
                self.labels[m.group(1)] = len(self.insns)
                text = m.group(2).strip()
                if not text:
                    continue
            self.insns.append((line, text))


def operands(text: str) -> tuple[str, list[str]]:
    parts = text.split(None, 1)
    op = parts[0].upper()
    args = []
    if len(parts) > 1:
        depth, cur = 0, ""
        for ch in parts[1]:
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            if ch == "," and depth == 0:
                args.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if cur.strip():
            args.append(cur.strip())
    return op, args


@dataclass(frozen=True)
class Code:
    """The address of an instruction: thread tid's instruction number index."""
    tid: int
    index: int


@dataclass(frozen=True)
class Instr:
    """An instruction as a value (what a load from code returns): herd's canonical text,
    with branch targets as byte offsets (`B .+4`)."""
    text: str

    def __str__(self):
        return f'instr:"{self.text}"'


BRANCHES = {"B", "BL", "CBZ", "CBNZ", "TBZ", "TBNZ", "ADR"}


def instruction(text: str, here: int | None = None, labels: dict | None = None) -> Instr:
    """The value of an instruction, written `instr:"..."` in a test or found at index
    `here` of a thread whose labels are given."""
    op, args = operands(text.strip())
    if (op in BRANCHES or op.startswith("B.")) and args and labels and args[-1] in labels:
        offset = 4 * (labels[args[-1]] - here)
        args[-1] = f".{'+' if offset >= 0 else '-'}{abs(offset)}"
    return Instr(op + (" " + ",".join(a.replace(" ", "") for a in args) if args else ""))


def code_location(code: Code) -> str:
    """The memory location holding the instruction at a code address."""
    return f"P{code.tid}.{code.index}"


def initial_value(test: Litmus, loc: str):
    """What a location holds before any write: its instruction, for code; else 0."""
    m = re.fullmatch(r"P(\d+)\.(\d+)", loc)
    if not m:
        return 0
    th = Program(test, int(m.group(1)))
    index = int(m.group(2))
    if index >= len(th.insns):
        return 0
    line, text = th.insns[index]
    op, args = operands(text)
    if op == "ADR" and args and args[-1].strip().startswith("."):
        raise LitmusError(test.path, line, f"`{text}` is read as a value, and its target is "
                                           f"an offset: give the target a label (as herd asks)")
    return instruction(text, index, th.labels)


def code_label(test: Litmus, code: Code) -> str:
    """herd's name for a code address: `P0:L0` for a labelled instruction."""
    names = [name for name, i in Program(test, code.tid).labels.items() if i == code.index]
    return f"P{code.tid}:{names[0]}" if names else f"P{code.tid}:+{code.index}"


def label_address(test: Litmus, text: str) -> Code | None:
    """`P1:L0` as the address of that instruction, or None if text is not such a name."""
    m = re.fullmatch(r'(?:label:")?P?(\d+):([\w.]+)"?', text.strip())
    if not m or int(m.group(1)) >= len(test.code):
        return None
    labels = Program(test, int(m.group(1))).labels
    return Code(int(m.group(1)), labels[m.group(2)]) if m.group(2) in labels else None
