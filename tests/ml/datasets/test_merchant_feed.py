"""ml.datasets.merchant_feed: the three layouts of a merchant feed, real exports' quirks, and every
bad row reported by line (or item) with nothing returned."""
from __future__ import annotations

from decimal import Decimal
from datetime import datetime
from pathlib import Path

import pytest

from ml.data import DataFormatError
from ml.datasets.merchant_feed import TABLE, XML, feed_layout, read_feed
from ml.datasets.merchant_feed_values import gtin_is_valid

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
HEADER = "id\ttitle\tprice\tavailability"


def write(tmp_path: Path, text: str, name: str = "feed.tsv", bom: bool = False, crlf: bool = False) -> Path:
    path = tmp_path / name
    data = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode())
    return path


def problems(path: Path, currency: str | None = None) -> list[tuple[int, str]]:
    with pytest.raises(DataFormatError) as caught:
        read_feed(path, currency)
    return caught.value.problems


def test_the_example_feeds_hold_the_same_twenty_products():
    tsv, xml = read_feed(EXAMPLES / "feed.tsv", "USD"), read_feed(EXAMPLES / "feed.xml", "USD")
    assert len(tsv) == 20
    strip = [(i.id, i.title, i.description, i.price, i.sale_price, i.availability, i.image_links, i.category_path,
              i.gtin, i.extra) for i in tsv]
    assert strip == [(i.id, i.title, i.description, i.price, i.sale_price, i.availability, i.image_links,
                      i.category_path, i.gtin, i.extra) for i in xml]
    assert {i.availability for i in tsv} == {"in_stock", "out_of_stock", "preorder", "backorder"}
    assert any(i.sale_price for i in tsv) and len({i.category_path for i in tsv}) > 5


def test_a_bom_crlf_quoted_tabs_and_commas_spaced_availability_and_unknown_columns(tmp_path):
    path = write(tmp_path, (
        "ID\tTitle\tPrice\tAvailability\tImage Link\tg:additional_image_link\tcolour_code\tproduct_type\n"
        'A-12\t"Pan, large\twith lid"\t15.00 USD\tin stock\thttps://x.test/a.jpg\t'
        '"https://x.test/b.jpg,https://x.test/c.jpg, https://x.test/a.jpg"\tRD\tHome > Kitchen > Cookware\n'
        "\n"
        '0042\t"A ""quoted""\nmultiline title"\t7 usd\tOut Of Stock\t\t\t\t\n'
    ), bom=True, crlf=True)
    first, second = read_feed(path)
    assert (first.id, first.title, first.price, first.currency, first.availability) == (
        "A-12", "Pan, large with lid", Decimal("15.00"), "USD", "in_stock")
    assert first.image_links == ("https://x.test/a.jpg", "https://x.test/b.jpg", "https://x.test/c.jpg")
    assert first.category_path == ("Home", "Kitchen", "Cookware") and first.where == "line 2"
    assert (second.id, second.title, second.availability, second.line) == ("0042", 'A "quoted" multiline title',
                                                                           "out_of_stock", 4)
    assert feed_layout(path) == TABLE


def test_a_comma_separated_table_with_a_quantity_column(tmp_path):
    path = write(tmp_path, "id,title,price,stock,sale_price\nSKU-1,Mug,10.00 EUR,3,8.50 EUR\nSKU-2,Cup,4 EUR,0,\n",
                 name="shop.csv")
    mug, cup = read_feed(path, "EUR")
    assert (mug.quantity, mug.availability, mug.sale_price) == (3, "in_stock", Decimal("8.50"))
    assert (cup.quantity, cup.availability) == (0, "out_of_stock")


def test_every_bad_row_is_reported_by_its_line(tmp_path):
    path = write(tmp_path, HEADER + "\tsale_price\tgtin\tcondition\n" + "\n".join([
        "A\tOk\t10.00 USD\tin_stock\t\t\t",                    # 2: fine
        "B\tSale too high\t10.00 USD\tin_stock\t12.00 USD\t\t",  # 3
        "\tNo id\t10.00 USD\tin_stock\t\t\t",                  # 4
        "D\t\t10.00 USD\tin_stock\t\t\t",                      # 5
        "E\tNo price\t\tin_stock\t\t\t",                        # 6
        "F\tBad currency\t10.00 US$\tin_stock\t\t\t",          # 7
        "G\tNo currency\t10.00\tin_stock\t\t\t",               # 8
        "H\tComma decimal\t10,00 USD\tin_stock\t\t\t",         # 9
        "I\tBad availability\t1.00 USD\tsold out\t\t\t",       # 10
        "A\tRepeated id\t1.00 USD\tin_stock\t\t\t",            # 11
        "K\tBad gtin\t1.00 USD\tin_stock\t\t4006381333932\t",  # 12
        "L\tToo few fields\t1.00 USD",                         # 13
        "M\tEuro\t1.00 EUR\tin_stock\t\t\tused",               # 14
        "N\tZero\t0.00 USD\tin_stock\t\t\tbroken",             # 15
    ]) + "\n")
    found = problems(path, "USD")
    lines = sorted({line for line, _ in found})
    assert lines == list(range(3, 16))
    text = "\n".join(f"{line}: {message}" for line, message in found)
    for expected in ("3: sale_price 12.00 USD is above the price 10.00 USD", "4: id is missing",
                     "5: title is missing", "6: price is missing", "7: price has a malformed currency 'US$'",
                     "8: price has no currency", "9: price has a malformed number '10,00'",
                     "10: availability 'sold_out' is not one of", "11: id 'A' is repeated (first at line 2)",
                     "12: gtin '4006381333932' is not a valid GTIN", "13: expected 7 fields, found 3",
                     "14: price is in EUR, but the shop sells in USD", "15: price must be above zero",
                     "15: condition 'broken' is not one of"):
        assert expected in text, expected


