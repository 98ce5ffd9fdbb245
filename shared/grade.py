"""Grade a class: judge the app in every subfolder of a folder, and write one table.

    python -m shared.grade N --apps FOLDER [--app app.main:app] [--full] [--timeout 120] [--jobs 2]
    make grade STEP=N APPS=folder [APP=module:app] [FULL=1]

Each subfolder of FOLDER is one student's project, in the layout `make export`
writes (its app is `app.main:app`; `--app` names another). Each is judged by
`make check`'s judge (`python -m shared.practice check`), in a process group of
its own, on databases of its own and with a temporary folder of its own, within
a time limit: an app that hangs is stopped, with every process it started, and
reported as "timed out", not waited on. Two apps are judged at a time (one per
core). The grader then writes FOLDER/grades.csv and FOLDER/grades.html (the
same table, each failed rule with its reason) and nothing else into FOLDER.

Grading runs the students' code on this machine, with your rights: grade
untrusted code in a container or a virtual machine.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import html
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from shared import catalog
from shared.catalog import ROOT, Step

JUDGED, DID_NOT_START, TIMED_OUT = "judged", "did not start", "timed out"
DEFAULT_APP = "app.main:app"  # what `make export` writes
CSV_NAME, HTML_NAME = "grades.csv", "grades.html"
PASS, FAIL = "pass", "fail"
# Every process a judge starts inherits this variable (uvicorn servers that the
# tests start in sessions of their own too): the grader finds them all by it.
MARK = "SHARED_GRADE_RUN"


@dataclass
class Grade:
    """One subfolder's result."""

    name: str
    status: str
    verdicts: dict[str, dict] = field(default_factory=dict)  # rule id -> the judge's verdict
    diagnosis: str = ""  # why it was not judged
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(bool(verdict.get("passed")) for verdict in self.verdicts.values())

    @property
    def total(self) -> int:
        return len(self.verdicts)


