"""``flask resources import`` (and its old name ``flask assets import``) on small files in the real export format, good and malformed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.storefront.support.resources import COOKIE_A, COOKIE_B, COOKIE_C, count, page, write_csv
from ml.resources import prepare_assets
from storefront.extensions import db
from storefront.models import FORM_SUBMISSION, Asset, BusinessUnit, Event, Visitor
from storefront.resources.training import load_asset_frames
from tests.storefront.support.shop import ctx

HEADER = ",cookie,gated_asset_type,page_url,form_submissions"
MAPPING_HEADER = ",business_unit,page_url"


@pytest.fixture
def export(tmp_path):
    """Every pitfall of the format note: 38-digit cookies, the literal ``None`` type, the
    unnamed index column, a page listed under two units (and one line repeated), whitespace
    around units, upper-case hashes, a page missing from the mapping, a repeated row."""
    submissions = write_csv(tmp_path / "submissions.csv", HEADER, [
        f"5,{COOKIE_A},None,{page(1)},302",
        f"79,{COOKIE_B},Gated Webinar Forms,{page(2).upper()},72",
        f"80,{COOKIE_A},Gated Get Pricing,{page(3)},2",
        f"81,{COOKIE_B},Gated Get Pricing,{page(3)},1",
        f"82,{COOKIE_C},Gated Webinar Forms,{page(2)},1",
        f"83,{COOKIE_C},Gated Webinar Forms,{page(2)},2",  # same pair again: summed
    ])
    mapping = write_csv(tmp_path / "bu_mapping.csv", MAPPING_HEADER, [
        f"0, a ,{page(2)}",
        f"1,b,{page(2)}",
        f"2,b,{page(2)}",
        f"3,a,{page(3)}",
        f"4,z,{page(99)}",  # mapped, never submitted
    ])
    return submissions, mapping


def _import(runner, submissions, mapping):
    return runner.invoke(args=["resources", "import", str(submissions), str(mapping)])


def _assets(app) -> dict[str, tuple[str, list[str]]]:
    with ctx(app) as session:
        rows = session.scalars(select(Asset).order_by(Asset.external_id))
        return {a.external_id: (a.type, [u.code for u in a.units]) for a in rows}


def _submissions(app) -> dict[tuple[str, str], int]:
    """(visitor token, page) -> summed count of its form_submission events."""
    with ctx(app) as session:
        rows = session.execute(
            select(Visitor.token, Asset.external_id, Event.properties, Event.product_id)
            .join(Visitor, Visitor.id == Event.visitor_id).join(Asset, Asset.id == Event.asset_id)
            .where(Event.type == FORM_SUBMISSION)
        ).all()
    totals: dict[tuple[str, str], int] = {}
    for token, external, properties, product_id in rows:
        assert product_id is None and properties["source"] == "import"
        totals[(token, external)] = totals.get((token, external), 0) + properties["count"]
    return totals


def test_import_creates_assets_units_visitors_and_submissions(app, runner, export):
    result = _import(runner, *export)
    assert result.exit_code == 0, result.output
    assert "6 rows (5 visitor/asset pairs): 5 form_submission events for 380 submissions" in result.output
    assert "3 new assets (1 without a business unit)" in result.output
    assert _assets(app) == {
        page(1): ("None", []),  # the literal type survives; missing from the mapping: unit unknown
        page(2): ("Gated Webinar Forms", ["a", "b"]),  # upper-case hash joined, units stripped
        page(3): ("Gated Get Pricing", ["a"]),
    }
    with ctx(app) as session:
        assert sorted(session.scalars(select(BusinessUnit.code))) == ["a", "b", "z"]
        tokens = sorted(session.scalars(select(Visitor.token)))
    assert tokens == sorted(f"b2b-{c}" for c in (COOKIE_A, COOKIE_B, COOKIE_C))  # all 38 digits kept
    assert _submissions(app) == {
        (f"b2b-{COOKIE_A}", page(1)): 302, (f"b2b-{COOKIE_A}", page(3)): 2,
        (f"b2b-{COOKIE_B}", page(2)): 72, (f"b2b-{COOKIE_B}", page(3)): 1,
        (f"b2b-{COOKIE_C}", page(2)): 3,
    }


def test_strength_is_type_weight_times_submissions(app, runner, export):
    assert _import(runner, *export).exit_code == 0
    with app.app_context():
        frames = load_asset_frames()
        data = prepare_assets(frames.submissions, frames.bu_mapping)
        ids = dict(db.session.execute(select(Asset.external_id, Asset.id)).all())
        users = {c: f"v{db.session.scalar(select(Visitor.id).where(Visitor.token == 'b2b-' + c))}"
                 for c in (COOKIE_A, COOKIE_B, COOKIE_C)}

        def strength(cookie: str, n: int) -> float:
            row = data.id_map.user_index(users[cookie])
            return float(data.matrix[row, data.id_map.item_index(str(ids[page(n)]))])

        assert strength(COOKIE_A, 1) == 1.0 * 302  # None
        assert strength(COOKIE_A, 3) == 3.0 * 2  # Get Pricing
        assert strength(COOKIE_B, 2) == 2.0 * 72  # Webinar
        assert strength(COOKIE_C, 2) == 2.0 * 3  # two rows of the same pair, summed
        assert sorted(data.unit_names) == ["a", "b"]  # "z" maps no imported page
        custom = prepare_assets(frames.submissions, frames.bu_mapping, {"Gated Get Pricing": 10.0})
        row = custom.id_map.user_index(users[COOKIE_A])
        assert float(custom.matrix[row, custom.id_map.item_index(str(ids[page(3)]))]) == 20.0


def test_import_is_idempotent_and_adds_only_new_submissions(app, runner, export, tmp_path):
    assert _import(runner, *export).exit_code == 0
    again = _import(runner, *export)
    assert again.exit_code == 0, again.output
    assert "0 form_submission events for 0 submissions, 5 pairs already imported" in again.output
    assert "0 new assets" in again.output and "0 new visitors" in again.output and "0 new unit links" in again.output
    assert count(app, Event) == 5 and count(app, Asset) == 3 and count(app, Visitor) == 3
    later = write_csv(tmp_path / "later.csv", HEADER, [
        f"0,{COOKIE_A},None,{page(1)},310",  # 8 more since the last export
        f"1,{COOKIE_B},Gated Webinar Forms,{page(2)},72",
        f"2,{COOKIE_B},Gated Ebook Forms,{page(4)},1",  # a new asset
    ])
    result = _import(runner, later, export[1])
    assert result.exit_code == 0, result.output
    assert "2 form_submission events for 9 submissions, 1 pairs already imported" in result.output
    assert _submissions(app)[(f"b2b-{COOKIE_A}", page(1))] == 310
    with ctx(app) as session:
        assert session.scalar(select(Asset.type).where(Asset.external_id == page(4))) == "Gated Ebook Forms"


def test_mapping_links_are_added_to_existing_assets(app, runner, export, tmp_path):
    assert _import(runner, *export).exit_code == 0
    more = write_csv(tmp_path / "more.csv", MAPPING_HEADER, [f"0,c,{page(1)}", f"1,a,{page(2)}"])
    result = _import(runner, export[0], more)
    assert result.exit_code == 0
    assert "1 new business units, 1 new unit links" in result.output
    assert _assets(app)[page(1)] == ("None", ["c"])


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if ".csv:" in line]


def test_malformed_files_are_reported_by_line_and_nothing_is_imported(app, runner, tmp_path):
    submissions = write_csv(tmp_path / "submissions.csv", HEADER, [
        f"0,{COOKIE_A},None,{page(1)},3",
        f"1,{COOKIE_B},Gated Pricing,{page(2)},1",  # unknown type
        f"2,1e+37,None,{page(3)},1",  # a cookie mangled by a spreadsheet
        f"3,{COOKIE_C},None,{page(4)[:-1]},1",  # 63 hex digits
        f"4,None,None,{page(5)},0",  # unattributable: skipped, not an error (see below)
        f"5,{COOKIE_C},None,{page(6)},2.5",
        f"6,{COOKIE_C},None",  # too few fields
    ])
    mapping = write_csv(tmp_path / "bu_mapping.csv", MAPPING_HEADER, [f"0,a,{page(1)}", f"1,  ,{page(2)}"])
    result = _import(runner, submissions, mapping)
    assert result.exit_code != 0
    lines = _lines(result.output)
    for expected in (
        "submissions.csv:3: gated_asset_type is not a known asset type: 'Gated Pricing'",
        "submissions.csv:4: cookie is not a number",
        "submissions.csv:5: page_url is not a 64-hex-digit",
        "submissions.csv:7: form_submissions is not a positive",
        "submissions.csv:8: expected 5 fields, found 3",
        "bu_mapping.csv:3: business_unit is empty",
    ):
        assert any(line.startswith(expected) for line in lines), (expected, result.output)
    assert "Nothing was imported" in result.output
    assert (count(app, Asset), count(app, Visitor), count(app, Event), count(app, BusinessUnit)) == (0, 0, 0, 0)


@pytest.mark.parametrize("header, expected", [
    (",cookie,page_url,form_submissions", "submissions.csv:1: missing required column(s): gated_asset_type"),
    ("", "submissions.csv:1: the file is empty"),
])
def test_a_bad_header_is_reported(app, runner, tmp_path, header, expected):
    submissions = tmp_path / "submissions.csv"
    submissions.write_text(header + ("\n" if header else ""), encoding="utf-8")
    mapping = write_csv(tmp_path / "bu_mapping.csv", MAPPING_HEADER, [f"0,a,{page(1)}"])
    result = _import(runner, submissions, mapping)
    assert result.exit_code != 0
    assert any(line.startswith(expected) for line in _lines(result.output)), result.output
    assert count(app, BusinessUnit) == 0


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["assets", "import", str(tmp_path / "nope.csv"), str(tmp_path / "nope2.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_import_on_top_of_the_demo_seed_adds_nothing(app, runner, tmp_path):
    """The seed writes the synthetic export through the same tokens and hashes."""
    from ml.resources.synth import generate_assets, write_export

    result = runner.invoke(args=["shop", "seed", "--products", "60", "--categories", "6", "--customers", "20",
                                 "--anonymous", "10", "--events", "2000", "--days", "20", "--b2b-visitors", "200",
                                 "--seed", "5"])
    assert result.exit_code == 0, result.output
    data = generate_assets(n_visitors=200, seed=5)
    paths = write_export(data.submissions, data.bu_mapping, tmp_path)
    before = count(app, Event, Event.type == FORM_SUBMISSION)
    again = _import(runner, *paths)
    assert again.exit_code == 0, again.output
    assert " 0 form_submission events" in again.output and "0 new assets" in again.output
    assert count(app, Event, Event.type == FORM_SUBMISSION) == before
    assert before == len(data.submissions)  # one event per (cookie, page), its count inside


def test_the_old_command_name_flask_assets_still_imports(app, runner, tmp_path):
    """``flask assets`` was the group's name before "resources": scripts that call it keep working."""
    for group in ("assets", "resources"):
        result = runner.invoke(args=[group, "--help"])
        assert result.exit_code == 0 and "import" in result.output and "evaluate" in result.output
    result = runner.invoke(args=["assets", "import", str(tmp_path / "nope.csv"), str(tmp_path / "nope2.csv")])
    assert result.exit_code != 0 and "does not exist" in result.output


