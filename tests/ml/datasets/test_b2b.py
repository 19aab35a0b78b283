"""The gated-asset export readers on small files in the real format, pitfalls and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.resources import prepare_assets
from ml.datasets import (
    ASSET_TYPES,
    DataFormatError,
    read_bu_mapping,
    read_submissions,
)

COOKIE_A = "20239734541707312813871963623233721188"  # 38 digits: beyond int64 and float64
COOKIE_B = "85701705200385349318705500153914757907"


def page(head: str, tail: str, fill: str) -> str:
    """A 64-hex-digit page hash shaped like the ones in DATA_FORMATS.md."""
    return head + fill * (64 - len(head) - len(tail)) + tail


PAGE_1 = page("ead125caee22", "f7529f45c", "0")
PAGE_2 = page("f0e1f04f", "6b23c3a8e", "b")
PAGE_3 = page("4526209c9c4f", "d64335f010", "1")
SUB_HEADER = ",cookie,gated_asset_type,page_url,form_submissions\n"
MAP_HEADER = ",business_unit,page_url\n"


def write(tmp_path: Path, text: str, name: str = "submissions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, reader=read_submissions) -> list[tuple[int, str]]:
    with pytest.raises(DataFormatError) as info:
        reader(path)
    assert info.value.path == str(path)
    return info.value.problems


def test_pages_used_here_are_64_hex_digits():
    assert all(len(page) == 64 for page in (PAGE_1, PAGE_2, PAGE_3))


def test_reads_submissions_with_every_pitfall(tmp_path):
    path = write(
        tmp_path,
        SUB_HEADER
        + f"5,{COOKIE_A},None,{PAGE_1},302\n"  # literal None type, not a missing value
        + "\n"  # blank line: skipped, line numbers keep counting
        + f"79,{COOKIE_B},Gated Webinar Forms,{PAGE_2.upper()},72\n"
        + f"80,{COOKIE_A}, Gated Get Pricing ,{PAGE_2},1\n",
    )
    frame = read_submissions(path)
    assert list(frame.columns) == ["cookie", "gated_asset_type", "page_url", "form_submissions"]
    assert list(frame["cookie"]) == [COOKIE_A, COOKIE_B, COOKIE_A]  # every digit kept
    assert list(frame["gated_asset_type"]) == ["None", "Gated Webinar Forms", "Gated Get Pricing"]
    assert not frame.isna().any().any()
    assert list(frame["page_url"]) == [PAGE_1, PAGE_2, PAGE_2]  # lowercased to join the mapping
    assert frame["form_submissions"].dtype == np.int64
    assert list(frame["form_submissions"]) == [302, 72, 1]


def test_accepts_every_asset_type_and_a_byte_order_mark(tmp_path):
    lines = [f"{i},{COOKIE_A},{kind},{PAGE_1},1\n" for i, kind in enumerate(ASSET_TYPES)]
    frame = read_submissions(write(tmp_path, "\ufeff" + SUB_HEADER + "".join(lines)))
    assert list(frame["gated_asset_type"]) == list(ASSET_TYPES)


def test_accepts_files_without_or_with_a_named_index_column(tmp_path):
    plain = write(tmp_path, f"cookie,gated_asset_type,page_url,form_submissions\n"
                            f"{COOKIE_A},None,{PAGE_1},2\n", "a.csv")
    reexported = write(tmp_path, f"Unnamed: 0,cookie,gated_asset_type,page_url,form_submissions\n"
                                 f"0,{COOKIE_A},None,{PAGE_1},2\n", "b.csv")
    assert read_submissions(plain).equals(read_submissions(reexported))


def test_header_only_gives_an_empty_frame(tmp_path):
    frame = read_submissions(write(tmp_path, SUB_HEADER))
    assert frame.empty and list(frame.columns)[0] == "cookie"
    assert frame["form_submissions"].dtype == np.int64


def test_reads_mapping_with_repeated_pages_and_padded_units(tmp_path):
    path = write(
        tmp_path,
        MAP_HEADER
        + f"0,a,{PAGE_1}\n"
        + f"1,  b ,{PAGE_1}\n"  # same page, second unit, whitespace around the unit
        + f"2,a ,{PAGE_1}\n"  # the same (unit, page) pair again: adds nothing
        + f"3,\tc,{PAGE_2.upper()}\n",
        "bu_mapping.csv",
    )
    frame = read_bu_mapping(path)
    assert list(frame.columns) == ["business_unit", "page_url"]
    assert sorted(zip(frame["business_unit"], frame["page_url"])) == [
        ("a", PAGE_1), ("b", PAGE_1), ("c", PAGE_2)]


def test_pages_missing_from_the_mapping_keep_an_unknown_unit(tmp_path):
    submissions = read_submissions(write(
        tmp_path,
        SUB_HEADER + f"0,{COOKIE_A},None,{PAGE_1},1\n1,{COOKIE_A},Unspecified,{PAGE_3},4\n",
    ))
    mapping = read_bu_mapping(write(
        tmp_path, MAP_HEADER + f"0,a,{PAGE_1}\n1, b,{PAGE_1}\n2,z,{PAGE_2}\n", "bu.csv"))
    data = prepare_assets(submissions, mapping)
    units = dict(zip(data.id_map.item_ids, data.item_units))
    assert units == {PAGE_1: frozenset({"a", "b"}), PAGE_3: frozenset()}
    assert list(data.unit_names) == ["a", "b", "z"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (f"{COOKIE_A[:-1]}x,None,{PAGE_1},1", "cookie is not a number"),
        (f",None,{PAGE_1},1", "cookie is empty"),
        (f"{COOKIE_A},None,{PAGE_1[:-1]},1", "page_url is not a 64-hex-digit page hash"),
        (f"{COOKIE_A},None,{PAGE_1[:-1]}g,1", "page_url is not a 64-hex-digit page hash"),
        (f"{COOKIE_A},Gated Pricing,{PAGE_1},1", "gated_asset_type is not a known asset type"),
        (f"{COOKIE_A},,{PAGE_1},1", "gated_asset_type is not a known asset type"),
        (f"{COOKIE_A},None,{PAGE_1},0", "form_submissions must be at least 1"),
        (f"{COOKIE_A},None,{PAGE_1},-3", "form_submissions is not a positive integer"),
        (f"{COOKIE_A},None,{PAGE_1},2.5", "form_submissions is not a positive integer"),
        (f"{COOKIE_A},None,{PAGE_1},", "form_submissions is not a positive integer"),
        (f"{COOKIE_A},None,{PAGE_1}", "expected 5 fields, found 4"),
    ],
)
def test_each_kind_of_bad_row_is_reported_on_its_line(tmp_path, row, expected):
    good = f"0,{COOKIE_B},Gated Ebook Forms,{PAGE_2},1\n"
    path = write(tmp_path, SUB_HEADER + good + f"7,{row}\n" + good)
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0][0] == 3 and problems[0][1].startswith(expected)


def test_every_bad_line_is_listed_with_its_number(tmp_path):
    path = write(
        tmp_path,
        SUB_HEADER
        + f"0,{COOKIE_A},None,{PAGE_1},1\n"  # 2: fine
        + f"1,12ab,None,{PAGE_1},0\n"  # 3: two problems
        + "\n"  # 4: blank
        + f"2,{COOKIE_B},Ebook,{PAGE_2},1\n"  # 5
        + f"3,{COOKIE_B},None,nothex,1,extra\n"  # 6: field count
        + f"4,{COOKIE_B},None,{PAGE_3},x\n",  # 7
    )
    problems = problems_of(path)
    assert [line for line, _ in problems] == [3, 3, 5, 6, 7]
    message = str(DataFormatError(path, problems))
    assert "submissions.csv:3: cookie" in message
    assert "submissions.csv:7: form_submissions" in message


def test_all_or_nothing_across_chunks(tmp_path):
    rows = [f"{i},{COOKIE_A},None,{PAGE_1},{i + 1}\n" for i in range(7)]
    valid = write(tmp_path, SUB_HEADER + "".join(rows), "valid.csv")
    assert read_submissions(valid, chunk_rows=2).equals(read_submissions(valid))
    broken = write(tmp_path, SUB_HEADER + "".join(rows) + f"8,{COOKIE_A},None,{PAGE_1},0\n")
    with pytest.raises(DataFormatError) as info:
        read_submissions(broken, chunk_rows=2)  # the bad line is in the last chunk
    assert info.value.problems == [(9, "form_submissions must be at least 1, got '0'")]


def test_missing_or_duplicated_columns_are_reported_on_line_1(tmp_path):
    missing = write(tmp_path, ",cookie,page_url,form_submissions\n0,1,x,1\n", "missing.csv")
    [(line, message)] = problems_of(missing)
    assert line == 1 and "missing required column(s): gated_asset_type" in message
    doubled = write(tmp_path, ",business_unit,page_url,page_url\n", "doubled.csv")
    [(line, message)] = problems_of(doubled, read_bu_mapping)
    assert line == 1 and "duplicated column(s): page_url" in message


def test_empty_or_non_utf8_files_are_rejected(tmp_path):
    assert problems_of(write(tmp_path, "")) == [(1, "the file is empty (no header)")]
    latin = tmp_path / "latin.csv"
    latin.write_bytes((SUB_HEADER + f"0,{COOKIE_A},Caf\xe9,{PAGE_1},1\n").encode("latin-1"))
    [(line, message)] = problems_of(latin)
    assert line == 0 and "is not UTF-8 text" in message


def test_mapping_rows_are_validated(tmp_path):
    path = write(
        tmp_path,
        MAP_HEADER + f"0,a,{PAGE_1}\n1,   ,{PAGE_1}\n2,b,{PAGE_1[:10]}\n3,c\n",
        "bu_mapping.csv",
    )
    assert [(line, msg.split(" ")[0]) for line, msg in problems_of(path, read_bu_mapping)] == [
        (3, "business_unit"), (4, "page_url"), (5, "expected")]


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_unattributable_rows_are_skipped_by_line_when_asked_and_errors_otherwise(tmp_path, chunk_rows):
    from ml.data import DataFormatError
    from ml.datasets.b2b import read_submissions

    path = write(tmp_path, SUB_HEADER
                 + f"0,{COOKIE_A},None,{PAGE_1},2\n"
                 + f"1,None,None,{PAGE_1},5\n"  # line 3
                 + f"2,{COOKIE_B},None,{PAGE_3},0\n"  # line 4
                 + "3,NULL,None,not-a-page,1\n"  # line 5: unattributable, so not checked further
                 + f"4,{COOKIE_B},None,{PAGE_3},1\n")
    skipped: list[tuple[int, str]] = []
    frame = read_submissions(path, chunk_rows=chunk_rows, skipped=skipped)
    assert list(zip(frame["cookie"], frame["form_submissions"])) == [(COOKIE_A, 2), (COOKIE_B, 1)]
    assert [line for line, _ in skipped] == [3, 4, 5]  # in line order, whatever the chunks
    assert {reason for _, reason in skipped} == {
        "cookie unknown (the visitor was not identified)", "form_submissions is 0 (nothing was submitted)"}
    with pytest.raises(DataFormatError) as error:
        read_submissions(path, chunk_rows=chunk_rows)  # strict: each is an error on its line
    assert [line for line, _ in error.value.problems] == [3, 4, 5, 5]
