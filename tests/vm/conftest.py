"""Fixtures for the real-guest rig: each scenario boots once per session, whoever asks first.

Tests marked ``vm`` skip only when QEMU cannot run at all (no ``qemu-system-x86_64``), and even
then not in CI (``CI=true``): there the missing QEMU is a failure, never a silent skip.
``RIG_KEEP=1`` keeps every run folder under ``tests/vm/.cache/runs/`` for a post-mortem.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import pytest

from .qemu import QEMU
from .rig import DEFAULT_COMMAND, RunResult, run_scenario
from .scenarios import SCENARIOS
from .sg3_builds import BuildError, ensure_builds
from .sg3_matrix import MATRIX_SCENARIOS, matrix_command


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def rig_unavailable_reason() -> str | None:
    """Why no guest can boot here at all; None when QEMU is there (anything else must work)."""
    if not os.access(QEMU, os.X_OK):
        return f"{QEMU} is missing: the real-guest rig cannot boot a guest (.ci/rig-deps.sh)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any skipif of the test module: in CI a missing QEMU fails every ``vm`` test."""
    if item.get_closest_marker("vm") is None:
        return
    reason = rig_unavailable_reason()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true, and {reason}", pytrace=False)
    pytest.skip(reason)


_BOOTED: dict[str, RunResult | Exception] = {}
SG3_BUILD_ERRORS: list[str] = []  # why the sg3_utils matrix could not be built (test_sg3_matrix)


def scenario_command(name: str) -> str | None:
    """The default scan; in the sg3_utils matrix's scenarios, then one scan per release."""
    if name not in MATRIX_SCENARIOS:
        return None
    try:
        builds = ensure_builds()
    except BuildError as exc:  # the matrix test fails on it; the scenario's other tests run
        SG3_BUILD_ERRORS.append(str(exc))
        return None
    return matrix_command(DEFAULT_COMMAND, builds)


def _qemu_crashed_before_the_guest(result: RunResult) -> bool:
    return (
        result.qemu_exit is not None
        and result.qemu_exit < 0
        and not result.qemu_timed_out
        and result.boot_s() is None
        and result.command is None
    )


@pytest.fixture(scope="session")
def boot() -> Callable[[str], RunResult]:
    """``boot(name)``: the scenario's one :class:`RunResult` this session (default command)."""

    def boot_once(name: str) -> RunResult:
        if name not in _BOOTED:
            try:
                command = scenario_command(name)
                scenario = SCENARIOS[name]
                if command is not None:  # one more scan per sg3_utils release, each as long
                    scenario = dataclasses.replace(
                        scenario, command_timeout_s=scenario.command_timeout_s * 3
                    )
                keep = os.environ.get("RIG_KEEP") == "1"
                result = run_scenario(scenario, command=command, keep=keep)
                if _qemu_crashed_before_the_guest(result):
                    # QEMU itself died of a signal (a TCG segfault seen once in 30-odd boots)
                    # before the guest's agent started: nothing of guestprobe's ran; boot again
                    # once, and say so
                    print(f"rig: {name}: QEMU exit {result.qemu_exit} before the guest agent "
                          "started; booting once more")
                    result = run_scenario(scenario, command=command, keep=keep)
                _BOOTED[name] = result
            except Exception as exc:
                _BOOTED[name] = exc
        booted = _BOOTED[name]
        if isinstance(booted, Exception):
            raise RuntimeError(f"scenario {name} could not be run: {booted!r}") from booted
        return booted

    return boot_once
