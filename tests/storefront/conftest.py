"""Fixtures shared by the storefront tests (the app, client and runner come from tests/conftest.py)."""
import pytest

from recommendation_support import seed_small_shop


@pytest.fixture
def seeded(app, runner):
    """The app with a small simulated shop (events, orders, campaigns and click logs) in its database."""
    seed_small_shop(runner)
    return app
