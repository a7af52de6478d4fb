"""Reference data every feature shares: causes, neighborhoods, skills, languages, settings."""
