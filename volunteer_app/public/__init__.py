"""Screens for residents that combine several features (initiatives, shifts, impact totals,
matching's suggestions): the home page and finding initiatives. A screen sits above the
features it shows, so none of them imports it."""
