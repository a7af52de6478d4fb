"""Running a shift on the day: the roster, attendance, self check-in, hours approval and
outcome measures."""
