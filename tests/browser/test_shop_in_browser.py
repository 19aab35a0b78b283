"""The shop in a real browser: Debian's Chromium, driven by Playwright, against a live gunicorn.

The database is built by the real CLI (migrations, the small demo seed, an admin, a first
training run), gunicorn serves it with two workers from ``gunicorn.conf.py``, and the pages are
used as a shopper uses them: links and buttons are clicked, forms typed into. Every page is
watched for console errors, uncaught exceptions, CSP violations and 5xx answers; on failure
each open page is screenshotted into ``test-artifacts/`` (see conftest.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.browser.browser_support import ADMIN_EMAIL, missing_requirement, product_id

_MISSING = missing_requirement()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=f"browser test: {_MISSING}")]

if _MISSING is None:
    from playwright.sync_api import expect

TRAINING_TIMEOUT_MS = 180_000
PHONE = {
    "viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/156.0.0.0 Mobile Safari/537.36",
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@dataclass
class Shelf:
    widget: str
    strategy: str
    model_version: str
    title: str
    product_ids: list[int]


def home_shelf(page) -> Shelf:
    """The main recommendation shelf of the home page as rendered (templates/macros/widgets.html);
    "Inspired by your visit", shown beside it during an anonymous visit, is checked on its own."""
    shelf = page.locator("section.widget[data-widget^='home_']:not([data-widget='home_visit'])")
    expect(shelf).to_have_count(1)
    links = shelf.locator(".shelf-row a.card-link")
    return Shelf(
        widget=shelf.get_attribute("data-widget"),
        strategy=shelf.get_attribute("data-strategy"),
        model_version=shelf.get_attribute("data-model-version"),
        title=shelf.locator("h2").inner_text().strip(),
        product_ids=[product_id(href) for href in links.evaluate_all("els => els.map(e => e.href)")],
    )


def test_visitor_browses_gets_recommendations_and_checks_out(new_page, page_log):
    page = new_page(**DESKTOP)

    # A first visit: no history yet, so the home shelf is "Trending now".
    page.goto("/")
    expect(page).to_have_title(re.compile(r"^Home · Storefront"))
    before = home_shelf(page)
    assert before.widget == "home_trending", before
    assert before.product_ids, "the home page shows no recommendations at all"
    # 8 cards in a desktop row of 6: arrows say there is more, and scroll the row
    more = page.locator("section.widget[data-widget='home_trending'] .shelf-arrow[aria-label='Show more']")
    expect(more).to_be_visible()
    expect(more).to_be_enabled()
    row = page.locator("section.widget[data-widget='home_trending'] .shelf-row")
    more.click()
    page.wait_for_function("el => el.scrollLeft > 0", arg=row.element_handle())

    # Home -> a department -> one of its categories, by clicking.
    page.locator("a.dept-tile").first.click()
    expect(page.locator(".breadcrumbs")).to_be_visible()
    chips = page.locator(".chips a.chip")
    if chips.count():
        chips.first.click()
    category_name = page.locator(".breadcrumbs > span").inner_text().strip()
    grid_links = page.locator(".grid a.card-link")
    expect(grid_links.first).to_be_visible()
    hrefs = list(dict.fromkeys(grid_links.evaluate_all("els => els.map(e => e.getAttribute('href'))")))
    assert len(hrefs) >= 4, f"category {category_name!r} lists only {len(hrefs)} products"

    # Several products of that one category: the first by a click, the rest by their links.
    viewed, viewed_names = [], []
    grid_links.first.click()
    for n, href in enumerate(hrefs[:4]):
        if n:
            page.goto(href)
        expect(page).to_have_url(re.compile(r"/products/\d+"))
        expect(page.locator("article.product h1")).to_be_visible()
        expect(page.locator(".breadcrumbs")).to_contain_text(category_name)
        viewed.append(product_id(page.url))
        viewed_names.append(page.locator("article.product h1").inner_text().strip())

    # Back home: the shelf is now "Recommended for you", from the model with these views folded in.
    page.locator("a.logo").click()
    after = home_shelf(page)
    assert after.widget == "home_for_you", after
    assert after.title == "Recommended for you", after
    # and, for this anonymous visit, what shoppers went on to after the last of these views
    visit = page.locator("section.widget[data-widget='home_visit']")
    expect(visit).to_have_count(1)
    expect(visit.locator("h2")).to_have_text("Inspired by your visit")
    expect(visit.locator(".shelf-row a.card-link").first).to_be_visible()
    shown = [product_id(h) for h in visit.locator(".shelf-row a.card-link").evaluate_all("els => els.map(e => e.href)")]
    assert not set(shown) & set(viewed), shown  # never what the visit holds
    assert after.strategy.startswith("model:"), f"the shelf fell back instead of using the model: {after}"
    assert after.model_version, after
    assert after.product_ids and after.product_ids != before.product_ids, (before, after)
    # ...led by what this visit looked at, and saying so: "Because you viewed <one of them>"
    in_category = {product_id(href) for href in hrefs}
    assert set(after.product_ids[:4]) & in_category, f"nothing from {category_name!r} leads the shelf: {after}"
    reasons = page.locator("section.widget[data-widget='home_for_you'] .card .reason").all_inner_texts()
    assert len(reasons) == len(after.product_ids), reasons
    named = [r.removeprefix("Because you viewed ") for r in reasons if r.startswith("Because you viewed ")]
    assert named and set(named) <= set(viewed_names), (reasons, viewed_names)

    # A recommended product into the cart (its link carries the impression, so this is a click).
    page.locator("section.widget[data-widget='home_for_you'] a.card-link").first.click()
    expect(page).to_have_url(re.compile(r"/products/\d+\?ri=.+&rp=0"))
    name = page.locator("article.product h1").inner_text().strip()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(page.locator(".flash-success")).to_contain_text(f"Added {name} to your cart.")
    expect(page.locator(".cart-table")).to_contain_text(name)
    expect(page.locator(".cart-link .badge")).to_have_text("2")

    # Checkout: the always-declined test card first (the form comes back with HTTP 422), then the good one.
    page_log.allow(r"/checkout: Failed to load resource: the server responded with a status of 422 ")
    page.get_by_role("link", name="Proceed to checkout").click()
    expect(page).to_have_url(re.compile(r"/checkout$"))
    page.get_by_label("Full name").fill("Browser Shopper")
    page.get_by_label("Email").fill("shopper@example.com")
    page.get_by_label("Address").fill("1 Test Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postcode").fill("12345")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.locator(".field.has-error:has(#card_number) .error")).to_contain_text("declined")  # under the card
    expect(page).to_have_url(re.compile(r"/checkout$"))

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9A-F]{12}$"))
    reference = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text("Thank you, Browser Shopper!")
    expect(page.locator("main strong").first).to_have_text(reference)
    expect(page.locator("main")).to_contain_text("card ending 4242")
    expect(page.locator(".cart-table tbody")).to_contain_text(name)
    expect(page.locator(".cart-link .badge")).to_have_count(0)  # the cart is empty again

    page_log.assert_clean()


def log_in_as_admin(page, live_shop, then: str = "/admin/ml") -> None:
    page.goto(then)
    expect(page).to_have_url(re.compile(r"/account/login"))  # visitors are sent to log in
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(live_shop.admin_password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".account-nav")).to_contain_text("Admin")


def test_admin_retrains_and_sees_the_run_finish(new_page, page_log, live_shop):
    page = new_page(**DESKTOP)
    log_in_as_admin(page, live_shop)

    page.goto("/admin/ml")
    expect(page.locator("h1")).to_have_text("Recommendation models")
    version_before = page.locator(".kpi .version").inner_text().strip()
    assert version_before, "no active model version before retraining"

    page.get_by_role("button", name="Retrain now").click()
    flash = page.locator(".flash-success")
    expect(flash).to_contain_text(re.compile(r"Training queued \(run #\d+\)"))
    run_id = re.search(r"run #(\d+)", flash.inner_text()).group(1)
    expect(page.locator(".run-progress")).to_contain_text(f"Run #{run_id} is")

    # No reload from here: the page refreshes itself every 3 s while the run is in progress.
    run_row = page.locator(".runs-table tbody tr").filter(has=page.get_by_role("link", name=f"#{run_id}", exact=True))
    status = run_row.locator(".run-status")
    expect(status).to_have_text(re.compile(r"^(succeeded|failed)$"), timeout=TRAINING_TIMEOUT_MS)
    assert status.inner_text() == "succeeded", f"run #{run_id} failed: {run_row.locator('.error-cell').inner_text()}"
    expect(page.locator(".run-progress")).to_have_count(0)
    expect(run_row).to_contain_text("admin")  # the trigger
    expect(page.locator(".kpi .version")).not_to_have_text(version_before)

    page_log.assert_clean()


def horizontal_overflow(page, width: int = PHONE["viewport"]["width"]) -> dict | None:
    """``{scroll, inner}`` widths when the page scrolls sideways, else None."""
    page.wait_for_load_state("load")
    widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth})")
    # A phone zooms out to show a page wider than its screen: then innerWidth grows with the page.
    return widths if max(widths["scroll"], widths["inner"]) > width else None


def test_phone_layout_has_no_horizontal_scroll(new_page, page_log):
    page = new_page(**PHONE)
    page.goto("/")
    expect(page.locator("section.widget")).to_be_visible()
    overflowing = {}
    if widths := horizontal_overflow(page):
        overflowing["home"] = widths
    # The other pages a phone shopper goes through, by tapping.
    page.locator("a.dept-tile").first.tap()
    expect(page.locator(".grid a.card-link").first).to_be_visible()
    if widths := horizontal_overflow(page):
        overflowing[page.url] = widths
    page.locator(".grid .card:not(:has(.oos)) a.card-link").first.tap()  # an in-stock product
    expect(page.locator("article.product h1")).to_be_visible()
    if widths := horizontal_overflow(page):
        overflowing[page.url] = widths
    page.get_by_role("button", name="Add to cart").tap()
    expect(page.locator(".cart-table")).to_be_visible()
    if widths := horizontal_overflow(page):
        overflowing[page.url] = widths
    page.goto("/checkout")
    expect(page.locator(".checkout-form")).to_be_visible()
    if widths := horizontal_overflow(page):
        overflowing[page.url] = widths
    assert not overflowing, f"pages that scroll sideways on a 390 px phone: {overflowing}"

    page_log.assert_clean()


def test_a_phone_checkout_reads_in_order_and_puts_card_errors_under_the_card(new_page, page_log):
    """Issue 22: autofill and number pads on the fields, one column in reading order (the fields,
    the order summary, then Pay, whose amount is the summary's total), a declined card's message
    under the card number, an expiry typed without a slash."""
    page = new_page(**PHONE)
    page.goto("/")
    page.locator("a.dept-tile").first.tap()
    page.locator(".grid .card:not(:has(.oos)) a.card-link").first.tap()
    page.get_by_role("button", name="Add to cart").tap()
    expect(page.locator(".cart-table")).to_be_visible()
    expect(page.locator(".cart-summary .totals .total")).to_be_visible()
    page.goto("/checkout")
    for label, autocomplete, mode in (("Full name", "name", None), ("Email", "email", "email"),
                                      ("Postcode", "postal-code", None), ("Card number", "cc-number", "numeric"),
                                      ("Expiry (MM/YY)", "cc-exp", "numeric"), ("CVC", "cc-csc", "numeric")):
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_attribute("autocomplete", autocomplete)
        if mode:
            expect(field).to_have_attribute("inputmode", mode)
    pay = page.get_by_role("button", name=re.compile(r"^Pay "))
    cvc, summary = page.get_by_label("CVC").bounding_box(), page.locator(".order-summary h2").bounding_box()
    assert cvc["y"] < summary["y"] < pay.bounding_box()["y"], "the summary must come between the fields and Pay"
    expect(pay).to_have_text(f"Pay {page.locator('.order-summary .totals .total dd').inner_text().strip()}")
    assert horizontal_overflow(page) is None

    page_log.allow(r"/checkout: Failed to load resource: the server responded with a status of 422 ")
    for label, value in (("Full name", "Phone Shopper"), ("Email", "phone@example.com"), ("Address", "2 Test Street"),
                         ("City", "Springfield"), ("Postcode", "12345"), ("Card number", "4000 0000 0000 0002"),
                         ("Expiry (MM/YY)", "1239"), ("CVC", "123")):
        page.get_by_label(label, exact=True).fill(value)
    pay.tap()
    error = page.locator(".field.has-error:has(#card_number) .error")
    expect(error).to_contain_text("Your card was declined.")
    expect(error).to_be_in_viewport()  # the page comes back where the shopper can see why
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay ")).tap()
    expect(page).to_have_url(re.compile(r"/orders/[0-9A-F]{12}$"))
    expect(page.locator("h1")).to_have_text("Thank you, Phone Shopper!")

    page_log.assert_clean()


# Every admin page, and the charts each must draw with the demo shop (more may be drawn).
ADMIN_PAGES = {
    "/admin/": set(), "/admin/dashboard": {"events-per-day", "funnel", "orders-by-hour"},
    "/admin/ml": {"ndcg", "calibration"}, "/admin/customers": {"map"}, "/admin/resources": set(),
    "/admin/resources/performance": set(), "/admin/resources/model": {"hit-rate"}, "/admin/campaigns": set(),
    "/admin/campaigns/new": set(),
}
# Each chart canvas: drawn by Chart.js (static/js/dashboard.js), with data, inside the screen,
# and with painted pixels.
CHARTS_JS = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(canvas => {
  const chart = window.Chart && window.Chart.getChart(canvas);
  const {width, height} = canvas;
  const pixels = width && height ? canvas.getContext('2d').getImageData(0, 0, width, height).data : [];
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i]) { painted++; } }
  return {key: canvas.dataset.chart, drawn: !!chart, painted,
          points: chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0,
          right: canvas.getBoundingClientRect().right, inner: window.innerWidth};
})"""
# Table cells without their column's name (stacked on a phone, the header row is hidden).
UNLABELLED_CELLS_JS = """() => Array.from(document.querySelectorAll(
  'main table.cart-table:not(.key-value) tbody td:not([data-label])')).map(td => td.textContent.trim().slice(0, 40))"""


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_admin_pages_fit_the_screen_and_draw_their_charts(new_page, page_log, live_shop, device):
    options = PHONE if device == "phone" else DESKTOP
    width = options["viewport"]["width"]
    page = new_page(**options)
    log_in_as_admin(page, live_shop, then="/admin/")
    pages = dict(ADMIN_PAGES)
    page.goto("/admin/ml")  # a run's page and a customer's page, by their links
    pages[page.locator(".runs-table a").first.get_attribute("href")] = set()
    page.goto("/admin/customers")
    pages[page.locator("section[aria-labelledby=top] a").first.get_attribute("href")] = set()

    overflowing, missing, broken, unlabelled = {}, {}, {}, {}
    for url, expected in pages.items():
        page.goto(url)
        if widths := horizontal_overflow(page, width):
            overflowing[url] = widths
        page.wait_for_function("() => !document.querySelector('canvas[data-chart]') || window.Chart")
        charts = page.evaluate(CHARTS_JS)
        if expected - {c["key"] for c in charts}:
            missing[url] = sorted(expected - {c["key"] for c in charts})
        bad = [c for c in charts if not (c["drawn"] and c["points"] and c["painted"] and c["right"] <= c["inner"])]
        if bad:
            broken[url] = bad
        if cells := page.evaluate(UNLABELLED_CELLS_JS):
            unlabelled[url] = cells[:5]
    assert not overflowing, f"admin pages that scroll sideways at {width} px: {overflowing}"
    assert not missing, f"charts not on their page: {missing}"
    assert not broken, f"charts not drawn (or empty, or wider than the screen): {broken}"
    assert not unlabelled, f"table cells without their column name (data-label): {unlabelled}"

    page_log.assert_clean()


def test_the_owner_imports_a_feed_reprices_sells_on_a_campaign_and_cancels(new_page, page_log, live_shop):
    """Issue 22's walk: the example feed imported, a price edited in the admin, a shopper sees it and
    buys with a 30%-off campaign on, the order shows the discount; the admin cancels and the stock returns."""
    from tests.browser.browser_support import PROJECT_ROOT

    output = live_shop.flask("catalog", "import", str(PROJECT_ROOT / "docs" / "examples" / "feed.tsv"))
    assert "20" in output, output

    admin = new_page(**DESKTOP)
    log_in_as_admin(admin, live_shop, then="/admin/products?q=Cast+Iron+Skillet")
    admin.get_by_role("link", name=re.compile(r"^Cast Iron Skillet 26 cm$")).first.click()
    expect(admin).to_have_url(re.compile(r"/admin/products/\d+$"))
    product = int(admin.url.rsplit("/", 1)[1])
    stock_before = int(admin.get_by_label("Stock (units)").input_value())
    admin.get_by_label("Price").fill("42.00")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator(".flash-success")).to_be_visible()

    # 30% off the feed's Ironhold brand, now
    admin.goto("/admin/campaigns/new")
    admin.get_by_label("Name", exact=True).fill("Ironhold week")
    admin.get_by_label("Target brand").fill("Ironhold")
    admin.get_by_label("Offer", exact=True).select_option(label="Percent off")
    admin.get_by_label(re.compile(r"^Percent, or amount off")).fill("30")
    admin.get_by_label("Headline").fill("Ironhold cookware this week")
    admin.get_by_label("Starts (UTC)").fill("2026-01-01T00:00")
    admin.get_by_label("Ends (UTC)").fill("2031-01-01T00:00")
    admin.get_by_role("button", name=re.compile(r"^(Save|Create)")).click()
    expect(admin.locator(".flash-success")).to_be_visible()
    # Each gunicorn worker sees a new campaign within CATALOG_CHECK_INTERVAL (2 s, the documented
    # propagation time): the walk below is faster than that, and its cart and checkout pages may be
    # priced by the two workers, so it starts once both know the campaign.
    admin.wait_for_timeout(2_100)

    shopper = new_page(**DESKTOP)
    shopper.goto(f"/products/{product}")
    expect(shopper.locator("article.product")).to_contain_text("$42.00")
    shopper.get_by_role("button", name="Add to cart").click()
    expect(shopper).to_have_url(re.compile(r"/cart$"))
    expect(shopper.locator(".cart-table")).to_contain_text("$12.60")  # 30% of 42.00 off
    shopper.get_by_role("link", name="Proceed to checkout").click()
    for label, value in (("Full name", "Feed Shopper"), ("Email", "feed@example.com"), ("Address", "2 Feed Road"),
                         ("City", "Springfield"), ("Postcode", "12345"), ("Card number", "4242 4242 4242 4242"),
                         ("Expiry (MM/YY)", "12/39"), ("CVC", "123")):
        shopper.get_by_label(label, exact=True).fill(value)
    shopper.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(shopper).to_have_url(re.compile(r"/orders/[0-9A-F]{12}$"))
    reference = shopper.url.rsplit("/", 1)[1]
    expect(shopper.locator("main")).to_contain_text("$12.60")  # the discount as it was at purchase
    expect(shopper.locator("main")).to_contain_text("$29.40")

    admin.goto(f"/admin/products/{product}")
    assert int(admin.get_by_label("Stock (units)").input_value()) == stock_before - 1
    admin.goto(f"/admin/orders?q={reference}")
    admin.get_by_role("link", name=re.compile(reference)).first.click()
    admin.get_by_role("button", name="Cancel order").click()
    expect(admin.locator("main")).to_contain_text(re.compile(r"[Cc]ancelled"))
    admin.goto(f"/admin/products/{product}")
    assert int(admin.get_by_label("Stock (units)").input_value()) == stock_before  # restocked

    page_log.assert_clean()
