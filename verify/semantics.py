"""VEX IR to Z3: the data-flow meaning of one lifted instruction.

Every VEX operation the verifier trusts is defined here, over Z3 bit-vectors. An operation
or statement that is not defined raises `Unmodelled`; the caller turns that into an UNKNOWN
verdict naming the instruction, never into a silent no-op.

Value types: every VEX type is a bit-vector of its width (Ity_I1 is a 1-bit vector, the
float and vector types are their raw bits, since the runtime only moves them).
"""

from __future__ import annotations

import re
from typing import Callable

import pyvex
import z3


class Unmodelled(Exception):
    """The verifier has no trusted meaning for this piece of VEX IR."""


TYPE_BITS = {
    "Ity_I1": 1, "Ity_I8": 8, "Ity_I16": 16, "Ity_I32": 32, "Ity_I64": 64, "Ity_I128": 128,
    "Ity_F16": 16, "Ity_F32": 32, "Ity_F64": 64, "Ity_D64": 64, "Ity_V128": 128,
    "Ity_V256": 256,
}


def type_bits(ty: str) -> int:
    if ty not in TYPE_BITS:
        raise Unmodelled(f"VEX type {ty}")
    return TYPE_BITS[ty]


def const_value(c: pyvex.const.IRConst) -> z3.BitVecRef:
    bits = type_bits(c.type)
    if c.type == "Ity_V128":
        # A V128 constant is a 16-bit mask: bit i set means byte i is 0xff.
        value = sum(0xFF << (8 * i) for i in range(16) if (c.value >> i) & 1)
        return z3.BitVecVal(value, 128)
    if c.type in ("Ity_F32", "Ity_F64"):
        raise Unmodelled(f"floating-point constant {c}")
    return z3.BitVecVal(c.value, bits)


def _bool(bv1: z3.BitVecRef) -> z3.BoolRef:
    return bv1 == z3.BitVecVal(1, 1)


def _bit(b: z3.BoolRef) -> z3.BitVecRef:
    return z3.If(b, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1))


def _resize(v: z3.BitVecRef, bits: int, signed: bool = False) -> z3.BitVecRef:
    width = v.size()
    if bits == width:
        return v
    if bits < width:
        return z3.Extract(bits - 1, 0, v)
    return (z3.SignExt if signed else z3.ZeroExt)(bits - width, v)


def _arm_udiv(a, b):
    # AArch64 UDIV/SDIV give 0 for a zero divisor; Z3's bvudiv would give all-ones.
    return z3.If(b == 0, z3.BitVecVal(0, a.size()), z3.UDiv(a, b))


def _arm_sdiv(a, b):
    return z3.If(b == 0, z3.BitVecVal(0, a.size()), a / b)


def _shift(fn):
    def apply(a, n):
        return fn(a, _resize(n, a.size()))
    return apply


BINOPS: dict[str, Callable[[z3.BitVecRef, z3.BitVecRef], z3.BitVecRef]] = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "And": lambda a, b: a & b,
    "Or": lambda a, b: a | b,
    "Xor": lambda a, b: a ^ b,
    "Shl": _shift(lambda a, n: a << n),
    "Shr": _shift(z3.LShR),
    "Sar": _shift(lambda a, n: a >> n),
    "DivU": _arm_udiv,
    "DivS": _arm_sdiv,
    "CmpEQ": lambda a, b: _bit(a == b),
    "CmpNE": lambda a, b: _bit(a != b),
    "CasCmpEQ": lambda a, b: _bit(a == b),
    "CasCmpNE": lambda a, b: _bit(a != b),
    "ExpCmpNE": lambda a, b: _bit(a != b),
    "CmpLTS": lambda a, b: _bit(a < b),
    "CmpLTU": lambda a, b: _bit(z3.ULT(a, b)),
    "CmpLES": lambda a, b: _bit(a <= b),
    "CmpLEU": lambda a, b: _bit(z3.ULE(a, b)),
}

_SIZED_BINOP = re.compile(r"Iop_(Add|Sub|Mul|And|Or|Xor|Shl|Shr|Sar|DivU|DivS|CmpEQ|CmpNE|"
                          r"CasCmpEQ|CasCmpNE|ExpCmpNE|CmpLT|CmpLE)(8|16|32|64)(S|U)?$")
