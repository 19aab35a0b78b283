"""Admin pages for promotional campaigns: the list with banner impressions, clicks and CTR, and
the paid orders and revenue each campaign's discount went to; create, edit, and switching a
campaign on or off (POST with CSRF; an ended campaign offers no switch).

Routes join the admin blueprint, so its ``require_admin`` guard covers them all.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from storefront.admin import bp
from storefront.admin.campaign_forms import NO_CATEGORY, CampaignForm, CampaignSwitchForm
from storefront.extensions import db
from storefront.models import Campaign
from storefront.models.campaigns import PROMO_NONE, PROMO_TYPE_LABELS
from storefront.campaigns import management as campaign_admin


@bp.get("/campaigns")
def campaigns():
    return render_template(
        "admin/campaigns.html", rows=campaign_admin.campaign_rows(), switch_form=CampaignSwitchForm(),
        promo_labels=PROMO_TYPE_LABELS,
    )


def _values(form: CampaignForm, product_ids: tuple[int, ...]) -> campaign_admin.CampaignValues:
    return campaign_admin.CampaignValues(
        name=form.name.data or "", target_category_id=form.target_category_id.data or None,
        target_brand=form.target_brand.data, offer=form.offer.data or "", offer_kind="",
        headline=form.headline.data or "", body=form.body.data or "", starts_at=form.starts_at.data,
        ends_at=form.ends_at.data, is_active=bool(form.is_active.data),
        promo_type=form.promo_type.data, promo_value=form.promo_value.data, promo_buy=form.promo_buy.data,
        target_product_ids=product_ids,
    )


def _edit_page(form: CampaignForm, campaign: Campaign | None):
    """Validate and save on a valid POST, else (re-)render the form: a rejected POST keeps every
    value the admin typed and shows the messages next to their fields, with status 422."""
    form.set_categories(campaign_admin.category_choices())
    if form.validate_on_submit():
        try:
            product_ids = campaign_admin.product_ids_for_skus(form.target_skus.data)
            saved = campaign_admin.save_campaign(campaign, _values(form, product_ids))
        except campaign_admin.CampaignError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Campaign “{saved.name}” saved.", "success")
            return redirect(url_for("admin.campaigns"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/campaign_form.html", form=form, campaign=campaign, brands=campaign_admin.known_brands(),
        promo_labels=PROMO_TYPE_LABELS,
    ), status


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new():
    return _edit_page(CampaignForm(), None)


@bp.route("/campaigns/<id:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = CampaignForm(obj=campaign)
    if request.method == "GET":
        form.target_category_id.data = campaign.target_category_id or NO_CATEGORY
        form.target_brand.data = campaign.target_brand or ""
        form.target_skus.data = campaign_admin.skus_of(campaign.target_product_ids)
        if campaign.promo_type not in (None, PROMO_NONE):
            form.offer.data = ""  # the badge is generated for a discount; the field is for none
    return _edit_page(form, campaign)


@bp.post("/campaigns/<id:campaign_id>/activate", defaults={"active": True})
@bp.post("/campaigns/<id:campaign_id>/deactivate", defaults={"active": False})
def campaign_switch(campaign_id: int, active: bool):
    """Idempotent on purpose (not a toggle): a double submit cannot switch it back."""
    campaign = db.get_or_404(Campaign, campaign_id)
    if not CampaignSwitchForm().validate_on_submit():
        abort(400, "The request was not valid.")
    campaign_admin.set_active(campaign, active)
    db.session.commit()
    flash(f"Campaign “{campaign.name}” {'activated' if campaign.is_active else 'deactivated'}.", "success")
    return redirect(url_for("admin.campaigns"))
