"""Online A/B tests of two model versions on one widget: assignment, serving, results, admin services."""
