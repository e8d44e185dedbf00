"""Small helpers the dashboard views share: partial selection, figures for json_script, error messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.forms import Form

from config.http import AuthedHtmxRequest
from investigations.selectors import figures


def template_for(request: AuthedHtmxRequest, page: str, partial: str) -> str:
    """The whole page for a normal request, only the named partial for an htmx one (not for boosted links)."""
    if request.htmx and not request.htmx.boosted:
        return f"{page}#{partial}"
    return page


figure_data = figures.figure_data


def error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def form_errors(form: Form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)
