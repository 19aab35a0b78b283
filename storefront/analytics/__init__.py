"""The admin dashboard's aggregates and the landing page's headline numbers."""
