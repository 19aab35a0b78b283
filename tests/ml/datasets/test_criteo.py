"""The Criteo-layout click reader, its feature transform, the synthetic writer and the
end-to-end ``evaluate_click_file``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.ctr.training import CtrTrainConfig
from ml.data.errors import DataFormatError
from ml.datasets.criteo import (
    CATEGORICAL_COLUMNS,
    CRITEO_COLUMNS,
    FEATURE_COLUMNS,
    CriteoFormatError,
    criteo_feature_frame,
    evaluate_click_file,
    read_criteo,
)
from ml.datasets.criteo_synth import synthetic_criteo_frame, write_synthetic_criteo

HEADER = ",".join(CRITEO_COLUMNS)


def _row(label="1", i1="3", c1="68fd1e64") -> str:
    ints = [i1, "", "-1", *["2"] * 10]
    cats = [c1, "", *[f"{k:08x}" for k in range(24)]]
    return ",".join([label, *ints, *cats])


def _write(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_header_and_tab_separated_files_read_the_same(tmp_path):
    with_header = write_synthetic_criteo(tmp_path / "a.csv", n_rows=300, seed=3, header=True)
    without = write_synthetic_criteo(tmp_path / "a.txt", n_rows=300, seed=3, header=False)
    assert "\t" in without.read_text().splitlines()[0]
    first, second = read_criteo(with_header), read_criteo(without)
    assert list(first.columns) == list(CRITEO_COLUMNS)
    pd.testing.assert_frame_equal(first, second)
    assert first["label"].dtype == np.int64 and first["I1"].dtype == np.float64
    expected = synthetic_criteo_frame(300, seed=3)
    assert first["label"].tolist() == expected["label"].tolist()
    assert first["I2"].isna().sum() == expected["I2"].isna().sum() > 0
    assert (first["I2"] < 0).any()  # negatives survive
    assert (first["C20"] == "").sum() > 0  # missing categories stay empty strings
    assert len(read_criteo(without, max_rows=120)) == 120


def test_extra_columns_are_kept_out_of_the_features(tmp_path):
    plain = read_criteo(write_synthetic_criteo(tmp_path / "p.csv", 200, seed=4))
    export = write_synthetic_criteo(tmp_path / "e.csv", 200, seed=4, extra_columns=True)
    assert export.read_text().startswith(",Customer_Id,Campaign_id,label")
    extra = read_criteo(export)
    assert list(extra.columns) == [*CRITEO_COLUMNS, "Customer_Id", "Campaign_id"]
    pd.testing.assert_frame_equal(extra[list(CRITEO_COLUMNS)], plain)
    features, columns = criteo_feature_frame(extra)
    assert columns == list(FEATURE_COLUMNS) and list(features.columns) == columns
    pd.testing.assert_frame_equal(features, criteo_feature_frame(plain)[0])


def test_feature_transform_follows_the_winners_buckets():
    frame = pd.DataFrame({"label": [0] * 7, **{c: [""] * 7 for c in CATEGORICAL_COLUMNS}})
    for name in FEATURE_COLUMNS[:13]:
        frame[name] = [np.nan, -3.0, 0.0, 2.0, 3.0, 20.0, 1000.0]
    frame.loc[0, "C5"] = "abcdef01"
    features, _ = criteo_feature_frame(frame)
    # ln(3)^2 = 1.2, ln(20)^2 = 8.97, ln(1000)^2 = 47.7
    assert features["I1"].tolist() == ["missing", "-3", "0", "2", "L1", "L8", "L47"]
    assert features["C5"].tolist() == ["abcdef01", *["missing"] * 6]


@pytest.mark.parametrize(
    "lines, line, message",
    [
        ([HEADER, _row(), _row(label="2")], 3, "label must be 0 or 1, got '2'"),
        ([HEADER, _row(), _row(), _row(i1="3.5")], 4, "I1 is not an integer: '3.5'"),
        ([HEADER, _row(i1="abc")], 2, "I1 is not an integer: 'abc'"),
        ([HEADER, _row(), _row() + ",extra"], 3, "expected 40 fields, found 41"),
        ([HEADER, _row(), "1,2,3"], 3, "expected 40 fields, found 3"),
        ([HEADER.replace(",C26", ""), _row()], 1, "missing column(s): C26"),
        (["\t".join(["1", "2"])], 1, "found 2 field(s)"),
    ],
)
def test_bad_lines_are_reported_by_line_number(tmp_path, lines, line, message):
    path = _write(tmp_path / "bad.csv", lines)
    with pytest.raises(CriteoFormatError) as caught:
        read_criteo(path)
    assert isinstance(caught.value, DataFormatError)
    assert any(at == line and message in text for at, text in caught.value.problems)
    assert f"bad.csv:{line}: " in str(caught.value) and message in str(caught.value)


def test_every_bad_line_is_reported_across_chunks_and_blank_lines(tmp_path):
    lines = [HEADER, *[_row()] * 5, "", _row(label="x"), *[_row()] * 5, _row(i1="1e")]
    path = _write(tmp_path / "bad.csv", lines)
    with pytest.raises(CriteoFormatError) as caught:
        read_criteo(path, chunk_lines=4)
    assert [line for line, _ in caught.value.problems] == [8, 14]
    good = _write(tmp_path / "good.csv", [HEADER, _row(), "", _row(label="0")])
    assert read_criteo(good, chunk_lines=1)["label"].tolist() == [1, 0]


def test_synthetic_writer_is_deterministic(tmp_path):
    a = write_synthetic_criteo(tmp_path / "a.csv", 500, seed=11)
    b = write_synthetic_criteo(tmp_path / "b.csv", 500, seed=11)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != write_synthetic_criteo(tmp_path / "c.csv", 500, seed=12).read_bytes()


def test_evaluate_click_file_compares_the_three_models(tmp_path):
    path = write_synthetic_criteo(tmp_path / "clicks.txt", n_rows=6_000, seed=5, header=False)
    config = CtrTrainConfig(embed_dim=4, cin_layers=(8, 8), dnn_layers=(16,), epochs=5,
                            threads=1, time_budget_seconds=10.0)
    comparison = evaluate_click_file(path, config=config)
    assert list(comparison.results) == ["lr", "fm", "xdeepfm"]
    for result in comparison.results.values():
        assert 0.5 < result.auc <= 1.0
        assert result.n_test == 1_200
    assert comparison.encoder.fields == FEATURE_COLUMNS
