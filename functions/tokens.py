"""Tokens: creator tokens on chain (deploy, buy, hold, transfer).

``tokens:create`` deploys a contract; ``tokens:purchase`` starts the purchase saga (a Step Functions
state machine, ``functions/purchases.py``) and answers at once; balances are the ledger's
``holds_tokens`` connections. web3 and stripe are imported only where they are used, so the query
functions' cold start does not pay for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from ontology.auth.identity import Identity
from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.data.fields import Count, EntityId, NonNegative, Timestamp
from ontology.data.relations import connected
from ontology.data.transaction import run_mutation, run_query
from ontology.errors import (
    ChainRevertedError,
    ConflictError,
    InternalError,
    NotFoundError,
    PriceChangedError,
    UpstreamError,
    ValidationError,
)
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, OTHER_ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Result, SuccessResult, entity_out, id_result
from ontology.services.ledger import balance_of, holding, move_tokens
from ontology.services.ontology_ops import (
    actor_for,
    entity_of_type,
    log_event,
    member_entity,
    now_ms,
    require_entity,
    sees_purchase,
)

_log = logging.getLogger(__name__)

#: A token's supply cap when ``tokens:create`` is not given one.
DEFAULT_SUPPLY = 1_000_000
IdempotencyKey = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.:-]{1,255}$")]


class GetArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": ENTITY_ID}]})

    id: EntityId


@query(args=GetArgs, returns=entity_out("token") | None, auth="public")
def get(ctx: QueryCtx, args: GetArgs) -> Doc | None:
    """A token entity, or null. Anyone reads an active token's page by its id (its public fields:
    the reference's, its symbol, price, description and image); the organization's staff also read
    its drafts."""
    return entity_of_type(ctx.db, args.id, "token")


class Balance(Result):
    tokenId: EntityId
    amount: NonNegative


class GetBalanceArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tokenId": ENTITY_ID}]})

    tokenId: EntityId


@query(args=GetBalanceArgs, returns=Balance)
def get_balance(ctx: QueryCtx, args: GetBalanceArgs) -> dict[str, Any]:
    """The caller's balance of a token (0 when they hold none): a consistent read of the
    ``holds_tokens`` connection at the key its from/to/type derives."""
    holder = ctx.auth.require_identity().entityId
    amount = balance_of(holding(ctx.db, holder, args.tokenId)) if holder else 0
    return {"tokenId": args.tokenId, "amount": amount}


class Holding(Result):
    token: entity_out("token")  # type: ignore[valid-type]
    balance: NonNegative


class GetUserHoldingsArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"userId": ENTITY_ID}]})

    userId: EntityId


@query(args=GetUserHoldingsArgs, returns=list[Holding], aliases=("getUserTokenHoldings",))
def get_user_holdings(ctx: QueryCtx, args: GetUserHoldingsArgs) -> list[dict[str, Any]]:
    """Every token an entity holds, with its balance (one Query and one BatchGetItem)."""
    connections, tokens = connected(ctx.db, args.userId, "holds_tokens")
    by_id = {t["_id"]: t for t in tokens}
    return [
        {"token": by_id[c["toEntityId"]], "balance": balance_of(c)}
        for c in connections
        if c["toEntityId"] in by_id
    ]


# ------------------------------------------------------------------------------------ create


PriceUsd = Annotated[StrictFloat | StrictInt, Field(gt=0, le=1_000_000)]
Description = Annotated[StrictStr, Field(max_length=5000)]
#: A token's picture: an https URL, or a file of the organization (``files:generate_upload_url``).
Image = Annotated[StrictStr, Field(pattern=r"^(https://\S{1,1990}|sto_[0-9A-HJKMNP-TV-Z]{26})$")]


class CreateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "creatorId": ENTITY_ID,
                    "name": "Ada Coin",
                    "symbol": "ADA",
                    "priceUsd": 0.5,
                    "totalSupply": 1000000,
                }
            ]
        }
    )

    creatorId: EntityId
    name: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    symbol: Annotated[StrictStr, Field(pattern=r"^[A-Z0-9]{1,11}$")]
    priceUsd: PriceUsd
    totalSupply: Annotated[StrictInt, Field(ge=1, le=10**15)] = DEFAULT_SUPPLY
    idempotencyKey: IdempotencyKey | None = None
    #: what the token's page says about it, and its picture (``tokens:update`` changes them later)
    description: Description | None = None
    image: Image | None = None


@action(args=CreateArgs, auth="org_user", returns=id_result("tokenId"), uses=("chain",))
def create(ctx: ActionCtx, args: CreateArgs) -> dict[str, str]:
    """Deploy a creator's token: a new instance of the CreatorToken contract (capped at
    ``totalSupply``), then in one transaction the ``token`` and ``token_contract`` entities, the
    creator's ``owns`` connections and token_deployed.

    Idempotent: the deploy is signed and recorded on a ``draft`` token before it is sent, so a retry
    (the same ``idempotencyKey``, or the same creator and symbol) answers the same token and never
    deploys a second contract; the same key or symbol with other arguments is CONFLICT."""
    identity = ctx.auth.require_identity()
    for _ in range(3):  # another request for the same token may record its deploy first
        token_id = _deploy(identity, args)
        if token_id is not None:
            return {"tokenId": token_id}
    raise ConflictError("The token is being deployed by another request; try again")


def _deploy(identity: Identity, args: CreateArgs) -> str | None:
    """Settle the token's recorded deploy (signing and recording one first if there is none) and
    record the deployed token; None when another request recorded a deploy meanwhile."""
    from ontology.providers.chain import get_chain
    from ontology.services import chain_txs

    org = identity.organizationId
    token = run_query(lambda db: _existing_token(db, args), org=org)  # NOT_FOUND before any deploy
    if token is not None and token["status"] == "active":
        return str(token["_id"])
    chain = get_chain()

    def record(tx: Any, previous: dict[str, Any] | None) -> None:
        address = chain.deploy_address(tx.nonce)
        account = chain.nonce_account_of(tx.signer)  # the deployer's: it deploys every contract
        run_mutation(lambda db: _record_deploy(db, args, tx, address, previous, account=account), org=org)

    def sign(floor: int, signer: str) -> Any:
        return chain.sign_deploy(args.name, args.symbol, args.totalSupply, min_nonce=floor)

    recorded = token["properties"].get("deployTx") if token else None
    try:
        state = chain_txs.settle(chain, recorded, sign, record)
    except ConflictError as exc:
        if type(exc) is ConflictError and "recorded" in exc.message:
            return None
        raise
    token = run_query(lambda db: _existing_token(db, args), org=org)
    if token is None:
        raise NotFoundError("The token's deploy record is gone", symbol=args.symbol)
    if token["status"] == "active":  # another request for it recorded it meanwhile
        return str(token["_id"])
    draft_id, tx_hash = str(token["_id"]), str(token["properties"]["deployTx"]["hash"])
    if state == "reverted":
        run_mutation(lambda db: db.delete(draft_id, "entities"), org=org)  # a retry starts over
        raise ChainRevertedError("The chain refused to deploy the token")
    address = chain.contract_address(tx_hash)
    return str(run_mutation(lambda db: _record_token(db, identity, args, address, tx_hash), org=org))


def _create_hash(args: CreateArgs) -> str:
    # The token's contract and price: what a retry must agree on. The description and image are
    # what tokens:update changes later, so a retry may differ in them.
    body = json.dumps([args.name, args.symbol, args.priceUsd, args.totalSupply], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _existing_token(db: DatabaseReader, args: CreateArgs) -> Doc | None:
    """The token this request already made (by its key, or by the creator's symbol), checked to be
    the same request; None when there is none. NOT_FOUND when the creator is not one."""
    require_entity(db, args.creatorId, field="creatorId", kind="creator")
    token = None
    if args.idempotencyKey:
        token = db.lookup_unique(
            "entities",
            "token_idempotency",
            {
                "type": "token",
                "properties.creatorId": args.creatorId,
                "properties.idempotencyKey": args.idempotencyKey,
            },
        )
    if token is None:
        token = db.lookup_unique(
            "entities",
            "token_symbol",
            {"type": "token", "properties.creatorId": args.creatorId, "properties.symbol": args.symbol},
        )
    if token is not None and token["properties"].get("argsHash") != _create_hash(args):
        field = (
            "idempotencyKey"
            if args.idempotencyKey and token["properties"].get("idempotencyKey") == args.idempotencyKey
            else "symbol"
        )
        raise ConflictError(
            f"This creator already has a token {token['properties'].get('symbol')} made with other arguments",
            field=field,
            tokenId=token["_id"],
        )
    return token


def _record_deploy(
    db: DatabaseWriter,
    args: CreateArgs,
    tx: Any,
    address: str,
    previous: dict[str, Any] | None,
    *,
    account: str,
) -> None:
    """Record a signed deploy (and take its nonce) on the draft token, inserting the token the first
    time: the token's unique rules make a concurrent request for the same token lose here."""
    from ontology.services import chain_txs

    token = _existing_token(db, args)
    recorded = {"hash": tx.hash, "raw": tx.raw, "nonce": tx.nonce}
    # An active token was deployed by another attempt (and no longer keeps its deploy transaction):
    # recording a deploy on it would deploy a second contract.
    if token is not None and (
        token["status"] == "active"
        or (token["properties"].get("deployTx") or {}).get("hash") != (previous or {}).get("hash")
    ):
        raise ConflictError("another attempt recorded the deploy first")
    chain_txs.take_nonce(db, account, tx)
    now = now_ms()
    if token is None:
        props: dict[str, Any] = {
            "contractAddress": address,
            "blockchain": "base",
            "standard": "ERC20",
            "totalSupply": args.totalSupply,
            "circulatingSupply": 0,
            "price": args.priceUsd,
            "priceUsd": args.priceUsd,
            "symbol": args.symbol,
            "creatorId": args.creatorId,
            "deployTx": recorded,
            "argsHash": _create_hash(args),
        }
        if args.idempotencyKey:
            props["idempotencyKey"] = args.idempotencyKey
        props |= args.model_dump(include={"description", "image"}, exclude_none=True)
        doc = {"type": "token", "name": args.name, "status": "draft", "createdAt": now, "updatedAt": now}
        db.insert("entities", {**doc, "properties": props})
        return
    props = {**token["properties"], "deployTx": recorded, "contractAddress": address}
    db.patch(token["_id"], {"properties": props, "updatedAt": now}, "entities")


def _record_token(
    db: DatabaseWriter, identity: Identity, args: CreateArgs, address: str, tx_hash: str
) -> str:
    """The deployed token: active, with its ``token_contract`` entity, the creator's ``owns``
    connections and token_deployed, in one transaction (once: a retry finds it active)."""
    creator = require_entity(db, args.creatorId, field="creatorId", kind="creator")
    token = _existing_token(db, args)
    if token is None:
        raise NotFoundError("The token's deploy record is gone", symbol=args.symbol)
    token_id = str(token["_id"])
    if token["status"] == "active":
        return token_id
    now = now_ms()
    # The signed deploy (its bytecode, about 5 KB) was kept only until it was mined: an active token
    # answers its page's fields, and every purchase rewrites (and pushes) the token.
    props = {k: v for k, v in token["properties"].items() if k != "deployTx"}
    db.patch(
        token_id,
        {"status": "active", "updatedAt": now, "properties": {**props, "contractAddress": address}},
        "entities",
    )
    contract_id = db.insert(
        "entities",
        {
            "type": "token_contract",
            "name": f"{args.symbol} contract",
            "status": "active",
            "createdAt": now,
            "updatedAt": now,
            "properties": {
                "address": address,
                "blockchain": "base",
                "standard": "ERC20",
                "deployTxHash": tx_hash,
                "tokenId": token_id,
            },
        },
    )
    for target in (token_id, contract_id):
        db.insert(
            "connections",
            {
                "fromEntityId": creator["_id"],
                "toEntityId": target,
                "relationshipType": "owns",
                "createdAt": now,
            },
        )
    db.insert(
        "connections",
        {"fromEntityId": contract_id, "toEntityId": token_id, "relationshipType": "powers", "createdAt": now},
    )
    log_event(
        db,
        "token_deployed",
        actor_id=actor_for(identity, creator["_id"]),
        target_id=token_id,
        timestamp=now,
        metadata={
            "creatorId": creator["_id"],
            "contractAddress": address,
            "txHash": tx_hash,
            "symbol": args.symbol,
            "totalSupply": args.totalSupply,
        },
    )
    return token_id


# ------------------------------------------------------------------------------------ update


class UpdateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": ENTITY_ID, "description": "Backstage passes and early access."}]
        }
    )

    id: EntityId
    #: a new description or image (an empty description removes it)
    description: Description | None = None
    image: Image | None = None
    #: a new price: purchases from now on are charged at it (a buyer shown the old one is answered
    #: PRICE_CHANGED and charged nothing, as always)
    priceUsd: PriceUsd | None = None


