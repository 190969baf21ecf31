"""Ordering classes and barrier kinds decoded from encodings (VEX gives them all one fence)."""

from __future__ import annotations

import subprocess

import pytest

from verify.build import AS, MARCH, OBJCOPY, require_tool
from verify.ordering import access_class, barrier_kind

CASES = {  # instruction: (order, exclusive, rmw, acquire, release) or barrier kind
    "ldr x0, [x1]": ("plain", False, False, False, False),
    "ldar x0, [x1]": ("acquire", False, False, True, False),
    "stlr x0, [x1]": ("release", False, False, False, True),
    "ldxr x0, [x1]": ("plain", True, False, False, False),
    "ldaxr w0, [x1]": ("acquire", True, False, True, False),
    "stxr w2, x0, [x1]": ("plain", True, False, False, False),
    "stlxr w2, x0, [x1]": ("release", True, False, False, True),
    "ldaxp x0, x2, [x1]": ("acquire", True, False, True, False),
    "ldapr x0, [x1]": ("acquire-pc", False, False, True, False),
    "ldapur x0, [x1, #-8]": ("acquire-pc", False, False, True, False),
    "stlur w0, [x1, #4]": ("release", False, False, False, True),
    "ldadd x0, x2, [x1]": ("plain", False, True, False, False),
    "ldaddal x0, x2, [x1]": ("acquire", False, True, True, True),
    "stclrl w0, [x1]": ("release", False, True, False, True),
    "swpa x0, x2, [x1]": ("acquire", False, True, True, False),
    "casal x0, x2, [x1]": ("acquire", False, True, True, True),
    "casl w0, w2, [x1]": ("release", False, True, False, True),
    "dmb ish": "DMB ISH",
    "dmb ishld": "DMB ISHLD",
    "dmb ishst": "DMB ISHST",
    "dsb sy": "DSB SY",
    "dsb nsh": "DSB NSH",
    "isb": "ISB",
}


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    d = tmp_path_factory.mktemp("ordering")
    (d / "insns.s").write_text("".join(f"    {i}\n" for i in CASES))
    subprocess.run([require_tool(AS), MARCH, "-o", str(d / "insns.o"), str(d / "insns.s")],
                   check=True)
    subprocess.run([require_tool(OBJCOPY), "-O", "binary", "-j", ".text", str(d / "insns.o"),
                    str(d / "insns.bin")], check=True)
    data = (d / "insns.bin").read_bytes()
    return {insn: int.from_bytes(data[4 * k:4 * k + 4], "little")
            for k, insn in enumerate(CASES)}


@pytest.mark.parametrize("insn", list(CASES))
def test_decoded_class(words, insn):
    word, want = words[insn], CASES[insn]
    if isinstance(want, str):
        assert barrier_kind(word) == want
        return
    cls = access_class(word)
    assert (cls.order, cls.exclusive, cls.rmw, cls.acquire, cls.release) == want
    assert barrier_kind(word) is None
