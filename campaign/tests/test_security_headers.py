"""No page is kept in a cache, every page carries the Content-Security-Policy, and no template
holds what that policy refuses (inline scripts, on...= handlers, <style> elements)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_a_page_with_personal_data_is_never_stored(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    response = client.get(reverse("residents:village_home"))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_htmx_fragments_files_and_error_pages_are_not_stored_either(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    for response in (
        client.get(reverse("residents:village_home"), HTTP_HX_REQUEST="true"),
        client.get(reverse("residents:import_template")),
        client.get("/no-such-page/"),
        client.get(reverse("login")),
    ):
        assert "no-store" in response["Cache-Control"], response


def test_every_response_carries_a_policy_without_inline_scripts_or_eval(client, cadre_qingshan):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in policy
    client.force_login(cadre_qingshan)
    assert client.get(reverse("residents:village_home"))["Content-Security-Policy"] == policy


def template_files():
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_has_an_inline_script_a_handler_or_a_style_element():
    found = []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        found += [f"{name}: inline <script>" for _ in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text)]
        found += [f"{name}: {handler}" for handler in re.findall(r"\son[a-z]+\s*=", text)]
        found += [f"{name}: <style>" for _ in re.findall(r"<style[\s>]", text)]
    assert template_files() and found == []