@mutation(args=UpdateArgs, returns=SuccessResult, auth="org_user")
def update(ctx: MutationCtx, args: UpdateArgs) -> dict[str, bool]:
    """Change a token's description, image or price (the organization's staff; its contract, supply
    and symbol stay what they were deployed with); ``content_changed`` is logged."""
    identity = ctx.auth.require_identity()
    token = require_entity(ctx.db, args.id, kind="token")
    changes = args.model_dump(include={"description", "image", "priceUsd"}, exclude_none=True)
    if "priceUsd" in changes:
        changes["price"] = changes["priceUsd"]
    props = {**token["properties"], **changes}
    if changes.get("description") == "":
        props.pop("description")
    if props == token["properties"]:
        return {"success": True}
    now = now_ms()
    ctx.db.patch(args.id, {"properties": props, "updatedAt": now}, "entities")
    log_event(
        ctx.db,
        "content_changed",
        actor_id=actor_for(identity, token["properties"].get("creatorId") or args.id),
        target_id=args.id,
        timestamp=now,
        metadata={"action": "updated", "entityType": "token", "updatedFields": sorted(changes)},
    )
    return {"success": True}


# ------------------------------------------------------------------------------------ purchase


class PurchaseArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tokenId": ENTITY_ID,
                    "amount": 100,
                    "paymentMethodId": "pm_card_visa",
                    "idempotencyKey": "checkout-7f3a9c",
                }
            ]
        }
    )

    tokenId: EntityId
    amount: Annotated[StrictInt, Field(ge=1, le=10**12)]
    paymentMethodId: Annotated[StrictStr, Field(pattern=r"^pm_[A-Za-z0-9_]{1,250}$")] | None = None
    idempotencyKey: IdempotencyKey | None = None
    #: The total the buyer was shown (the reference's frontend sends ``amount * priceUsd``). Compared
    #: in whole cents with the server's price; never what is charged.
    usdAmount: Annotated[int | float, Field(ge=0, le=10**9, allow_inf_nan=False)] | None = None


