"""Lifting plotly's injected CSS out of plotly.min.js (pure)."""

from __future__ import annotations

from dashboards.plotly_css import extract_rules, to_css

JS = (
    'var a=1;var I={"X,X div":\'direction:ltr;font-family:"Open Sans";\','
    '"X .modebar":"position:absolute;",'
    '",Y .notifier-close":"color:#fff;"};for(b in I)x();'
)


def test_extracts_every_rule_with_both_quote_styles() -> None:
    assert extract_rules(JS) == [
        ("X,X div", 'direction:ltr;font-family:"Open Sans";'),
        ("X .modebar", "position:absolute;"),
        (",Y .notifier-close", "color:#fff;"),
    ]


def test_expands_placeholders_like_plotly() -> None:
    css = to_css(extract_rules(JS))
    assert ".js-plotly-plot .plotly,.js-plotly-plot .plotly div{direction:ltr;" in css
    assert ".js-plotly-plot .plotly .modebar{position:absolute;}" in css
    assert " ,.plotly-notifier .notifier-close{color:#fff;}" in css


def test_no_rules_when_plotly_changes_shape() -> None:
    assert extract_rules("var nothing=1;") == []
    assert to_css([]) == "\n"
