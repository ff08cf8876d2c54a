"""``{% figure_table figure "Title" %}``: a chart's numbers as visually hidden tables (screen readers)."""

from __future__ import annotations

from typing import Any

from django import template

from dashboards.figure_text import figure_tables

register = template.Library()


@register.inclusion_tag("dashboards/_figure_table.html")
def figure_table(figure: Any, title: str = "") -> dict[str, Any]:
    return {"tables": figure_tables(figure, title)}
