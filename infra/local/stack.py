"""The local stack, assembled: moto server, the stack from template.yaml, the in-process Lambda
runner, the HTTP front door, persistence and a development identity."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra import ROOT
from infra.template.document import load_template

log = logging.getLogger("one.local")

STACK_NAME = "one-local"
TTL_SWEEP_SECONDS = 60
#: The longest an idle stream or queue poller waits between looks when nothing wakes it.
IDLE_TICK_SECONDS = 2.0
DEV_EMAIL = "dev@localhost.dev"


@dataclass
class LocalStack:
    host: str = "127.0.0.1"
    aws_port: int = 4566
    api_port: int = 3210
    stripe_port: int = 8420
    chain_port: int = 8545
    state_machine_arn: str = ""
    state_dir: Path = field(default_factory=lambda: ROOT / ".one" / "state")
    #: The reference's variables (BETTER_AUTH_SECRET, …) from the environment or this file.
    env_file: Path = field(default_factory=lambda: ROOT / ".env")
    #: Whether a first start deploys the demo token (``--no-demo-token``: not).
    demo: bool = True
    demo_token: str = ""
    #: Those the stack found and applied (their names).
    reference_env: list[str] = field(default_factory=list)
    physical: dict[str, str] = field(default_factory=dict)
    dev_token: str = ""
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def public_url(self) -> str:
        """The platform's public URL: BETTER_AUTH_URL (or the platform's own ONE_AUTH_BASE_URL) when
        the stack sits behind something else (a tunnel, a proxy), else the front door's own. The
        template's AuthBaseUrl, as `make deploy` passes it; where AWS would fall back to the CloudFront
        distribution's domain."""
        from infra.environment import read_env

        given = read_env(self.env_file).get("BETTER_AUTH_URL") or os.environ.get("ONE_AUTH_BASE_URL")
        return (given or self.api_url).rstrip("/")

    @property
    def stripe_url(self) -> str:
        return f"http://{self.host}:{self.stripe_port}"

    @property
    def chain_url(self) -> str:
        return f"http://{self.host}:{self.chain_port}"

    @property
    def outbox_dir(self) -> Path:
        return self.state_dir / "outbox"

    # ------------------------------------------------------------------------------------ start

    def start(self) -> None:
        _fake_credentials()
        from infra.local import strict

        #: The AWS-strict facets in force (``ONE_LOCAL_STRICT``; none by default).
        self.strict = strict.configure()
        import boto3
        from moto.server import ThreadedMotoServer

        from infra.local.aws import install_moto_lock
        from infra.local.moto_patches import install_moto_patches

        install_moto_lock()
        install_moto_patches()
        from infra.local import iam

        iam.install()  # every function's calls are checked against its own role, as in AWS
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto's Step Functions interpreter calls Lambda on this port (its MOTO_PORT)
        os.environ["MOTO_PORT"] = str(self.aws_port)
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._moto.start()
        from infra.local.aws import install_direct_transport

        self._undo_transport = install_direct_transport(self.aws_endpoint, self._moto._server.app)  # type: ignore[union-attr]
        from infra.local.stepfunctions import create_state_machines, enable_interpreter

        enable_interpreter()
        region = os.environ["AWS_DEFAULT_REGION"]
        cf = boto3.client("cloudformation", endpoint_url=self.aws_endpoint, region_name=region)
        self._s3 = boto3.client("s3", endpoint_url=self.aws_endpoint, region_name=region)
        template = load_template()
        #: The template the stack serves: template.yaml's, then (the dev loop) the reloaded code's.
        self.template = template
        from infra.local.cloudformation import LOCAL_SECRET_VALUES, stand_up

        self.physical = stand_up(
            cf, self._s3, STACK_NAME, template, parameters={"AuthBaseUrl": self.public_url}
        )
        machines = create_state_machines(
            sfn=boto3.client("stepfunctions", endpoint_url=self.aws_endpoint, region_name=region),
            lambda_client=boto3.client("lambda", endpoint_url=self.aws_endpoint, region_name=region),
            iam=boto3.client("iam", endpoint_url=self.aws_endpoint, region_name=region),
            template=template,
            physical=self.physical,
            stack_name=STACK_NAME,
        )
        self.state_machine_arn = machines["TokenPurchaseStateMachine"]
        self._start_stripe()
        self._start_chain()
        self._configure_functions(template, LOCAL_SECRET_VALUES)
        self._keep_logs()
        from infra.local import journal, state

        # what the snapshots and the journal keep, worked out once
        self._saved = (self._tables(template), self._buckets(template))
        started = time.monotonic()
        self.restored = state.load(self.state_dir, *self._saved, self._s3)
        self.replayed = journal.replay(self.state_dir, *self._saved)
        self.journal = journal.Journal(self.state_dir, *self._saved)
        journal.activate(self.journal)
        self.journal.compact(self._capture)  # the loaded state as one snapshot, an empty journal
        self.migrations = self._apply_migrations()  # an older state folder, brought up to the code
        self.vectors_rebuilt = self._rebuild_vectors()
        self.restore_seconds = time.monotonic() - started
        self._spawn(lambda: self.journal.sync_forever(self._stop))
        self.dev_token = self._dev_identity()
        self._start_runner_and_front_door(template)
        self.demo_token = self._demo_token()
        self._start_pollers(template)
        self.redispatched = self._redispatch_pending_jobs()
        self._spawn(self._housekeeping)
        if self.strict.on("memory"):
            from infra.local import memory

            # from now on, not during the start (tracing every allocation made it 4x slower)
            memory.start()

    def _keep_logs(self) -> None:
        """The functions' log lines, kept and answered through FilterLogEvents (:mod:`infra.local.logs`)."""
        import ontology.runtime.observability  # noqa: F401  (Powertools' logger, configured first)
        from infra.local.logs import LogStore

        self.logs = LogStore(self.state_dir / "logs")
        self.log_group = self.physical.get("FunctionLogs") or f"/one/{STACK_NAME}/functions"
        self._undo_logs = self.logs.install(self.log_group)
        os.environ["ONE_LOG_GROUP"] = self.log_group  # the dashboard's variable (template: Ref FunctionLogs)

    def _start_stripe(self) -> None:
        """localstripe, on loopback, its data in the state folder; it posts Stripe's events to the
        stack's webhook route, signed with the local endpoint secret."""
        from infra.local.cloudformation import LOCAL_SECRET_VALUES
        from infra.local.serving import start_localstripe

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._stripe = start_localstripe(
            self.host,
            self.stripe_port,
            self.state_dir / "stripe.pickle",
            webhook_url=f"{self.api_url}/api/stripe/webhook",
            webhook_secret=LOCAL_SECRET_VALUES["StripeWebhookSecret"],
        )

    def _start_chain(self) -> None:
        """The local EVM on loopback; its journal (in the state folder) replays the chain's history."""
        from infra.local.chain import LocalChain
        from infra.local.serving import start_server

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.chain = LocalChain(journal=self.state_dir / "chain.jsonl")
        self._chain_server, thread = start_server(
            self.chain.app(), self.host, self.chain_port, "the local chain"
        )
        self._threads.append(thread)

    def _start_pollers(self, template: dict[str, Any]) -> None:
        import boto3

        from infra.local.pollers import (
            CronPoller,
            FifoQueuePoller,
            QueuePoller,
            SchedulePoller,
            StreamPoller,
            cron_events,
            dead_letter_queues,
            expose_crons,
            stream_mappings,
        )
        from ontology.settings import get_settings

        region = os.environ["AWS_DEFAULT_REGION"]
        settings = get_settings()
        ddb = boto3.client("dynamodb", endpoint_url=self.aws_endpoint, region_name=region)
        stream_arn = ddb.describe_table(TableName=self.physical["Table"])["Table"]["LatestStreamArn"]
        streams = boto3.client("dynamodbstreams", endpoint_url=self.aws_endpoint, region_name=region)
        sqs = boto3.client("sqs", endpoint_url=self.aws_endpoint, region_name=region)
        scheduler = boto3.client("scheduler", endpoint_url=self.aws_endpoint, region_name=region)
        # the table's stream mappings (scheduler outbox, sync invalidation, knowledge), read once,
        # each with the template's settings (retries, bisection, failure destination, …)
        self.stream_poller = StreamPoller(
            self.runner, streams, stream_arn, stream_mappings(template, self.physical)
        )
        self.queue_poller = QueuePoller(
            self.runner, sqs, settings.jobs_queue_url, settings.jobs_queue_arn, "SchedulerRunnerFunction"
        )
        self.schedule_poller = SchedulePoller(
            scheduler, sqs, settings.schedule_group, {settings.jobs_queue_arn: settings.jobs_queue_url}
        )
        sync_url = self.physical["SyncQueue"]
        sync_arn = sqs.get_queue_attributes(QueueUrl=sync_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.sync_queue_poller = FifoQueuePoller(self.runner, sqs, sync_url, sync_arn, "SyncWorkerFunction")
        recheck_url = self.physical["SyncRecheckQueue"]
        recheck_arn = sqs.get_queue_attributes(QueueUrl=recheck_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.recheck_poller = QueuePoller(
            self.runner, sqs, recheck_url, recheck_arn, "SyncInvalidatorFunction"
        )
        expose_crons(template)
        self.cron_poller = CronPoller(
            self.runner,
            cron_events(template),
            created=self._schedules_created(),
            sqs=sqs,
            dead_letters=dead_letter_queues(template, self.physical),
            stop=self._stop,
        )
        # Short polls, never SQS long polling: moto serves one request at a time (the lock), and a
        # long poll would hold every other request for its whole wait.
        from infra.local import wake

        # Stream and queue pollers wake as soon as a record or a message is there (infra.local.wake),
        # as Lambda's mappings deliver within milliseconds; their tick is the fallback.
        pollers = (
            (self.stream_poller, 0.2, "stream"),
            (self.queue_poller, 0.2, wake.queue_channel(self.queue_poller.queue_url)),
            (self.sync_queue_poller, 0.2, wake.queue_channel(self.sync_queue_poller.queue_url)),
            (self.recheck_poller, 0.2, wake.queue_channel(self.recheck_poller.queue_url)),
            (self.schedule_poller, 1.0, None),
            (self.cron_poller, 1.0, None),
        )
        for poller, wait, channel in pollers:
            self._spawn(self._loop(poller.poll_once, wait, channel, getattr(poller, "due_in", None)))
        from infra.template.observability import dead_letter_queues as alarmed_queues

        # what the template's alarms watch: a message in one of these is a failure given up on
        self.dead_letters = {
            logical: (self.physical[logical], what)
            for logical, what in alarmed_queues(template["Resources"]).items()
            if logical in self.physical
        }
        self._dead_letters_seen = dict.fromkeys(self.dead_letters, 0)
        self._sqs = sqs

    def _loop(self, step: Any, wait: float, channel: str | None = None, due: Any = None) -> Any:
        """A poller's thread: ``step`` until the stack stops. With a wake ``channel`` it runs again
        as soon as the channel moves; with nothing to do its fallback tick doubles from ``wait`` up
        to ``IDLE_TICK_SECONDS`` (what nothing announces: a message whose visibility timeout ran
        out), and ``due()`` (seconds until a retry it holds is due, or None) cuts the wait short."""
        from infra.local import wake

        def run() -> None:
            seen = wake.generation(channel) if channel else 0
            tick = wait
            while not self._stop.is_set():
                try:
                    delivered = step()
                except Exception:
                    if not self._stop.is_set():
                        log.exception("local poller failed; retrying")
                    self._stop.wait(1.0)
                    continue
                if not channel:
                    self._stop.wait(wait)
                    continue
                if delivered:
                    tick = wait
                    continue  # there may be more right behind
                timeout = tick
                if due is not None and (left := due()) is not None:
                    timeout = max(0.0, min(timeout, left))
                moved = wake.wait(channel, seen, timeout)
                tick = wait if moved != seen else min(tick * 2, IDLE_TICK_SECONDS)
                seen = moved

        return run

    def _tables(self, template: dict[str, Any]) -> dict[str, str]:
        return {
            k: self.physical[k]
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::DynamoDB::Table"
        }

    def _buckets(self, template: dict[str, Any]) -> dict[str, str]:
        return {
            k: self.physical[k] for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"
        }

    def _apply_reference_env(self) -> dict[str, str]:
        """The reference's variables, where they apply locally, become the platform's own (the
        table in infra/environment.py says what each does here): plain ones in the environment,
        secrets returned (key in the deployment's secret → value) to go into the stack's secret."""
        from infra.environment import LOCALLY_USED, REFERENCE_VARIABLES, read_env
        from infra.template.parameters import SECRET_PARAMETERS

        found = read_env(self.env_file)
        secrets: dict[str, str] = {}
        for v in REFERENCE_VARIABLES:
            if v.name in found and v.name in LOCALLY_USED:
                if v.kind == "secret":
                    secrets[SECRET_PARAMETERS[v.parameter]["key"]] = found[v.name]
                else:
                    os.environ[v.platform] = found[v.name]
        self.reference_env = sorted(found)
        return secrets

    def _configure_functions(self, template: dict[str, Any], secrets: dict[str, str]) -> None:
        """The environment the template gives every function, resolved against this stack."""
        from infra.template.parameters import SECRET_PARAMETERS

        env = template["Globals"]["Function"]["Environment"]["Variables"]
        parameters = {
            name: ",".join(p["Default"]) if isinstance(p.get("Default"), list) else str(p["Default"])
            for name, p in template["Parameters"].items()
            if "Default" in p and not p.get("NoEcho")
        }
        parameters |= {
            "Stage": "dev",
            "LogLevel": os.environ.get("ONE_LOG_LEVEL", "WARNING"),
            "EmbeddingDimensions": str(template["Parameters"]["EmbeddingDimensions"]["Default"]),
            "AuthBaseUrl": self.public_url,
        }
        for name, declared in env.items():
            if name in os.environ and _is_parameter(declared, template):
                continue  # the operator set this parameter for the stack, as a deploy would
            value = self._resolve(declared, parameters)
            if value is not None:
                os.environ[name] = str(value)
        os.environ.update(
            {
                "ONE_LOCAL": "1",
                "ONE_STRIPE_API_BASE": self.stripe_url,
                "ONE_OPENAI_BASE_URL": f"{self.api_url}/_local/openai/v1",
                "ONE_ELEVENLABS_BASE_URL": f"{self.api_url}/_local/elevenlabs",
                "ONE_HEYGEN_UPLOAD_URL": f"{self.api_url}/_local/heygen",
                "ONE_OUTBOX_DIR": str(self.outbox_dir),
                "ONE_CHAIN_RPC_URL": self.chain_url,
                "ONE_PURCHASE_STATE_MACHINE_ARN": self.state_machine_arn,
                "ONE_DYNAMODB_ENDPOINT": self.aws_endpoint,
                "ONE_S3_ENDPOINT": self.aws_endpoint,
                "ONE_AWS_ENDPOINT": self.aws_endpoint,
                # the WebSocket API's management endpoint is the front door itself
                "ONE_SYNC_ENDPOINT": self.api_url,
                "ONE_SYNC_QUEUE_URL": self.physical.get("SyncQueue", ""),
                "ONE_SYNC_RECHECK_QUEUE_URL": self.physical.get("SyncRecheckQueue", ""),
                "POWERTOOLS_METRICS_DISABLED": "true",
                # no X-Ray daemon here: the tracer records nothing and never loads the X-Ray SDK
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        overrides = self._apply_reference_env()
        # The secrets live in the stack's Secrets Manager secret, as `sam deploy` puts them there, and
        # functions read them with their own role's credentials (a function whose role may not read
        # the secret fails here as in AWS): no ONE_<SECRET> variable may shadow them.
        values = {p["key"]: secrets[name] for name, p in SECRET_PARAMETERS.items()}
        values.update(
            {
                "deployerPrivateKey": self.chain.deployer_key,
                "stripeSecretKey": "sk_test_local",
                "openaiApiKey": "local",
                **overrides,
            }
        )
        from ontology.secrets import _env_name, reset_secrets

        for key in values:
            os.environ.pop(_env_name(key), None)
        import boto3

        boto3.client(
            "secretsmanager", endpoint_url=self.aws_endpoint, region_name=os.environ["AWS_DEFAULT_REGION"]
        ).put_secret_value(SecretId=os.environ["ONE_SECRETS_ARN"], SecretString=json.dumps(values))
        reset_secrets()
        from botocore.credentials import ReadOnlyCredentials

        from infra.local.credentials import ActingCredentials
        from ontology.aws import use_credentials
        from ontology.data.dynamodb import reset_default_store
        from ontology.data.models import configure_models
        from ontology.data.storage import reset_client
        from ontology.settings import configure
        from ontology.sync import push

        # one set of clients for every function: each call signs as the running function's role
        use_credentials(
            ActingCredentials(
                ReadOnlyCredentials(
                    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], None
                )
            )
        )
        configure(None)
        configure_models(table_name=os.environ["ONE_TABLE_NAME"], host=self.aws_endpoint)
        reset_default_store()
        reset_client()
        push.reset_client()

    def _resolve(self, value: Any, parameters: dict[str, str]) -> Any:
        """The intrinsic functions the template's environment uses, against this stack."""
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return parameters.get(value["Ref"]) or self.physical.get(value["Ref"])
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            resolved = [self._resolve(p, parameters) for p in (parts if isinstance(parts, list) else [parts])]
            return sep.join(str(p) for p in resolved if p is not None)
        if "Fn::Sub" in value:
            return value["Fn::Sub"].replace("${AWS::StackName}", STACK_NAME)
        if "Fn::GetAtt" in value:
            logical, attr = value["Fn::GetAtt"]
            return self._attribute(logical, attr)
        return None

    def _attribute(self, logical: str, attr: str) -> str | None:
        import boto3

        region = os.environ["AWS_DEFAULT_REGION"]
        physical = self.physical.get(logical)
        if physical is None:
            return None
        if attr == "Arn" and physical.startswith("http"):  # a queue: its physical id is its URL
            sqs = boto3.client("sqs", endpoint_url=self.aws_endpoint, region_name=region)
            return str(
                sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"
                ]
            )
        if attr.endswith("Arn") and physical.startswith("arn:"):
            return physical
        if attr == "Arn":  # a role
            iam = boto3.client("iam", endpoint_url=self.aws_endpoint, region_name=region)
            return str(iam.get_role(RoleName=physical)["Role"]["Arn"])
        return None

    def _apply_migrations(self) -> str:
        """Apply every declared data migration the restored table has not had, before anything is
        served (docs/migrations.md), as ``one migrate run --all`` would: the state folder of an older
        checkout keeps working. No other runner can hold one now (this moto is new), so a lease left
        by a runner that was killed is taken over. Answers the banner's line."""
        from ontology.data.dynamodb import default_store
        from ontology.data.migrations.registry import registered
        from ontology.data.migrations.runner import Options, pending, run

        store = default_store()
        try:
            declared = registered()
        except (ImportError, ValueError) as exc:
            log.error("migrations: the declared migrations do not load: %s", exc)
            return f"not applied: the declared migrations do not load ({exc})"
        if not any(self.restored.values()) and not self.replayed:
            # a new state folder: its table is written in today's layout from the first item on
            from ontology.data.keys import now_ms
            from ontology.data.migrations.progress import born

            for migration in declared:
                born(store, migration.id, migration.description, now=now_ms())
            return f"none pending ({len(declared)} declared; a new table is born migrated)"
        todo = pending(store, declared)
        if not todo:
            return f"none pending ({len(declared)} declared)"
        log.info(
            "migrations: %d pending (%s): applying them before serving",
            len(todo),
            ", ".join(m.id for m in todo),
        )
        applied = []
        for migration in todo:
            report = run(store, migration, Options(take_over=True))
            c = report.counts
            log.info(
                "migration %s: %s (%d examined, %d changed, %d skipped)",
                migration.id,
                report.status,
                c["examined"],
                c["changed"],
                c["skipped"],
            )
            if report.status != "done":
                log.error(
                    "migration %s %s: %s; `one migrate run --all` resumes it",
                    migration.id,
                    report.status,
                    report.error,
                )
                return (
                    f"{migration.id} {report.status} ({report.error}); serving anyway: `one migrate status`"
                )
            applied.append(f"{migration.id} ({c['changed']} changed)")
        return "applied before serving: " + ", ".join(applied)

    def _rebuild_vectors(self) -> int:
        """S3 Vectors' indexes hold what the table's knowledge documents say (moto keeps vectors in
        memory only): put them again from the restored table, as the stream indexer would."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from ontology.data.vectors import index_records

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]].get_table(
            self.physical["Table"]
        )
        records: list[Mapping[str, Any]] = [
            {"dynamodb": {"NewImage": item.to_json()["Attributes"]}}
            for item in table.all_items()
            if item.attrs.get("tb") is not None and item.attrs["tb"].value == "knowledge"
        ]
        if records and index_records(records):
            log.warning("some knowledge vectors could not be indexed at start")
        return len(records)

    def _dev_identity(self) -> str:
        """A developer account (org_owner of its own organization) and a session for `one run`."""
        from ontology import run_mutation, run_query
        from ontology.auth.people import (
            create_session,
            create_user_with_organization,
            new_organization_id,
        )

        user = run_query(
            lambda db: db.lookup_unique("users", "email", {"email": DEV_EMAIL}), org=None, platform=True
        )
        if user is None:
            org_id = new_organization_id()
            created = run_mutation(
                lambda db: create_user_with_organization(
                    db,
                    org_id=org_id,
                    email=DEV_EMAIL,
                    name="Local developer",
                    email_verified=True,
                    organization_name="Local development",
                ),
                org=org_id,
                platform=True,
            )
            user_id, org_id = created["userId"], created["organizationId"]
        else:
            user_id = user["_id"]
            memberships = run_query(
                lambda db: (
                    db.query("memberships").with_index("by_user", lambda q: q.eq("userId", user_id)).take(1)
                ),
                org=None,
                platform=True,
            )
            org_id = memberships[0]["organizationId"]
        token, _ = run_mutation(
            lambda db: create_session(db, user_id=user_id, org_id=org_id, ttl_ms=30 * 24 * 3600 * 1000),
            org=None,
            platform=True,
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.dev_user, self.dev_org = user_id, org_id
        self._write_session(
            {"token": token, "userId": user_id, "organizationId": org_id, "apiUrl": self.api_url}
        )
        return token

    def _schedules_created(self) -> datetime:
        """When this stack's schedules were created, kept in the state folder: in AWS a ``rate()``
        schedule counts from its creation, not from each restart."""
        path = self.state_dir / "schedules-created"
        try:
            return datetime.fromisoformat(path.read_text().strip())
        except (OSError, ValueError):
            created = datetime.now(UTC)
            self.state_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(created.isoformat())
            return created

    def _write_session(self, values: dict[str, Any]) -> None:
        path = self.state_dir / "dev-session.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**current, **values}, indent=2))

    def _demo_token(self) -> str:
        """A creator token deployed on the local chain at first start (``LOCAL``, $0.50), so that a
        purchase can be tried at once; later starts find it (the chain journal replays it). With
        ``demo`` off, a first start deploys none ("": a state folder that has one keeps it)."""
        from ontology import run_query
        from ontology.runtime.handler import handle
        from ontology.runtime.registry import resolve

        existing = run_query(
            lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "token")).first(),
            org=self.dev_org,
        )
        if existing is not None:
            token_id = str(existing["_id"])
        elif not self.demo:
            self._save_test_card()
            return ""
        else:
            me = {"userId": self.dev_user, "organizationId": self.dev_org, "role": "org_owner"}
            creator = handle(
                resolve("creators:create"),
                {"email": "creator@localhost.dev", "name": "Local creator", "niche": ["demo"], "_auth": me},
            )["creatorId"]
            token_id = handle(
                resolve("tokens:create"),
                {"creatorId": creator, "name": "Local Coin", "symbol": "LOCAL", "priceUsd": 0.5, "_auth": me},
            )["tokenId"]
        self._save_test_card()
        self._write_session({"demoTokenId": token_id})
        return token_id

    def _save_test_card(self) -> None:
        """The developer's own entity holds Stripe's test card as its saved payment method, so the
        reference's purchase call (``{tokenId, amount, usdAmount}``, no payment method) works as is."""
        from ontology import run_mutation

        def save(db: Any) -> None:
            me = db.lookup_unique(
                "memberships", "member", {"organizationId": self.dev_org, "userId": self.dev_user}
            )
            entity = db.get(me["entityId"], "entities") if me and me.get("entityId") else None
            if entity is not None and not entity["properties"].get("paymentMethodId"):
                db.patch(
                    entity["_id"], {"properties": {**entity["properties"], "paymentMethodId": "pm_card_visa"}}
                )

        run_mutation(save, org=self.dev_org, platform=True)

    def _start_runner_and_front_door(self, template: dict[str, Any]) -> None:
        import boto3

        from infra.local.credentials import FunctionRoles
        from infra.local.frontdoor import build_app
        from infra.local.runner import LambdaRunner, install_moto_lambda
        from infra.local.serving import start_server

        region = os.environ["AWS_DEFAULT_REGION"]
        roles = FunctionRoles(
            self.physical,
            boto3.client("lambda", endpoint_url=self.aws_endpoint, region_name=region),
            boto3.client("sts", endpoint_url=self.aws_endpoint, region_name=region),
        )
        self.runner = LambdaRunner(template, roles)
        #: The Lambda moto invokes → the function it runs (the dev loop adds and removes some).
        self.physical_to_logical = {v: k for k, v in self.physical.items()}
        install_moto_lambda(self.runner, self.physical_to_logical, dead_letters=self._dead_letter)
        from infra.local.devroutes import dev_routes

        app = build_app(self.runner, template, dev_routes=dev_routes(self))
        self._uvicorn, thread = start_server(app, self.host, self.api_port, "the front door")
        self._threads.append(thread)

    def _dead_letter(self, logical_id: str, body: str, error: str) -> None:
        """An asynchronous event that failed every attempt, to its function's dead-letter queue; none
        configured: it is dropped, as Lambda drops it."""
        import boto3

        from infra.local.pollers import dead_letter_queues
        from infra.local.runner import send_to_dead_letter_queue

        url = dead_letter_queues(self.template, self.physical).get(logical_id)
        if not url:
            log.warning("%s has no dead-letter queue: a failed asynchronous event is dropped", logical_id)
            return
        region = os.environ["AWS_DEFAULT_REGION"]
        sqs = boto3.client("sqs", endpoint_url=self.aws_endpoint, region_name=region)
        send_to_dead_letter_queue(sqs, url, body, error)

    def _spawn(self, target: Any) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _housekeeping(self) -> None:
        from infra.local.aws import MOTO_LOCK
        from infra.local.journal import COMPACT_BYTES, committing
        from infra.local.moto_patches import expire_ttl_items

        last_sweep = time.monotonic()
        while not self._stop.wait(1.0):
            self._watch_dead_letters()
            now = time.monotonic()
            if self.journal.size() > COMPACT_BYTES:
                self.journal.compact(self._capture)
            if now - last_sweep >= TTL_SWEEP_SECONDS:
                with MOTO_LOCK, committing():  # TTL deletions are writes too: journaled
                    expire_ttl_items()
                last_sweep = now

    def _watch_dead_letters(self) -> None:
        """The template's alarms, locally (moto's CloudFormation creates no alarm and nothing evaluates
        one): a line in the stack's output when a dead-letter queue or failure destination holds more
        messages than when it last looked."""
        for logical, (url, what) in self.dead_letters.items():
            try:
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
                )
            except Exception:
                log.debug("could not read %s's depth", logical, exc_info=True)
                continue
            count = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            if count > self._dead_letters_seen[logical]:
                log.warning("alarm: %s holds %d message(s): %s (%s)", logical, count, what, url)
            self._dead_letters_seen[logical] = count

    def _redispatch_pending_jobs(self) -> int:
        """Send every pending job on its way again. A job's document is durable, but the queue
        message or one-time schedule that would run it lives in moto's memory and dies with a
        killed stack; dispatching is idempotent and a job runs only while it is pending."""
        from ontology.data.db import DatabaseReader
        from ontology.runtime.scheduler import dispatch

        pending = (
            DatabaseReader(None, platform=True)
            .query("scheduledFunctions")
            .with_index("by_state", lambda q: q.eq("state", "pending"))
            .iterate()
        )
        count = 0
        for job in pending:
            dispatch(job["_id"], job["scheduledTime"])
            count += 1
        return count

    def _capture(self) -> Any:
        from infra.local import state

        return state.capture(self.state_dir, *self._saved)

    def snapshot(self) -> None:
        """Write a snapshot now and start an empty journal (the stack does this by itself)."""
        self.journal.compact(self._capture)

    # ------------------------------------------------------------------------------------- stop

    def stop(self) -> None:
        self._stop.set()
        self.snapshot()
        self.journal.close()
        self._uvicorn.should_exit = True
        self._chain_server.should_exit = True
        self._stripe.terminate()
        try:
            self._stripe.wait(timeout=10)
        except Exception:
            self._stripe.kill()
        self._moto.stop()
        self._undo_transport()
        self._undo_logs()


def _fake_credentials() -> None:
    # moto accepts any credentials; never let a developer's real ones reach it.
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)


def _is_parameter(value: Any, template: dict[str, Any]) -> bool:
    """Whether a function's environment value comes from a stack parameter (``Ref``, or ``Fn::Join``
    of one), which the operator may set for the local stack through the platform's variable."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return any(_is_parameter(p, template) for p in value["Fn::Join"][1:])
    return isinstance(value, dict) and value.get("Ref") in template.get("Parameters", {})
