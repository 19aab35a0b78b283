"""The synthetic B2B asset library: deterministic, believable, and in the export's format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.resources import CONVERSION_TYPES, train_assets
from ml.resources.synth import CONTENT_TYPES, generate_assets, write_export
from ml.datasets import ASSET_TYPES, read_bu_mapping, read_submissions


@pytest.fixture(scope="module")
def synthetic():
    return generate_assets(n_visitors=1500, seed=11)


def test_same_seed_same_data_other_seed_other_data():
    first, second = generate_assets(200, seed=3), generate_assets(200, seed=3)
    for name in ("submissions", "bu_mapping", "assets", "units"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert not first.submissions.equals(generate_assets(200, seed=4).submissions)


def test_library_is_a_believable_b2b_catalogue(synthetic):
    assets = synthetic.assets
    assert len(assets) >= 150
    assert set(assets["gated_asset_type"]) == set(ASSET_TYPES)
    assert assets["page_url"].str.fullmatch("[0-9a-f]{64}").all() and assets["page_url"].is_unique
    assert assets["title"].is_unique and (assets["summary"].str.len() > 20).all()
    assert assets["title"].str.fullmatch(r"The 2026 Guide to .+|Webinar: .+ in Practice").any()
    content = assets["gated_asset_type"].isin(CONTENT_TYPES)
    assert all(topic in title or product in title for title, topic, product in zip(
        assets.loc[content, "title"], assets.loc[content, "topic"], assets.loc[content, "product"]))
    n_units = assets["business_units"].map(len)
    assert set(n_units) == {0, 1, 2} and (n_units == 0).mean() < 0.2
    assert len(synthetic.units) >= 6 and set(synthetic.bu_mapping["business_unit"]) == set(
        synthetic.units["code"])
    mapped = set(synthetic.bu_mapping["page_url"])
    assert mapped == set(assets.loc[n_units > 0, "page_url"])


def test_submissions_look_like_the_export(synthetic):
    subs = synthetic.submissions
    assert list(subs.columns) == ["cookie", "gated_asset_type", "page_url", "form_submissions"]
    assert subs["cookie"].str.fullmatch("[1-9][0-9]{37}").all()
    assert subs.duplicated(["cookie", "page_url"]).sum() == 0
    assert subs["form_submissions"].min() >= 1 and subs["form_submissions"].max() > 20
    assert (subs["form_submissions"] == 1).mean() > 0.5  # long-tailed counts
    per_visitor = subs.groupby("cookie").size()
    assert per_visitor.nunique() > 8 and (per_visitor >= 10).sum() > 20
    assert 0.3 < (per_visitor >= 2).mean() < 0.7


def test_pricing_and_demo_requests_are_rarer_and_come_after_content(synthetic):
    subs = synthetic.submissions
    is_conversion = subs["gated_asset_type"].isin(CONVERSION_TYPES)
    assert 0.02 < is_conversion.mean() < 0.15
    content = subs["gated_asset_type"].isin(CONTENT_TYPES).groupby(subs["cookie"]).sum()
    converted = subs.loc[is_conversion, "cookie"].unique()
    assert (content[converted] >= 2).all()


def test_export_files_round_trip_through_the_readers(synthetic, tmp_path):
    submissions_path, mapping_path = write_export(
        synthetic.submissions, synthetic.bu_mapping, tmp_path)
    with open(submissions_path, encoding="utf-8") as handle:
        assert handle.readline() == ",cookie,gated_asset_type,page_url,form_submissions\n"
        assert handle.readline().startswith("0,")
    assert mapping_path.read_text(encoding="utf-8").startswith(",business_unit,page_url\n0,")
    pd.testing.assert_frame_equal(read_submissions(submissions_path), synthetic.submissions)
    pd.testing.assert_frame_equal(read_bu_mapping(mapping_path), synthetic.bu_mapping)
    assert "None" in set(read_submissions(submissions_path)["gated_asset_type"])


def test_the_pipeline_learns_the_planted_structure(synthetic):
    result = train_assets(synthetic.submissions, synthetic.bu_mapping)
    metrics = result.metrics
    assert result.data["assets_without_unit"] > 0
    assert metrics[result.champion]["ndcg@10"] > metrics["popularity"]["ndcg@10"]
    assert metrics["unit_popularity"]["bu_hit_rate@10"] > metrics["popularity"]["bu_hit_rate@10"]
    assert np.isfinite(list(result.intra_type_similarity.values())).all()


@pytest.mark.parametrize("seed", [1, 5, 7, 42])
def test_generated_copy_reads_right(seed):
    """No doubled words ("The the Modern Data Stack"), and a case study tells of one company."""
    import re

    assets = generate_assets(n_visitors=20, assets_per_topic=8, seed=seed).assets
    doubled = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
    assert not [text for text in [*assets["title"], *assets["summary"]] if doubled.search(text)]
    studies = assets[assets["gated_asset_type"] == "Gated Case Study Forms"]
    assert len(studies)
    for title, summary in zip(studies["title"], studies["summary"]):
        company = summary.removeprefix("How ").split(" approached ")[0]
        assert company in title, (title, summary)