class PurchaseStarted(Result):
    purchaseId: EntityId
    status: str


@mutation(args=PurchaseArgs, returns=PurchaseStarted)
def purchase(ctx: MutationCtx, args: PurchaseArgs) -> dict[str, str]:
    """Buy tokens: the price is the token's current price times ``amount`` (computed here, never
    taken from the client). Writes the pending purchase and its idempotency guard and schedules the
    saga's start (``tokens:start_purchase``) in one transaction, Convex's way (a mutation schedules an
    action), and answers at once with ``{purchaseId, status}``; ``tokens:get_purchase`` and
    ``tokens:get_balance`` (live over the sync protocol) show the outcome. The same ``idempotencyKey``
    again answers with the same purchase (CONFLICT if the arguments differ)."""
    identity = ctx.auth.require_identity()
    member_entity(identity, "hold tokens")
    created = _open_purchase(ctx.db, identity, args)
    if created.pop("new", False):
        ctx.scheduler.run_after(0, start_purchase, {"purchaseId": created["purchaseId"]})
    return {"purchaseId": created["purchaseId"], "status": created["status"]}


class StartPurchaseArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"purchaseId": OTHER_ENTITY_ID}]})

    purchaseId: EntityId


@action(args=StartPurchaseArgs, internal=True, uses=("purchase_saga",))
def start_purchase(ctx: ActionCtx, args: StartPurchaseArgs) -> dict[str, str]:
    """Start a new purchase's saga (scheduled by ``tokens:purchase`` in the purchase's own
    transaction). Starting it twice is answered with the same execution; a purchase whose saga never
    starts is settled by ``purchases:reconcile``."""
    identity = ctx.auth.require_identity()
    _start_saga(args.purchaseId, identity.organizationId)
    return {"purchaseId": args.purchaseId}


