"""The verified image boots on QEMU virt: every core reports, then the machine powers off."""

from __future__ import annotations

import re

import pytest

from verify.build import IMAGE_MAGIC, IMAGE_MAGIC_OFFSET
from verify.qemu import boot

CORE_LINE = re.compile(r"^actly: core (\d) up mpidr=0x([0-9a-f]{16}) midr=0x([0-9a-f]{16}) "
                       r"el=1$", re.M)


def test_image_has_arm64_header(verified_image):
    head = verified_image.read_bytes()[:64]
    assert head[IMAGE_MAGIC_OFFSET:IMAGE_MAGIC_OFFSET + 4] == IMAGE_MAGIC


@pytest.mark.parametrize("cores,el2", [(1, False), (4, False), (4, True)])
def test_all_cores_report_and_machine_powers_off(verified_image, cores, el2):
    result = boot(verified_image, cores=cores, timeout=60, el2=el2)
    assert result.powered_off, f"no clean power-off:\n{result.output}"
    reported = {int(m[1]): int(m[2], 16) for m in CORE_LINE.finditer(result.output)}
    assert sorted(reported) == list(range(cores)), result.output
    for core, mpidr in reported.items():
        assert mpidr & 0xFF == core  # Aff0 names the core on virt
    assert len(CORE_LINE.findall(result.output)) == cores  # each exactly once
    assert f"actly: rendezvous {cores} of {cores} cores" in result.output
    assert result.output.rstrip().endswith("actly: system off")