# --- what real exports hold: unattributable rows, zeros, and the shapes of a CSV file --------------


def _quirky_export(tmp_path, newline: str = "\n", bom: bool = False):
    """A marketing export as a real one arrives: rows whose cookie is ``None`` or empty (the
    visitor is unknown), a count of 0, a quoted field, trailing spaces, a repeated row."""
    lines = [
        HEADER,
        f"0,{COOKIE_A},Gated Ebook Forms,{page(1)},3",
        f"1,None,Gated Ebook Forms,{page(1)},4",  # line 3: nobody to attribute it to
        f'2,"{COOKIE_B}","Gated Webinar Forms",{page(2)},2',  # quoted fields
        f"3,{COOKIE_B} ,Gated Webinar Forms ,{page(2)} ,1 ",  # trailing spaces: line 5
        f"4,,Gated Get Pricing,{page(3)},1",  # line 6: empty cookie
        f"5,{COOKIE_C},Gated Get Pricing,{page(3)},0",  # line 7: nothing submitted
        f"6,{COOKIE_A},Gated Ebook Forms,{page(1)},3",  # line 8: line 2 again
    ]
    text = newline.join(lines) + newline
    submissions = tmp_path / "submissions.csv"
    submissions.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    mapping = write_csv(tmp_path / "bu_mapping.csv", MAPPING_HEADER, [f"0,a,{page(1)}", f"1,b,{page(2)}"])
    return submissions, mapping


