"""Settings: one typed object read from the environment once per cold start.

Every AWS resource name and every secret comes from here; nothing is hard-coded in the layer. In the
cloud the template sets the variables (secrets arrive as typed, NoEcho parameters); locally the
stack sets them for its own processes.

Example::

    from ontology.settings import get_settings
    table = get_settings().table_name
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

__all__ = ["ENV", "Settings", "configure", "get_settings"]


class ENV:
    """Environment variable names, in one place."""

    STAGE = "ONE_STAGE"
    TABLE_NAME = "ONE_TABLE_NAME"
    REGION = "AWS_REGION"
    DEFAULT_REGION = "AWS_DEFAULT_REGION"
    DYNAMODB_ENDPOINT = "ONE_DYNAMODB_ENDPOINT"
    CURSOR_SECRET = "ONE_CURSOR_SECRET"  # noqa: S105 - the variable's name, not a secret
    MUTATION_MAX_ATTEMPTS = "ONE_MUTATION_MAX_ATTEMPTS"
    LOCAL = "ONE_LOCAL"
    FILES_BUCKET = "ONE_FILES_BUCKET"
    S3_ENDPOINT = "ONE_S3_ENDPOINT"
    AWS_ENDPOINT = "ONE_AWS_ENDPOINT"
    JOBS_QUEUE_URL = "ONE_JOBS_QUEUE_URL"
    JOBS_QUEUE_ARN = "ONE_JOBS_QUEUE_ARN"
    SCHEDULER_ROLE_ARN = "ONE_SCHEDULER_ROLE_ARN"
    SCHEDULE_GROUP = "ONE_SCHEDULE_GROUP"
    FUNCTION_PREFIX = "ONE_FUNCTION_PREFIX"
    PURCHASE_STATE_MACHINE_ARN = "ONE_PURCHASE_STATE_MACHINE_ARN"
    PUBLIC_BASE_URL = "ONE_AUTH_BASE_URL"
    ALLOWED_ORIGINS = "ONE_ALLOWED_ORIGINS"
    PUBLIC_URL_PARAMETER = "ONE_PUBLIC_URL_PARAMETER"
    SYNC_ENDPOINT = "ONE_SYNC_ENDPOINT"
    SYNC_QUEUE_URL = "ONE_SYNC_QUEUE_URL"
    SYNC_RECHECK_QUEUE_URL = "ONE_SYNC_RECHECK_QUEUE_URL"
    VECTOR_BUCKET_ARN = "ONE_VECTOR_BUCKET_ARN"
    EMBEDDING_DIMENSIONS = "ONE_EMBEDDING_DIMENSIONS"
    RATE_LIMIT = "ONE_RATE_LIMIT"
    FUNCTION_CALL_LIMIT = "ONE_FUNCTION_CALL_LIMIT"
    ORIGIN_VERIFY = "ONE_ORIGIN_VERIFY"
    ORIGIN_SECRET_ARN = "ONE_ORIGIN_SECRET_ARN"  # noqa: S105 - the variable's name, not a secret


#: Used only when ONE_LOCAL=1 and no secret is set: a local stack needs no secrets by hand.
_LOCAL_CURSOR_SECRET = "one-local-cursor-secret-not-for-production"  # noqa: S105


@dataclass(frozen=True)
class Settings:
    """The platform's settings, read from the environment once per cold start (:func:`get_settings`)."""

    stage: str = "dev"
    table_name: str = "one-dev"
    region: str = "us-east-1"
    dynamodb_endpoint: str | None = None
    cursor_secret: str = field(default=_LOCAL_CURSOR_SECRET, repr=False)
    mutation_max_attempts: int = 24
    local: bool = False
    files_bucket: str = "one-dev-files"
    s3_endpoint: str | None = None
    #: Endpoint of every other AWS service (SQS, Scheduler, Lambda, Secrets Manager) in the local stack.
    aws_endpoint: str | None = None
    jobs_queue_url: str = ""
    jobs_queue_arn: str = ""
    scheduler_role_arn: str = ""
    schedule_group: str = "default"
    #: Deployed functions are named ``<prefix><module>-<name>`` (the scheduler invokes them by name).
    function_prefix: str = ""
    #: The token purchase saga (Step Functions); executions are named after the purchase id.
    purchase_state_machine_arn: str = ""
    #: The public base URL of links the platform sends (auth, invitations); empty: see
    #: ``ontology.public_url``.
    public_base_url: str = ""
    #: Web origins allowed to call the platform from a browser (CORS, and the session cookie's
    #: trusted origins): one list, the template's ``AllowedOrigins`` in AWS, ``ALLOWED_ORIGINS`` locally.
    allowed_origins: tuple[str, ...] = ()
    #: The SSM parameter holding the public base URL when ``public_base_url`` is empty: in AWS, the
    #: CloudFront distribution's own URL, which no function's environment can name (the distribution
    #: stands in front of the API that invokes the functions).
    public_url_parameter: str = ""
    #: API Gateway's management endpoint of the WebSocket API (``post_to_connection``).
    sync_endpoint: str | None = None
    #: The FIFO queue that orders each connection's work (grouped by connection id).
    sync_queue_url: str = ""
    #: Delayed second invalidations of range subscriptions (GSIs are eventually consistent).
    sync_recheck_queue_url: str = ""
    #: The S3 Vectors bucket holding the vector indexes (one index per declared vector index).
    vector_bucket_arn: str = ""
    #: The embeddings' dimensions (the AI provider's model and every vector index without its own).
    embedding_dimensions: int = 1536
    #: Better Auth's ``rateLimit`` options as JSON (``enabled``, ``window``, ``max``, ``customRules``);
    #: empty: Better Auth's defaults (see ontology.auth.ratelimit).
    rate_limit: str = ""
    #: Function calls per session: ``<max>/<window seconds>``, or ``off``.
    function_call_limit: str = "1000/60"
    #: The value CloudFront's origin-verify header carries (locally and in tests; in AWS it is read
    #: from the secret ``origin_secret_arn`` names). Empty: no request is taken as CloudFront's.
    origin_verify: str = field(default="", repr=False)
    origin_secret_arn: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        local = e.get(ENV.LOCAL, "") in {"1", "true", "yes"}
        # Without a secret in the cloud, cursors refuse to work (see ontology.data.cursor) rather than
        # fall back to a known key.
        secret = e.get(ENV.CURSOR_SECRET) or (_LOCAL_CURSOR_SECRET if local else "")
        return cls(
            stage=e.get(ENV.STAGE, "dev"),
            table_name=e.get(ENV.TABLE_NAME, "one-dev"),
            region=e.get(ENV.REGION) or e.get(ENV.DEFAULT_REGION) or "us-east-1",
            dynamodb_endpoint=e.get(ENV.DYNAMODB_ENDPOINT) or None,
            cursor_secret=secret,
            mutation_max_attempts=int(e.get(ENV.MUTATION_MAX_ATTEMPTS, "24")),
            local=local,
            files_bucket=e.get(ENV.FILES_BUCKET, "one-dev-files"),
            s3_endpoint=e.get(ENV.S3_ENDPOINT) or None,
            aws_endpoint=e.get(ENV.AWS_ENDPOINT) or None,
            jobs_queue_url=e.get(ENV.JOBS_QUEUE_URL, ""),
            jobs_queue_arn=e.get(ENV.JOBS_QUEUE_ARN, ""),
            scheduler_role_arn=e.get(ENV.SCHEDULER_ROLE_ARN, ""),
            schedule_group=e.get(ENV.SCHEDULE_GROUP) or "default",
            function_prefix=e.get(ENV.FUNCTION_PREFIX, ""),
            purchase_state_machine_arn=e.get(ENV.PURCHASE_STATE_MACHINE_ARN, ""),
            public_base_url=e.get(ENV.PUBLIC_BASE_URL, "").rstrip("/"),
            allowed_origins=tuple(
                o.strip().rstrip("/") for o in e.get(ENV.ALLOWED_ORIGINS, "").split(",") if o.strip()
            ),
            public_url_parameter=e.get(ENV.PUBLIC_URL_PARAMETER, ""),
            sync_endpoint=e.get(ENV.SYNC_ENDPOINT) or None,
            sync_queue_url=e.get(ENV.SYNC_QUEUE_URL, ""),
            sync_recheck_queue_url=e.get(ENV.SYNC_RECHECK_QUEUE_URL, ""),
            vector_bucket_arn=e.get(ENV.VECTOR_BUCKET_ARN, ""),
            embedding_dimensions=int(e.get(ENV.EMBEDDING_DIMENSIONS) or "1536"),
            rate_limit=e.get(ENV.RATE_LIMIT, ""),
            function_call_limit=e.get(ENV.FUNCTION_CALL_LIMIT) or "1000/60",
            origin_verify=e.get(ENV.ORIGIN_VERIFY, ""),
            origin_secret_arn=e.get(ENV.ORIGIN_SECRET_ARN, ""),
        )


_current: Settings | None = None


def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    global _current  # noqa: PLW0603
    if _current is None:
        _current = Settings.from_env()
    return _current


def configure(settings: Settings | None = None, **changes: object) -> Settings:
    """Install settings for this process (the local stack and the tests); returns them.

    ``configure(table_name="t")`` changes fields of the current settings; ``configure(None)`` with no
    changes forgets them, so the next ``get_settings()`` reads the environment again.
    """
    global _current  # noqa: PLW0603
    if settings is None and not changes:
        _current = None
        return get_settings()
    base = settings if settings is not None else get_settings()
    _current = replace(base, **changes)  # type: ignore[arg-type]
    return _current
