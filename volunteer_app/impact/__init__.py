"""Impact: outcome records against goals, the value of volunteer time, reports and open data."""
