"""The stack's parameters and the conditions read from them: the operator's settings, and the
secrets (NoEcho) that the template gathers into one Secrets Manager secret."""

from __future__ import annotations

from typing import Any

from infra.environment import REFERENCE_VARIABLES

#: Typed parameters for secrets (NoEcho), stored in one Secrets Manager secret.
SECRET_PARAMETERS: dict[str, dict[str, Any]] = {
    "CursorSecret": {
        "key": "cursorSecret",
        "Description": "HMAC key of pagination cursors (at least 32 characters).",
        "MinLength": 32,
        "AllowedPattern": "^[A-Za-z0-9+/=_-]+$",
    },
    "AuthSecret": {
        "key": "authSecret",
        "Description": "Signs session cookies (at least 32 characters).",
        "MinLength": 32,
        "AllowedPattern": "^[A-Za-z0-9+/=_-]+$",
    },
    "GithubClientSecret": {
        "key": "githubClientSecret",
        "Description": "GitHub OAuth app client secret (empty: GitHub sign-in off).",
        "MinLength": 0,
        "AllowedPattern": "^[A-Za-z0-9_-]*$",
        "Default": "",
    },
    "GoogleClientSecret": {
        "key": "googleClientSecret",
        "Description": "Google OAuth client secret (empty: Google sign-in off).",
        "MinLength": 0,
        "AllowedPattern": "^[A-Za-z0-9_-]*$",
        "Default": "",
    },
    "StripeSecretKey": {
        "key": "stripeSecretKey",
        "Description": "Stripe secret key (sk_live_… or sk_test_…).",
        "MinLength": 8,
        "AllowedPattern": "^(sk|rk)_[A-Za-z0-9_]+$",
    },
    "StripeWebhookSecret": {
        "key": "stripeWebhookSecret",
        "Description": "Signing secret of the Stripe webhook endpoint POST /api/stripe/webhook (whsec_…).",
        "MinLength": 8,
        "AllowedPattern": "^whsec_[A-Za-z0-9_]+$",
    },
    "OpenAIApiKey": {
        "key": "openaiApiKey",
        "Description": "OpenAI API key.",
        "MinLength": 8,
        "AllowedPattern": "^[A-Za-z0-9_-]+$",
    },
    "DeployerPrivateKey": {
        "key": "deployerPrivateKey",
        "Description": "Private key of the account that deploys, mints and burns creator tokens (hex).",
        "MinLength": 64,
        "AllowedPattern": "^(0x)?[0-9a-fA-F]{64}$",
    },
    "ResendApiKey": {
        "key": "resendApiKey",
        "Description": "Resend API key (re_…).",
        "MinLength": 8,
        "AllowedPattern": "^re_[A-Za-z0-9_]+$",
    },
    "ElevenLabsApiKey": {
        "key": "elevenlabsApiKey",
        "Description": "ElevenLabs API key (empty: voice cloning and speech off).",
        "MinLength": 0,
        "AllowedPattern": "^[A-Za-z0-9_-]*$",
        "Default": "",
    },
    "HeyGenApiKey": {
        "key": "heygenApiKey",
        "Description": "HeyGen API key, for appearance clones (empty: appearance cloning off).",
        "MinLength": 0,
        "AllowedPattern": "^[A-Za-z0-9_=-]*$",
        "Default": "",
    },
}

#: Where a frontend runs in development (Astro's and Vite's dev servers): the allowed origins until
#: the operator lists the site's own.
DEFAULT_ALLOWED_ORIGINS = (
    "http://localhost:4321",
    "http://127.0.0.1:4321",
    "http://localhost:5173",
    "http://127.0.0.1:5173",
)

