"""Matching residents to shifts and volunteers to the shifts that need them."""
