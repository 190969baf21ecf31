"""herd's AArch64 `.litmus` format: the header, the initial state, the thread columns, the
`locations` and `filter` lines and the final condition.

Only the structure is parsed here; instructions stay text, decoded by the model. Errors name
the file, the line and what was expected (LitmusError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


class LitmusError(Exception):
    """Malformed input: `path:line: message`."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")

    def __reduce__(self):            # pickled with an outcome (the harness cache)
        return type(self), (self.path, self.line, self.message)


class NotModelled(LitmusError):
    """Well-formed input that needs a part of Arm's model this checker does not implement
    (one of herd's variants): rejected, with the reason."""


# herd's variants: the ones this checker implements, and why the others are left out.
VARIANTS_MODELLED = {"fatal", "nv2", "telechat", "mixed"}
VARIANTS_NOT_MODELLED = {
    "vmsa": "virtual memory (page tables and TLB maintenance, herd's vmsa variant)",
    "ifetch": "instruction fetch and self-modifying code (herd's ifetch variant)",
    "self": "instruction fetch and self-modifying code (herd's ifetch variant)",
    "memtag": "memory tagging (MTE, herd's memtag variant)",
    "morello": "Morello capabilities (CHERI, herd's morello variant)",
}


MIXED = ("mixed-size accesses are not modelled without herd's mixed variant (a `Variant=mixed` "
         "line, or `--variant mixed`)")


def variants(test: "Litmus") -> set[str]:
    """The herd variants a test's `Variant=` (or `variant=`) line names, in lower case, with
    those given from outside (herd's `-variant` option, a cfg file's `variant` line)."""
    line = next((v for k, v in test.meta.items() if k.lower() == "variant"), "")
    return {w.lower() for w in re.split(r"[,\s]+", line.strip()) if w} | test.extra_variants


def check_variants(test: "Litmus") -> None:
    """Reject a test whose `Variant=` line asks for a part of the model we do not have."""
    for name in sorted(variants(test) - VARIANTS_MODELLED):
        reason = VARIANTS_NOT_MODELLED.get(name, f"herd's {name} variant")
        raise NotModelled(test.path, None, f"Variant={name}: not modelled: {reason}")


@dataclass(frozen=True)
class Init:
    """One entry of the initial state: `[type] lhs [= value]`. lhs is `T:REG` or a location;
    value is a number, a location's name (its address) or absent (zero)."""
    lhs: str
    value: str | None
    type: str | None
    line: int


@dataclass(frozen=True)
class Atom:
    """`lhs = value` (or `<>`, `!=`) in a condition: lhs is `T:REG`, a location, `[loc]` or
    `loc[i]`; value a number, a location (its address), `{a,b}` or `label:"P0:L0"`."""
    lhs: str
    value: str
    op: str = "="


@dataclass(frozen=True)
class Fault:
    """`fault(P0:L0, x)` or `Fault(P0:L0, Kind)`: a fault at a label."""
    where: str
    what: str | None
    negated: bool = False


@dataclass(frozen=True)
class Not:
    arg: "Prop"


@dataclass(frozen=True)
class And:
    args: tuple["Prop", ...]


@dataclass(frozen=True)
class Or:
    args: tuple["Prop", ...]


@dataclass(frozen=True)
class Implies:
    left: "Prop"
    right: "Prop"


@dataclass(frozen=True)
class Const:
    value: bool


Prop = Atom | Fault | Not | And | Or | Implies | Const


@dataclass(frozen=True)
class Condition:
    quantifier: str          # "exists", "~exists" or "forall"
    prop: Prop
    text: str                # as written, whitespace collapsed (herd's Condition line)


@dataclass
class Litmus:
    path: str
    name: str
    doc: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    init: list[Init] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)              # P0, P1...
    code: list[list[tuple[int, str]]] = field(default_factory=list)  # per thread (line, text)
    locations: list[str] = field(default_factory=list)
    filter: Prop | None = None
    condition: Condition | None = None
    extra_variants: set[str] = field(default_factory=set)   # from herd options, not the file
    # Set for a harness of shipped code (verify/harness): where each (thread, line) came
    # from in asm/, and its mode: await loops reduced (threads.py), interrupt masking taken
    # as outside the model (instructions.py). Neither is herd's semantics.
    sources: dict[tuple[int, int], str] = field(default_factory=dict)
    harness: bool = False
    # A harness's blocks (a per-core block, a PCB): name -> bytes. Each field an access
    # touches is a location of its own, `name+offset`, with its initial value in
    # block_init; accesses to a block must never overlap without coinciding (model.py).
    blocks: dict[str, int] = field(default_factory=dict)
    block_init: dict[str, object] = field(default_factory=dict)
    # A harness's condition over each allowed execution (verify/harness/spec.py: Harness)
    execution_check: object = None


_COMMENT = re.compile(r"\(\*.*?\*\)", re.S)
_THREAD = re.compile(r"P\d+$")
_QUANTIFIERS = ("~exists", "exists", "forall")