class Processes:
    """The judges running now, so that Ctrl+C stops them too (they are in sessions of
    their own: the terminal's SIGINT does not reach them)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def add(self, token: str, process: subprocess.Popen[bytes]) -> None:
        with self.lock:
            self.running[token] = process
            stopping = self.stopping
        if stopping:
            stop(process, token)

    def discard(self, token: str) -> None:
        with self.lock:
            self.running.pop(token, None)

    def stop_all(self) -> None:
        with self.lock:
            self.stopping = True
            running = list(self.running.items())
        for token, process in running:
            stop(process, token)


def carrying(token: str) -> list[int]:
    """The processes whose environment has MARK=token (Linux's /proc; elsewhere none)."""
    needle = f"\0{MARK}={token}\0".encode()
    found = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if needle in b"\0" + environ + b"\0":
            found.append(int(entry.name))
    return found


def stop(process: subprocess.Popen[bytes], token: str) -> None:
    """Kill the judge's process group, then every process left that it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for _ in range(5):  # a process may start another while the first sweep runs
        left = carrying(token)
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    process.wait()


# What pytest prints around the judge's diagnosis: its decoration of pytest.exit's
# message, xdist's start-up line, a line of progress, the closing counts.
DECORATION = re.compile(r"^!+ (_pytest\.outcomes\.)?(Exit: )?|^Exit: | !+$", flags=re.MULTILINE)
NOISE = re.compile(
    r"bringing up nodes\.*|[.FEsxX]+( +\[ *\d+%\])?|No rule was judged\.|=*.* in [\d.]+s.*"
)


def diagnosis_of(output: str, folder: Path) -> str:
    """Why the judge judged nothing, from its output: its diagnosis of an app that did not
    start (from its first line on: the app's warnings, printed before, are advice), or the
    judge's own error."""
    lines = [line.rstrip() for line in DECORATION.sub("", output).splitlines()]
    lines = [line for line in lines if line.strip() and not NOISE.fullmatch(line.strip())]
    starts = [i for i, line in enumerate(lines) if line.startswith("The app did not start")]
    internal = [line for line in lines if line.startswith("INTERNALERROR>")]
    if starts:
        lines = lines[starts[0] :]
    elif internal:  # pytest's own traceback: its last line says what broke
        lines = [f"the judge failed: {internal[-1].removeprefix('INTERNALERROR>').strip()}"]
    text = "\n".join(lines)
    return text.replace(f"{folder.resolve()}{os.sep}", "").replace(f"{folder}{os.sep}", "")


def judge(
    step: Step, folder: Path, app: str, full: bool, timeout: float, processes: Processes
) -> Grade:
    """Judge the app in `folder` with `make check`'s judge, in a process group of its own."""
    started = time.monotonic()
    token = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        report, out, err = Path(tmp, "report.json"), Path(tmp, "stdout"), Path(tmp, "stderr")
        command = [
            sys.executable,
            "-m",
            "shared.practice",
            "check",
            str(step.number),
            "--app",
            app,
            "--app-dir",
            str(folder.resolve()),
            "--report",
            str(report),
        ]
        if full:
            command += ["--tier", "full"]
        env = {
            **os.environ,
            MARK: token,
            "TMPDIR": tmp,  # the judge's databases and servers' logs, removed with it
            "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ in the student's folder
        }
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
            processes.add(token, process)
            try:
                code: int | None = process.wait(timeout)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                stop(process, token)  # also what the app left running after a normal exit
                processes.discard(token)
        seconds = time.monotonic() - started
        if code is None:
            return Grade(
                folder.name, TIMED_OUT, diagnosis=f"stopped after {timeout:g} s", seconds=seconds
            )
        verdicts = read_report(report) if code in (0, 1) else None
        if verdicts is not None:
            return Grade(folder.name, JUDGED, verdicts, seconds=seconds)
        output = out.read_text(errors="replace")
        diagnosis = diagnosis_of(output, folder) or diagnosis_of(
            err.read_text(errors="replace"), folder
        )
        if code in (0, 1):
            diagnosis = f"the judge wrote no report (exit code {code})\n{diagnosis}".strip()
        return Grade(
            folder.name, DID_NOT_START, diagnosis=diagnosis or f"exit code {code}", seconds=seconds
        )


def read_report(path: Path) -> dict[str, dict] | None:
    try:
        verdicts = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(verdicts, dict):
        return None
    return {str(rule): v for rule, v in verdicts.items() if isinstance(v, dict)}


def grade(
    step: Step,
    folders: list[Path],
    app: str,
    full: bool,
    timeout: float,
    jobs: int,
    say=print,
) -> list[Grade]:
    """Every folder's grade, `jobs` at a time, in the folders' order."""
    processes = Processes()
    grades: dict[Path, Grade] = {}
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {
            pool.submit(judge, step, folder, app, full, timeout, processes): folder
            for folder in folders
        }
        for done in as_completed(futures):
            found = grades[futures[done]] = done.result()
            say(f"  {found.name}: {summary_of(found)} ({found.seconds:.1f} s)")
    except BaseException:  # Ctrl+C: the judges are in sessions of their own
        pool.shutdown(wait=False, cancel_futures=True)
        processes.stop_all()
        raise
    pool.shutdown()
    return [grades[folder] for folder in folders]


def summary_of(found: Grade) -> str:
    if found.status == JUDGED:
        return f"{found.passed}/{found.total} rules pass"
    return found.status


def rules_of(grades: Iterable[Grade]) -> dict[str, dict]:
    """Every rule any app was judged by, in the order the judge lists them, first seen first."""
    rules: dict[str, dict] = {}
    for found in grades:
        for rule, verdict in found.verdicts.items():
            rules.setdefault(rule, verdict)
    return rules


def name_of(rule: str, verdict: dict) -> str:
    return str(verdict.get("name") or rule)


def brief(diagnosis: str, width: int = 72) -> str:
    """A diagnosis on one short line: what went wrong, without the judge's preamble."""
    text = one_line(diagnosis).removeprefix("The app did not start ")
    return text if len(text) <= width else text[: width - 1] + "…"


def one_line(text: str) -> str:
    return " ".join(text.split())


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, not as a formula (a student names their folder)."""
    return f"'{text}" if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def write_csv(path: Path, grades: list[Grade], rules: dict[str, dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "status", "passed", "total", "diagnosis", *rules])
        for found in grades:
            judged = found.status == JUDGED
            cells = []
            for rule in rules:
                verdict = found.verdicts.get(rule)
                cells.append("" if verdict is None else PASS if verdict.get("passed") else FAIL)
            writer.writerow(
                [
                    spreadsheet_safe(found.name),
                    found.status,
                    found.passed if judged else "",
                    found.total if judged else "",
                    spreadsheet_safe(one_line(found.diagnosis)),
                    *cells,
                ]
            )


def learn_it(verdict: dict) -> str:
    """A link to the docs section that teaches the rule (the judge's address, if any)."""
    section = str(verdict.get("section") or "")
    if not section.startswith(("http://", "https://", "file://")):
        return ""
    return f'<a href="{html.escape(section)}">learn it</a>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.4rem; vertical-align: top; }
th { background: #f3f3f3; }
td.name, th.name { position: sticky; left: 0; background: #fff; text-align: left; }
th.name { background: #f3f3f3; }
td.pass { color: #1a7f37; text-align: center; }
td.fail { color: #b42318; background: #fff1f0; }
td.fail summary { cursor: pointer; text-align: center; }
td.diagnosis { background: #fffbe6; }
pre { white-space: pre-wrap; margin: 0.25rem 0 0; font-size: 0.8rem; max-width: 40rem; }
ol.rules li { margin: 0.15rem 0; }
.muted { color: #666; }
"""


def write_html(
    path: Path, step: Step, tier: str, grades: list[Grade], rules: dict[str, dict], line: str
) -> None:
    e = html.escape  # everything a student's app or folder can influence goes through it
    head = "".join(
        f'<th title="{e(name_of(rule, verdict))}">{number}</th>'
        for number, (rule, verdict) in enumerate(rules.items(), 1)
    )
    rows = []
    for found in grades:
        cells = [f'<td class="name">{e(found.name)}</td><td>{e(found.status)}</td>']
        if found.status != JUDGED:
            cells.append("<td></td>")
            cells.append(
                f'<td class="diagnosis" colspan="{max(len(rules), 1)}">'
                f"<pre>{e(found.diagnosis)}</pre></td>"
            )
        else:
            cells.append(f"<td>{found.passed}/{found.total}</td>")
            for rule, known in rules.items():
                verdict = found.verdicts.get(rule)
                if verdict is None:
                    cells.append("<td></td>")
                elif verdict.get("passed"):
                    cells.append(f'<td class="pass" title="{e(name_of(rule, known))}">✓</td>')
                else:
                    reason = str(verdict.get("reason") or "failed (no reason given)")
                    cells.append(
                        f'<td class="fail" title="{e(name_of(rule, known))}: {e(reason)}">'
                        f"<details><summary>✗</summary><pre>{e(reason)}</pre>"
                        f"{learn_it(verdict)}</details></td>"
                    )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    legend = [
        f'<li>{e(name_of(rule, verdict))} <span class="muted">{e(rule)}</span> '
        f"{learn_it(verdict)}</li>"
        for rule, verdict in rules.items()
    ]
    title = f"Grades: step {step.number}, {step.title} (tier {tier})"
    path.write_text(
        f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{e(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{e(title)}</h1>
<p>{e(line)}</p>
<table>
<thead><tr><th class="name">name</th><th>status</th><th>passed</th>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<h2>Rules</h2>
<ol class="rules">
{chr(10).join(legend)}
</ol>
<p class="muted">Each rule is a test of this tutorial's suite. Click a ✗ for why it failed.</p>
</body>
</html>
""",
        encoding="utf-8",
    )


def summary_line(grades: list[Grade], seconds: float) -> str:
    judged = [found for found in grades if found.status == JUDGED]
    perfect = sum(found.total > 0 and found.passed == found.total for found in judged)
    parts = [f"{len(judged)} judged ({perfect} pass every rule)"]
    for status in (DID_NOT_START, TIMED_OUT):
        count = sum(found.status == status for found in grades)
        if count:
            parts.append(f"{count} {status}")
    apps = "app" if len(grades) == 1 else "apps"
    return f"{len(grades)} {apps}: {', '.join(parts)}; graded in {seconds:.0f} s."


def table(grades: list[Grade]) -> str:
    width = max(len("name"), *(len(found.name) for found in grades))
    lines = [f"{'name':<{width}}  {'status':<13}  passed"]
    for found in grades:
        passed = f"{found.passed}/{found.total}" if found.status == JUDGED else ""
        note = f"  {brief(found.diagnosis)}" if found.diagnosis else ""
        lines.append(f"{found.name:<{width}}  {found.status:<13}  {passed}{note}")
    return "\n".join(lines)


def progress(text: str) -> None:
    print(text, flush=True)


def subfolders(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.iterdir() if path.is_dir() and not path.name.startswith((".", "__"))
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.grade",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("step", type=int, help="the step whose contract judges the apps")
    parser.add_argument("--apps", type=Path, required=True, help="one app per subfolder")
    parser.add_argument("--app", default=DEFAULT_APP, help=f"module:app (default {DEFAULT_APP})")
    parser.add_argument("--full", action="store_true", help="tier full too (real servers, slower)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per app before it is stopped"
    )
    parser.add_argument("--jobs", type=int, default=2, help="apps judged at once (one per core)")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout must be above 0 and --jobs at least 1")
    try:
        step = catalog.get(args.step)
    except LookupError as error:
        print(f"python -m shared.grade: {error}", file=sys.stderr)
        return 2
    folder: Path = args.apps
    if not folder.is_dir():
        print(f"python -m shared.grade: no such folder: {folder}", file=sys.stderr)
        return 2
    folders = subfolders(folder)
    if not folders:
        print(f"python -m shared.grade: {folder} has no subfolder to grade", file=sys.stderr)
        return 2
    tier = "full" if args.full else "lesson"
    print(
        f"Grading {len(folders)} apps ({args.app}) by step {step.number}'s contract, "
        f"tier {tier}, {args.jobs} at a time, {args.timeout:g} s each at most.\n"
        "This runs the students' code on this machine: for untrusted code, "
        "use a container or a VM.",
        flush=True,
    )
    started = time.monotonic()
    try:
        grades = grade(step, folders, args.app, args.full, args.timeout, args.jobs, progress)
    except KeyboardInterrupt:
        print("Stopped: nothing written.", file=sys.stderr)
        return 130
    rules = rules_of(grades)
    line = summary_line(grades, time.monotonic() - started)
    csv_path, html_path = folder / CSV_NAME, folder / HTML_NAME
    write_csv(csv_path, grades, rules)
    write_html(html_path, step, tier, grades, rules, line)
    print()
    print(table(grades))
    print()
    print(line)
    print(f"Wrote {csv_path}")
    print(f"Wrote {html_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
