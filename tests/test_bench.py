"""The benchmark harness: counts come from the PMU under -icount, so they repeat exactly.
(This checks the harness, not speed: figures are reported by `verify bench`, not asserted.)"""

from __future__ import annotations

from verify.bench import run_benchmarks, table

from conftest import copy_tree


def test_counts_are_exact_and_repeat(tmp_path):
    root = copy_tree(tmp_path)
    (root / "benchmarks").mkdir()
    first, second = run_benchmarks(root), run_benchmarks(root)
    assert first == second
    assert [r["bench"] for r in first] == ["print_lock+print_unlock"]
    assert all(int(r["instructions"]) > 0 and r["runs"] == "1000" for r in first)


def test_table_places_beam_figures_beside_ours():
    from conftest import ROOT
    rows = {row[0]: row for row in table(ROOT)}
    assert rows["voluntary_switch"][4] == "1106"
    assert rows["print_lock+print_unlock"][1].isdigit()