def parse_file(path: Path | str) -> Litmus:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LitmusError(str(path), None, f"cannot be read: {exc}") from exc
    return parse(text, str(path))


def parse(text: str, path: str = "<litmus>") -> Litmus:
    # Comments become spaces, newlines kept, so that line numbers stay right.
    text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    lines = text.split("\n")
    n = _skip_blank(lines, 0)
    if n >= len(lines):
        raise LitmusError(path, None, "empty file: expected `AArch64 NAME` on the first line")
    head = lines[n].split()
    if len(head) < 2:
        raise LitmusError(path, n + 1, "expected `AArch64 NAME` (the architecture, then the "
                                       "test's name)")
    if head[0] != "AArch64":
        raise LitmusError(path, n + 1, f"architecture `{head[0]}` is not supported: expected "
                                       f"`AArch64`")
    test = Litmus(path, head[1])
    n = _header(lines, n + 1, test)
    n = _init(lines, n, test)
    n = _program(lines, n, test)
    _final(lines, n, test)
    return test


def _skip_blank(lines: list[str], n: int) -> int:
    while n < len(lines) and not lines[n].strip():
        n += 1
    return n


def _header(lines, n, test: Litmus) -> int:
    """Doc string and `key=value` lines, up to the `{` of the initial state."""
    while n < len(lines):
        line = lines[n].strip()
        if line.startswith("{"):
            return n
        if line.startswith('"'):
            test.doc = line.strip('"')
        elif "=" in line:
            key, value = line.split("=", 1)
            test.meta[key.strip()] = value.strip()
        # herd ignores any other header line, and so do we
        n += 1
    raise LitmusError(test.path, None, "no initial state: expected `{ ... }` after the header")


def _init(lines, n, test: Litmus) -> int:
    start = n
    depth, item, item_line, close = 0, "", n, None
    for i in range(n, len(lines)):
        for j, ch in enumerate(lines[i]):
            if i == start and j <= lines[i].index("{"):
                continue              # up to and with the opening brace
            if ch == "{":
                depth += 1            # an array value: `int x[2] = {1, 2}`
            elif ch == "}" and depth:
                depth -= 1
            elif ch == "}":
                close = i
                break
            elif ch == ";" and not depth:
                if item.strip():
                    test.init.append(_init_item(item.strip(), test.path, item_line + 1))
                item = ""
                continue
            if not item.strip():
                item_line = i
            item += ch
        if close is not None:
            break
        item += " "
    if close is None:
        raise LitmusError(test.path, start + 1, "the initial state is not closed: expected `}`")
    if item.strip():
        test.init.append(_init_item(item.strip(), test.path, item_line + 1))
    return close + 1


_TYPED = re.compile(r"^(?:(?P<type>[A-Za-z_]\w*(?:\s*\*)?)\s*(?=[*\s]))?\s*"
                    r"(?P<lhs>\*?[^=\s][^=]*?)\s*(?:=\s*(?P<value>.+))?$", re.S)


def _init_item(item: str, path: str, line: int) -> Init:
    m = _TYPED.match(item)
    if not m:
        raise LitmusError(path, line, f"expected `[type] location = value` or "
                                      f"`[type] T:REG = value` in the initial state, found "
                                      f"`{item}`")
    lhs = re.sub(r"\s+", "", m.group("lhs"))
    value = m.group("value")
    kind = m.group("type")
    if kind and lhs.startswith("*"):          # `int *p`: the star belongs to the type
        kind, lhs = f"{kind.rstrip(' *')} *", lhs[1:]
    elif kind:
        kind = re.sub(r"\s*\*$", " *", kind)
    # `int x` would match as type `int`, lhs `x`; but `0:X1` alone is a bare register.
    if kind is not None and re.fullmatch(r"\d+", kind):
        raise LitmusError(path, line, f"expected a location or `T:REG`, found `{item}`")
    return Init(lhs, value.strip() if value else None, kind, line)


def _program(lines, n, test: Litmus) -> int:
    n = _skip_blank(lines, n)
    if n >= len(lines):
        raise LitmusError(test.path, None, "no program: expected the thread header "
                                           "`P0 | P1 ... ;`")
    names = _columns(lines[n])
    if not names or not all(_THREAD.match(x) for x in names):
        raise LitmusError(test.path, n + 1, f"expected the thread header `P0 | P1 ... ;`, "
                                            f"found `{lines[n].strip()}`")
    if names != [f"P{i}" for i in range(len(names))]:
        raise LitmusError(test.path, n + 1, f"threads must be P0, P1, ... in order, found "
                                            f"{' '.join(names)}")
    test.threads = names
    test.code = [[] for _ in names]
    n += 1
    while n < len(lines):
        stripped = lines[n].strip()
        if _final_start(stripped):
            return n
        if stripped:
            cells = _columns(lines[n])
            if len(cells) > len(names):
                raise LitmusError(test.path, n + 1, f"{len(cells)} columns, but the header "
                                                    f"names {len(names)} threads")
            for t, cell in enumerate(cells):
                if cell:
                    test.code[t].append((n + 1, cell))
        n += 1
    return n      # no final condition: herd reads it as `forall (true)`