@pytest.mark.parametrize("newline, bom", [("\n", False), ("\r\n", True)], ids=["lf", "crlf-bom"])
def test_unattributable_rows_are_skipped_and_listed_and_the_rest_imports(app, runner, tmp_path, newline, bom):
    submissions, mapping = _quirky_export(tmp_path, newline, bom)
    result = _import(runner, submissions, mapping)
    assert result.exit_code == 0, result.output
    assert "2 rows skipped, cookie unknown (the visitor was not identified): lines 3, 6" in result.output
    assert "1 row skipped, form_submissions is 0 (nothing was submitted): line 7" in result.output
    assert "2 visitor/asset pairs were on several lines (their counts added)" in result.output
    assert _submissions(app) == {
        (f"b2b-{COOKIE_A}", page(1)): 6,  # the repeated row adds up
        (f"b2b-{COOKIE_B}", page(2)): 3,  # quoted and space-padded fields read as plain values
    }
    with ctx(app) as session:
        tokens = set(session.scalars(select(Visitor.token)))
    assert tokens == {f"b2b-{COOKIE_A}", f"b2b-{COOKIE_B}"}  # no visitor "None", none for the zero row


def test_strict_refuses_unattributable_rows_and_writes_nothing(app, runner, tmp_path):
    submissions, mapping = _quirky_export(tmp_path)
    result = runner.invoke(args=["resources", "import", "--strict", str(submissions), str(mapping)])
    assert result.exit_code != 0
    lines = _lines(result.output)
    for expected in ("submissions.csv:3: cookie is unknown ('None')", "submissions.csv:6: cookie is empty",
                     "submissions.csv:7: form_submissions must be at least 1"):
        assert any(line.startswith(expected) for line in lines), (expected, result.output)
    assert (count(app, Asset), count(app, Visitor), count(app, Event)) == (0, 0, 0)


