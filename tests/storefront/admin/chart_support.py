"""What the admin pages' chart tests share: the page's chart data (the JSON block that
static/js/dashboard.js draws from), its canvases, and the rule that a page runs no inline code."""
from __future__ import annotations

import json
import re

DATA_BLOCK = re.compile(r'<script type="application/json" id="chart-data">(.*?)</script>', re.S)
CHART_SCRIPTS = ("/static/vendor/chart.js/chart.umd.min.js", "/static/js/dashboard.js")


def chart_data(html: str) -> dict:
    """``{key: spec}`` of every chart on the page (the block must be there exactly once)."""
    blocks = DATA_BLOCK.findall(html)
    assert len(blocks) == 1, f"{len(blocks)} chart data blocks on the page"
    return json.loads(blocks[0])["charts"]


def canvases(html: str) -> list[str]:
    """The keys of the page's chart canvases, in page order."""
    return re.findall(r'<canvas data-chart="([^"]+)"', html)


def assert_charts_drawn_without_inline_code(html: str) -> dict:
    """The page's charts: one canvas per spec, the vendored Chart.js and the chart script loaded
    from /static, and no inline code at all (the CSP allows scripts from 'self' only)."""
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="application/json"' in tag or " src=" in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no onclick= and friends either
    for script in CHART_SCRIPTS:
        assert f'src="{script}"' in html, script
    charts = chart_data(html)
    assert sorted(canvases(html)) == sorted(charts)
    return charts


def assert_no_chart(html: str) -> None:
    assert "<canvas" not in html and 'id="chart-data"' not in html and "<svg" not in html
