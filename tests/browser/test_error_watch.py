"""The browser fixture's error watch sees what a CSP violation looks like: a console error, not a page error."""

from __future__ import annotations

CSP_PAGE = """<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy" content="script-src 'self'">
</head><body><script>document.body.dataset.ran = "yes";</script></body></html>"""


def test_a_blocked_inline_script_is_collected_as_an_error(chromium_page):
    page, errors = chromium_page
    page.set_content(CSP_PAGE)
    page.wait_for_timeout(200)
    assert page.evaluate("document.body.dataset.ran") is None  # the policy held
    assert any("Content Security Policy" in e for e in errors), errors
