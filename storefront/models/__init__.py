"""All tables, importable from one place (Alembic and the services need them registered)."""
from storefront.models.resources import TYPE_LABELS, TYPE_SLUGS, Asset, BusinessUnit, Lead, asset_business_units
from storefront.models.campaigns import OFFER_KIND_LABELS, OFFER_KINDS, Campaign
from storefront.models.carts import Cart, CartItem
from storefront.models.catalog import Category, Product
from storefront.models.catalog_version import CatalogState
from storefront.models.customers import ROLE_ADMIN, ROLE_CUSTOMER, Customer, RememberToken, SavedAddress, Visitor
from storefront.models.events import (
    ADD_TO_CART,
    ASSET_VIEW,
    CLICK,
    EVENT_TYPES,
    FORM_SUBMISSION,
    REMOVE_FROM_CART,
    TRANSACTION,
    VIEW,
    DroppedEvents,
    Event,
    RateBucket,
)
from storefront.models.experiments import Experiment
from storefront.models.imports import DataImport
from storefront.models.orders import STATUS_PAID, Order, OrderLine
from storefront.models.orders import OrderAdjustment as OrderAdjustment  # issue 22: promotions
from storefront.models.recommendations import Impression
from storefront.models.widget_settings import WidgetSetting
from storefront.models.merchandising import MerchandisingRule
# Model versions shared by web nodes (issue 20, storefront.modelstore): import them from their module.
from storefront.models.model_store import ModelPointer as ModelPointer, ModelVersion as ModelVersion
from storefront.models.model_store import ModelVersionFile as ModelVersionFile
# Catalogue import and product pictures (issue 22): import them from their modules.
from storefront.models.product_details import ProductFeedEntry as ProductFeedEntry, ProductImage as ProductImage
# Admin -> Products and Orders (issue 22): registered here for Alembic; import them from their modules.
from storefront.models.order_history import OrderChange as OrderChange, OrderRefund as OrderRefund
from storefront.models.product_changes import ProductChange as ProductChange
from storefront.models.training import (
    ACTIVE_STATUSES,
    RUN_FAILED,
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_SUCCEEDED,
    TRIGGER_ADMIN,
    TRIGGER_CLI,
    TRIGGER_SCHEDULE,
    TrainingRun,
)

__all__ = [
    "ACTIVE_STATUSES", "CLICK", "RUN_FAILED", "RUN_QUEUED", "RUN_RUNNING", "RUN_SUCCEEDED",
    "DroppedEvents", "RateBucket", "RememberToken", "TRIGGER_ADMIN", "TRIGGER_CLI", "TRIGGER_SCHEDULE", "Impression", "TrainingRun",
    "ADD_TO_CART", "EVENT_TYPES", "REMOVE_FROM_CART", "ROLE_ADMIN", "ROLE_CUSTOMER",
    "STATUS_PAID", "TRANSACTION", "VIEW",
    "ASSET_VIEW", "FORM_SUBMISSION", "TYPE_LABELS", "TYPE_SLUGS", "Asset", "BusinessUnit", "Lead",
    "asset_business_units",
    "OFFER_KINDS", "OFFER_KIND_LABELS", "Campaign",
    "Cart", "CartItem", "CatalogState", "Category", "Customer", "DataImport", "Event", "Experiment", "Order", "OrderLine", "Product", "Visitor",
    "MerchandisingRule", "SavedAddress", "WidgetSetting",
]
