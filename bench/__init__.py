"""`make bench`: counts and ratios against the budgets of DESIGN §8 (never wall-clock assertions)."""
