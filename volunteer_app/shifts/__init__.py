"""Shifts and signups: capacity, the waitlist, cancelling, calendars."""
