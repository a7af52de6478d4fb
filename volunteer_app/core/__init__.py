"""What every feature shares: the declarative base, time helpers, errors, role checks."""
