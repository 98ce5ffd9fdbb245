"""Write the parts of the docs site that come from the code, before MkDocs runs.

Tooling, not a lesson. `python -m shared.docsgen` (run by `make docs`,
`make docs-build`, `make docs-offline` and by tests/tutorial/test_docs.py) writes
Markdown fragments into a git-ignored folder (`build/docs/` by default); the
hand-written pages in docs/ include them with pymdownx.snippets. Everything is
derived from shared/catalog.py and the step folders, so a new step, or a
changed line in a step, shows up on its page at the next build:

    <package>/code.md    the step's files, included from steps/ (changed lines highlighted)
    <package>/diff.md    a diff block per file changed since the previous step
    <package>/run.md     the commands that start the step
    <package>/try.md     example requests with the responses the app really gave
    steps.md             the path of steps, as a table of links
    steps-diagram.md     the same path, as a Mermaid diagram
    reference/api.md     every step's routes, from its OpenAPI
    reference/make.md    the Makefile's targets, from its help comments

Plain files rather than an MkDocs hook or plugin, so that any builder that reads
mkdocs.yml and its Markdown extensions (Zensical included) builds the same site.
"""
