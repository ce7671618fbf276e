"""The ontology's enumerations, exactly the reference's lists (spec: "Schema Reference").

The reference's headings say 46 entity types, 24 relationship types and 35 event types; its lists
hold 50, 33 and 49. The lists are the source of truth (a test parses the spec and compares).
"""

from __future__ import annotations

__all__ = [
    "ENTITY_STATUSES",
    "ENTITY_TYPES",
    "EVENT_TYPES",
    "RELATIONSHIP_TYPES",
    "ROLES",
]

ENTITY_TYPES: tuple[str, ...] = (
    # Core (3)
    "creator",
    "ai_clone",
    "audience_member",
    # Business agents (10)
    "strategy_agent",
    "research_agent",
    "marketing_agent",
    "sales_agent",
    "service_agent",
    "design_agent",
    "engineering_agent",
    "finance_agent",
    "legal_agent",
    "intelligence_agent",
    # Content (7)
    "blog_post",
    "video",
    "podcast",
    "social_post",
    "email",
    "course",
    "lesson",
    # Products (4)
    "digital_product",
    "membership",
    "consultation",
    "nft",
    # Community (3)
    "community",
    "conversation",
    "message",
    # Token (2)
    "token",
    "token_contract",
    # Knowledge (2)
    "knowledge_item",
    "embedding",
    # Platform (6)
    "website",
    "landing_page",
    "template",
    "livestream",
    "recording",
    "media_asset",
    # Business (7)
    "payment",
    "subscription",
    "invoice",
    "metric",
    "insight",
    "prediction",
    "report",
    # Marketing (the reference's heading says 5; its list holds 6)
    "notification",
    "email_campaign",
    "announcement",
    "referral",
    "campaign",
    "lead",
)

RELATIONSHIP_TYPES: tuple[str, ...] = (
    "owns",
    "created_by",
    "clone_of",
    "trained_on",
    "powers",
    "authored",
    "generated_by",
    "published_to",
    "part_of",
    "references",
    "member_of",
    "following",
    "moderates",
    "participated_in",
    "manages",
    "reports_to",
    "collaborates_with",
    "assigned_to",
    "holds_tokens",
    "staked_in",
    "earned_from",
    "purchased",
    "enrolled_in",
    "completed",
    "teaching",
    "transacted",
    "referred",
    "notified",
    "featured_in",
    "hosted_on",
    "analyzed_by",
    "optimized_by",
    "influences",
)

EVENT_TYPES: tuple[str, ...] = (
    "creator_created",
    "creator_updated",
    "content_uploaded",
    "clone_created",
    "clone_interaction",
    "clone_generated_content",
    "voice_cloned",
    "appearance_cloned",
    "agent_created",
    "agent_executed",
    "agent_completed",
    "agent_failed",
    "content_changed",
    "content_interacted",
    "user_joined",
    "user_engaged",
    "ugc_created",
    "comment_posted",
    "course_created",
    "course_enrolled",
    "lesson_completed",
    "course_completed",
    "certificate_earned",
    "token_deployed",
    "tokens_purchased",
    "tokens_earned",
    "tokens_burned",
    "tokens_staked",
    "tokens_unstaked",
    "governance_vote",
    "revenue_generated",
    "cost_incurred",
    "referral_made",
    "viral_share",
    "referral_converted",
    "achievement_unlocked",
    "level_up",
    "metric_calculated",
    "insight_generated",
    "prediction_made",
    "optimization_applied",
    "report_generated",
    "payment_processed",
    "subscription_updated",
    "livestream_status_changed",
    "livestream_interaction",
    "notification_delivered",
    "referral_activity",
    "lead_captured",
)

ENTITY_STATUSES: tuple[str, ...] = ("active", "inactive", "draft", "published", "archived")

#: People: who may do what, from most to least privileged.
ROLES: tuple[str, ...] = ("platform_owner", "org_owner", "org_user", "customer")
