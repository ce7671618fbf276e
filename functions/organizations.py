"""Organizations and people: create an organization, invite by email, accept, join an open one, list
members, change a role, remove a member, switch the active organization.

Memberships live in the platform partition (a user belongs to several organizations); every
function here reads and writes only the caller's active organization's, except ``create``,
``accept`` and ``join``, which add the caller to another one, and ``switch_active``, which moves the
caller's session to an organization they belong to (the session keeps its token).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from ontology.auth.identity import hash_token, new_token
from ontology.auth.people import (
    INVITATION_TTL_MS,
    active_membership,
    add_member,
    membership,
    memberships_of,
    new_organization_id,
    slugify,
)
from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.fields import Email, EntityId, OrganizationId, Role, Timestamp, UserId
from ontology.data.keys import now_ms
from ontology.data.transaction import run_mutation
from ontology.errors import ConflictError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError
from ontology.public_url import public_url
from ontology.runtime.context import ActionCtx, QueryCtx
from ontology.runtime.functions import action, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Result, SuccessResult, id_result

InvitableRole = Literal["org_owner", "org_user", "customer"]
JoinPolicy = Literal["invitation", "open"]
OrgName = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class CreateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Ada's studio", "joinPolicy": "open"}]}
    )

    name: OrgName
    #: ``invitation`` (the default): members join by an emailed invitation only; ``open``: anyone
    #: signed in may also join as a customer (``organizations:join``).
    joinPolicy: JoinPolicy = "invitation"


@action(args=CreateArgs, returns=id_result("organizationId"))
def create(ctx: ActionCtx, args: CreateArgs) -> dict[str, str]:
    """A new organization; the caller is its org_owner."""
    me = ctx.auth.require_identity()
    org_id = new_organization_id()

    def body(db: DatabaseWriter) -> None:
        now = now_ms()
        db.insert(
            "organizations",
            {
                "name": args.name,
                "slug": slugify(args.name, org_id[-6:].lower()),
                "joinPolicy": args.joinPolicy,
                "createdAt": now,
                "updatedAt": now,
            },
            doc_id=org_id,
        )
        add_member(db, org_id=org_id, user_id=me.userId, role="org_owner", display_name=me.email or args.name)

    run_mutation(body, org=org_id, platform=True)
    return {"organizationId": org_id}


class UpdateArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"joinPolicy": "open"}]})

    name: OrgName | None = None
    joinPolicy: JoinPolicy | None = None


@action(args=UpdateArgs, returns=SuccessResult, auth="org_owner")
def update(ctx: ActionCtx, args: UpdateArgs) -> dict[str, bool]:
    """Rename the active organization or change who may join it (its ``joinPolicy``)."""
    me = ctx.auth.require_identity()
    fields = args.model_dump(exclude_none=True)
    if not fields:
        raise ValidationError("Give a name or a joinPolicy", field="name")

    def body(db: DatabaseWriter) -> None:
        if db.get(me.organizationId, "organizations") is None:
            raise NotFoundError("No such organization", organizationId=me.organizationId)
        db.patch(me.organizationId, {**fields, "updatedAt": now_ms()}, "organizations")

    run_mutation(body, org=None, platform=True)
    return {"success": True}


class JoinArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"slug": "adas-studio"}]})

    organizationId: OrganizationId | None = None
    slug: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None


@action(args=JoinArgs, returns=id_result("organizationId"))
def join(ctx: ActionCtx, args: JoinArgs) -> dict[str, str]:
    """Join an open organization (by its id or its slug) as a ``customer``, without an invitation;
    then ``switch_active`` to act in it. An organization that takes members by invitation only
    refuses (FORBIDDEN) and nothing is written; joining one again answers the same."""
    me = ctx.auth.require_identity()
    if (args.organizationId is None) == (args.slug is None):
        raise ValidationError("Give the organization's id or its slug, not both", field="organizationId")
    missing = NotFoundError("No such organization", organizationId=args.organizationId, slug=args.slug)

    def body(db: DatabaseWriter) -> str:
        org = (
            db.get(args.organizationId, "organizations")
            if args.organizationId
            else db.lookup_unique("organizations", "slug", {"slug": args.slug})
        )
        if org is None or org.get("status", "active") != "active":
            raise missing
        org_id = str(org["_id"])
        if membership(db, org_id, me.userId) is not None:
            return org_id
        if org.get("joinPolicy", "invitation") != "open":
            raise ForbiddenError("This organization takes members by invitation only", organizationId=org_id)
        add_member(
            db.view(org=org_id),
            org_id=org_id,
            user_id=me.userId,
            role="customer",
            display_name=me.email or me.userId,
        )
        return org_id

    return {"organizationId": run_mutation(body, org=None, platform=True)}


class InviteArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "grace@example.com", "role": "org_user"}]}
    )

    email: Email
    role: InvitableRole = "org_user"


@action(args=InviteArgs, returns=SuccessResult, auth="org_owner", uses=("public_url",))
def invite(ctx: ActionCtx, args: InviteArgs) -> dict[str, bool]:
    """Invite someone by email: they get a link with a single-use token, valid 7 days. The invitation is
    an email like any other the platform sends: the organization's name (which its owner chose) is
    quoted and escaped, and it counts against the 5 emails per address per hour (RATE_LIMITED past
    them, and nothing is written)."""
    from ontology.auth.accounts import EMAILS_PER_HOUR, compose_email, one_line, send_email

    me = ctx.auth.require_identity()
    token = new_token()
    link = f"{public_url()}/accept-invitation?token={token}"

    def body(db: DatabaseWriter) -> None:
        org = db.get(me.organizationId, "organizations")
        db.insert(
            "verificationTokens",
            {
                "identifier": args.email.strip().casefold(),
                "token": hash_token(token),
                "expires": now_ms() + INVITATION_TTL_MS,
                "type": "invitation",
                "data": {"organizationId": me.organizationId, "role": args.role, "invitedBy": me.userId},
            },
        )
        name = f"“{one_line(org['name'], 80)}”" if org else "an organization"
        text, html = compose_email(
            f"You are invited to join the organization {name} on the ONE platform. If you did not expect "
            "this invitation, ignore this email.",
            link=link,
            footer="The invitation expires in 7 days.",
        )
        if not send_email(db, args.email, f"Invitation to join {name} on the ONE platform", text, html):
            raise RateLimitedError(
                f"This address was sent {EMAILS_PER_HOUR} emails this hour; try again later",
                retryAfter=3600,
            )

    run_mutation(body, org=None, platform=True)
    return {"success": True}


class AcceptArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "an-invitation-token-from-the-email-link-0123"}]}
    )

    token: Annotated[StrictStr, Field(min_length=20, max_length=200)]


@action(args=AcceptArgs, returns=id_result("organizationId"))
def accept(ctx: ActionCtx, args: AcceptArgs) -> dict[str, str]:
    """Accept an invitation sent to the caller's email: join its organization with its role."""
    me = ctx.auth.require_identity()
    invalid = ValidationError("Invalid or expired invitation", field="token", reason="INVALID_TOKEN")
    pending = DatabaseReader(None, platform=True).lookup_unique(
        "verificationTokens", "token", {"token": hash_token(args.token)}
    )
    if pending is None or pending["type"] != "invitation" or pending["expires"] <= now_ms():
        raise invalid
    org_id = pending["data"]["organizationId"]

    def body(db: DatabaseWriter) -> None:
        invitation = db.lookup_unique("verificationTokens", "token", {"token": hash_token(args.token)})
        if invitation is None:
            raise invalid
        if invitation["identifier"] != (me.email or "").strip().casefold():
            raise ForbiddenError("This invitation is for another email address")
        db.delete(invitation["_id"], "verificationTokens")
        if membership(db, org_id, me.userId) is not None:
            raise ConflictError("You are already a member of this organization")
        add_member(
            db,
            org_id=org_id,
            user_id=me.userId,
            role=invitation["data"]["role"],
            display_name=me.email or me.userId,
        )

    run_mutation(body, org=org_id, platform=True)
    return {"organizationId": org_id}


