"""`make check`'s report: one line per rule of the step's contract, then how many pass.

A rule is one test function of the suite (all its parameters together): it
passes when every case of it passes. Loaded as a pytest plugin by
`python -m shared.practice check` (`-p tests.support.judge`); it runs in the
controlling process, so it reads each rule's hint from the test's docstring
(or its name) and points at the page of the step that brought the rule in (or,
for an exercise's checker, at the exercise).

Some tests grow with the steps: the durability test writes users once the
step offers users. So while a test runs (and while its own module's
fixtures set it up), the judge notes the features it asks the judged step
about (`step.offers(...)` answering yes): with the features the test
requires, they say which step brought the rule in. A test marked
`names_the_step` (the welcome names the step) is new in every step.
"""

from __future__ import annotations

import importlib
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import pytest

from shared import catalog, exercises
from shared.catalog import Step
from tests.support import auth

PASSED, FAILED = "✓", "✗"
# Among a rule's features when its test is marked names_the_step: every step changes it.
NUMBER = "number"


@contextmanager
def noting(used: set[str]) -> Iterator[None]:
    """Meanwhile, note in `used` every feature a step is asked about and offers."""
    offers = Step.offers

    def noted(step: Step, *features: str) -> bool:
        answer = offers(step, *features)
        if answer:
            used.update(features)
        return answer

    Step.offers = noted
    try:
        yield
    finally:
        Step.offers = offers


class Verdict(TypedDict):
    """A rule in the --judge-report file."""

    passed: bool
    required: list[str]
    features: list[str]


Verdicts = dict[str, Verdict]  # the --judge-report file: each rule's verdict, by its test


@dataclass
class Rule:
    nodeid: str
    outcomes: list[str] = field(default_factory=list)
    # What the test relied on, beyond what it requires (see noting).
    used: set[str] = field(default_factory=set)

    @property
    def module(self) -> str:
        return self.nodeid.split("::")[0].removesuffix(".py").replace("/", ".")

    @property
    def function(self):
        name = self.nodeid.split("::")[-1]
        return getattr(importlib.import_module(self.module), name, None)

    @property
    def passed(self) -> bool:
        return "failed" not in self.outcomes

    @property
    def hint(self) -> str:
        doc = (self.function.__doc__ or "").strip() if self.function else ""
        name = self.nodeid.split("::")[-1].removeprefix("test_").replace("_", " ")
        return doc.splitlines()[0] if doc else name[:1].upper() + name[1:]

    @property
    def marks(self) -> list[pytest.Mark]:
        """The marks of the rule's module and function."""
        found = []
        for owner in (importlib.import_module(self.module), self.function):
            marks = getattr(owner, "pytestmark", [])
            for mark in marks if isinstance(marks, list) else [marks]:
                found.append(getattr(mark, "mark", mark))  # a decorator, or the mark itself
        return found

    @property
    def exercise(self) -> exercises.Exercise | None:
        """The exercise the rule checks, if it is one's checker."""
        names = [mark.kwargs["name"] for mark in self.marks if mark.name == "exercise"]
        return exercises.get(names[0]) if names else None

    @property
    def topic(self) -> str:
        if self.exercise:
            return f"exercise {self.exercise.name} ({self.exercise.title})"
        return self.module.rpartition(".")[2].removeprefix("test_").replace("_", " ")

    @property
    def required(self) -> set[str]:
        """The features its `requires` marks ask for, and NUMBER if it names the step."""
        required = set().union(*(set(mark.args) for mark in self.marks if mark.name == "requires"))
        if any(mark.name == "names_the_step" for mark in self.marks):
            required.add(NUMBER)
        return required

    @property
    def features(self) -> set[str]:
        """The features it requires and those it relied on."""
        return self.used | self.required

    def page(self, judged: Step) -> str:
        """Where it is taught: the exercise; the judged step's page for a rule that names
        the step; else the first step that offers the features it needs."""
        if self.exercise:
            return f"docs/{self.exercise.page}"
        if NUMBER in self.features:
            step = judged
        else:
            step = next(s for s in catalog.STEPS if s.offers(*self.features))
        return f"docs/steps/{step.package}.md#what-changed-since-the-previous-step"


class Judge:
    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            key = report.nodeid.split("[")[0]
            rule = self.rules.setdefault(key, Rule(key))
            rule.outcomes.append(report.outcome)
            for name, value in report.user_properties:
                if name == "judge_used":
                    rule.used.update(value)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        [number] = terminalreporter.config.getoption("--step")  # make check judges one step
        judged = catalog.get(number)
        counted = [rule for rule in self.rules.values() if set(rule.outcomes) != {"skipped"}]
        by_topic: dict[str, list[Rule]] = defaultdict(list)
        for rule in counted:
            by_topic[rule.topic].append(rule)
        write = terminalreporter.write_line
        write("")
        for topic, rules in by_topic.items():
            write(f"{topic}:")
            for rule in rules:
                if rule.passed:
                    write(f"  {PASSED} {rule.hint}")
                else:
                    write(f"  {FAILED} {rule.hint}  -> {rule.page(judged)}")
        passing = sum(rule.passed for rule in counted)
        write("")
        write(f"{passing}/{len(counted)} rules pass", bold=True)
        report = terminalreporter.config.getoption("judge_report")
        if report:
            verdicts = {
                rule.nodeid: Verdict(
                    passed=rule.passed,
                    required=sorted(rule.required),
                    features=sorted(rule.features),
                )
                for rule in counted
            }
            report.write_text(json.dumps(verdicts))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--judge-report", type=Path, help="also write each rule's verdict there, as JSON"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Judge(), "judge")


USED = pytest.StashKey[set[str]]()


def used_by(item: pytest.Item) -> set[str]:
    return item.stash.setdefault(USED, set())


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest
) -> Iterator[object]:
    """Note what the test's own module's fixtures rely on (not the suite's, in conftest.py)."""
    if fixturedef.scope != "function" or not str(fixturedef.baseid).endswith(".py"):
        return (yield)
    with noting(used_by(request.node)):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run the test noting what it relies on."""
    with noting(used_by(item)):
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """Each report carries what the test relied on so far, to the controlling process.

    A test that failed because a response showed a secret met a rule of
    authentication (auth.SecretShown), whatever else it was about.
    """
    if call.excinfo is not None and call.excinfo.errisinstance(auth.SecretShown):
        used_by(item).add("auth")
    item.user_properties[:] = [p for p in item.user_properties if p[0] != "judge_used"]
    item.user_properties.append(("judge_used", sorted(used_by(item))))
