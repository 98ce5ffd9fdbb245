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
import re
import warnings
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import pytest

from shared import catalog, exercises
from shared.catalog import ROOT, Step
from shared.docsgen import contract
from tests.support import auth, exchange, preflight

PASSED, FAILED = "✓", "✗"
# Where the docs are: built into site/ (make docs-build), or served by `make docs`.
SITE = ROOT / "site"
DOCS_URL = "http://127.0.0.1:8001/"
# The section a rule's page teaches it in, unless its test is marked `taught`.
DEFAULT_SECTION = "the-code"
# The part of a case's id that names the judged step and its database: the rest,
# if any, names the case among the rule's others ("nested 100,000 deep").
CASE_OF_THE_STEP = re.compile(r"^step\d+(-(sqlite|postgresql|memory))?-?")
TIER_HEADINGS = {
    "lesson": "Tier lesson: the HTTP contract the steps teach",
    "full": "Tier full: what this tutorial adds for you (real servers, races, durability, "
    "fuzzing, body limits, offline docs)",
}
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

    name: str
    passed: bool
    reason: str | None
    section: str
    tier: str
    required: list[str]
    features: list[str]


Verdicts = dict[str, Verdict]  # the --judge-report file: each rule's verdict, by its test


@dataclass
class Rule:
    nodeid: str
    outcomes: list[str] = field(default_factory=list)
    # What the test relied on, beyond what it requires (see noting).
    used: set[str] = field(default_factory=set)
    # Why its first failed case failed (see reason_of), and that case's parameters.
    reason: str | None = None
    # Why it was skipped, when it was (on this machine, or for this step).
    skipped_because: str | None = None

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
        """The rule as a learner reads it: its test's name, as a sentence."""
        return contract.rule_name(self.nodeid.split("::")[-1])

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

    @property
    def tier(self) -> str:
        """The tier of the suite it belongs to: the folder its test lives in."""
        return self.nodeid.split("/")[1]

    @property
    def anchor(self) -> str:
        """The section of its page that teaches it: its `taught` mark (the function's first)."""
        for mark in reversed(self.marks):
            if mark.name == "taught":
                return mark.args[0]
        return DEFAULT_SECTION

    def page(self, judged: Step) -> str:
        """Where it is taught, as `docs/<page>.md#<section>`: the exercise; the judged
        step's page for a rule that names the step; else the page of the first step that
        offers the features it needs."""
        if self.exercise:
            return f"docs/{self.exercise.page}"
        if NUMBER in self.features:
            step = judged
        else:
            step = next(s for s in catalog.STEPS if s.offers(*self.features))
        return f"docs/steps/{step.package}.md#{self.anchor}"


def taught_sections() -> set[str]:
    """Every `docs/<page>.md#<section>` a rule of either tier links, judging any step."""
    found = set()
    for tier in ("lesson", "full"):
        for path in sorted((ROOT / "tests" / tier).glob("test_*.py")):
            module = importlib.import_module(f"tests.{tier}.{path.stem}")
            for name in vars(module):
                if not name.startswith("test_"):
                    continue
                rule = Rule(f"tests/{tier}/{path.name}::{name}")
                for step in catalog.STEPS:
                    if step.offers(*(rule.required - {NUMBER})):
                        found.add(rule.page(step))
    return found


def address(page: str) -> str:
    """A page's section as a browser opens it: the built site's file, or the served docs."""
    path, _, anchor = page.partition("#")
    folder = path.removeprefix("docs/").removesuffix(".md").removesuffix("index")
    built = SITE / folder / "index.html"
    if built.exists():
        return f"{built.as_uri()}#{anchor}"
    return f"{DOCS_URL}{folder.strip('/') + '/' if folder else ''}#{anchor}"


