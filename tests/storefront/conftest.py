"""Fixtures shared by the storefront tests (the app, client and runner come from tests/conftest.py)."""
import pytest

from tests.storefront.support.recommendations import seed_small_shop


@pytest.fixture
def seeded(app, runner):
    """The app with a small simulated shop (events, orders, campaigns and click logs) in its database."""
    seed_small_shop(runner)
    return app
