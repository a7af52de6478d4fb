"""Initiatives: programs of impact volunteering with measurable goals, and finding them."""
