"""Coordinators run their initiatives: goals, shifts, the coordinator home, exports; admins
manage organizations and invite coordinators."""
