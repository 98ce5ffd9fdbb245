"""The docs site: it builds strictly, it agrees with the catalog, and it renders.

The site is built once per run (one build, whichever pytest-xdist worker asks
first), from a copy of the repository in a temporary folder (the suite never
writes into the repository), the way `make docs-build` builds it:
`python -m shared.docsgen`, then `mkdocs build --strict`. So is the offline
site, the way `make docs-offline` builds it.
"""

from __future__ import annotations

import functools
import html
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import markdown
import pytest
import yaml
from mkdocs.config import load_config

from shared import catalog, examples
from shared.catalog import ROOT, STEPS, Step
from shared.docsgen import checks
from shared.server import HOST, UvicornServer, free_port
from tests.support import judge, make, once

DOCS = ROOT / "docs"
# What a build needs: the config, the pages, and the code they include or run.
# What `make docs-build` reads: the tests too, whose rules the contract page lists.
SOURCES = ("mkdocs.yml", "Makefile", "requirements.lock", "docs", "steps", "shared", "tests")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-wal", "*.db-shm")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@dataclass
class Build:
    root: Path
    site: Path
    output: str

    def page(self, path: str) -> str:
        return (self.site / path / "index.html").read_text()

    def text(self, path: str) -> str:
        """What a reader sees of the page: tags (and highlighting spans) removed."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.page(path)))


class LoadedURLs(HTMLParser):
    """The URLs a browser loads on opening a page: scripts, styles, images, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img", "iframe") and found.get("src"):
            self.urls.append(found["src"])
        navigation_only = {"canonical", "alternate", "prev", "next"}
        if tag == "link" and found.get("href") and found.get("rel") not in navigation_only:
            self.urls.append(found["href"])


def copy_sources(destination: Path) -> Path:
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=IGNORED)
        else:
            shutil.copy2(source, destination / name)
    # The Makefile's tools: this checkout's virtual environment, already installed.
    (destination / ".venv").symlink_to(ROOT / ".venv")
    return destination


def docs_environment() -> dict[str, str]:
    """A learner's shell: no DOCS_* or DATABASE_URL settings of this process."""
    env = {k: v for k, v in make.environment().items() if not k.startswith("DOCS_")}
    env.pop("DATABASE_URL", None)
    env["NO_MKDOCS_2_WARNING"] = "1"
    return env


