"""Writes ``events/``: a sample API Gateway v2 event for every function (``sam local invoke -e`` where
Docker exists; the tests load them). ``python -m infra.events`` rewrites them; ``--check`` fails when
one is missing or stale."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from infra import ROOT
from ontology.runtime.registry import FunctionSpec, load_all

EVENTS = ROOT / "events"

ENT = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
ENT2 = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"
CON = "con_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
STO = "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
PAGE = {"numItems": 20, "cursor": None}
SAMPLE_IDENTITY = {
    "userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
    "organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
    "role": "org_owner",
    "entityId": ENT,
}

#: Example arguments of each function (valid for its argument model).
EXAMPLES: dict[str, dict[str, Any]] = {
    "connections:create": {"fromEntityId": ENT, "toEntityId": ENT2, "relationshipType": "authored"},
    "connections:delete": {"id": CON},
    "connections:list": {
        "entityId": ENT,
        "direction": "from",
        "relationshipType": "authored",
        "paginationOpts": PAGE,
    },
    "creators:create": {"email": "ada@example.com", "name": "Ada Lovelace", "niche": ["math", "computing"]},
    "creators:get": {"id": ENT},
    "creators:get_with_content": {"creatorId": ENT},
    "creators:list": {"limit": 20, "niche": "computing"},
    "creators:list_paginated": {"paginationOpts": PAGE},
    "creators:update": {"id": ENT, "bio": "First programmer."},
    "entities:archive": {"id": ENT},
    "entities:create": {
        "type": "blog_post",
        "name": "Notes on the Analytical Engine",
        "properties": {"words": 1200},
    },
    "entities:get": {"id": ENT},
    "entities:list": {"type": "blog_post", "status": "published", "paginationOpts": PAGE},
    "entities:search": {"query": "marathon training pl", "type": "blog_post", "limit": 10},
    "knowledge:add": {
        "sourceId": ENT,
        "text": "Marathon training: build the long run slowly.",
        "labels": {"topic": "running"},
    },
    "knowledge:search": {"query": "marathon training plan", "sourceId": ENT, "limit": 5},
    "clones:create": {"creatorId": ENT, "systemPrompt": "You are Ada's clone.", "temperature": 0.6},
    "clones:get": {"cloneId": ENT2},
    "clones:chat": {"cloneId": ENT2, "message": "How do I pace my first marathon?"},
    "clones:messages": {"conversationId": ENT2, "paginationOpts": PAGE},
    "clones:clone_voice": {"creatorId": ENT, "audioSamples": ["sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"]},
    "clones:speak": {"cloneId": ENT2, "text": "Welcome to the stream!"},
    "clones:clone_appearance": {"cloneId": ENT2, "imageStorageId": "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"},
    "events:list": {"actorId": ENT, "type": "creator_created", "paginationOpts": PAGE},
    "files:delete_file": {"fileId": ENT},
    "files:generate_upload_url": {"contentType": "image/png", "size": 1024},
    "files:get_file_url": {"storageId": STO},
    "files:save_file": {"storageId": STO, "name": "avatar.png", "type": "image/png", "size": 1024},
    "meta:not_found": {},
    "meta:openapi": {},
    "tags:add": {"entityId": ENT, "key": "skill", "value": "math"},
    "tags:list": {"key": "skill", "value": "math", "paginationOpts": PAGE},
    "tags:remove": {"entityId": ENT, "key": "skill", "value": "math"},
    "tokens:get": {"id": ENT},
    "tokens:get_balance": {"tokenId": ENT},
    "tokens:get_user_holdings": {"userId": ENT},
    "tokens:create": {
        "creatorId": ENT,
        "name": "Ada Coin",
        "symbol": "ADA",
        "priceUsd": 0.5,
        "totalSupply": 1000000,
    },
    "tokens:purchase": {
        "tokenId": ENT,
        "amount": 100,
        "paymentMethodId": "pm_card_visa",
        "idempotencyKey": "checkout-7f3a9c",
    },
    "tokens:get_purchase": {"purchaseId": ENT2},
    "tokens:update": {"id": ENT, "description": "Backstage passes and early access."},
    "tokens:transfer": {"tokenId": ENT, "toEntityId": ENT2, "amount": 10},
    "courses:enroll": {"courseId": ENT},
    "livestreams:schedule": {"creatorId": ENT, "title": "Marathon Q&A", "scheduledFor": 1767225600000},
    "livestreams:start": {"livestreamId": ENT2},
    "livestreams:end": {"livestreamId": ENT2},
    "livestreams:join": {"livestreamId": ENT2},
    "livestreams:leave": {"livestreamId": ENT2},
    "livestreams:send_message": {"livestreamId": ENT2, "text": "What pace for a first marathon?"},
    "livestreams:chat": {"livestreamId": ENT2, "paginationOpts": PAGE},
    "livestreams:get": {"livestreamId": ENT2},
    "courses:generate": {"creatorId": ENT, "topic": "Marathon training for beginners", "lessons": 6},
    "courses:get": {"courseId": ENT2},
    "scheduler:list": {"state": "pending", "paginationOpts": PAGE},
    "organizations:create": {"name": "Ada's studio", "joinPolicy": "open"},
    "organizations:update": {"joinPolicy": "open"},
    "organizations:join": {"slug": "adas-studio"},
    "organizations:invite": {"email": "grace@example.com", "role": "org_user"},
    "organizations:accept": {"token": "an-invitation-token-from-the-email-link-0123"},
    "organizations:list_members": {},
    "organizations:change_role": {"userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S", "role": "customer"},
    "organizations:remove_member": {"userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"},
    "organizations:switch_active": {"organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"},
    "organizations:sweep_member_sessions": {
        "organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8S",
        "userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S",
    },
    "scheduler:cancel": {"jobId": "job_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"},
    # internal functions: plain argument events (the caller's identity under "_auth")
    "auth:delete_expired_batch": {"table": "sessions", "before": 1795608000000},
    "auth:send_email": {
        "to": "ada@example.com",
        "subject": "Verify your email address",
        "text": "…",
        "html": "<p>…</p>",
    },
    "content:creators_with_clones": {},
    "content:save_draft": {
        "creatorId": ENT,
        "cloneId": ENT2,
        "window": "2026-11-25T00:00:00Z",
        "title": "Draft",
        "body": "…",
        "model": "gpt-4-turbo-preview",
    },
    "analytics:events_page": {"start": 1795003200000, "end": 1795608000000, "cursor": None},
    "analytics:follows_page": {"start": 1795003200000, "end": 1795608000000, "cursor": None},
    "analytics:save_report": {
        "window": "2026-11-23T09:00:00Z",
        "start": 1795003200000,
        "end": 1795608000000,
        "eventCounts": {"creator_created": 2},
        "newFollowers": 1,
        "revenue": 1999,
    },
    "billing:billable": {},
    "billing:ensure_invoice": {"subscriptionId": ENT, "window": "2026-11-01T10:00:00Z"},
    "billing:record_attempt": {"invoiceId": ENT, "paymentIntentId": "pi_123", "attempts": 1},
    "billing:record_outcome": {"invoiceId": ENT, "paid": True},
    "billing:create_setup_intent": {},
    "billing:save_payment_method": {"setupIntentId": "seti_1Qx7Zk2eZvKYlo2C"},
    "billing:list_payment_methods": {},
    "billing:remove_payment_method": {"paymentMethodId": "pm_1Qx7Zm2eZvKYlo2C"},
    # a request=True function: the request itself (Stripe's signed event)
    "billing:stripe_webhook": {
        "body": json.dumps(
            {
                "id": "evt_1Qx7Zn2eZvKYlo2C",
                "object": "event",
                "type": "payment_intent.amount_capturable_updated",
                "created": 1795608000,
                "data": {"object": {"id": "pi_3Qx7Zo2eZvKYlo2C", "object": "payment_intent"}},
            }
        ),
        "headers": {"stripe-signature": "t=1795608000,v1=<HMAC-SHA256 of t.body with the endpoint secret>"},
    },
    # the token purchase saga's steps (Step Functions passes the purchase and the organization)
    "tokens:start_purchase": {"purchaseId": ENT2},
    "knowledge:source_exists": {"sourceId": ENT},
    "livestreams:reply_context": {"livestreamId": ENT2, "messageId": ENT},
    "livestreams:cohost_reply": {"livestreamId": ENT2, "messageId": ENT},
    "livestreams:post_reply": {"livestreamId": ENT2, "messageId": ENT, "text": "Start slow."},
    "courses:step_plan": {"courseId": ENT2, "step": 0},
    "courses:write_step": {"courseId": ENT2, "step": 0},
    "courses:save_outline": {"courseId": ENT2, "outline": {}},
    "courses:save_lesson": {"courseId": ENT2, "step": 1, "content": {}},
    "courses:publish": {"courseId": ENT2, "step": 7},
    "courses:fail_generation": {"courseId": ENT2, "step": 0, "reason": "UPSTREAM_ERROR: OpenAI down"},
    "courses:watchdog": {"courseId": ENT2, "step": 0},
    "clones:training_plan": {"cloneId": ENT2},
    "clones:train": {"cloneId": ENT2},
    "clones:finish_training": {"cloneId": ENT2},
    "clones:chat_context": {"cloneId": ENT2, "participantId": ENT},
    "clones:clone_of": {"creatorId": ENT},
    "clones:voice_of": {"cloneId": ENT2},
    "clones:appearances_of": {"cloneId": ENT2},
    "clones:record_appearance": {
        "cloneId": ENT2,
        "appearanceId": "tp123",
        "provider": "heygen",
        "imageStorageId": "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
    },
    "clones:record_voice": {"cloneId": ENT2, "voiceId": "voice123", "samples": "0" * 64},
    "clones:record_speech": {
        "cloneId": ENT2,
        "storageId": "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
        "fileType": "audio/wav",
        "fileSize": 1024,
        "text": "Welcome",
    },
    "clones:record_exchange": {"cloneId": ENT2, "participantId": ENT, "message": "Hi", "reply": "Hello"},
    "clones:add_knowledge_item": {"cloneId": ENT2, "contentId": ENT, "title": "Post", "chunks": []},
    "knowledge:chunks_by_id": {"ids": ["kno_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"]},
    "knowledge:store_chunks": {
        "sourceId": ENT,
        "labels": {"topic": "running"},
        "chunks": [
            {
                "text": "Marathon training: build the long run slowly.",
                "chunkIndex": 0,
                "contentHash": "0" * 64,
                "embedding": [0.5, 0.5],
            }
        ],
    },
    "purchases:charge": {"purchaseId": ENT2},
    "purchases:await_authentication": {"purchaseId": ENT2, "taskToken": "<the waiting task's token>"},
    "purchases:mint": {"purchaseId": ENT2},
    "purchases:capture": {"purchaseId": ENT2},
    "purchases:record": {"purchaseId": ENT2},
    "purchases:refund": {"purchaseId": ENT2},
    "purchases:burn": {"purchaseId": ENT2},
    "purchases:finalise": {
        "purchaseId": ENT2,
        "error": {"Error": "PaymentFailedError", "Cause": '{"errorMessage":"Your card was declined."}'},
    },
}

#: Crons get the EventBridge scheduled event instead.
CRON_TIMES = {
    "auth:cleanup_expired_tokens": "2026-11-25T17:00:00Z",
    "content:generate_daily_content": "2026-11-26T00:00:00Z",
    "analytics:generate_weekly_report": "2026-11-30T09:00:00Z",
    "billing:process_monthly_billing": "2026-12-01T10:00:00Z",
    "purchases:reconcile": "2026-11-25T17:05:00Z",
}


def scheduled_event(time_: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "sample-event-id",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time_,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sample"],
        "detail": {},
    }


def api_event(
    spec: FunctionSpec, args: dict[str, Any], *, identity: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for a call of ``spec`` with ``args``."""
    path = spec.route if spec.route and spec.route != "$default" else "/api/unknown"
    method = spec.method if spec.method != "ANY" else "POST"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}" if spec.route != "$default" else "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": "Bearer <session token>"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.1",
                "userAgent": "sample",
            },
            "requestId": "sample-request-id",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795608000000,
        },
        "body": json.dumps(args) if method == "POST" else None,
        "isBase64Encoded": False,
    }
    if spec.auth != "public" or identity is not None:  # a public route has no authorizer in front
        event["requestContext"]["authorizer"] = {"lambda": identity or SAMPLE_IDENTITY}
    return event


def render_all() -> dict[Path, str]:
    out: dict[Path, str] = {}
    for path, fn in load_all().items():
        module, name = path.split(":")
        if path in CRON_TIMES:
            event = scheduled_event(CRON_TIMES[path])
        elif fn.spec.internal:
            event = {**EXAMPLES[path], "_auth": SAMPLE_IDENTITY}
        elif fn.spec.request:
            event = api_event(fn.spec, {})
            event["body"] = EXAMPLES[path]["body"]
            event["headers"] = {"content-type": "application/json", **EXAMPLES[path]["headers"]}
        else:
            event = api_event(fn.spec, EXAMPLES[path])
        out[EVENTS / module / f"{name}.json"] = json.dumps(event, indent=2) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    wanted = render_all()
    if args.check:
        stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
        if stale:
            print("events/ is out of date: run `make events`", *stale, sep="\n  ", file=sys.stderr)
            return 1
        return 0
    for p, text in wanted.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    print(f"wrote {len(wanted)} sample events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