#: The operator's settings, in the order the template lists them (the secrets follow).
PLAIN_PARAMETERS: dict[str, dict[str, Any]] = {
    "Stage": {
        "Type": "String",
        "Default": "dev",
        "AllowedValues": ["dev", "prod"],
        "Description": "Deployment stage (samconfig.toml sets it per environment).",
    },
    "AllowedOrigins": {
        "Type": "CommaDelimitedList",
        "Default": ",".join(DEFAULT_ALLOWED_ORIGINS),
        "Description": (
            "The web origins (scheme://host[:port], comma-separated) browsers may call the platform"
            " from: CORS on the API and the files bucket, and the origins a session cookie is"
            " accepted from. List your site's own origin in production."
        ),
    },
    "AuthBaseUrl": {
        "Type": "String",
        "Default": "",
        "Description": (
            "Public base URL for auth links, invitation links and cookies, e.g. a custom domain"
            " (empty: the CloudFront distribution's own https URL, the ApiUrl output)."
        ),
    },
    "GithubClientId": {"Type": "String", "Default": "", "Description": "GitHub OAuth app client id."},
    "GoogleClientId": {"Type": "String", "Default": "", "Description": "Google OAuth client id."},
    "ResendFromEmail": {
        "Type": "String",
        "Default": "onboarding@resend.dev",
        "Description": "The From address of the platform's emails.",
    },
    "ChainRpcUrl": {
        "Type": "String",
        "Default": "https://mainnet.base.org",
        "Description": "JSON-RPC endpoint of the EVM chain creator tokens live on.",
    },
    "StripePublishableKey": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": "^(pk_[A-Za-z0-9_]+)?$",
        "Description": "Stripe publishable key (pk_…), public: the browser's Stripe.js key.",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": [
            1,
            3,
            5,
            7,
            14,
            30,
            60,
            90,
            120,
            150,
            180,
            365,
            400,
            545,
            731,
            1096,
            1827,
            3653,
        ],
        "Description": "How many days the functions', the API's and the saga's logs are kept.",
    },
    "EmbeddingDimensions": {
        "Type": "Number",
        "Default": 1536,
        "MinValue": 2,
        "MaxValue": 4096,
        "Description": "Dimensions of the embeddings (the AI provider's model and the vector indexes).",
    },
    "LogLevel": {
        "Type": "String",
        "Default": "INFO",
        "AllowedValues": ["DEBUG", "INFO", "WARNING", "ERROR"],
        "Description": "Log level of every function.",
    },
    "RateLimit": {
        "Type": "String",
        "Default": "",
        "Description": (
            "The auth endpoints' limits per client address, as Better Auth's rateLimit options in JSON"
            ' (enabled, window, max, customRules), e.g. {"customRules": {"/sign-in/email":'
            ' {"window": 60, "max": 5}}}; empty: Better Auth defaults (docs/auth.md).'
        ),
    },
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": "^([^@\\s]+@[^@\\s]+)?$",
        "Description": (
            "An address the alarms' topic (AlarmTopicArn) emails (AWS asks it to confirm first);"
            " empty: subscribe what you use to the topic yourself."
        ),
    },
    "FunctionCallLimit": {
        "Type": "String",
        "Default": "1000/60",
        "AllowedPattern": "^(off|[1-9][0-9]*/[1-9][0-9]*)$",
        "Description": "Function calls per session: <max>/<window seconds>, or off (docs/auth.md).",
    },
    "BackupSchedule": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": "^((rate|cron)\\(.+\\))?$",
        "Description": (
            "When every organization is exported to the files bucket's backups/ (one export per"
            " organization), as an EventBridge schedule expression, e.g. cron(0 3 * * ? *) or"
            " rate(1 day); empty: no scheduled backups (docs/deploying.md)."
        ),
    },
    "BackupRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "MinValue": 1,
        "MaxValue": 3650,
        "Description": "How many days a scheduled backup is kept before the bucket deletes it.",
    },
}
#: What the stack decides by its parameters: whether a custom public URL or an alarm email is given,
#: whether backups are scheduled.
CONDITIONS = {
    "HasAuthBaseUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AuthBaseUrl"}, ""]}]},
    "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
    "BackupsEnabled": {"Fn::Not": [{"Fn::Equals": [{"Ref": "BackupSchedule"}, ""]}]},
}


def _secret_parameter(secret: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "String",
        "NoEcho": True,
        "Description": secret["Description"],
        "MinLength": secret["MinLength"],
        "AllowedPattern": secret["AllowedPattern"],
        **({"Default": secret["Default"]} if "Default" in secret else {}),
    }


def stack_parameters() -> dict[str, Any]:
    """The plain parameters, then the secrets; each parameter's description names the reference's
    variable it takes (``python -m infra.environment`` fills them from the environment or .env for
    sam deploy)."""
    parameters = {name: dict(p) for name, p in PLAIN_PARAMETERS.items()}
    parameters.update({name: _secret_parameter(p) for name, p in SECRET_PARAMETERS.items()})
    for v in REFERENCE_VARIABLES:
        parameters[v.parameter]["Description"] += f" From {v.name}."
    return parameters