def _open_purchase(db: DatabaseWriter, identity: Identity, args: PurchaseArgs) -> dict[str, Any]:
    from ontology.services import purchases

    buyer = identity.entityId
    digest = purchases.args_hash(args.tokenId, args.amount, args.paymentMethodId)
    if args.idempotencyKey:
        existing = db.lookup_unique(
            "entities",
            "payment_idempotency",
            {
                "type": "payment",
                "properties.buyerId": buyer,
                "properties.idempotencyKey": args.idempotencyKey,
            },
        )
        if existing is not None:
            if existing["properties"].get("argsHash") != digest:
                raise ConflictError(
                    "This idempotency key was used for a different purchase", field="idempotencyKey"
                )
            return {"purchaseId": existing["_id"], "status": existing["properties"]["status"]}
    # read, not depended on: every purchase reads the token, and none conflicts with another on it (a
    # purchase committing as the price changes was priced as it read it: it counts as made before)
    token = require_entity(db, args.tokenId, field="tokenId", kind="token", checked=False)
    tprops = token["properties"]
    if token["status"] != "active":
        raise ValidationError("This token is not on sale", field="tokenId")
    purchases.validate_amount(db, token, args.amount)
    unit = tprops.get("priceUsd") or tprops.get("price") or 0
    cents = purchases.price_cents(unit, args.amount)
    if args.usdAmount is not None and purchases.usd_to_cents(args.usdAmount) != cents:
        raise PriceChangedError(
            f"The price is now ${cents / 100:,.2f} for {args.amount} (you were shown "
            f"${args.usdAmount:,.2f}); nothing was charged",
            field="usdAmount",
            priceUsd=unit,
            usdAmount=cents / 100,
            usdCents=cents,
        )
    if cents < purchases.MIN_CENTS or cents > purchases.MAX_CENTS:
        raise ValidationError(
            f"A purchase costs between $0.50 and $999,999.99; this one is ${cents / 100:,.2f}", field="amount"
        )
    method, customer = _payment_method(db, identity, args.paymentMethodId)
    now = now_ms()
    props: dict[str, Any] = {
        "amount": cents,
        "currency": "usd",
        "status": "pending",
        "provider": "stripe",
        "purpose": purchases.PURPOSE,
        "buyerId": buyer,
        "tokenId": args.tokenId,
        "tokenAmount": args.amount,
        "paymentMethodId": method,
        "creatorId": tprops.get("creatorId"),
        "contractAddress": tprops["contractAddress"],
        "unitPriceUsd": unit,
        "argsHash": digest,
    }
    if customer:
        props["customerId"] = customer
    if args.idempotencyKey:
        props["idempotencyKey"] = args.idempotencyKey
    purchase_id = db.insert(
        "entities",
        {
            "type": "payment",
            "name": f"{args.amount} {tprops.get('symbol') or token['name']}",
            "status": purchases.ENTITY_STATUS["pending"],
            "createdAt": now,
            "updatedAt": now,
            "properties": props,
        },
    )
    db.insert(
        "connections",
        {
            "fromEntityId": buyer,
            "toEntityId": purchase_id,
            "relationshipType": "transacted",
            "createdAt": now,
        },
    )
    return {"purchaseId": purchase_id, "status": "pending", "new": True}


