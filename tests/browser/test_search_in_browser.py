"""Search in a real browser (issue 18): a query with a typo still finds, a brand facet narrows the
results, and a suggestion of the search box is picked with the keyboard. Chromium through
Playwright against a live gunicorn (fixtures: conftest.py); every page is watched for console
errors, CSP violations and 5xx answers."""
from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.browser_support import missing_requirement

_MISSING = missing_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=f"browser test: {_MISSING}")]

if _MISSING is None:
    from playwright.sync_api import expect

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def _common_word(live_shop) -> str:
    """The most common long word of the shop's product names (a query that finds several)."""
    names = [row[0] for row in live_shop._execute("SELECT name FROM products WHERE active AND stock > 0")]
    words = Counter(w.lower() for name in names for w in re.findall(r"[A-Za-z]+", name) if len(w) >= 7)
    return words.most_common(1)[0][0]


def _category_with_products(live_shop) -> tuple[str, str]:
    (name, slug), = live_shop._execute(
        "SELECT c.name, c.slug FROM categories c JOIN products p ON p.category_id = c.id WHERE p.active "
        "GROUP BY c.id, c.name, c.slug ORDER BY count(*) DESC, c.id LIMIT 1")
    return name, slug


def test_search_with_a_typo_a_brand_facet_and_a_keyboard_suggestion(new_page, page_log, live_shop):
    word = _common_word(live_shop)
    typo = word[:2] + word[3:]  # one letter left out
    page = new_page(**DESKTOP)
    page.goto("/")

    # A typo still finds: the page says which query it searched instead.
    box = page.get_by_role("combobox", name="Search")
    box.fill(typo)
    box.press("Enter")  # nothing highlighted: the form submits as without the script
    page.wait_for_url(re.compile(r"/search\?q="))
    expect(page.locator(".corrected, .did-you-mean")).to_contain_text(word)
    cards = page.locator(".listing-main article.card")
    expect(cards.first).to_be_visible()
    found = cards.count()
    assert found > 0

    # A brand facet narrows the results to that brand; its link is the new URL.
    brand_link = page.locator("section[data-facet='brand'] a.facet-value").first
    brand = brand_link.locator(".facet-label").inner_text().strip()
    expected = int(brand_link.locator(".facet-count").inner_text())
    brand_link.click()
    page.wait_for_url(re.compile(r"[?&]brand="))
    assert parse_qs(urlsplit(page.url).query)["brand"] == [brand]
    expect(page.locator("section[data-facet='brand'] a.facet-value.selected .facet-label")).to_have_text(brand)
    brands = page.locator(".listing-main article.card .brand").all_inner_texts()
    assert brands and {b.lower() for b in brands} == {brand.lower()} and len(brands) == min(expected, 24)

    # A result followed from the page is a click on that result (the link names the search).
    first = page.locator(".listing-main a.card-link").first
    assert "sq=" in (first.get_attribute("href") or "") and "sp=0" in first.get_attribute("href")

    # The search box suggests as the shopper types; Down, Down, Up, Enter opens the first one.
    category, slug = _category_with_products(live_shop)
    box = page.get_by_role("combobox", name="Search")
    box.fill("")
    box.press_sequentially(category[:4].lower(), delay=60)
    listbox = page.get_by_role("listbox", name="Search suggestions")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_be_visible()
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("ArrowDown")  # the list again, the first option highlighted
    expect(listbox).to_be_visible()
    expect(options.first).to_have_attribute("aria-selected", "true")
    if options.count() > 1:
        box.press("ArrowDown")
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        box.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    expect(options.first).to_contain_text(category)  # categories come first
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/c/{re.escape(slug)}$"))
    expect(page.locator("h1")).to_contain_text(category)
    page_log.assert_clean()


PHONE = {
    "viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/156.0.0.0 Mobile Safari/537.36",
}


def test_on_a_phone_the_filters_fold_away_and_nothing_scrolls_sideways(new_page, page_log, live_shop):
    word = _common_word(live_shop)
    page = new_page(**PHONE)
    _, slug = _category_with_products(live_shop)
    for url in (f"/search?q={word}", f"/c/{slug}"):
        page.goto(url)
        page.wait_for_load_state("load")
        expect(page.locator(".listing-main a.card-link").first).to_be_visible()
        panel = page.locator("details.facet-panel")
        expect(panel).not_to_have_attribute("open", "")  # the results come first
        widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth})")
        assert max(widths["scroll"], widths["inner"]) <= PHONE["viewport"]["width"], (url, widths)
        panel.locator("summary").tap()
        brand = page.locator("section[data-facet='brand'] a.facet-value").first
        expect(brand).to_be_visible()
    brand.tap()
    page.wait_for_url(re.compile(r"[?&]brand="))
    expect(page.locator("details.facet-panel")).to_have_attribute("open", "")  # a filter is on: shown
    page_log.assert_clean()
