"""People: accounts, roles, organization membership, and the volunteer profile."""
