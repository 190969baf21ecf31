"""Booting the image on QEMU's `virt` board and reading what it prints."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-system-aarch64"


class QemuError(Exception):
    """QEMU is missing or the image is."""


@dataclass
class Boot:
    exit_code: int | None     # None when it did not power off within the timeout
    output: str

    @property
    def powered_off(self) -> bool:
        return self.exit_code == 0


def results(output: str) -> list[dict[str, str]]:
    """The `actly: result key=value ...` lines a scenario printed, in order."""
    found = []
    for line in output.splitlines():
        if line.startswith("actly: result "):
            found.append(dict(field.split("=", 1) for field in line.split()[2:]
                              if "=" in field))
    return found


def qemu_command(image: Path, cores: int, el2: bool = False,
                 extra: list[str] | None = None) -> list[str]:
    machine = "virt,gic-version=3" + (",virtualization=on" if el2 else "")
    return [QEMU, "-M", machine, "-cpu", "max", "-smp", str(cores), "-m", "1G",
            "-nographic", "-no-reboot", *(extra or []), "-kernel", str(image)]


def boot(image: Path, cores: int = 4, timeout: float = 30.0, el2: bool = False,
         extra: list[str] | None = None) -> Boot:
    if shutil.which(QEMU) is None:
        raise QemuError(f"{QEMU} not found: install Debian's qemu-system-arm (`make setup`)")
    if not image.is_file():
        raise QemuError(f"{image} does not exist: `verify all` writes the product image once "
                        "every check passed; `verify build --scenario NAME` builds a scenario")
    try:
        proc = subprocess.run(qemu_command(image, cores, el2, extra), capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        return Boot(proc.returncode, proc.stdout.decode(errors="replace"))
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if exc.stdout else ""
        return Boot(None, out)
