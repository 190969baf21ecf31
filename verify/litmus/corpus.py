"""The corpus regression: every test of herd's corpus under our model, compared with herd's
reference results (its `index.tsv`): herd's whole output (final-state set, Ok/No, witness
counts, condition, observation) where a `.expected` file gives it, verdicts where
`kinds.txt` (or else herd7's own run in `index.tsv`) does, and rejections where
`.expected-failure` does."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .parse import LitmusError, NotModelled, parse_file
from .run import herd_text, run

# Outcomes of one test, compared with the reference.
AGREE, DISAGREE, REJECTED_TOO, WE_REJECT, WE_ACCEPT, CRASH, NO_REFERENCE, EXCLUDED = (
    "agree", "disagree", "rejected by both", "we reject", "we accept what herd rejects",
    "checker crash", "no reference", "excluded")
# not counted for or against agreement: no reference, or a variant we do not implement
UNCOUNTED = (NO_REFERENCE, EXCLUDED)


@dataclass
class Row:
    path: str
    folder: str
    name: str
    outcome: str
    cause: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    def by_folder(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in self.rows:
            out[r.folder][r.outcome] += 1
        return out

    def text(self) -> str:
        lines = [f"{len(self.rows)} tests in {self.seconds:.2f} s"]
        for folder, counts in sorted(self.by_folder().items()):
            total = sum(counts.values())
            agree = counts.get(AGREE, 0) + counts.get(REJECTED_TOO, 0)
            total -= sum(counts.get(k, 0) for k in UNCOUNTED)
            parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            lines.append(f"  {folder}: {agree}/{total} agree ({parts})")
        lines.append("slowest: " + ", ".join(
            f"{r.name} {r.seconds * 1000:.0f} ms"
            for r in sorted(self.rows, key=lambda r: -r.seconds)[:10]))
        for r in self.rows:
            if r.outcome not in (AGREE, REJECTED_TOO, NO_REFERENCE):   # excluded: say why
                lines.append(f"{r.outcome}: {r.path}: {r.cause}")
        return "\n".join(lines)


def regress(corpus: Path, only: str | None = None) -> Report:
    index = corpus / "index.tsv"
    if not index.is_file():
        raise LitmusError(str(index), None, "no index.tsv: expected herd's corpus with its "
                                            "reference results (see its README)")
    report = Report()
    start = time.monotonic()
    header, *rows = [line.split("\t") for line in index.read_text().splitlines()]
    col = {name: i for i, name in enumerate(header)}
    for row in rows:
        path, folder = row[col["path"]], row[col["collection"]]
        if only and only not in folder:
            continue
        # a test kinds.txt leaves out is held to the verdict herd7 itself gave (index.tsv)
        reference = row[col["reference_verdict"]] or row[col["herd7_verdict"]]
        report.rows.append(_one(corpus, path, folder, row[col["test"]], reference,
                                _options(corpus, row[col["herd7_options"]])))
    report.seconds = time.monotonic() - start
    return report


def _options(corpus: Path, herd_options: str) -> dict[str, str]:
    """The herd options of a `-conf FILE` argument that matter here (`hexa`, `variant`)."""
    words = herd_options.split()
    options = {}
    for i, word in enumerate(words[:-1]):
        if word == "-conf" and (corpus / words[i + 1]).is_file():
            for line in (corpus / words[i + 1]).read_text().splitlines():
                parts = line.split(None, 1)
                if len(parts) == 2:
                    options[parts[0]] = parts[1].strip()
    return options


def _one(corpus: Path, path: str, folder: str, name: str, reference: str,
         options: dict[str, str]) -> Row:
    file = corpus / path
    rejected = file.with_name(file.name + ".expected-failure").exists()
    t0 = time.monotonic()
    try:
        outcome = run(parse_file(file), hexa=options.get("hexa") == "true",
                      variant=options.get("variant"))
    except LitmusError as exc:
        seconds = time.monotonic() - t0
        ours = EXCLUDED if isinstance(exc, NotModelled) else WE_REJECT
        return Row(path, folder, name, REJECTED_TOO if rejected else ours, exc.message,
                   seconds)
    except Exception as exc:      # a bug of ours: listed with the rest, not the end of the run
        return Row(path, folder, name, CRASH, f"{type(exc).__name__}: {exc}",
                   time.monotonic() - t0)
    seconds = time.monotonic() - t0
    if rejected:
        return Row(path, folder, name, WE_ACCEPT, "herd rejects it", seconds)
    expected = file.with_name(file.name + ".expected")
    if expected.exists():
        lines = expected.read_text().splitlines()
        i = next(k for k, line in enumerate(lines) if line.startswith("States "))
        count = int(lines[i].split()[1])
        theirs = sorted(line.strip() for line in lines[i + 1:i + 1 + count])
        ours = [s.strip() for s in outcome.states]
        if theirs != ours:
            missing = sorted(set(theirs) - set(ours))
            extra = sorted(set(ours) - set(theirs))
            return Row(path, folder, name, DISAGREE,
                       f"final states differ: herd's only {missing[:3]}, ours only "
                       f"{extra[:3]}", seconds)
        ok_line = lines[i + 1 + count]
        if ok_line != ("Loop " if outcome.cut else "") + ("Ok" if outcome.ok else "No"):
            return Row(path, folder, name, DISAGREE, f"herd says {ok_line}", seconds)
        # then the rest of herd's output, line for line: witnesses, condition, observation
        theirs_all = [x.strip() for x in lines if x.strip() and not x.startswith("Hash=")]
        ours_all = [x.strip() for x in herd_text(outcome).splitlines()]
        for t, o in zip(theirs_all, ours_all):
            if t != o:
                return Row(path, folder, name, DISAGREE, f"herd prints `{t}`, we print `{o}`",
                           seconds)
        if len(theirs_all) != len(ours_all):
            return Row(path, folder, name, DISAGREE, "herd's output has "
                       f"{len(theirs_all)} lines, ours {len(ours_all)}", seconds)
        return Row(path, folder, name, AGREE, "", seconds)
    if not reference:
        return Row(path, folder, name, NO_REFERENCE, f"ours: {outcome.verdict()}", seconds)
    want = {"Allow": "Allowed", "Forbid": "Forbidden"}.get(reference, reference)
    if outcome.verdict() != want:
        return Row(path, folder, name, DISAGREE,
                   f"herd: {want}, ours: {outcome.verdict()}", seconds)
    return Row(path, folder, name, AGREE, "", seconds)