def _payment_method(db: DatabaseWriter, identity: Identity, given: str | None) -> tuple[str, str | None]:
    """The card to charge and the buyer's Stripe customer: the one named, else the buyer's saved
    default (``billing:create_setup_intent``; the local developer's entity holds a test card). The
    buyer's customer goes with any card, so Stripe refuses a card saved by someone else."""
    from ontology.services.cards import saved_card

    default, customer = saved_card(identity.organizationId, identity.userId)
    if given:
        return given, customer
    if default:
        return default, customer
    entity = db.get(identity.entityId, "entities") if identity.entityId else None
    method = ((entity or {}).get("properties") or {}).get("paymentMethodId")
    if not isinstance(method, str) or not method.startswith("pm_"):
        raise ValidationError(
            "Save a card first (billing:create_setup_intent) or give a paymentMethodId",
            field="paymentMethodId",
        )
    return method, customer


def _start_saga(purchase_id: str, organization_id: str) -> None:
    """Start the purchase's execution. Its name is the purchase id and its input depends on nothing
    else, so starting it again (a retried request) is answered with the same execution."""
    from ontology.aws import client
    from ontology.runtime.context import system_identity
    from ontology.settings import get_settings

    machine = get_settings().purchase_state_machine_arn
    if not machine:
        raise InternalError("The purchase state machine is not configured (ONE_PURCHASE_STATE_MACHINE_ARN)")
    from ontology.services.purchases import AUTHENTICATION_SECONDS

    sfn = client("stepfunctions")
    payload = {
        "purchaseId": purchase_id,
        "_auth": system_identity(organization_id).to_context(),
        "authenticationSeconds": AUTHENTICATION_SECONDS,
    }
    try:
        sfn.start_execution(
            stateMachineArn=machine, name=purchase_id, input=json.dumps(payload, sort_keys=True)
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        pass  # started before (and finished): the reconciler owns whatever is still pending
    except Exception as exc:
        _log.warning("could not start the purchase saga: %s", exc)
        raise UpstreamError("Could not start the purchase; try again with the same idempotencyKey") from None


class GetPurchaseArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"purchaseId": OTHER_ENTITY_ID}]})

    purchaseId: EntityId


