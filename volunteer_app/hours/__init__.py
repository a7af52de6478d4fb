"""Attendance and hours: check-in and check-out become hours entries; every change is audited."""
