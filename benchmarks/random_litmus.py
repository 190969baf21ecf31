"""Random litmus tests of 3 or 4 threads with 6 to 8 writes to one location, decided by the
checker: `python benchmarks/random_litmus.py [COUNT] [SEED] [--full]`. Prints each test's
time and candidates built, and the slowest. decide() gives the verdict alone; with --full
the whole enumeration (herd's states and witness counts, run()) is timed too, and the two
verdicts must agree. A benchmark, not a test: the figures go in docs/litmus.md."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verify.litmus.parse import parse          # noqa: E402
from verify.litmus.run import decide, run      # noqa: E402

BARRIERS = ["DMB ISH", "DMB ISHST", "DMB ISHLD"]


def random_test(rng: random.Random, name: str, threads: int | None = None,
                writes: tuple[int, int] = (6, 8)) -> str:
    """A test of 3 or 4 threads (or `threads`) whose writes to x number within `writes`;
    they also read x and y, write y, and may have a barrier; a random condition."""
    threads = threads or rng.choice([3, 4])
    writes_x = rng.randint(*writes)
    # share the writes to x among the threads; each also reads x and y and may write y
    share = [0] * threads
    for _ in range(writes_x):
        share[rng.randrange(threads)] += 1
    code, value = [], 1
    for t in range(threads):
        ops = []
        for _ in range(share[t]):
            ops.append(f"MOV W0,#{value}")
            ops.append(f"{rng.choice(['STR', 'STR', 'STLR'])} W0,[X1]")
            value += 1
        if rng.random() < 0.5:                       # a write to y, seen by other threads
            ops.insert(rng.randrange(len(ops) + 1), f"MOV W5,#{t + 1}")
            ops.append(f"{rng.choice(['STR', 'STLR'])} W5,[X2]")
        for _ in range(rng.randint(1, 2)):
            ops.insert(rng.randrange(len(ops) + 1), f"{rng.choice(['LDR', 'LDAR'])} W3,[X2]")
        if rng.random() < 0.5:
            ops.insert(rng.randrange(len(ops) + 1), rng.choice(BARRIERS))
        ops.append("LDR W4,[X1]")
        code.append(ops)
    width = max(map(len, code))
    rows = [" | ".join((c[i] if i < len(c) else "") for c in code) + " ;" for i in range(width)]
    init = " ".join(f"{t}:X1=x; {t}:X2=y;" for t in range(threads))
    header = " | ".join(f"P{t}" for t in range(threads)) + " ;"
    atoms = [f"[x]={rng.randint(1, writes_x)}"] + \
        [f"{t}:X4={rng.randint(0, writes_x)}" for t in range(threads)] + \
        [f"{t}:X3={rng.randint(0, threads)}" for t in range(threads)]
    rng.shuffle(atoms)
    kind = rng.choice(["exists", "~exists", "forall"])
    joined = (" \\/ " if kind == "forall" else " /\\ ").join(atoms[:rng.randint(1, 3)])
    return f"AArch64 {name}\n{{ {init} y=0; }}\n {header}\n" + \
        "".join(f" {r}\n" for r in rows) + f"{kind} ({joined})\n"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    full = "--full" in sys.argv
    count = int(args[0]) if args else 50
    rng = random.Random(int(args[1]) if len(args) > 1 else 0)
    times = []
    for i in range(count):
        test = parse(random_test(rng, f"R{i}"))
        d = decide(test)
        line = (f"{test.name}: {len(test.threads)} threads, {d.candidates} candidates, "
                f"{d.verdict}, {d.seconds:.2f}s")
        if full:
            start = time.monotonic()
            o = run(test)
            took = time.monotonic() - start
            line += f"; full enumeration {o.executions} candidates, {took:.2f}s"
            assert o.verdict() == d.verdict and o.ok == d.ok, (test.name, o.verdict(), d.verdict)
        times.append((d.seconds, test.name))
        print(line, flush=True)
    times.sort(reverse=True)
    print(f"slowest: {times[0][1]} {times[0][0]:.2f}s; median {times[len(times) // 2][0]:.2f}s;"
          f" total {sum(t for t, _ in times):.1f}s for {count} tests")


if __name__ == "__main__":
    main()