class PurchaseOut(Result):
    purchaseId: EntityId
    status: str
    tokenId: EntityId | None = None
    amount: Count | None = None
    usdCents: Count
    currency: str
    paymentId: str | None = None
    transactionHash: str | None = None
    failureReason: str | None = None
    #: PAYMENT_FAILED (the card was declined), UPSTREAM_ERROR, …: why a purchase did not complete
    failureCode: str | None = None
    #: While ``status`` is ``requires_action`` (the card asks for 3-D Secure), to the buyer only: what
    #: the page hands Stripe.js (``stripe.handleNextAction({clientSecret})``) to authenticate.
    clientSecret: str | None = None
    nextAction: dict[str, Any] | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


@query(args=GetPurchaseArgs, returns=PurchaseOut | None)
def get_purchase(ctx: QueryCtx, args: GetPurchaseArgs) -> dict[str, Any] | None:
    """A purchase's status (pending, requires_action, completed, failed, refunded), amounts, Stripe
    payment id, mint transaction hash and failure reason, or null. Buyers see their own; org users
    and owners see every purchase of the organization. While the card waits for 3-D Secure
    (``requires_action``) the buyer, and only the buyer, also gets the PaymentIntent's client secret."""
    from ontology.services import purchases

    identity = ctx.auth.require_identity()
    try:
        doc = purchases.load(ctx.db, args.purchaseId)
    except NotFoundError:
        return None
    props = doc["properties"]
    if not sees_purchase(identity, props.get("buyerId")):
        return None
    view = purchases.purchase_view(doc)
    if view["status"] == "requires_action" and props.get("buyerId") == identity.entityId:
        view.update(clientSecret=props.get("clientSecret"), nextAction=props.get("nextAction"))
    return view


# ------------------------------------------------------------------------------------ transfer


class TransferArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tokenId": ENTITY_ID, "toEntityId": OTHER_ENTITY_ID, "amount": 10}]}
    )

    tokenId: EntityId
    toEntityId: EntityId
    amount: Annotated[StrictInt, Field(ge=1, le=10**15)]


class TransferOut(Result):
    tokenId: EntityId
    fromBalance: Count
    toBalance: Count


@mutation(args=TransferArgs, returns=TransferOut)
def transfer(ctx: MutationCtx, args: TransferArgs) -> dict[str, Any]:
    """Give tokens to another entity of the organization: the caller's ``holds_tokens`` balance goes
    down and the recipient's up, in one transaction (INSUFFICIENT_TOKENS when the caller holds fewer).
    Purchased tokens sit in the platform's custody on chain, so a transfer moves ledger balances."""
    sender = member_entity(ctx.auth.require_identity(), "hold tokens")
    if sender == args.toEntityId:
        raise ValidationError("Cannot transfer to yourself", field="toEntityId")
    require_entity(ctx.db, args.tokenId, field="tokenId", kind="token")
    require_entity(ctx.db, args.toEntityId, field="toEntityId")
    balances = move_tokens(ctx.db, args.tokenId, sender, args.toEntityId, args.amount)
    log_event(
        ctx.db,
        "tokens_earned",
        actor_id=sender,
        target_id=args.toEntityId,
        metadata={
            "tokenId": args.tokenId,
            "amount": args.amount,
            "fromEntityId": sender,
            "reason": "transfer",
        },
    )
    return {"tokenId": args.tokenId, "fromBalance": balances[0], "toBalance": balances[1]}
