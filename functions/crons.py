"""The platform's crons, as the reference's ``crons.ts`` declares them. Each becomes an EventBridge
schedule on its function's own Lambda in template.yaml; the local stack fires them on schedule."""

from ontology.runtime.crons import REGISTERED as crons

# Every hour
crons.interval("cleanup expired tokens", {"minutes": 60}, "auth:cleanup_expired_tokens")

# Every day at midnight UTC
crons.daily("daily content generation", {"hourUTC": 0, "minuteUTC": 0}, "content:generate_daily_content")

# Every Monday at 9 AM UTC
crons.weekly(
    "weekly analytics report",
    {"hourUTC": 9, "minuteUTC": 0, "dayOfWeek": "monday"},
    "analytics:generate_weekly_report",
)

# Every month on the 1st at 10 AM UTC
crons.monthly("monthly billing", {"hourUTC": 10, "minuteUTC": 0, "day": 1}, "billing:process_monthly_billing")

# Every five minutes: purchases the token purchase saga left pending past its timeout
crons.interval("reconcile token purchases", {"minutes": 5}, "purchases:reconcile")

__all__ = ["crons"]
