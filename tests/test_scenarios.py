"""Scenario images: a test program linked with the runtime, booted, its results read back."""

from __future__ import annotations

import pytest

from verify.build import Layout, build_elf
from verify.qemu import boot, results

from conftest import copy_tree


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    root = copy_tree(tmp_path_factory.mktemp("scenario"))
    return build_elf(Layout(root, scenario="hello"))


@pytest.mark.parametrize("cores", [1, 4])
def test_scenario_runs_after_the_rendezvous_and_reports(hello, cores):
    run = boot(hello, cores=cores, timeout=60)
    assert run.powered_off, run.output
    assert results(run.output) == [{"scenario": "hello", "status": "pass"}]
    lines = run.output.splitlines()
    assert lines.index(f"actly: rendezvous {cores} of {cores} cores") < \
        lines.index("actly: result scenario=hello status=pass") < lines.index("actly: system off")


def test_product_image_runs_no_scenario(verified_image):
    run = boot(verified_image, cores=1, timeout=60)
    assert run.powered_off and results(run.output) == []


def test_unknown_scenario_is_a_clear_error(tmp_path):
    from verify.cli import main
    root = copy_tree(tmp_path)
    assert main(["--root", str(root), "build", "--scenario", "no_such"]) == 2