def test_a_malformed_row_still_stops_an_import_that_skips_unattributable_ones(app, runner, tmp_path):
    submissions, mapping = _quirky_export(tmp_path)
    with submissions.open("a", encoding="utf-8") as handle:
        handle.write(f"7,{COOKIE_C},Gated Pricing,{page(4)},1\n")  # line 9: an unknown type
    result = _import(runner, submissions, mapping)
    assert result.exit_code != 0
    assert any(line.startswith("submissions.csv:9: gated_asset_type is not a known asset type")
               for line in _lines(result.output)), result.output
    assert (count(app, Asset), count(app, Visitor), count(app, Event)) == (0, 0, 0)


def test_a_file_without_the_index_column_imports_the_same(app, runner, tmp_path):
    submissions = write_csv(tmp_path / "submissions.csv", "cookie,gated_asset_type,page_url,form_submissions", [
        f"{COOKIE_A},Gated Ebook Forms,{page(1)},3", f"None,Gated Ebook Forms,{page(1)},1",
    ])
    mapping = write_csv(tmp_path / "bu_mapping.csv", "business_unit,page_url", [f"a,{page(1)}"])
    result = _import(runner, submissions, mapping)
    assert result.exit_code == 0, result.output
    assert "1 row skipped, cookie unknown" in result.output
    assert _submissions(app) == {(f"b2b-{COOKIE_A}", page(1)): 3}