_MULL = re.compile(r"Iop_Mull(S|U)(8|16|32|64)$")
_WIDEN = re.compile(r"Iop_(1|8|16|32|64)(U|S)to(8|16|32|64|128)$")
_NARROW = re.compile(r"Iop_(8|16|32|64|128)to(1|8|16|32|64)$")
_HI = re.compile(r"Iop_(16|32|64|128)HIto(8|16|32|64)$")
_HL = re.compile(r"Iop_(8|16|32|64)HLto(16|32|64|128)$")
_NOT = re.compile(r"Iop_Not(1|8|16|32|64|128)$")
_CLZ = re.compile(r"Iop_Clz(32|64)$")
_CMPNEZ = re.compile(r"Iop_CmpNEZ(8|16|32|64)$")
_REV8 = re.compile(r"Iop_Reverse8sIn(16|32|64)_x1$")
_REV1 = re.compile(r"Iop_Reverse1sIn(8|16|32|64)_x1$")
# Reinterpretations between equally wide integer and float/vector types move raw bits.
_REINTERPRET = {"Iop_ReinterpI64asF64", "Iop_ReinterpF64asI64", "Iop_ReinterpI32asF32",
                "Iop_ReinterpF32asI32", "Iop_V128to64", "Iop_V128HIto64", "Iop_64HLtoV128",
                "Iop_64UtoV128", "Iop_32UtoV128"}