def make_docs(root: Path, target: str) -> dict:
    """`make <target>` in `root`, as a learner types it: its exit status and output."""
    result = subprocess.run(
        make.command(target),
        cwd=root,
        env=docs_environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    return {"returncode": result.returncode, "output": result.stdout + result.stderr}


def built_once(tmp_path_factory: pytest.TempPathFactory, target: str) -> Build:
    """`make <target>` (docs-build or docs-offline) in a copy of the repository, once
    in the run (tests/support/once.py): the tests only read a build."""
    result, root = once.once_per_run(
        tmp_path_factory, target, lambda folder: make_docs(copy_sources(folder), target)
    )
    assert result["returncode"] == 0, result["output"]
    return Build(root, root / "site", result["output"])


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return built_once(tmp_path_factory, "docs-build")


@pytest.fixture(scope="session")
def offline_site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return built_once(tmp_path_factory, "docs-offline")


def nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def step_page(step: Step) -> str:
    return f"steps/{step.package}.md"


# The catalog, the step folders and the docs agree ---------------------------


def test_every_catalog_step_has_a_page_in_the_nav() -> None:
    pages = nav_pages(load_config(str(ROOT / "mkdocs.yml")).nav)
    for step in STEPS:
        assert step_page(step) in pages, f"step {step.number} has no page in mkdocs.yml's nav"


def test_every_page_in_the_nav_exists() -> None:
    for page in nav_pages(load_config(str(ROOT / "mkdocs.yml")).nav):
        assert (DOCS / page).is_file(), f"mkdocs.yml's nav names docs/{page}, which is missing"


def test_every_step_page_belongs_to_a_catalog_step() -> None:
    pages = {f"steps/{path.name}" for path in (DOCS / "steps").glob("*.md")}
    assert pages == {step_page(step) for step in STEPS}


def test_every_steps_path_named_in_the_docs_exists() -> None:
    named = {
        match.rstrip(".")
        for page in DOCS.rglob("*.md")
        for match in re.findall(r"steps/step\d\d_\w+(?:/[\w./-]*)?", page.read_text())
    }
    assert named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"the docs name paths that do not exist: {missing}"


# A page includes `--8<-- "steps/<file>:<section>"`; the file marks the section with
# `# --8<-- [start:<section>]` ... `[end:<section>]`.
INCLUDED_SECTION = re.compile(r'--8<-- "(steps/[^":]+):(\w+)"')
SECTION_MARKER = re.compile(r"^ *# --8<-- \[(start|end):(\w+)\]$", flags=re.MULTILINE)


def included_sections() -> set[tuple[str, str]]:
    pages = [*(ROOT / "docs").rglob("*.md"), *(ROOT / "shared" / "docsgen").rglob("*.py")]
    return {
        tuple(m.groups()) for page in pages for m in INCLUDED_SECTION.finditer(page.read_text())
    }


def marked_sections() -> dict[tuple[str, str], list[str]]:
    """Each (file, section) marked in steps/, with its markers (start, end) in order."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted((ROOT / "steps").rglob("*.py")):
        for kind, name in SECTION_MARKER.findall(path.read_text()):
            found.setdefault((path.relative_to(ROOT).as_posix(), name), []).append(kind)
    return found


def test_every_section_marked_in_the_steps_is_included_by_a_page() -> None:
    """A marker that no page includes is noise in the code a learner reads."""
    assert set(marked_sections()) - included_sections() == set()


def test_every_section_a_page_includes_is_marked_once() -> None:
    marked = marked_sections()
    for section in included_sections():
        assert marked.get(section) == ["start", "end"], section


def test_every_step_page_includes_its_generated_parts() -> None:
    for step in STEPS:
        text = (DOCS / step_page(step)).read_text()
        for part in ("code", "diff", "run", "try"):
            assert f'--8<-- "{step.package}/{part}.md"' in text, (step.number, part)
        assert '??? success "Solution"' in text, f"step {step.number} has no folded solution"


# The build ---------------------------------------------------------------


def test_the_site_builds_strictly_with_a_page_per_step(site: Build) -> None:
    for step in STEPS:
        assert (site.site / "steps" / step.package / "index.html").is_file()


def test_a_step_page_shows_its_code_diff_commands_and_real_responses(site: Build) -> None:
    for step in STEPS:
        page, text = site.page(f"steps/{step.package}"), site.text(f"steps/{step.package}")
        assert "--8<--" not in text, "a snippet was not included"
        assert f"uvicorn {step.app_ref} --reload" in text
        assert f"make run STEP={step.number}" in text
        responses = page.count('class="language-json example-response')
        assert responses == len(examples.for_step(step))
        if step.number > STEPS[0].number:
            assert 'class="language-diff' in page


def test_every_rule_of_the_judge_links_a_section_of_the_built_site(site: Build) -> None:
    """`make check` prints, beside each failed rule, the section of a page that teaches it."""
    sections = judge.taught_sections()
    assert len({page.partition("#")[0] for page in sections}) == len(catalog.STEPS)
    for page in sections:
        path, _, anchor = page.partition("#")
        html = site.site / path.removeprefix("docs/").removesuffix(".md") / "index.html"
        assert f'id="{anchor}"' in html.read_text(), f"{page}: no such section in {html}"


def test_every_check_of_the_testing_page_names_a_test_file_that_exists() -> None:
    for what, where, features in checks.CHECKS:
        assert (ROOT / "tests" / where).is_file(), (what, where)
        assert features is None or set(features) <= catalog.FEATURES, (what, features)


def test_the_contract_page_lists_the_rules_with_their_steps(site: Build) -> None:
    page = (site.site / "contract" / "index.html").read_text()
    assert "Tier lesson: the HTTP contract the steps teach" in page
    last = catalog.latest().number
    assert f"<strong>Welcome names the step</strong> (steps 1-{last})" in page
    assert f"<strong>Users me is a route of its own</strong> (steps 6-{last})" in page


def test_the_judge_prints_an_address_a_browser_opens(tmp_path: Path, monkeypatch) -> None:
    page = "docs/steps/step03_users.md#the-code"
    monkeypatch.setattr(judge, "SITE", tmp_path / "site")
    assert judge.address(page) == "http://127.0.0.1:8001/steps/step03_users/#the-code"
    built = tmp_path / "site" / "steps" / "step03_users" / "index.html"
    built.parent.mkdir(parents=True)
    built.touch()
    assert judge.address(page) == f"{built.as_uri()}#the-code"


def test_the_reference_lists_every_route_and_make_target(site: Build) -> None:
    text = site.text("reference")
    for step in STEPS:
        assert f"Step {step.number}: {step.title}" in text
    assert "/tasks/{task_id}" in text
    for target in ("make run", "make test", "make docs-build", "make docs-offline"):
        assert target in text


@pytest.mark.parametrize("build", ["site", "offline_site"])
def test_no_page_loads_anything_from_the_internet(
    build: str, request: pytest.FixtureRequest
) -> None:
    site: Build = request.getfixturevalue(build)
    for html_file in site.site.rglob("*.html"):
        parser = LoadedURLs()
        parser.feed(html_file.read_text())
        assert parser.urls, html_file
        remote = [url for url in parser.urls if re.match(r"(https?:)?//", url)]
        assert remote == [], html_file


def rendered(root: Path, page: str) -> str:
    """A page's content as MkDocs renders it: Markdown with mkdocs.yml's extensions and
    their settings, the snippets included from `root` as `make docs-build` there does
    (its steps/ and build/docs/). Not the theme around it, nor MkDocs' link checks."""
    config = load_config(str(root / "mkdocs.yml"))
    extension_configs = dict(config.mdx_configs)
    snippets = extension_configs["pymdownx.snippets"]
    # Relative to the folder `make` runs in: `root`, not this process's.
    bases = [str(root / base) for base in snippets["base_path"]]
    extension_configs["pymdownx.snippets"] = {**snippets, "base_path": bases}
    converter = markdown.Markdown(
        extensions=config.markdown_extensions, extension_configs=extension_configs
    )
    return converter.convert((root / "docs" / page).read_text())


def test_a_changed_line_in_a_step_changes_its_page(tmp_path: Path, site: Build) -> None:
    """The code tabs and the diff are the step's files as they are, not a copy kept by hand.

    Not a whole build again (the site's build shows that `make docs-build` writes the
    generated parts and the page includes them): only the step's code and diff are
    written again, over the site's generated parts, and its page is rendered with the
    Markdown extensions that build it.
    """
    root = copy_sources(tmp_path)
    shutil.copytree(site.root / "build", root / "build")
    step = STEPS[-1]
    main = root / "steps" / step.package / "main.py"
    main.write_text(main.read_text() + "\nLESSON_MARKER = 'changed for the docs test'\n")
    written = subprocess.run(
        [root / ".venv" / "bin" / "python", "-m", "shared.docsgen", "--step", str(step.number)],
        cwd=root,
        env=docs_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert written.returncode == 0, written.stdout + written.stderr
    html = rendered(root, step_page(step))
    assert "changed for the docs test" in html.split('id="what-changed')[0], "code tabs"
    diff = html.split('id="what-changed')[1].split('id="run-it"')[0]
    assert "LESSON_MARKER" in diff


def test_make_docs_serves_the_site(tmp_path: Path) -> None:
    """`make docs`: the site with live reload, on the port given (8001 by default)."""
    (tmp_path / "root").mkdir()
    root = copy_sources(tmp_path / "root")
    port = free_port()
    with UvicornServer(
        "mkdocs serve",
        port=port,
        command=make.command("docs", f"PORT={port}"),
        base_env=docs_environment(),
        cwd=root,
        log_path=tmp_path / "mkdocs.log",
        # It answers once it has written the fragments and built the whole site:
        # about 8 s of CPU, which took over 30 s on 2 cores shared with other work.
        ready_within=180,
    ) as server:
        step = STEPS[-1]
        with urllib.request.urlopen(f"{server.url}/steps/{step.package}/", timeout=10) as page:
            # The text a reader sees: the highlighter may wrap each space in a tag.
            shown = html.unescape(re.sub(r"<[^>]+>", "", page.read().decode()))
        assert f"uvicorn {step.app_ref} --reload" in shown


def test_the_offline_build_works_from_disk(offline_site: Build) -> None:
    index = (offline_site.site / "index.html").read_text()
    # Links point at files, not folders, and search needs no server.
    assert 'href="steps/step01_memory.html"' in index
    assert (offline_site.site / "steps" / "step01_memory.html").is_file()
    assert (offline_site.site / "search" / "search_index.js").is_file()


# The publishing workflow -------------------------------------------------


def test_the_docs_workflow_builds_strictly_and_deploys_with_least_permissions() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert any("make docs-build" in step.get("run", "") for step in build["steps"])
    assert "permissions" not in build
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build"
    assert deploy["if"] == "github.ref == 'refs/heads/main'"


# In a real browser -------------------------------------------------------


@pytest.fixture(scope="session")
def served_site(site: Build) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site.site))
    with QuietServer((HOST, 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://{HOST}:{server.server_address[1]}"
        server.shutdown()
        thread.join(10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A tab that opens the next page drops what the last one still loaded
        # (its search index): no traceback in the next test's output for that.
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)


# One browser per module, not per session: Playwright's sync API keeps an
# asyncio event loop marked as running in this thread until it stops, and every
# asyncio.run() the worker tried meanwhile (step 7's engine disposal, its
# create_admin command) would fail, in whatever module came next.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Chromium (.ci/run)")
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_tab(browser, allowed: Callable[[str], bool]) -> Iterator:
    """A browser tab that refuses, and records in `page.refused`, every other request."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.refused = []

    def only_allowed(route) -> None:
        if allowed(route.request.url):
            route.continue_()
        else:
            page.refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_allowed)
    yield page
    context.close()


@pytest.fixture(scope="module")
def loopback_tab(browser) -> Iterator:
    """A tab that may reach this machine's loopback server and nothing else."""
    yield from open_tab(browser, lambda url: urlsplit(url).hostname == HOST)


@pytest.fixture
def page(loopback_tab):
    """The loopback tab, on a blank page, with no request refused yet.

    One tab for every test of the served site rather than one each: each new tab
    costs Chromium a renderer process that compiles the site's scripts again (about
    1 CPU-s of the 2.5 that a step page costs in a new tab). Each test opens its page,
    and none depends on what another left: these tests click no tab and change no
    setting that the site keeps in the browser's storage.
    """
    loopback_tab.goto("about:blank")
    loopback_tab.refused.clear()
    return loopback_tab


@pytest.fixture
def disk_page(browser) -> Iterator:
    """A tab that may read files (file://) and nothing else: no server, no internet."""
    yield from open_tab(browser, lambda url: urlsplit(url).scheme == "file")


def search(page, words: str):
    """Put `words` in the search box and let it search; the first result, once shown."""
    from playwright.sync_api import expect

    query = page.locator("input[data-md-component=search-query]")
    # Material hides the box when its search worker cannot start.
    expect(query, f"no search box (refused requests: {page.refused})").to_be_visible()
    query.click()
    # Material searches again at every key released: typed key by key, the
    # results of "thread p" can still be on screen when the first is read (CI
    # failed once so). The words at once, then one key: one search, for all of them.
    query.fill(words)
    query.press("End")
    result = page.locator(".md-search-result__item").first
    result.wait_for()
    return result


def test_a_step_page_renders_in_a_browser(page, served_site: str, step: Step) -> None:
    """Run once per catalog step (conftest parametrizes `step`)."""
    page.goto(f"{served_site}/steps/{step.package}/", wait_until="load")
    code = page.locator(".tabbed-set .highlight code").all_inner_texts()
    assert any("app = FastAPI(" in block for block in code), "the step's main.py"
    responses = page.locator("code.example-response, .example-response code")
    assert responses.count() == len(examples.for_step(step))
    assert '"detail"' in " ".join(responses.all_inner_texts())
    if step.number > STEPS[0].number:
        assert page.locator(".language-diff").count() > 0
    assert page.refused == []


def test_diagrams_render_without_the_internet(page, served_site: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served_site}/diagrams/", wait_until="load")
    # Material swaps each <pre class="mermaid"> for a rendered <div class="mermaid">.
    expect(page.locator("div.mermaid")).to_have_count(3)
    assert page.locator("pre.mermaid").count() == 0
    assert page.refused == []


def test_search_finds_a_step_in_a_browser(page, served_site: str) -> None:
    page.goto(f"{served_site}/", wait_until="load")
    assert "step" in search(page, "thread pool").inner_text().lower()
    assert page.refused == []


def test_the_offline_build_searches_and_shows_code_opened_from_disk(
    disk_page, offline_site: Build
) -> None:
    """`make docs-offline`, opened from file:// with no server and no internet."""
    from playwright.sync_api import expect

    page = disk_page
    page.goto((offline_site.site / "index.html").as_uri(), wait_until="load")
    step = STEPS[-1]
    search(page, step.title).locator("a").first.click()
    page.wait_for_load_state("load")
    landed = urlsplit(page.url)._replace(query="", fragment="").geturl()
    assert landed == (offline_site.site / "steps" / f"{step.package}.html").as_uri(), page.url
    code = page.locator(".tabbed-set").first
    code.locator(".tabbed-labels label", has_text="main.py").click()
    expect(code.locator(".tabbed-block").filter(visible=True)).to_contain_text("app = FastAPI(")
    assert page.refused == []