def test_a_header_without_the_required_columns_or_a_file_without_products(tmp_path):
    assert problems(write(tmp_path, "identifier\ttitle\tcost\nA\tB\tC\n")) == [
        (1, "missing required column(s): id, price (a feed's header names at least id, title, price)")]
    assert problems(write(tmp_path, HEADER + "\n\n", name="empty.tsv")) == [(0, "holds no products")]
    assert problems(write(tmp_path, "", name="nothing.tsv")) == [(1, "the file is empty (no header)")]
    latin = tmp_path / "latin.tsv"
    latin.write_bytes((HEADER + "\nA\tCaf\xe9\t1.00 USD\tin_stock\n").encode("latin-1"))
    assert "is not UTF-8 text" in problems(latin)[-1][1]


def test_sale_dates_stock_contradictions_and_the_price_charged(tmp_path):
    path = write(tmp_path, HEADER + "\tsale_price\tsale_price_effective_date\tquantity\n"
                 "A\tA\t20.00 USD\tin_stock\t15.00 USD\t2026-12-01T00:00-0800/2026-12-31T23:59-0800\t\n")
    (item,) = read_feed(path)
    assert item.sale_start == datetime(2026, 12, 1, 8, 0) and item.sale_end == datetime(2027, 1, 1, 7, 59)
    assert item.price_at(datetime(2026, 11, 30)) == Decimal("20.00")
    assert item.price_at(datetime(2026, 12, 15)) == Decimal("15.00")
    assert item.price_at(datetime(2027, 1, 2)) == Decimal("20.00")
    bad = write(tmp_path, HEADER + "\tsale_price\tsale_price_effective_date\tquantity\n"
                "A\tA\t20.00 USD\tin_stock\t15.00 USD\tsoon\t\n"
                "B\tB\t20.00 USD\tout_of_stock\t\t\t4\n"
                "C\tC\t20.00 USD\tin_stock\t\t\t0\n"
                "D\tD\t20.00 USD\t\t\t\t\n", name="bad.tsv")
    assert [line for line, _ in problems(bad)] == [2, 3, 4, 5]


XML_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">
<channel><title>Shop</title><link>https://shop.test</link>
<item>
  <title>Plain title</title>
  <link>https://shop.test/p/1</link>
  <description><![CDATA[Made of <b>steel</b> & wood]]></description>
  <g:id>SKU-1</g:id>
  <g:price>15.00 USD</g:price>
  <g:availability>in stock</g:availability>
  <g:image_link>https://img.test/1.jpg</g:image_link>
  <g:additional_image_link>https://img.test/2.jpg</g:additional_image_link>
  <g:additional_image_link>https://img.test/3.jpg</g:additional_image_link>
  <g:shipping><g:country>US</g:country><g:price>999.00 EUR</g:price></g:shipping>
  <g:product_type>Home &gt; Kitchen</g:product_type>
  <pubDate>Mon, 01 Dec 2026 00:00:00 GMT</pubDate>
</item>
<item>
  <title>Unprefixed</title>
  <g:title>Prefixed wins</g:title>
  <g:id>SKU-2</g:id><g:price>5.00 USD</g:price><g:availability>out_of_stock</g:availability>
</item>
</channel></rss>
"""


def test_an_rss_feed_with_and_without_the_g_prefix_and_repeated_images(tmp_path):
    path = write(tmp_path, XML_FEED, name="feed.txt", bom=True, crlf=True)
    assert feed_layout(path) == XML
    first, second = read_feed(path, "USD")
    assert (first.id, first.title, first.link, first.description) == (
        "SKU-1", "Plain title", "https://shop.test/p/1", "Made of <b>steel</b> & wood")
    assert first.image_links == ("https://img.test/1.jpg", "https://img.test/2.jpg", "https://img.test/3.jpg")
    assert (first.price, first.availability, first.category_path) == (Decimal("15.00"), "in_stock", ("Home", "Kitchen"))
    assert (first.where, first.line) == ("item 1", 4)
    assert (second.title, second.where) == ("Prefixed wins", "item 2")


def test_bad_items_are_reported_by_item_and_line_and_broken_xml_by_line(tmp_path):
    feed = XML_FEED.replace("<g:price>15.00 USD</g:price>", "<g:price>15.00</g:price>").replace(
        "<g:id>SKU-2</g:id>", "")
    found = problems(write(tmp_path, feed, name="feed.xml"))
    assert found == [(4, "item 1: price has no currency: '15.00' (write it like '15.00 USD')"),
                     (18, "item 2: id is missing")]
    broken = write(tmp_path, XML_FEED.replace("</g:availability>\n  <g:image_link>", "\n  <g:image_link>", 1),
                   name="broken.xml")
    ((line, message),) = problems(broken)
    assert line == 17 and message.startswith("XML syntax: mismatched tag")  # the </item> that finds it open
    bomb = write(tmp_path, '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss><channel>'
                 "<item><title>&a;</title></item></channel></rss>", name="bomb.xml")
    assert "declares XML entities" in problems(bomb)[0][1]


def test_gtin_check_digits():
    assert gtin_is_valid("4006381333931") and gtin_is_valid("96385074") and gtin_is_valid("036000291452")
    assert not gtin_is_valid("4006381333932") and not gtin_is_valid("12345") and not gtin_is_valid("abcdefgh")