def _reverse_bytes(v: z3.BitVecRef) -> z3.BitVecRef:
    parts = [z3.Extract(8 * i + 7, 8 * i, v) for i in range(v.size() // 8)]
    return z3.Concat(*parts) if len(parts) > 1 else parts[0]


def _reverse_bits(v: z3.BitVecRef) -> z3.BitVecRef:
    parts = [z3.Extract(i, i, v) for i in range(v.size())]
    return z3.Concat(*parts)


def _clz(v: z3.BitVecRef) -> z3.BitVecRef:
    width = v.size()
    result = z3.BitVecVal(width, width)
    for i in range(width):  # the highest set bit wins: build from the lowest up
        result = z3.If(z3.Extract(i, i, v) == 1, z3.BitVecVal(width - 1 - i, width), result)
    return result


def unop(op: str, a: z3.BitVecRef) -> z3.BitVecRef:
    if m := _WIDEN.match(op):
        return _resize(a, int(m[3]), signed=m[2] == "S")
    if m := _NARROW.match(op):
        return z3.Extract(int(m[2]) - 1, 0, a)
    if m := _HI.match(op):
        half = int(m[2])
        return z3.Extract(2 * half - 1, half, a)
    if _NOT.match(op):
        return ~a
    if _CLZ.match(op):
        return _clz(a)
    if _CMPNEZ.match(op):
        return _bit(a != 0)
    if _REV8.match(op):
        return _reverse_bytes(a)
    if _REV1.match(op):
        return _reverse_bits(a)
    if op in _REINTERPRET:
        if op == "Iop_V128to64":
            return z3.Extract(63, 0, a)
        if op == "Iop_V128HIto64":
            return z3.Extract(127, 64, a)
        if op in ("Iop_64UtoV128", "Iop_32UtoV128"):
            return z3.ZeroExt(128 - a.size(), a)
        return a
    raise Unmodelled(f"VEX operation {op}")


def binop(op: str, a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BitVecRef:
    if m := _SIZED_BINOP.match(op):
        name = m[1] + (m[3] or "")
        if name in BINOPS:
            return BINOPS[name](a, b)
    if m := _MULL.match(op):
        bits = int(m[2])
        signed = m[1] == "S"
        return _resize(a, 2 * bits, signed) * _resize(b, 2 * bits, signed)
    if m := _HL.match(op):
        return z3.Concat(a, b)
    if op == "Iop_64HLtoV128":
        return z3.Concat(a, b)
    raise Unmodelled(f"VEX operation {op}")


# ---------------------------------------------------------------------------------------
# AArch64 condition flags. VEX keeps NZCV as a thunk (cc_op, dep1, dep2, ndep) and computes
# it through helper calls; these are their meanings, from the Arm ARM's definitions of
# AddWithCarry and the condition codes. The op numbers are VEX's ARM64G_CC_OP_* values.
CC_COPY, CC_ADD32, CC_ADD64, CC_SUB32, CC_SUB64 = 0, 1, 2, 3, 4
CC_ADC32, CC_ADC64, CC_SBC32, CC_SBC64, CC_LOGIC32, CC_LOGIC64 = 5, 6, 7, 8, 9, 10
CC_OPS = range(11)


def _flags_for(op: int, dep1, dep2, ndep):
    """(N, Z, C, V) as Z3 booleans for one concrete thunk op."""
    if op == CC_COPY:
        return (z3.Extract(31, 31, dep1) == 1, z3.Extract(30, 30, dep1) == 1,
                z3.Extract(29, 29, dep1) == 1, z3.Extract(28, 28, dep1) == 1)
    bits = 32 if op in (CC_ADD32, CC_SUB32, CC_ADC32, CC_SBC32, CC_LOGIC32) else 64
    a, b = _resize(dep1, bits), _resize(dep2, bits)
    zero = z3.BitVecVal(0, bits)
    if op in (CC_LOGIC32, CC_LOGIC64):
        return a < zero, a == zero, z3.BoolVal(False), z3.BoolVal(False)
    carry_in = z3.Extract(0, 0, ndep) == 1
    if op in (CC_ADD32, CC_ADD64):
        return _add_with_carry(a, b, z3.BoolVal(False))
    if op in (CC_ADC32, CC_ADC64):
        return _add_with_carry(a, b, carry_in)
    if op in (CC_SUB32, CC_SUB64):  # SUB is a + NOT(b) + 1
        return _add_with_carry(a, ~b, z3.BoolVal(True))
    return _add_with_carry(a, ~b, carry_in)  # SBC


def _add_with_carry(a, b, carry_in):
    """The Arm ARM's AddWithCarry: (N, Z, C, V) of a + b + carry_in."""
    bits = a.size()
    cin = z3.If(carry_in, z3.BitVecVal(1, bits + 1), z3.BitVecVal(0, bits + 1))
    wide = z3.ZeroExt(1, a) + z3.ZeroExt(1, b) + cin
    res = z3.Extract(bits - 1, 0, wide)
    zero = z3.BitVecVal(0, bits)
    overflow = ((a ^ res) & (b ^ res)) < zero  # both operands' sign differs from the result's
    return res < zero, res == zero, z3.Extract(bits, bits, wide) == 1, overflow


def _over_ops(op_value, fn):
    """Apply fn(op:int) for a concrete op, or an If-chain over all ops for a symbolic one."""
    op_value = z3.simplify(op_value)
    if z3.is_bv_value(op_value):
        op = op_value.as_long()
        if op not in CC_OPS:
            raise Unmodelled(f"flags thunk with unknown op {op}")
        return fn(op)
    result = fn(CC_COPY)
    for op in CC_OPS[1:]:
        result = z3.If(op_value == op, fn(op), result)
    return result


def _condition(cond: int, n, z, c, v) -> z3.BoolRef:
    base = cond >> 1
    holds = [z, c, n, v, z3.And(c, z3.Not(z)), n == v, z3.And(z3.Not(z), n == v),
             z3.BoolVal(True)][base]
    if cond & 1 and cond != 15:
        holds = z3.Not(holds)
    return holds


def _ccall_condition(cond_n_op, dep1, dep2, ndep):
    cond = z3.simplify(z3.Extract(7, 4, cond_n_op))
    if not z3.is_bv_value(cond):
        raise Unmodelled("condition code that is not a constant")
    op = z3.ZeroExt(60, z3.Extract(3, 0, cond_n_op))
    flags = lambda o: _bit(_condition(cond.as_long(), *_flags_for(o, dep1, dep2, ndep)))
    return z3.ZeroExt(63, _over_ops(op, flags))


def nzcv_word(op, dep1, dep2, ndep):
    def word(o):
        n, z, c, v = _flags_for(o, dep1, dep2, ndep)
        return z3.Concat(z3.BitVecVal(0, 32), _bit(n), _bit(z), _bit(c), _bit(v),
                         z3.BitVecVal(0, 28))
    return _over_ops(op, word)


def _one_flag(index: int):
    def calc(op, dep1, dep2, ndep):
        return z3.ZeroExt(63, _over_ops(op, lambda o: _bit(_flags_for(o, dep1, dep2, ndep)[index])))
    return calc


CCALLS = {
    "arm64g_calculate_condition": _ccall_condition,
    "arm64g_calculate_flags_nzcv": nzcv_word,
    "arm64g_calculate_flag_n": _one_flag(0),
    "arm64g_calculate_flag_z": _one_flag(1),
    "arm64g_calculate_flag_c": _one_flag(2),
    "arm64g_calculate_flag_v": _one_flag(3),
}


def ccall(name: str, args: list[z3.BitVecRef]) -> z3.BitVecRef:
    if name not in CCALLS:
        raise Unmodelled(f"VEX helper call {name}")
    return CCALLS[name](*args)
