"""Integer semantics of the data-processing instructions: pure functions on unsigned
register values of a given width (32 or 64 bits). Registers, addresses and dependencies are
the caller's business (instructions.py); here a value is just a number."""

from __future__ import annotations


def mask(bits: int) -> int:
    return (1 << bits) - 1


def signed(x: int, bits: int) -> int:
    x &= mask(bits)
    return x - (1 << bits) if x >> (bits - 1) else x


def shift(x: int, how: str, n: int, bits: int) -> int:
    """A shifted register operand: LSL, LSR, ASR or ROR by n."""
    x &= mask(bits)
    n %= bits
    if how == "LSL":
        return (x << n) & mask(bits)
    if how == "LSR":
        return x >> n
    if how == "ASR":
        return (signed(x, bits) >> n) & mask(bits)
    if how == "ROR":
        return ((x >> n) | (x << (bits - n))) & mask(bits)
    raise ValueError(how)


def extend(x: int, how: str, n: int, bits: int) -> int:
    """An extended register operand: UXTB..SXTX, then a left shift by n."""
    width = {"B": 8, "H": 16, "W": 32, "X": 64}[how[3]]
    x &= mask(width)
    if how[0] == "S":
        x = signed(x, width)
    return (x << n) & mask(bits)


def _sdiv(a, b, bits):
    if b == 0:
        return 0
    a, b = signed(a, bits), signed(b, bits)
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


# Rd = f(Rn, Rm): the operands are already masked to the width, the result is masked after.
BINARY = {
    "ADD": lambda a, b, bits: a + b,
    "SUB": lambda a, b, bits: a - b,
    "AND": lambda a, b, bits: a & b,
    "ORR": lambda a, b, bits: a | b,
    "EOR": lambda a, b, bits: a ^ b,
    "BIC": lambda a, b, bits: a & ~b,
    "ORN": lambda a, b, bits: a | ~b,
    "EON": lambda a, b, bits: a ^ ~b,
    "UDIV": lambda a, b, bits: a // b if b else 0,
    "SDIV": _sdiv,
    "LSLV": lambda a, b, bits: shift(a, "LSL", b, bits),
    "LSRV": lambda a, b, bits: shift(a, "LSR", b, bits),
    "ASRV": lambda a, b, bits: shift(a, "ASR", b, bits),
    "RORV": lambda a, b, bits: shift(a, "ROR", b, bits),
}

# The flag-setting forms and the operation whose flags they set.
SETS_FLAGS = {"ADDS": "ADD", "SUBS": "SUB", "ANDS": "AND", "BICS": "BIC"}


def nzcv(op: str, a: int, b: int, bits: int) -> tuple[bool, bool, bool, bool]:
    """The flags ADDS/SUBS/ANDS/BICS set for operands a and b."""
    m = mask(bits)
    a, b = a & m, b & m
    r = BINARY[op](a, b, bits) & m
    if op in ("ADD", "SUB"):
        y = b if op == "ADD" else (~b & m)
        carry_in = 0 if op == "ADD" else 1
        c = a + y + carry_in > m
        sa, sy, sr = a >> (bits - 1), y >> (bits - 1), r >> (bits - 1)
        v = sa == sy and sr != sa
    else:
        c = v = False
    return (bool(r >> (bits - 1)), r == 0, c, v)


def _reverse_bytes(x: int, chunk_bits: int, bits: int) -> int:
    out = 0
    for base in range(0, bits, chunk_bits):
        part = (x >> base) & mask(chunk_bits)
        rev = int.from_bytes(part.to_bytes(chunk_bits // 8, "little"), "big")
        out |= rev << base
    return out


def _rbit(x: int, bits: int) -> int:
    return int(format(x & mask(bits), f"0{bits}b")[::-1], 2)


def _clz(x: int, bits: int) -> int:
    return bits - (x & mask(bits)).bit_length()


# Rd = f(Rn) for a source already masked to the width.
UNARY = {
    "ABS": lambda x, bits: abs(signed(x, bits)),
    "RBIT": _rbit,
    "REV": lambda x, bits: _reverse_bytes(x, bits, bits),
    "REV64": lambda x, bits: _reverse_bytes(x, 64, bits),
    "REV32": lambda x, bits: _reverse_bytes(x, 32, bits),
    "REV16": lambda x, bits: _reverse_bytes(x, 16, bits),
    "CLZ": _clz,
}

# SXTB Rd, Wn and friends: a sign or zero extension of the source's low bits.
EXTENDS = {"SXTB": (8, True), "SXTH": (16, True), "SXTW": (32, True),
           "UXTB": (8, False), "UXTH": (16, False)}


def bitfield(op: str, dest: int, src: int, immr: int, imms: int, bits: int) -> int:
    """UBFM, SBFM and BFM: take a field of src and place it, zero- or sign-extended, or
    inserted into dest."""
    if imms >= immr:                 # extract bits immr..imms to the bottom
        width, at = imms - immr + 1, 0
        field = (src >> immr) & mask(width)
    else:                            # bits 0..imms to position bits-immr
        width, at = imms + 1, bits - immr
        field = src & mask(width)
    placed = field << at
    if op == "BFM":
        keep = mask(bits) & ~(mask(width) << at)
        return (dest & keep) | placed
    if op == "SBFM" and field >> (width - 1):
        placed |= mask(bits) & ~mask(at + width)
    return placed & mask(bits)


def bitfield_alias(op: str, lsb: int, width: int, bits: int) -> tuple[str, int, int]:
    """UBFX, SBFX, UBFIZ, SBFIZ, BFI, BFXIL as (UBFM|SBFM|BFM, immr, imms)."""
    if op in ("UBFX", "SBFX", "BFXIL"):
        base = {"UBFX": "UBFM", "SBFX": "SBFM", "BFXIL": "BFM"}[op]
        return base, lsb, lsb + width - 1
    base = {"UBFIZ": "UBFM", "SBFIZ": "SBFM", "BFI": "BFM"}[op]
    return base, (-lsb) % bits, width - 1


def multiply(op: str, n: int, m: int, a: int, bits: int) -> int:
    """MADD/MSUB (a +/- n*m at the width) and the long forms SMADDL/UMADDL/SMSUBL/UMSUBL,
    whose n and m are 32-bit, signed or unsigned."""
    if op.endswith("L"):
        sign = op[0] == "S"
        n = signed(n, 32) if sign else n & mask(32)
        m = signed(m, 32) if sign else m & mask(32)
    product = n * m
    return (a + product if "ADD" in op else a - product) & mask(bits)


# The multiplies without an accumulator are aliases with the zero register as one.
MULTIPLY_ALIASES = {"MUL": "MADD", "MNEG": "MSUB", "SMULL": "SMADDL", "UMULL": "UMADDL",
                    "SMNEGL": "SMSUBL", "UMNEGL": "UMSUBL"}
MULTIPLIES = {"MADD", "MSUB", "SMADDL", "UMADDL", "SMSUBL", "UMSUBL"}

SHIFTS = {"LSL", "LSR", "ASR", "ROR"}      # by an immediate or a register
BITFIELDS = {"UBFM", "SBFM", "BFM", "UBFX", "SBFX", "UBFIZ", "SBFIZ", "BFI", "BFXIL"}
