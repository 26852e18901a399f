"""The Content-Security-Policy (django-csp): a strict policy on every answer, widened for the API docs page only,
and templates that need nothing more (no inline script, style or event handler), so a new one fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import api_client, make_environment, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = (directive.strip().split(" ", 1) for directive in header.split(";") if directive.strip())
    return {name: value for name, value in directives}


@pytest.fixture
def browser() -> Client:
    client = Client()
    client.force_login(make_user("admin"))
    return client


def test_every_kind_of_answer_carries_the_strict_policy(browser):
    environment = make_environment(name="csp-target")
    answers = [
        Client().get("/accounts/login/"),
        browser.get("/"),
        browser.get(f"/environments/{environment.name}/"),
        browser.get(f"/environments/{environment.name}/dashboard/"),
        browser.get("/fleet/"),
        browser.get("/audit/"),
        Client().get("/admin/login/"),
        browser.get("/no-such-page/"),
        api_client(make_user()).get("/api/v1/environments/"),
    ]

    for response in answers:
        assert response.status_code in (200, 404), response.request["PATH_INFO"]
        assert policy(response) == STRICT, response.request["PATH_INFO"]


def test_the_api_docs_page_alone_allows_what_redoc_needs():
    docs = policy(api_client().get("/api/v1/docs/"))

    # Redoc writes <style> elements at run time and searches in a worker made from a blob.
    assert docs == {**STRICT, "style-src": "'self' 'unsafe-inline'", "worker-src": "blob:"}


# --- the templates ------------------------------------------------------------------------------------------

COMMENTS = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}|<!--.*?-->", re.S)
TAG = re.compile(r"<[a-zA-Z][^>]*>")
FORBIDDEN_TAGS = {
    "an inline <script>": re.compile(r"<script\b(?![^>]*\bsrc\s*=)", re.I),
    "a <style> element": re.compile(r"<style\b", re.I),
}
FORBIDDEN_ATTRIBUTES = {
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "an inline event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "a javascript: URL": re.compile(r"=\s*[\"']?\s*javascript:", re.I),
}


def template_files() -> list[Path]:
    """Launchpad's own templates: the project's folder and every app's templates/ folder."""
    folders = [Path(folder) for engine in settings.TEMPLATES for folder in engine["DIRS"]]
    folders += sorted((ROOT / "portal").glob("*/templates"))
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


def inline_code(text: str) -> list[str]:
    """What in a template the strict policy refuses: inline scripts, styles and handlers."""
    text = COMMENTS.sub("", text)
    found = [what for what, pattern in FORBIDDEN_TAGS.items() if pattern.search(text)]
    for tag in TAG.findall(text):
        found += [f"{what} in {tag[:80]}" for what, pattern in FORBIDDEN_ATTRIBUTES.items() if pattern.search(tag)]
    return found


def test_the_walk_finds_every_kind_of_inline_code():
    assert inline_code("<script>alert(1)</script><script src='/s.js'></script>") == ["an inline <script>"]
    assert inline_code("<style>p{}</style>") == ["a <style> element"]
    assert inline_code('<div style="width: 5%">') == ['a style attribute in <div style="width: 5%">']
    assert inline_code('<button onclick="go()">') == ['an inline event handler in <button onclick="go()">']
    assert inline_code('<a href="javascript:go()">') == ['a javascript: URL in <a href="javascript:go()">']
    assert inline_code('{# <script>x</script> #}<p class="online">on=</p><script src="/a.js" defer></script>') == []


def test_no_template_holds_inline_script_style_or_handler():
    files = template_files()
    assert len(files) > 30 and ROOT / "templates" / "base.html" in files

    found = {str(path.relative_to(ROOT)): inline_code(path.read_text()) for path in files}

    assert {path: problems for path, problems in found.items() if problems} == {}
