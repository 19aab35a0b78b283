"""Generated SVG artwork per category, so the demo never shows a broken image."""
from __future__ import annotations

import hashlib
from html import escape


def _hue(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:4], 16) % 360


def category_svg(name: str, slug: str) -> str:
    """A 400x400 illustration: a tinted background, a stylised product box and the name."""
    hue = _hue(slug)
    label = escape(name)
    initials = escape("".join(word[0] for word in name.split() if word[0].isalnum())[:2].upper() or "?")
    return f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" role="img" aria-label="{label}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="hsl({hue},70%,92%)"/><stop offset="1" stop-color="hsl({(hue + 40) % 360},60%,80%)"/>
</linearGradient></defs>
<rect width="400" height="400" fill="url(#g)"/>
<circle cx="200" cy="170" r="96" fill="hsl({hue},55%,62%)" opacity="0.35"/>
<rect x="135" y="110" width="130" height="120" rx="18" fill="hsl({hue},45%,45%)"/>
<rect x="135" y="110" width="130" height="34" rx="18" fill="hsl({hue},45%,35%)"/>
<text x="200" y="205" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="44" font-weight="700" fill="#fff">{initials}</text>
<text x="200" y="300" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="26" fill="hsl({hue},40%,25%)">{label}</text>
</svg>"""
