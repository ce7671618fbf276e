"""`make bench`: counts and ratios against the budgets of docs/architecture.md (never wall-clock
assertions)."""
