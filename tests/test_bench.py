"""The benchmark harness: counts come from the PMU under -icount, so they repeat exactly.
(This checks the harness, not speed: figures are reported by `verify bench`, not asserted.)"""

from __future__ import annotations

from verify.bench import run_benchmarks, table

from conftest import copy_tree

NAMES = ["print_lock+print_unlock", "voluntary_switch", "involuntary_switch", "tick",
         "spawn_exit", "spawn_exit_wait", "timer_insert_expire"]


def test_counts_are_exact_and_repeat(tmp_path):
    root = copy_tree(tmp_path)
    (root / "benchmarks").mkdir()
    first, second = run_benchmarks(root), run_benchmarks(root)
    assert first == second
    assert [r["bench"] for r in first] == NAMES
    for r in first:
        assert int(r["instructions"]) > 0 and int(r["runs"]) > 0, r
        # batches: some kept (no tick in them); batches and samples: all counted the same
        assert int(r.get("batches", "1")) > 0, r
        assert r.get("spread", "0") == "0", r


def test_table_places_beam_figures_beside_ours():
    from conftest import ROOT
    rows = {row[0]: row for row in table(ROOT)}
    assert set(rows) == set(NAMES)
    assert rows["voluntary_switch"][4] == "1066"
    assert rows["spawn_exit"][4] == "5201"
    assert all(row[1].isdigit() for row in rows.values())