class Judge:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rules: dict[str, Rule] = {}
        # The judged app's warnings, each once: advice, never a failed rule.
        self.warnings: dict[str, None] = {}
        # Why the judged app does not start, if it does not (see pytest_sessionstart).
        self.diagnosis: str | None = None

    @property
    def judged(self) -> Step:
        [number] = self.config.getoption("--step")  # make check judges one step
        app, app_dir = self.config.getoption("--app"), self.config.getoption("--app-dir")
        return catalog.get(number).judging(app, app_dir) if app else catalog.get(number)

    def preflight(self) -> None:
        """An app that does not start is one diagnosis (exit 2), not a failure per rule.

        Made while pytest configures itself, before pytest-xdist starts its
        workers: for an app that does not start, none is started, and no rule runs.
        """
        if hasattr(self.config, "workerinput") or self.config.getoption("--app") is None:
            return
        seen: list[warnings.WarningMessage] = []
        diagnosis = preflight.diagnose(self.judged, seen)
        for warning in seen:
            self.note_warning(warning.message, warning.category, warning.filename, warning.lineno)
        self.diagnosis = diagnosis
        if diagnosis:
            self.config.option.dist = "no"  # pytest-xdist then starts no worker

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.diagnosis:  # every rule would fail for the same reason
            self.config.hook.pytest_deselected(items=list(items))
            items.clear()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.diagnosis:
            session.exitstatus = 2

    def note_warning(self, message, category, filename: str, lineno: int) -> None:
        where = Path(filename)
        shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where.name
        text = str(message).strip().splitlines()[0] if str(message).strip() else ""
        self.warnings[f"{category.__name__}: {text} ({shown}:{lineno})"] = None

    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        self.note_warning(
            warning_message.message,
            warning_message.category,
            warning_message.filename,
            warning_message.lineno,
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            key = report.nodeid.split("[")[0]
            rule = self.rules.setdefault(key, Rule(key))
            rule.outcomes.append(report.outcome)
            if report.skipped and isinstance(report.longrepr, tuple):
                rule.skipped_because = str(report.longrepr[2]).removeprefix("Skipped: ")
            for name, value in report.user_properties:
                if name == "judge_used":
                    rule.used.update(value)
                if name == "judge_reason" and rule.reason is None:
                    case = CASE_OF_THE_STEP.sub("", report.nodeid.partition("[")[2].rstrip("]"))
                    rule.reason = f"[{case}] {value}" if case else value

    def write_warnings(self) -> None:
        if not self.warnings:
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line("")
        reporter.write_line("The app's warnings (advice: no rule fails because of them):")
        for warning in self.warnings:
            reporter.write_line(f"  {warning}")

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.diagnosis:
            terminalreporter.write_line("")
            terminalreporter.write_line(self.diagnosis, red=True)
            self.write_warnings()
            terminalreporter.write_line("")
            terminalreporter.write_line("No rule was judged.", bold=True)
            return
        judged = self.judged
        verbose = self.config.getoption("judge_verbose")
        counted = [rule for rule in self.rules.values() if set(rule.outcomes) != {"skipped"}]
        by_topic: dict[tuple[str, str], list[Rule]] = defaultdict(list)
        for rule in counted:
            by_topic[rule.tier, rule.topic].append(rule)
        write = terminalreporter.write_line
        tiers_shown = {tier for tier, _ in by_topic}
        tier_now = None
        for (tier, topic), rules in sorted(by_topic.items(), key=lambda kv: kv[0][0] != "lesson"):
            if tier != tier_now and len(tiers_shown) > 1 and tier in TIER_HEADINGS:
                write("")
                write(TIER_HEADINGS[tier], bold=True)
                tier_now = tier
            write("")
            write(f"{topic}:")
            for rule in rules:
                if rule.passed:
                    write(f"  {PASSED} {rule.hint}")
                    continue
                write(f"  {FAILED} {rule.hint}", red=True)
                for line in (rule.reason or "failed").splitlines()[: None if verbose else 3]:
                    write(f"      {line}")
                write(f"      learn it: {address(rule.page(judged))}")
        # A rule skipped in every case is not counted; it is named, with why, so
        # that "all pass" never hides a rule nobody judged (Chromium missing).
        unjudged = [rule for rule in self.rules.values() if rule not in counted]
        if unjudged:
            write("")
            write(f"Not judged here ({len(unjudged)}):")
            for rule in unjudged:
                write(f"  - {rule.hint}: {rule.skipped_because or 'skipped'}")
        self.write_warnings()
        passing = sum(rule.passed for rule in counted)
        write("")
        write(f"{passing}/{len(counted)} rules pass", bold=True)
        report = self.config.getoption("judge_report")
        if report:
            verdicts = {
                rule.nodeid: Verdict(
                    name=rule.hint,
                    passed=rule.passed,
                    reason=None if rule.passed else rule.reason,
                    section=address(rule.page(judged)),
                    tier=rule.tier,
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
    parser.addoption(
        "--judge-verbose", action="store_true", help="each failed rule's whole traceback"
    )


def pytest_configure(config: pytest.Config) -> None:
    judge = Judge(config)
    config.pluginmanager.register(judge, "judge")
    # After the suite's conftest has configured the run (the judged app's folder
    # on sys.path), before pytest-xdist's own configure (trylast) starts workers.
    judge.preflight()
    # The judged app's warnings are its own business: shown once, as advice. The
    # suite's own code stays strict (pyproject.toml's filterwarnings = error); the
    # last filter added is the first applied.
    config.addinivalue_line("filterwarnings", "always")
    config.addinivalue_line("filterwarnings", r"error:::(tests|shared)(\.|$)")


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """Each report carries what the test relied on so far, and why it failed.

    A test that failed because a response showed a secret met a rule of
    authentication (auth.SecretShown), whatever else it was about.
    """
    if call.excinfo is not None and call.excinfo.errisinstance(auth.SecretShown):
        used_by(item).add("auth")
    report = yield
    properties = [p for p in item.user_properties if p[0] not in ("judge_used", "judge_reason")]
    properties.append(("judge_used", sorted(used_by(item))))
    if report.failed and call.excinfo is not None:
        verbose = item.config.getoption("judge_verbose")
        properties.append(("judge_reason", reason_of(item, call.excinfo, verbose)))
    report.user_properties = properties
    return report


def reason_of(
    item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException], verbose: bool
) -> str:
    """Why a case failed, in a few lines: the last request and its answer, then what the
    rule expected, or the exception the app raised and where in its code."""
    lines = []
    exchanged = exchange.last(item)
    if exchanged:
        lines.append(exchanged)
    step = item.config.pluginmanager.get_plugin("judge").judged
    if excinfo.errisinstance(AssertionError):
        message = excinfo.exconly().removeprefix("AssertionError: ").strip().splitlines()
        asserted = [line for line in message if line.startswith("assert ")]
        lines.append(f"expected: {asserted[0]}" if asserted else f"failed: {message[0]}")
    elif preflight.where_in(step.path, excinfo.value):
        lines.append(f"the app raised {preflight.described(excinfo.value, step.path)}")
    else:
        lines.append(f"the answer lacks what the rule reads: {excinfo.exconly()}")
    if verbose:
        lines.append(str(excinfo.getrepr(style="short")))
    # Text that is not text (a lone surrogate a rule sent) is shown escaped: a
    # report must cross from a worker to the controlling process as UTF-8.
    return "\n".join(lines).encode("utf-8", "backslashreplace").decode("utf-8")