def _columns(line: str) -> list[str]:
    line = line.strip()
    if line.endswith(";"):
        line = line[:-1]
    return [cell.strip() for cell in line.split("|")]


def _final_start(line: str) -> bool:
    word = re.match(r"[~\w]+", line)
    return bool(word) and word.group() in _QUANTIFIERS + ("locations", "filter")


def _final(lines, n, test: Litmus) -> None:
    rest = "\n".join(lines[n:])
    pos = 0
    line_of = lambda p: n + 1 + rest.count("\n", 0, p)
    while True:
        m = re.compile(r"\s*").match(rest, pos)
        pos = m.end()
        if rest.startswith("locations", pos):
            m = re.compile(r"locations\s*\[((?:[^\[\]]|\[[^\]]*\])*)\]").match(rest, pos)
            if not m:
                raise LitmusError(test.path, line_of(pos), "expected `locations [a; 0:X1; ...]`")
            # an entry may carry a type after the name (`0:X2 ins_t`): only display uses it
            test.locations = [re.sub(r"\s+\w+_t\*?$", "", x.strip())
                              for x in m.group(1).split(";") if x.strip()]
            pos = m.end()
        elif rest.startswith("filter", pos):
            parser = _PropParser(rest, pos + len("filter"), test.path, line_of)
            test.filter = parser.prop()
            pos = parser.pos
        else:
            break
    if pos >= len(rest):
        test.condition = Condition("forall", Const(True), "forall (true)")
        return
    m = re.compile(r"(~exists|exists|forall)").match(rest, pos)
    if not m:
        raise LitmusError(test.path, line_of(pos), f"expected `exists`, `~exists` or `forall`, "
                                                   f"found `{rest[pos:].split()[0]}`")
    parser = _PropParser(rest, m.end(), test.path, line_of)
    prop = parser.prop()
    parser._take(";")
    parser.skip()
    if parser.pos < len(rest):
        word = rest[parser.pos:].split()[0]
        raise LitmusError(test.path, line_of(parser.pos),
                          f"unexpected `{word}` after the final condition")
    body = " ".join(rest[m.end():parser.pos].split())
    test.condition = Condition(m.group(1), prop, f"{m.group(1)} {body}")


class _PropParser:
    """Recursive descent: or := and (`\\/` and)*; and := unary (`/\\` unary)*;
    unary := (`~` | `not`) unary | `(` or `)` | `true` | `false` | fault | atom."""

    ATOM = re.compile(r"(\[\s*[\w.]+\s*\]|\d+\s*:\s*\w+|[A-Za-z_][\w.]*(?:\[\d+\])?)"
                      r"\s*(=|<>|!=)\s*(-?(?:0x[0-9a-fA-F]+|\d+)|\{[^}]*\}"
                      r"|(?:label|instr):\"[^\"]*\"|&?[A-Za-z_][\w:]*)")
    FAULT = re.compile(r"(fault|Fault)\s*\(\s*([\w:]+)\s*(?:,\s*([\w:]+|\"[^\"]*\")\s*)?\)")

    def __init__(self, text, pos, path, line_of):
        self.text, self.pos, self.path, self.line_of = text, pos, path, line_of

    def skip(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _take(self, token: str) -> bool:
        self.skip()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def _error(self, expected: str):
        self.skip()
        found = self.text[self.pos:].split("\n")[0].strip() or "the end of the file"
        raise LitmusError(self.path, self.line_of(self.pos), f"expected {expected}, found "
                                                              f"`{found}`")

    def prop(self):
        left = self._or()
        if self._take("=>"):
            return Implies(left, self.prop())
        return left

    def _or(self):
        args = [self._and()]
        while self._take("\\/"):
            args.append(self._and())
        return args[0] if len(args) == 1 else Or(tuple(args))

    def _and(self):
        args = [self._unary()]
        while self._take("/\\"):
            args.append(self._unary())
        return args[0] if len(args) == 1 else And(tuple(args))

    def _unary(self):
        self.skip()
        if self._take("~"):
            return Not(self._unary())
        if re.compile(r"not\b").match(self.text, self.pos):
            self.pos += 3
            return Not(self._unary())
        if self._take("("):
            inner = self.prop()
            if not self._take(")"):
                self._error("`)`")
            return inner
        for word, value in (("true", True), ("false", False)):
            if re.compile(word + r"\b").match(self.text, self.pos):
                self.pos += len(word)
                return Const(value)
        m = self.FAULT.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return Fault(m.group(2), m.group(3))
        m = self.ATOM.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            value = m.group(3) if '"' in m.group(3) else re.sub(r"\s+", "", m.group(3))
            return Atom(re.sub(r"\s+", "", m.group(1)), value,
                        "=" if m.group(2) == "=" else "<>")
        self._error("a condition: `T:REG=value`, `location=value`, `~`, `(` or `true`")
