"""The sync tests' legacy order-entry database and source, for the tallies' tests."""

from portal.sync.tests.conftest import legacy, order_source  # noqa: F401 - fixtures
