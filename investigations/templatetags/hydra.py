"""Template helpers of the dashboard: local times with UTC on hover, markdown notes, badges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.template import loader  # noqa: F401  (template.loader used below)
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from investigations.markdown_render import render_markdown

register = template.Library()


@register.filter
def when(value: datetime | None, fmt: str = "Y-m-d H:i") -> SafeString | str:
    """A <time> in the analyst's zone; the title shows the same moment in UTC."""
    if value is None:
        return "—"
    from django.utils.dateformat import format as dformat

    local = timezone.localtime(value)
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        dformat(local, fmt),
    )


@register.filter
def markdown(value: str) -> SafeString:
    return mark_safe(render_markdown(value or ""))  # noqa: S308 - sanitised by nh3 in render_markdown


@register.filter
def percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


@register.filter
def get_item(mapping: dict[str, Any], key: Any) -> Any:
    return (mapping or {}).get(str(key))


@register.filter
def risk_badge(score: float) -> SafeString:
    from investigations.models import Case

    level = Case.risk_level_of(score)
    shown = f"{score:.2f}"
    return format_html('<span class="risk risk-{}" title="risk score {}">{} · {}</span>', level, shown, level, shown)


@register.simple_tag(takes_context=True)
def optional_include(context: template.Context, name: str) -> SafeString | str:
    """Render another app's template fragment if that app provides it (ban controls, export buttons).

    The case and account pages offer fixed spots for actions that other apps own;
    until such an app ships its fragment, the spot stays empty.
    """
    try:
        tmpl = template.loader.get_template(name)
    except template.TemplateDoesNotExist:
        return ""
    return tmpl.render(context.flatten(), context.get("request"))


@register.filter
def evidence_chips(evidence: list[dict] | None) -> list[dict[str, Any]]:
    """One chip per signal of a membership's evidence, with how many links it has and their texts on hover."""
    chips: dict[str, dict[str, Any]] = {}
    for link in evidence or []:
        if not isinstance(link, dict):
            continue
        signal = str(link.get("signal") or "link")
        chip = chips.setdefault(signal, {"signal": signal, "count": 0, "texts": []})
        chip["count"] += 1
        if link.get("text"):
            chip["texts"].append(str(link["text"]))
    for chip in chips.values():
        chip["title"] = "\n".join(chip.pop("texts")[:5])
    return list(chips.values())