class MemberOut(Result):
    userId: UserId
    #: null for a customer reading another member (as a public profile shows them)
    email: str | None
    name: str | None
    role: Role
    #: the member's own entity in the organization (an ``audience_member``), once it has one
    entityId: EntityId | None
    since: Timestamp


@query(auth="member", returns=list[MemberOut])
def list_members(ctx: QueryCtx, args: Args) -> list[dict[str, Any]]:
    """The active organization's members: user, email, name, role, since. Its staff read every
    member's email; a customer (a fan of an open organization) reads only their own, the others
    as a public profile shows them (``email`` null)."""
    from ontology.data.visibility import STAFF, Viewer

    me = ctx.auth.require_identity()
    staff = Viewer.of(me).audience(me.organizationId) == STAFF
    platform = DatabaseReader(None, platform=True)
    members = memberships_of(platform, me.organizationId)
    users = platform.get_many([m["userId"] for m in members], "users")
    return [
        {
            "userId": m["userId"],
            "email": u["email"] if u and (staff or m["userId"] == me.userId) else None,
            "name": (u or {}).get("name"),
            "role": m["role"],
            "entityId": m.get("entityId"),
            "since": m["createdAt"],
        }
        for m, u in zip(members, users, strict=True)
    ]


def _owners_left(db: DatabaseWriter, org_id: str, without: str) -> int:
    return sum(1 for m in memberships_of(db, org_id) if m["role"] == "org_owner" and m["userId"] != without)


class ChangeRoleArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S", "role": "customer"}]}
    )

    userId: UserId
    role: InvitableRole


@action(args=ChangeRoleArgs, returns=SuccessResult, auth="org_owner")
def change_role(ctx: ActionCtx, args: ChangeRoleArgs) -> dict[str, bool]:
    """Change a member's role (an organization always keeps an owner)."""
    org = ctx.auth.require_identity().organizationId

    def body(db: DatabaseWriter) -> None:
        member = membership(db, org, args.userId)
        if member is None:
            raise NotFoundError("No such member", userId=args.userId)
        if (
            member["role"] == "org_owner"
            and args.role != "org_owner"
            and not _owners_left(db, org, args.userId)
        ):
            raise ConflictError("An organization keeps at least one owner")
        db.patch(member["_id"], {"role": args.role, "updatedAt": now_ms()}, "memberships")

    run_mutation(body, org=org, platform=True)
    _after_membership_change(ctx, org, args.userId)
    return {"success": True}


class RemoveArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"}]})

    userId: UserId


@action(args=RemoveArgs, returns=SuccessResult, auth="member")
def remove_member(ctx: ActionCtx, args: RemoveArgs) -> dict[str, bool]:
    """Remove a member (owners may remove anyone; anyone may leave); the last owner stays."""
    me = ctx.auth.require_identity()
    if args.userId != me.userId:
        ctx.auth.require_role("org_owner")

    def body(db: DatabaseWriter) -> None:
        member = membership(db, me.organizationId, args.userId)
        if member is None:
            raise NotFoundError("No such member", userId=args.userId)
        if member["role"] == "org_owner" and not _owners_left(db, me.organizationId, args.userId):
            raise ConflictError("An organization keeps at least one owner")
        db.delete(member["_id"], "memberships")

    run_mutation(body, org=me.organizationId, platform=True)
    _after_membership_change(ctx, me.organizationId, args.userId)
    return {"success": True}


class SwitchArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"}]}
    )

    organizationId: OrganizationId


class Switched(SuccessResult):
    organizationId: OrganizationId
    #: The token the call was made with, which stays the session's token (over HTTP; absent over the
    #: sync socket, where the client already holds it).
    sessionToken: str | None = None


@action(args=SwitchArgs, returns=Switched, auth="member")
def switch_active(ctx: ActionCtx, args: SwitchArgs) -> dict[str, Any]:
    """Make another of the caller's organizations the session's active one, as Better Auth's
    ``organization.setActive`` does: the session keeps its token, and the very next call made with it
    (from any tab, socket or server holding it) acts in the new organization, since every call reads
    its session afresh. ``sessionToken`` is that same token, for clients that adopt what they are
    given."""
    from ontology.auth.callers import caller_token

    me = ctx.auth.require_identity()
    if not me.sessionId:
        raise ForbiddenError("Only a session can switch organizations")
    session_id = me.sessionId

    def body(db: DatabaseWriter) -> None:
        fields = active_membership(db, args.organizationId, me.userId)
        if not fields:
            raise NotFoundError("No such organization", organizationId=args.organizationId)
        db.patch(session_id, {**fields, "updatedAt": now_ms()}, "sessions")

    run_mutation(body, org=None, platform=True)
    out: dict[str, Any] = {"success": True, "organizationId": args.organizationId}
    token = caller_token.get()
    if token:
        out["sessionToken"] = token
    return out


#: Sessions updated per transaction when a member's role changes or the member is removed.
SESSION_BATCH = 40
#: The sessions index is eventually consistent: a session opened in the same instant as the change
#: may be missing from it, so the sweep runs again this much later.
SESSION_RESWEEP_SECONDS = 10


class MemberSessionsArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8S",
                    "userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S",
                }
            ]
        }
    )

    organizationId: OrganizationId
    userId: UserId


@action(args=MemberSessionsArgs, internal=True, platform=True)
def sweep_member_sessions(ctx: ActionCtx, args: MemberSessionsArgs) -> int:
    """Carry a member's membership as it is now onto their sessions that act in the organization: its
    role, or (removed) no active organization at all, so the very next call is refused. Idempotent;
    answers how many sessions changed."""
    return _sweep_member_sessions(args.organizationId, args.userId)


def _after_membership_change(ctx: ActionCtx, org_id: str, user_id: str) -> None:
    _sweep_member_sessions(org_id, user_id)
    ctx.scheduler.run_after(
        SESSION_RESWEEP_SECONDS,
        "organizations:sweep_member_sessions",
        {"organizationId": org_id, "userId": user_id},
    )


def _sweep_member_sessions(org_id: str, user_id: str) -> int:
    changed = 0
    cursor: str | None = None
    while True:

        def body(db: DatabaseWriter, cursor: str | None = cursor) -> tuple[str | None, bool, int]:
            page = (
                db.query("sessions")
                .with_index("by_user", lambda q: q.eq("userId", user_id))
                .paginate({"numItems": SESSION_BATCH, "cursor": cursor})
            )
            member = membership(db, org_id, user_id)  # what it is now, whichever sweep runs last
            n = 0
            for session in page["page"]:
                if session.get("activeOrganizationId") != org_id:
                    continue
                if member is None:
                    fields: dict[str, Any] = dict.fromkeys(
                        ("activeOrganizationId", "role", "entityId", "email")
                    )
                elif session.get("role") != member["role"]:
                    fields = {"role": member["role"]}
                else:
                    continue
                db.patch(session["_id"], {**fields, "updatedAt": now_ms()}, "sessions")
                n += 1
            return page["continueCursor"], page["isDone"], n

        cursor, done, n = run_mutation(body, org=None, platform=True)
        changed += n
        if done:
            return changed
