"""The first admin of step 6 on: the documented command, run as a learner runs it."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shared import permissions
from shared.catalog import ROOT, Step
from tests.support import apps, migrations
from tests.support.auth import PASSWORD, bearer, headers_for, log_in, sign_up
from tests.support.databases import rows

pytestmark = [
    pytest.mark.requires("auth"),
    pytest.mark.taught("run-it"),
    pytest.mark.usefixtures("signing_key", "anonymous"),
]


# On the command's PYTHONPATH: its sitecustomize makes Argon2 cheap (see the
# module), as in the servers of the tests not about hashing. The subject here is
# the command; the step's own hash would cost a tenth of a second, and as much
# again to check it at the login.
CHEAP_HASHING = Path(__file__).parent / "cheap_hashing"


def create_admin(
    step: Step, database_url: str, *args: str, typed: str
) -> subprocess.CompletedProcess[str]:
    """The command as a learner types it, from the repository root."""
    env = {**os.environ, "DATABASE_URL": database_url}
    if CHEAP_HASHING.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(CHEAP_HASHING), os.environ.get("PYTHONPATH")])
        )
    return subprocess.run(
        [sys.executable, "-m", f"{step.import_root}.create_admin", *args],
        cwd=ROOT,
        env=env,
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
        # No controlling terminal: getpass reads the typed lines from stdin.
        start_new_session=True,
    )


@pytest.mark.backends("sqlite")
def test_create_admin_asks_for_the_password_twice(
    step: Step, client: TestClient, database_url: str
) -> None:
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    done = create_admin(step, database_url, "root", "--email", "root@example.com", typed=typed)
    assert done.returncode == 0, done.stderr
    assert "root" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    me = client.get("/users/me", headers=bearer(log_in(client, "root"))).json()
    assert (me["username"], me["role"]) == ("root", "admin")


def run_in_process(step: Step, *args: str) -> int:
    """The command's `main`, in this process: what it does, without starting Python again.

    (The test above shows it as a process of its own: its prompt, its output, its exit code.)
    """
    return apps.import_module(step, "create_admin").main(list(args))


def test_create_admin_promotes_an_existing_user_for_scripts(
    step: Step,
    client: TestClient,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ada = sign_up(client, "ada", full_name="Ada Lovelace")
    client.post(f"/users/{ada['id']}/posts", json=permissions.POST, headers=headers_for(ada))
    monkeypatch.setenv("ADMIN_PASSWORD", "the admin's password")  # as a script sets it
    assert run_in_process(step, "ada") == 0
    out, err = capsys.readouterr()
    assert "the admin's password" not in out + err
    [(stored,)] = rows(database_url, "SELECT password_hash FROM users")
    assert stored not in out + err

    read = client.get(f"/users/{ada['id']}").json()
    assert read["role"] == "admin"
    assert read["full_name"] == "Ada Lovelace"
    assert len(read["posts"]) == 1
    log_in(client, "ada", "the admin's password")


def test_create_admin_refuses_two_different_passwords(
    step: Step, client: TestClient, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    typed = iter(["correct horse battery", "correct horse battry"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    assert run_in_process(step, "root", "--email", "root@example.com") == 1
    assert "differ" in capsys.readouterr().err
    assert client.get("/users").json() == []


def test_create_admin_reads_the_prompt(
    step: Step, client: TestClient, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORD)
    assert run_in_process(step, "root", "--email", "root@example.com", "--full-name", "Root") == 0
    out, err = capsys.readouterr()
    assert "Created the admin 'root'" in out
    assert PASSWORD not in out + err
    assert client.get("/users").json()[0]["full_name"] == "Root"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["nobody"], PASSWORD, "give --email"),
        (["root", "--email", "root@example.com"], "short", "at least 8 characters"),
        (["root", "--email", "not an address"], PASSWORD, "email"),
        (["root", "--email", "ada@example.com"], PASSWORD, "email belongs to another user"),
        (["ada"], "short", "at least 8 characters"),
    ],
    ids=[
        "new user without email",
        "short password",
        "bad email",
        "email taken",
        "short, promoting",
    ],
)
def test_create_admin_refuses_and_changes_nothing(
    step: Step,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    args: list[str],
    password: str,
    message: str,
) -> None:
    ada = sign_up(client, "ada")
    monkeypatch.setenv("ADMIN_PASSWORD", password)
    assert run_in_process(step, *args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert password not in err
    assert client.get("/users").json() == [ada]


def test_create_admin_needs_a_migrated_database(
    step: Step,
    backend: str,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    apps.load(step, empty_database_url, monkeypatch)
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    assert run_in_process(step, "root", "--email", "root@example.com") == 1
    assert migrations.names_the_upgrade_command(step, capsys.readouterr().err)


def test_create_admin_runs_as_a_module(
    step: Step, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m ...create_admin`, in-process (so that coverage sees its last lines)."""
    name = f"{step.import_root}.create_admin"
    sys.modules.pop(name, None)
    monkeypatch.setattr(sys, "argv", ["create_admin", "root", "--email", "root@example.com"])
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(name, run_name="__main__")
    assert exit_.value.code == 0
    assert client.get("/users").json()[0]["role"] == "admin"
