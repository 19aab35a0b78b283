"""Search analytics for the dashboard: searches, search click-through, top and zero-result queries.

Read from the ``search`` and ``search_click`` events (:mod:`storefront.search.analytics` writes
them; their query and counts are in ``properties``), in SQL like the other aggregates: each
function reads the period's range of ``ix_events_time_type`` for the two types and groups by the
query extracted from the JSON (``JSON_EXTRACT`` on SQLite, ``->>`` on PostgreSQL: SQLAlchemy
writes each), returning at most ``TOP_N`` rows.

Definitions (the dashboard's help text repeats them):

- a *search* is a new results list: a query's first page as it was typed (``refined`` 0), not
  the next pages, a filter or another sort of it (those are logged too, as refinements);
- a *search click* is a search result followed to its product page (once per result link);
- *search click-through* is search clicks / searches, in the period;
- a *zero-result* search found no product at all, before any filter (the engine's typo and
  plural forgiveness included: what is left is what the catalogue lacks, or what it calls
  otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from storefront.analytics.events import TOP_N, in_period
from storefront.analytics.period import Period
from storefront.analytics.tables import RATE, TEXT, Chart, Column, Table, rate
from storefront.models import Event
from storefront.models.events import SEARCH, SEARCH_CLICK

SEARCH_TYPES = (SEARCH, SEARCH_CLICK)


def _query():
    return Event.properties["q"].as_string()


def _new_search():
    """A ``search`` event that is not a refinement (another page, a filter, a sort)."""
    return (Event.type == SEARCH) & (func.coalesce(Event.properties["refined"].as_integer(), 0) == 0)


def _zero():
    return Event.properties["found"].as_integer() == 0


@dataclass(frozen=True)
class SearchTotals:
    searches: int
    clicks: int
    zero: int  # searches that found nothing

    @property
    def click_through(self) -> float | None:
        return rate(self.clicks, self.searches)


@dataclass(frozen=True)
class QueryCount:
    query: str
    searches: int
    shoppers: int  # distinct visitors who searched it
    clicks: int


def search_totals(conn, period: Period) -> SearchTotals:
    new = _new_search()
    searches, clicks, zero = conn.execute(
        select(func.sum(case((new, 1), else_=0)), func.sum(case((Event.type == SEARCH_CLICK, 1), else_=0)),
               func.sum(case((new & _zero(), 1), else_=0)))
        .where(in_period(Event.occurred_at, period), Event.type.in_(SEARCH_TYPES))
    ).one()
    return SearchTotals(int(searches or 0), int(clicks or 0), int(zero or 0))


def top_queries(conn, period: Period, limit: int = TOP_N) -> list[QueryCount]:
    """The most searched queries, with how many shoppers searched them and clicked a result."""
    query, new = _query(), _new_search()
    searches = func.sum(case((new, 1), else_=0))
    rows = conn.execute(
        select(query.label("q"), searches.label("searches"),
               func.count(func.distinct(case((new, Event.visitor_id)))).label("shoppers"),
               func.sum(case((Event.type == SEARCH_CLICK, 1), else_=0)).label("clicks"))
        .where(in_period(Event.occurred_at, period), Event.type.in_(SEARCH_TYPES), query.is_not(None), query != "")
        .group_by(query).having(searches > 0).order_by(searches.desc(), query).limit(limit)
    ).all()
    return [QueryCount(r.q, int(r.searches), int(r.shoppers), int(r.clicks or 0)) for r in rows]


def zero_result_queries(conn, period: Period, limit: int = TOP_N) -> list[QueryCount]:
    """The queries searched most that found nothing."""
    query = _query()
    searches = func.count()
    rows = conn.execute(
        select(query.label("q"), searches.label("searches"),
               func.count(func.distinct(Event.visitor_id)).label("shoppers"))
        .where(in_period(Event.occurred_at, period), _new_search(), _zero(), query.is_not(None), query != "")
        .group_by(query).order_by(searches.desc(), query).limit(limit)
    ).all()
    return [QueryCount(r.q, int(r.searches), int(r.shoppers), 0) for r in rows]


# -- the dashboard's tables (CSV and page from the same rows, like storefront.analytics.charts) --

def top_searches_table(rows: list[QueryCount]) -> Table:
    return Table("top-searches", "Top 10 searches",
                 (Column("rank", "#"), Column("query", "Query", TEXT), Column("searches", "Searches"),
                  Column("shoppers", "Shoppers"), Column("clicks", "Result clicks"),
                  Column("ctr", "Click-through", RATE)),
                 [(i, r.query, r.searches, r.shoppers, r.clicks, rate(r.clicks, r.searches))
                  for i, r in enumerate(rows, 1)],
                 Chart("meter", "query", ("searches",)),
                 "New searches of each query (not its next pages or filters); click-through: results "
                 "followed / searches.")


def zero_result_table(rows: list[QueryCount]) -> Table:
    return Table("zero-result-searches", "Top 10 searches with no results",
                 (Column("rank", "#"), Column("query", "Query", TEXT), Column("searches", "Searches"),
                  Column("shoppers", "Shoppers")),
                 [(i, r.query, r.searches, r.shoppers) for i, r in enumerate(rows, 1)],
                 Chart("meter", "query", ("searches",)),
                 "Queries that found nothing even with typos and plurals forgiven: products to add, or "
                 "words to add to existing ones.")
