"""Proof reports: one Markdown and one JSON file per function, a summary, JUnit XML, SARIF."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from tabulate import tabulate

from .prove import Result

PASSING = ("PROVED", "NO CONTRACT")


def shown_verdict(r: Result) -> str:
    return f"{r.verdict} (accepted)" if r.accepted else r.verdict


def passes(r: Result) -> bool:
    return r.verdict in PASSING or bool(r.accepted)


def summary_rows(results: list[Result]) -> list[list[str]]:
    return [[r.function, r.location, r.bytes_hash, shown_verdict(r), r.paths,
             f"{r.seconds:.2f}s" + (" (cached)" if r.cached else "")] for r in results]


HEADERS = ["function", "source", "bytes (sha256)", "verdict", "paths", "time"]


def summary_table(results: list[Result], fmt: str = "simple") -> str:
    return tabulate(summary_rows(results), headers=HEADERS, tablefmt=fmt)


def function_markdown(r: Result) -> str:
    out = [f"# {r.function}: {shown_verdict(r)}", "",
           f"- source: `{r.location}`",
           f"- bytes: sha256 `{r.bytes_hash}`",
           f"- contract: {r.contract}",
           f"- paths explored: {r.paths}, time {r.seconds:.2f}s of a {r.budget:.0f} s budget"]
    if r.loops:
        out.append(f"- loops: {r.loops}")
    if r.accepted:
        out.append(f"- accepted in specs/accepted.toml: {r.accepted}")
    if r.assumptions:
        out += ["", "## Assumed", ""] + [f"- {a}" for a in r.assumptions]
    if r.reasons:
        out += ["", "## Why not PROVED", ""] + [f"- {x}" for x in r.reasons]
    if r.trusted_rules:
        out += ["", "## Instructions with trusted overlay rules (verify/overlay.py)", ""]
        out += [f"- {x}" for x in r.trusted_rules]
    if r.ordering:
        out += ["", "## Memory ordering on the explored paths (decoded from the encodings)", ""]
        out += [f"- {x}" for x in r.ordering]
    if r.depends_on:
        out += ["", "## Code the proof covers (called functions included)", ""]
        out += [f"- `{name}` sha256 `{h}`" for name, h in r.depends_on.items()]
    if r.unmodelled:
        out += ["", "## Unmodelled instructions", "",
                "| line | instruction | why | exploration past it |", "|---|---|---|---|"]
        out += [f"| `{u['line']}` | `{u['instruction']}` | {u['reason']} | {u['explored_past']} |"
                for u in r.unmodelled]
    cx = r.counterexample
    if cx is not None:
        replay = {"confirmed": "Confirmed by replay on unicorn",
                  "not replayable": "Not replayable on unicorn; the violation holds on the "
                                    "verifier's model",
                  }.get(cx.replay_status,
                        "NOT confirmed by replay on unicorn: the verifier's semantics and the "
                        "machine disagree here, a verifier defect to report")
        out += ["", "## Counterexample", "", cx.sentence, "", f"{replay} ({cx.replay}).", "",
                "Initial registers:", "",
                "| register | value |", "|---|---|"]
        out += [f"| {k} | `0x{v:x}` |" for k, v in cx.registers.items()]
        if cx.memory:
            out += ["", "Memory read on the path (initial contents):", "",
                    "| address | bytes | value |", "|---|---|---|"]
            out += [f"| `0x{a:x}` | {n} | `0x{v:x}` |" for a, n, v in cx.memory]
        out += ["", "Path:", "", "| address | source | instruction | writes | memory |",
                "|---|---|---|---|---|"]
        out += [f"| `0x{t.addr:x}` | `{t.line}` | `{t.text}` | {t.regs} | {t.memory} |"
                for t in cx.trace]
    return "\n".join(out) + "\n"


def function_json(r: Result) -> str:
    data = asdict(r)
    data["shown_verdict"] = shown_verdict(r)
    return json.dumps(data, indent=2, default=str) + "\n"


def junit(results: list[Result]) -> str:
    failures = sum(not passes(r) for r in results)
    total = sum(r.seconds for r in results)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name="verify" tests="{len(results)}" failures="{failures}" '
             f'time="{total:.3f}">']
    for r in results:
        head = (f'  <testcase classname={quoteattr(r.location.rsplit(":", 1)[0])} '
                f'name={quoteattr(r.function)} time="{r.seconds:.3f}"')
        if passes(r):
            lines.append(head + "/>")
            continue
        message = r.counterexample.sentence if r.counterexample else "; ".join(r.reasons)
        lines.append(head + ">")
        lines.append(f'    <failure message={quoteattr(f"{r.verdict}: {message}")}>'
                     f"{escape(function_markdown(r))}</failure>")
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"


def _location(line: str) -> dict:
    path, _, number = line.rpartition(":")
    if not number.isdigit():  # an address with no source line
        return {"physicalLocation": {"artifactLocation": {"uri": "build/actly.elf"}},
                "message": {"text": line}}
    return {"physicalLocation": {"artifactLocation": {"uri": path},
                                 "region": {"startLine": int(number)}}}


SARIF_RULES = {
    "contract-violation": "The function breaks its contract on some path (counterexample).",
    "not-proved": "The function's contract was not proved (UNKNOWN or BOUNDED).",
    "unmodelled-instruction": "An instruction without trusted semantics.",
}


def sarif(results: list[Result]) -> str:
    """SARIF 2.1.0 for code-scanning views: findings point at asm source lines."""
    from . import __version__
    findings = []
    for r in results:
        if r.verdict == "FAILED" and r.counterexample is not None:
            cx = r.counterexample
            flow = [{"location": dict(_location(t.line), message={"text": t.text})}
                    for t in cx.trace]
            findings.append({
                "ruleId": "contract-violation", "level": "error",
                "message": {"text": f"{r.function}: {cx.sentence} ({cx.replay_status})"},
                "locations": [_location(cx.return_line)],
                "codeFlows": [{"threadFlows": [{"locations": flow}]}] if flow else []})
        elif r.verdict in ("UNKNOWN", "BOUNDED"):
            findings.append({
                "ruleId": "not-proved", "level": "note" if r.accepted else "warning",
                "message": {"text": f"{r.function}: {shown_verdict(r)}: "
                                    f"{'; '.join(r.reasons) or r.loops}"},
                "locations": [_location(r.location)]})
        for u in r.unmodelled:
            findings.append({
                "ruleId": "unmodelled-instruction", "level": "note",
                "message": {"text": f"{u['instruction']}: {u['reason']}"},
                "locations": [_location(u["line"])]})
    run = {"tool": {"driver": {"name": "actly-verify", "version": __version__,
                               "rules": [{"id": k, "shortDescription": {"text": v}}
                                         for k, v in SARIF_RULES.items()]}},
           "results": findings}
    return json.dumps({"version": "2.1.0",
                       "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                       "runs": [run]}, indent=2) + "\n"


def write_reports(results: list[Result], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in list(directory.glob("*.md")) + list(directory.glob("*.json")):
        if old.name != "README.md":
            old.unlink()
    for r in results:
        (directory / f"{r.function}.md").write_text(function_markdown(r))
        (directory / f"{r.function}.json").write_text(function_json(r))
    (directory / "summary.md").write_text(
        "# Verification summary\n\n" + summary_table(results, "github") + "\n")
    (directory / "junit.xml").write_text(junit(results))
    (directory / "verify.sarif").write_text(sarif(results))
