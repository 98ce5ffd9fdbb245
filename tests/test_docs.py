"""The docs site: it builds strictly, it agrees with the catalog, and it renders.

The site is built once per session, from a copy of the repository in a
temporary folder (the suite never writes into the repository), the way
`make docs-build` builds it: `python -m shared.docsgen`, then
`mkdocs build --strict`.
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
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from mkdocs.config import load_config

from shared import examples
from shared.catalog import ROOT, STEPS, Step
from shared.server import HOST, venv_command

DOCS = ROOT / "docs"
# What a build needs: the config, the pages, and the code they include or run.
SOURCES = ("mkdocs.yml", "Makefile", "docs", "steps", "shared")
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
    return destination


def build_site(root: Path, *, offline: bool = False) -> Build:
    """`make docs-build` (or `make docs-offline`) in `root`, without make."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCS_", "DATABASE_URL"))}
    env["NO_MKDOCS_2_WARNING"] = "1"
    if offline:
        env["DOCS_OFFLINE"] = "true"
    commands = [
        [sys.executable, "-m", "shared.docsgen"],
        [venv_command("mkdocs"), "build", "--strict", "--site-dir", "site"],
    ]
    output = ""
    for command in commands:
        result = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=180
        )
        output += result.stdout + result.stderr
        assert result.returncode == 0, output
    return Build(root, root / "site", output)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build_site(copy_sources(tmp_path_factory.mktemp("docs")))


@pytest.fixture(scope="session")
def offline_site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build_site(copy_sources(tmp_path_factory.mktemp("docs-offline")), offline=True)


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


def test_the_reference_lists_every_route_and_make_target(site: Build) -> None:
    text = site.text("reference")
    for step in STEPS:
        assert f"Step {step.number}: {step.title}" in text
    assert "/tasks/{task_id}" in text
    for target in ("make run", "make test", "make docs-build", "make docs-offline"):
        assert target in text


def test_no_page_loads_anything_from_the_internet(site: Build) -> None:
    for html_file in site.site.rglob("*.html"):
        parser = LoadedURLs()
        parser.feed(html_file.read_text())
        assert parser.urls, html_file
        remote = [url for url in parser.urls if re.match(r"(https?:)?//", url)]
        assert remote == [], html_file


def test_a_changed_line_in_a_step_changes_its_page(tmp_path: Path) -> None:
    root = copy_sources(tmp_path)
    step = STEPS[-1]
    main = root / "steps" / step.package / "main.py"
    main.write_text(main.read_text() + "\nLESSON_MARKER = 'changed for the docs test'\n")
    html = build_site(root).page(f"steps/{step.package}")
    assert "changed for the docs test" in html.split('id="what-changed')[0], "code tabs"
    diff = html.split('id="what-changed')[1].split('id="run-it"')[0]
    assert "LESSON_MARKER" in diff


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
    with http.server.ThreadingHTTPServer((HOST, 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://{HOST}:{server.server_address[1]}"
        server.shutdown()
        thread.join(10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="session")
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


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.left_machine = []

    def only_this_machine(route) -> None:
        if urlsplit(route.request.url).hostname == HOST:
            route.continue_()
        else:
            page.left_machine.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_machine)
    yield page
    context.close()


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
    assert page.left_machine == []


def test_diagrams_render_without_the_internet(page, served_site: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served_site}/diagrams/", wait_until="load")
    # Material swaps each <pre class="mermaid"> for a rendered <div class="mermaid">.
    expect(page.locator("div.mermaid")).to_have_count(3)
    assert page.locator("pre.mermaid").count() == 0
    assert page.left_machine == []


def test_search_finds_a_step_in_a_browser(page, served_site: str) -> None:
    page.goto(f"{served_site}/", wait_until="load")
    query = page.locator("input[data-md-component=search-query]")
    query.click()
    query.press_sequentially("thread pool")
    result = page.locator(".md-search-result__item").first
    result.wait_for()
    assert "step" in result.inner_text().lower()
    assert page.left_machine == []
