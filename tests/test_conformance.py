"""The conformance battery over every public step: each (case, check) is one test.

A public step without a case fails ``test_every_public_step_is_registered``: no new step can
skip the battery."""

from __future__ import annotations

import shutil

import pytest

from streamlab.scale import cluster
from streamlab.testing import checks_for, run_check
from streamlab.testing.cases_sources import SOURCE_CASES
from streamlab.testing.cases_steps import Context
from streamlab.testing.registry import public_sources, public_steps, step_cases
from streamlab.testing.sources import SOURCE_CHECKS, run_source_check

CONTEXT = Context()
CASES = step_cases(CONTEXT)


@pytest.fixture(scope="module", autouse=True)
def _scratch(tmp_path_factory):
    """The cases' files go to a pytest temporary folder, removed afterwards."""
    CONTEXT._tmp = tmp_path_factory.mktemp("battery")
    yield
    shutil.rmtree(CONTEXT._tmp, ignore_errors=True)


def _params():
    for step, cases in sorted(CASES.items()):
        for case in cases:
            for check in checks_for(case):
                yield pytest.param(case, check, id=f"{step}:{case.name}:{check}")


def test_every_public_step_is_registered():
    missing = sorted(public_steps() - set(CASES))
    assert missing == [], f"public steps with no conformance case: {missing}"


def test_no_case_for_a_step_that_is_not_public():
    assert sorted(set(CASES) - public_steps()) == []


@pytest.mark.parametrize(("case", "check"), list(_params()))
async def test_battery(case, check):
    if case.name.startswith("parallel"):  # a real cluster on this test's loop (threads: fast)
        async with cluster(1, processes=False) as client:
            CONTEXT.client = client
            try:
                await run_check(case, check)
            finally:
                CONTEXT.client = None
    else:
        await run_check(case, check)


# -- sources -----------------------------------------------------------------------------------
SOURCES = SOURCE_CASES()


def test_every_public_source_is_registered():
    assert sorted(public_sources() - set(SOURCES)) == []
    assert sorted(set(SOURCES) - public_sources()) == []


@pytest.mark.parametrize(
    ("case", "check"),
    [
        pytest.param(case, check, id=f"{name}:{case.name}:{check}")
        for name, cases in sorted(SOURCES.items())
        for case in cases
        for check in SOURCE_CHECKS
        if check not in case.not_applicable
    ],
)
async def test_source_battery(case, check, tmp_path):
    await run_source_check(case, check, tmp_path)
