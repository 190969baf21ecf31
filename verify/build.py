"""Assemble and link the runtime, and write the bootable image.

`build_elf` assembles every source of the runtime with -g (so the verifier can map addresses
to source lines) and links `build/actly.elf`. `write_image` turns a verified ELF into the
raw `build/actly.img`; only `verify all` calls it, after every check passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The cross binutils' prefix: Debian's by default; macOS Homebrew's is aarch64-elf-.
CROSS = os.environ.get("CROSS_COMPILE", "aarch64-linux-gnu-")
AS, LD, OBJCOPY = CROSS + "as", CROSS + "ld", CROSS + "objcopy"
MARCH = "-march=armv8.4-a"
IMAGE_MAGIC_OFFSET = 0x38
IMAGE_MAGIC = b"ARM\x64"


class BuildError(Exception):
    """Building failed; the message carries the tool's own words."""


@dataclass(frozen=True)
class Layout:
    """Where a build's inputs and outputs live, relative to the repository root.

    With a scenario, the image also holds `asm/scenarios/<scenario>.s` (a test program that
    runtime_main runs on core 0) and is built under `build/scenarios/<scenario>/`."""
    root: Path
    board: str = "virt"
    scenario: str | None = None

    @property
    def asm(self) -> Path:
        return self.root / "asm"

    @property
    def board_dir(self) -> Path:
        return self.asm / "board" / self.board

    @property
    def build(self) -> Path:
        if self.scenario:
            return self.root / "build" / "scenarios" / self.scenario
        return self.root / "build"

    @property
    def elf(self) -> Path:
        return self.build / "actly.elf"

    @property
    def image(self) -> Path:
        return self.build / "actly.img"

    def sources(self) -> list[Path]:
        sources = sorted(self.asm.glob("*.s")) + sorted(self.board_dir.glob("*.s"))
        if self.scenario:
            program = self.asm / "scenarios" / f"{self.scenario}.s"
            if not program.is_file():
                raise BuildError(f"no scenario {self.scenario}: {program} does not exist")
            sources.append(program)
        return sources


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"{name} not found: install Debian's binutils-aarch64-linux-gnu "
                         "(`make setup` does it), or set CROSS_COMPILE to your binutils' prefix")
    return path


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()}")


def assemble(source: Path, obj: Path, root: Path, includes: list[Path]) -> None:
    """Assemble one file, naming it relative to root so DWARF says `asm/<file>.s`."""
    flags = [f"-I{p.relative_to(root)}" for p in includes]
    obj.parent.mkdir(parents=True, exist_ok=True)
    _run([require_tool(AS), "-g", MARCH, *flags, "-o", str(obj), str(source.relative_to(root))],
         cwd=root)


def link(objects: list[Path], script: Path, out: Path, root: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    _run([require_tool(LD), "-T", str(script), "-o", str(out), *map(str, objects)], cwd=root)


def build_elf(layout: Layout) -> Path:
    sources = layout.sources()
    if not sources:
        raise BuildError(f"no assembly sources under {layout.asm}")
    objects = []
    for src in sources:
        rel = src.relative_to(layout.root).with_suffix("")
        obj = layout.build / "obj" / ("_".join(rel.parts) + ".o")
        assemble(src, obj, layout.root, [layout.asm, layout.board_dir])
        objects.append(obj)
    link(objects, layout.board_dir / "link.ld", layout.elf, layout.root)
    return layout.elf


def remove_image(layout: Layout) -> None:
    layout.image.unlink(missing_ok=True)


def write_image(layout: Layout) -> Path:
    """Raw binary of the verified ELF; it must start with an arm64 Image header."""
    _run([require_tool(OBJCOPY), "-O", "binary", str(layout.elf), str(layout.image)],
         cwd=layout.root)
    head = layout.image.read_bytes()[:64]
    if head[IMAGE_MAGIC_OFFSET:IMAGE_MAGIC_OFFSET + 4] != IMAGE_MAGIC:
        remove_image(layout)
        raise BuildError("the image has no arm64 Image header (magic ARM\\x64 at 0x38): "
                         "asm/boot.s must start with it")
    return layout.image
