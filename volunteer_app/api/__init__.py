"""The read-only open data API under /api/v1: no personal data, ever."""
