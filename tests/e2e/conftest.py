"""End-to-end fixtures: the whole platform as real processes (tests/support/stack.py) on a fresh
database — SQLite, or PostgreSQL when DATABASE_URL names one. When a test fails, the end of
every process's log and the orders that did not finish are printed with it."""

from __future__ import annotations

import contextlib
import logging

import pytest

from tests.support.stack import Stack

logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise

#: Stacks running now, so a failure can show what they were doing.
RUNNING: list[Stack] = []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def report(stack: Stack, reason: str) -> None:
    print(f"\n===== {reason}: stack at {stack.home} ({stack.database_url}) =====")
    print(stack.logs_report(40))
    print("----- unfinished orders -----")
    print(stack.unfinished_orders_report())


def failed(request) -> bool:
    result = getattr(request.node, "report_call", None)
    return result is not None and result.failed


@pytest.fixture(autouse=True)
def _show_shared_stacks_on_failure(request):
    """Stacks shared by a module (still running when a test ends) report here; a test's own
    stacks report in ``make_stack``, before they stop."""
    yield
    if failed(request):
        for stack in RUNNING:
            report(stack, f"{request.node.name} failed")


@contextlib.contextmanager
def running(stack: Stack):
    """Enter ``stack`` and register it for failure reports while it runs."""
    with stack:
        RUNNING.append(stack)
        try:
            yield stack
        finally:
            RUNNING.remove(stack)


@pytest.fixture
def make_stack(tmp_path, request):
    """A factory of stacks that live until the end of the test: make_stack(numbers=...)."""
    made: list[Stack] = []
    with contextlib.ExitStack() as stacks:

        def make(**options) -> Stack:
            home = tmp_path / f"stack{len(made) + 1}"
            home.mkdir()
            stack = Stack(home, **options)
            made.append(stack)
            return stacks.enter_context(running(stack))

        yield make
        if failed(request):
            for stack in made:
                report(stack, f"{request.node.name} failed")


@pytest.fixture(scope="module")
def module_stack(request, tmp_path_factory):
    """One stack shared by the tests of a module, made with the module's STACK_OPTIONS."""
    home = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with running(Stack(home, **getattr(request.module, "STACK_OPTIONS", {}))) as stack:
        yield stack
