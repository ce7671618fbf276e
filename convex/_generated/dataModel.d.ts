/* eslint-disable */
/**
 * Generated data model types.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED from the ONE platform's functions and schema: do not
 * edit it.
 *
 * To regenerate, run `one codegen` (`make dev` keeps it current as functions change).
 * @module
 */

import type { DocumentByName, SystemTableNames, TableNamesInDataModel } from "convex/server";
import type { GenericId } from "convex/values";

/**
 * An entity's type: the reference's thing types.
 */
export type EntityType =
  | "creator"
  | "ai_clone"
  | "audience_member"
  | "strategy_agent"
  | "research_agent"
  | "marketing_agent"
  | "sales_agent"
  | "service_agent"
  | "design_agent"
  | "engineering_agent"
  | "finance_agent"
  | "legal_agent"
  | "intelligence_agent"
  | "blog_post"
  | "video"
  | "podcast"
  | "social_post"
  | "email"
  | "course"
  | "lesson"
  | "digital_product"
  | "membership"
  | "consultation"
  | "nft"
  | "community"
  | "conversation"
  | "message"
  | "token"
  | "token_contract"
  | "knowledge_item"
  | "embedding"
  | "website"
  | "landing_page"
  | "template"
  | "livestream"
  | "recording"
  | "media_asset"
  | "payment"
  | "subscription"
  | "invoice"
  | "metric"
  | "insight"
  | "prediction"
  | "report"
  | "notification"
  | "email_campaign"
  | "announcement"
  | "referral"
  | "campaign"
  | "lead";

/**
 * An entity's status.
 */
export type EntityStatus = "active" | "inactive" | "draft" | "published" | "archived";

/**
 * A connection's relationship type.
 */
export type RelationshipType =
  | "owns"
  | "created_by"
  | "clone_of"
  | "trained_on"
  | "powers"
  | "authored"
  | "generated_by"
  | "published_to"
  | "part_of"
  | "references"
  | "member_of"
  | "following"
  | "moderates"
  | "participated_in"
  | "manages"
  | "reports_to"
  | "collaborates_with"
  | "assigned_to"
  | "holds_tokens"
  | "staked_in"
  | "earned_from"
  | "purchased"
  | "enrolled_in"
  | "completed"
  | "teaching"
  | "transacted"
  | "referred"
  | "notified"
  | "featured_in"
  | "hosted_on"
  | "analyzed_by"
  | "optimized_by"
  | "influences";

/**
 * An event's type.
 */
export type EventType =
  | "creator_created"
  | "creator_updated"
  | "content_uploaded"
  | "clone_created"
  | "clone_interaction"
  | "clone_generated_content"
  | "voice_cloned"
  | "appearance_cloned"
  | "agent_created"
  | "agent_executed"
  | "agent_completed"
  | "agent_failed"
  | "content_changed"
  | "content_interacted"
  | "user_joined"
  | "user_engaged"
  | "ugc_created"
  | "comment_posted"
  | "course_created"
  | "course_enrolled"
  | "lesson_completed"
  | "course_completed"
  | "certificate_earned"
  | "token_deployed"
  | "tokens_purchased"
  | "tokens_earned"
  | "tokens_burned"
  | "tokens_staked"
  | "tokens_unstaked"
  | "governance_vote"
  | "revenue_generated"
  | "cost_incurred"
  | "referral_made"
  | "viral_share"
  | "referral_converted"
  | "achievement_unlocked"
  | "level_up"
  | "metric_calculated"
  | "insight_generated"
  | "prediction_made"
  | "optimization_applied"
  | "report_generated"
  | "payment_processed"
  | "subscription_updated"
  | "livestream_status_changed"
  | "livestream_interaction"
  | "notification_delivered"
  | "referral_activity"
  | "lead_captured";

/**
 * A member's role in an organization, from the least to the most it may do.
 */
export type Role = "platform_owner" | "org_owner" | "org_user" | "customer";

/**
 * The `properties` of an entity, by its type, as whoever may read the entity reads them:
 * a field only its organization's staff read may be absent. Any other type's properties
 * are a JSON object (at most 64 KB).
 */
export type EntityProperties = {
  ai_clone: {
    voiceId?: string;
    voiceProvider?: "elevenlabs" | "azure" | "custom";
    appearanceId?: string;
    appearanceProvider?: "d-id" | "heygen" | "custom";
    systemPrompt?: string;
    temperature: number;
    knowledgeBaseSize: number;
    lastTrainingDate: number;
    totalInteractions: number;
    satisfactionScore: number;
    creatorId?: Id<"entities">;
  };
  course: {
    title: string;
    description: string;
    thumbnail?: string;
    modules: number;
    lessons: number;
    totalDuration: number;
    price: number;
    currency: string;
    tokenPrice?: number;
    tokenId?: Id<"entities">;
    enrollments: number;
    completions: number;
    averageRating: number;
    generatedBy: "ai" | "human" | "hybrid";
    personalizationLevel: "none" | "basic" | "advanced";
    creatorId?: Id<"entities">;
    cloneId?: Id<"entities">;
    idempotencyKey?: string;
    generation?: {
      state: "outlining" | "writing" | "complete" | "failed";
      step: number;
      attempt: number;
      topic: string;
      audience: string;
      format: string;
      reason?: string;
      outline: Array<{
        title: string;
        summary: string;
        minutes: number;
      }>;
      skills: Array<string>;
      industry?: string;
      lessonIds: Array<Id<"entities">>;
      updatedAt: number;
    };
  };
  creator: {
    email?: string;
    username: string;
    displayName: string;
    bio?: string;
    avatar?: string;
    niche: Array<string>;
    expertise: Array<string>;
    targetAudience: string;
    brandColors?: {
      primary: string;
      secondary: string;
      accent: string;
    };
    totalFollowers: number;
    totalContent: number;
    totalRevenue?: number;
  };
  media_asset: {
    storageId: string;
    fileType: string;
    fileSize: number;
  };
  payment: {
    amount: number;
    currency: string;
    status: "pending" | "completed" | "failed" | "refunded";
    provider: "stripe" | "crypto";
    purpose?: string;
    buyerId?: Id<"entities">;
    tokenId?: Id<"entities">;
    tokenAmount?: number;
    paymentIntentId?: string;
    transactionHash?: string;
    failureReason?: string;
    idempotencyKey?: string;
    paymentMethodId?: string;
    creatorId?: Id<"entities">;
    contractAddress?: string;
    unitPriceUsd?: number;
    argsHash?: string;
    chargeStatus:
      | "none"
      | "requires_action"
      | "authorized"
      | "captured"
      | "declined"
      | "voided"
      | "refunded";
    customerId?: string;
    clientSecret?: string;
    nextAction?: Record<string, any>;
    taskToken?: string;
    refundId?: string;
    mintStatus: "none" | "sent" | "minted" | "failed" | "burned";
    mintTx?: {
      hash: string;
      raw: string;
      nonce: number;
    };
    burnTx?: {
      hash: string;
      raw: string;
      nonce: number;
    };
    compensating: boolean;
    failedStep?: string;
    failureCode?: string;
    completedAt?: number;
  };
  token: {
    contractAddress: string;
    blockchain: "sui" | "base" | "solana";
    standard: "ERC20" | "ERC721" | "ERC1155";
    totalSupply: number;
    circulatingSupply: number;
    price: number;
    marketCap: number;
    utility: Array<string>;
    burnRate: number;
    holders: number;
    transactions24h: number;
    volume24h: number;
    symbol?: string;
    priceUsd: number;
    description?: string;
    image?: string;
    creatorId?: Id<"entities">;
    deployTx?: {
      hash: string;
      raw: string;
      nonce: number;
    };
    idempotencyKey?: string;
    argsHash?: string;
  };
};

/**
 * A type describing the platform's data model, as Convex's codegen describes a
 * schema's.
 *
 * This type includes information about what tables there are, the type of documents stored in
 * those tables, and the indexes defined on them.
 */
export type DataModel = {
  accounts: {
    document: {
      _id: Id<"accounts">;
      _creationTime: number;
      userId: Id<"users">;
      providerId: "credential" | "github" | "google";
      accountId: string;
      passwordHash?: string | null;
      createdAt: number;
      updatedAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "accountId"
      | "createdAt"
      | "passwordHash"
      | "providerId"
      | "updatedAt"
      | "userId";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_user: ["userId", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  chainNonces: {
    document: {
      _id: Id<"chainNonces">;
      _creationTime: number;
      account: string;
      next: number;
      updatedAt: number;
    };
    fieldPaths: "_creationTime" | "_id" | "account" | "next" | "updatedAt";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  connections: {
    document: {
      _id: Id<"connections">;
      _creationTime: number;
      fromEntityId: Id<"entities">;
      toEntityId: Id<"entities">;
      relationshipType: RelationshipType;
      metadata?: Record<string, any> | null;
      createdAt: number;
      deletedAt?: number | null;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "createdAt"
      | "deletedAt"
      | "fromEntityId"
      | "metadata"
      | `metadata.${string}`
      | "relationshipType"
      | "toEntityId";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      from_type: ["fromEntityId", "relationshipType", "_creationTime"];
      to_type: ["toEntityId", "relationshipType", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  cronRuns: {
    document: {
      _id: Id<"cronRuns">;
      _creationTime: number;
      job: string;
      window: string;
      item: string;
      result?: Record<string, any> | null;
      createdAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "createdAt"
      | "item"
      | "job"
      | "result"
      | `result.${string}`
      | "window";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_job: ["job", "window", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  entities: {
    document:
      | {
          _id: Id<"entities">;
          _creationTime: number;
          type: "ai_clone";
          name: string;
          properties: EntityProperties["ai_clone"];
          status?: EntityStatus | null;
          createdAt: number;
          updatedAt: number;
          deletedAt?: number | null;
        }
      | {
          _id: Id<"entities">;
          _creationTime: number;
          type: "course";
          name: string;
          properties: EntityProperties["course"];
          status?: EntityStatus | null;
          createdAt: number;
          updatedAt: number;
          deletedAt?: number | null;
        }
      | {
          _id: Id<"entities">;
          _creationTime: number;
          type: "creator";
          name: string;
          properties: EntityProperties["creator"];
          status?: EntityStatus | null;
          createdAt: number;
          updatedAt: number;
          deletedAt?: number | null;
        }
      | {
          _id: Id<"entities">;
          _creationTime: number;
          type: "media_asset";
          name: string;
          properties: EntityProperties["media_asset"];
          status?: EntityStatus | null;
          createdAt: number;
          updatedAt: number;
          deletedAt?: number | null;
        }
      | {
          _id: Id<"entities">;
          _creationTime: number;
          type: "payment";
          name: string;
          properties: EntityProperties["payment"];
          status?: EntityStatus | null;
          createdAt: number;
          updatedAt: number;
          deletedAt?: number | null;
        }
      | {
          _id: Id<"entities">;
          _creationTime: number;
          type: "token";
          name: string;
          properties: EntityProperties["token"];
          status?: EntityStatus | null;
          createdAt: number;
          updatedAt: number;
          deletedAt?: number | null;
        }
      | {
          _id: Id<"entities">;
          _creationTime: number;
          type: Exclude<EntityType, keyof EntityProperties>;
          name: string;
          properties: Record<string, any>;
          status?: EntityStatus | null;
          createdAt: number;
          updatedAt: number;
          deletedAt?: number | null;
        };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "createdAt"
      | "deletedAt"
      | "name"
      | "properties"
      | `properties.${string}`
      | "properties.amount"
      | "properties.appearanceId"
      | "properties.appearanceProvider"
      | "properties.argsHash"
      | "properties.avatar"
      | "properties.averageRating"
      | "properties.bio"
      | "properties.blockchain"
      | "properties.brandColors"
      | "properties.brandColors.accent"
      | "properties.brandColors.primary"
      | "properties.brandColors.secondary"
      | "properties.burnRate"
      | "properties.burnTx"
      | "properties.burnTx.hash"
      | "properties.burnTx.nonce"
      | "properties.burnTx.raw"
      | "properties.buyerId"
      | "properties.chargeStatus"
      | "properties.circulatingSupply"
      | "properties.clientSecret"
      | "properties.cloneId"
      | "properties.compensating"
      | "properties.completedAt"
      | "properties.completions"
      | "properties.contractAddress"
      | "properties.creatorId"
      | "properties.currency"
      | "properties.customerId"
      | "properties.deployTx"
      | "properties.deployTx.hash"
      | "properties.deployTx.nonce"
      | "properties.deployTx.raw"
      | "properties.description"
      | "properties.displayName"
      | "properties.email"
      | "properties.enrollments"
      | "properties.expertise"
      | "properties.failedStep"
      | "properties.failureCode"
      | "properties.failureReason"
      | "properties.fileSize"
      | "properties.fileType"
      | "properties.generatedBy"
      | "properties.generation"
      | "properties.generation.attempt"
      | "properties.generation.audience"
      | "properties.generation.format"
      | "properties.generation.industry"
      | "properties.generation.lessonIds"
      | "properties.generation.outline"
      | "properties.generation.reason"
      | "properties.generation.skills"
      | "properties.generation.state"
      | "properties.generation.step"
      | "properties.generation.topic"
      | "properties.generation.updatedAt"
      | "properties.holders"
      | "properties.idempotencyKey"
      | "properties.image"
      | "properties.knowledgeBaseSize"
      | "properties.lastTrainingDate"
      | "properties.lessons"
      | "properties.marketCap"
      | "properties.mintStatus"
      | "properties.mintTx"
      | "properties.mintTx.hash"
      | "properties.mintTx.nonce"
      | "properties.mintTx.raw"
      | "properties.modules"
      | "properties.nextAction"
      | `properties.nextAction.${string}`
      | "properties.niche"
      | "properties.paymentIntentId"
      | "properties.paymentMethodId"
      | "properties.personalizationLevel"
      | "properties.price"
      | "properties.priceUsd"
      | "properties.provider"
      | "properties.purpose"
      | "properties.refundId"
      | "properties.satisfactionScore"
      | "properties.standard"
      | "properties.status"
      | "properties.storageId"
      | "properties.symbol"
      | "properties.systemPrompt"
      | "properties.targetAudience"
      | "properties.taskToken"
      | "properties.temperature"
      | "properties.thumbnail"
      | "properties.title"
      | "properties.tokenAmount"
      | "properties.tokenId"
      | "properties.tokenPrice"
      | "properties.totalContent"
      | "properties.totalDuration"
      | "properties.totalFollowers"
      | "properties.totalInteractions"
      | "properties.totalRevenue"
      | "properties.totalSupply"
      | "properties.transactionHash"
      | "properties.transactions24h"
      | "properties.unitPriceUsd"
      | "properties.username"
      | "properties.utility"
      | "properties.voiceId"
      | "properties.voiceProvider"
      | "properties.volume24h"
      | "status"
      | "type"
      | "updatedAt";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_type: ["type", "_creationTime"];
      by_type_status: ["type", "status", "_creationTime"];
    };
    searchIndexes: {
      search_entities: {
        searchField: "name";
        filterFields: "type" | "status";
      };
    };
    vectorIndexes: {};
  };
  events: {
    document: {
      _id: Id<"events">;
      _creationTime: number;
      type: EventType;
      actorId: Id<"entities">;
      targetId?: Id<"entities"> | null;
      timestamp: number;
      metadata: any;
    };
    fieldPaths: "_creationTime" | "_id" | "actorId" | "metadata" | "targetId" | "timestamp" | "type";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_actor: ["actorId", "_creationTime"];
      by_target: ["targetId", "_creationTime"];
      by_timestamp: ["timestamp", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  knowledge: {
    document: {
      _id: Id<"knowledge">;
      _creationTime: number;
      kind: "label" | "chunk";
      text: string;
      sourceId: Id<TableNames>;
      ownerId?: Id<TableNames> | null;
      chunkIndex?: number | null;
      contentHash?: string | null;
      embedding?: Array<number> | null;
      labels: Record<string, any>;
      createdAt: number;
      updatedAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "chunkIndex"
      | "contentHash"
      | "createdAt"
      | "embedding"
      | "kind"
      | "labels"
      | `labels.${string}`
      | "ownerId"
      | "sourceId"
      | "text"
      | "updatedAt";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_source: ["sourceId", "chunkIndex", "_creationTime"];
      by_kind: ["kind", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {
      by_embedding: {
        vectorField: "embedding";
        dimensions: number;
        filterFields: "sourceId" | "kind" | "ownerId";
      };
    };
  };
  memberships: {
    document: {
      _id: Id<"memberships">;
      _creationTime: number;
      organizationId: Id<"organizations">;
      userId: Id<"users">;
      role: Role;
      entityId?: Id<"entities"> | null;
      stripeCustomerId?: string | null;
      paymentMethodId?: string | null;
      paymentMethodSince?: number | null;
      createdAt: number;
      updatedAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "createdAt"
      | "entityId"
      | "organizationId"
      | "paymentMethodId"
      | "paymentMethodSince"
      | "role"
      | "stripeCustomerId"
      | "updatedAt"
      | "userId";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_user: ["userId", "_creationTime"];
      by_organization: ["organizationId", "role", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  organizations: {
    document: {
      _id: Id<"organizations">;
      _creationTime: number;
      name: string;
      slug: string;
      status: "active" | "suspended";
      plan?: string | null;
      personal: boolean;
      joinPolicy: "invitation" | "open";
      createdAt: number;
      updatedAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "createdAt"
      | "joinPolicy"
      | "name"
      | "personal"
      | "plan"
      | "slug"
      | "status"
      | "updatedAt";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_slug: ["slug", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  publicEntities: {
    document: {
      _id: Id<"publicEntities">;
      _creationTime: number;
      organizationId: Id<"organizations">;
      type: EntityType;
    };
    fieldPaths: "_creationTime" | "_id" | "organizationId" | "type";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_type: ["type", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  rateLimits: {
    document: {
      _id: Id<"rateLimits">;
      _creationTime: number;
      key: string;
      window: string;
      count: number;
      expiresAt: number;
    };
    fieldPaths: "_creationTime" | "_id" | "count" | "expiresAt" | "key" | "window";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_key: ["key", "window", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  scheduledFunctions: {
    document: {
      _id: Id<"scheduledFunctions">;
      _creationTime: number;
      name: string;
      args: Record<string, any>;
      scheduledTime: number;
      state: "pending" | "inProgress" | "success" | "failed" | "canceled";
      kind: "mutation" | "action";
      organizationId?: Id<"organizations"> | null;
      auth?: Record<string, string> | null;
      completedTime?: number | null;
      error?: string | null;
      createdAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "args"
      | `args.${string}`
      | "auth"
      | `auth.${string}`
      | "completedTime"
      | "createdAt"
      | "error"
      | "kind"
      | "name"
      | "organizationId"
      | "scheduledTime"
      | "state";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_organization: ["organizationId", "scheduledTime", "_creationTime"];
      by_state: ["state", "scheduledTime", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  sessions: {
    document: {
      _id: Id<"sessions">;
      _creationTime: number;
      userId: Id<"users">;
      tokenHash: string;
      expiresAt: number;
      activeOrganizationId?: Id<"organizations"> | null;
      role?: Role | null;
      entityId?: Id<"entities"> | null;
      email?: string | null;
      ipAddress?: string | null;
      userAgent?: string | null;
      createdAt: number;
      updatedAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "activeOrganizationId"
      | "createdAt"
      | "email"
      | "entityId"
      | "expiresAt"
      | "ipAddress"
      | "role"
      | "tokenHash"
      | "updatedAt"
      | "userAgent"
      | "userId";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_token: ["tokenHash", "_creationTime"];
      by_user: ["userId", "_creationTime"];
      by_expires: ["expiresAt", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  tags: {
    document: {
      _id: Id<"tags">;
      _creationTime: number;
      entityId: Id<"entities">;
      key: string;
      value: string;
    };
    fieldPaths: "_creationTime" | "_id" | "entityId" | "key" | "value";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_entity: ["entityId", "_creationTime"];
      by_key: ["key", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  users: {
    document: {
      _id: Id<"users">;
      _creationTime: number;
      email: string;
      name?: string | null;
      image?: string | null;
      emailVerified: boolean;
      tokenIdentifier?: string | null;
      homeOrganizationId?: Id<"organizations"> | null;
      createdAt: number;
      updatedAt: number;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "createdAt"
      | "email"
      | "emailVerified"
      | "homeOrganizationId"
      | "image"
      | "name"
      | "tokenIdentifier"
      | "updatedAt";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_email: ["email", "_creationTime"];
      by_token: ["tokenIdentifier", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  verificationTokens: {
    document: {
      _id: Id<"verificationTokens">;
      _creationTime: number;
      identifier: string;
      token: string;
      expires: number;
      type: "email_verification" | "password_reset" | "invitation" | "oauth_state";
      data?: Record<string, any> | null;
    };
    fieldPaths:
      | "_creationTime"
      | "_id"
      | "data"
      | `data.${string}`
      | "expires"
      | "identifier"
      | "token"
      | "type";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
      by_token: ["token", "_creationTime"];
      by_identifier: ["identifier", "type", "_creationTime"];
      by_expires: ["expires", "_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
  webhookEvents: {
    document: {
      _id: Id<"webhookEvents">;
      _creationTime: number;
      provider: "stripe";
      eventId: string;
      type: string;
      createdAt: number;
      expiresAt: number;
    };
    fieldPaths: "_creationTime" | "_id" | "createdAt" | "eventId" | "expiresAt" | "provider" | "type";
    indexes: {
      by_id: ["_id"];
      by_creation_time: ["_creationTime"];
    };
    searchIndexes: {};
    vectorIndexes: {};
  };
};

/**
 * The names of all of the platform's tables.
 */
export type TableNames = TableNamesInDataModel<DataModel>;

/**
 * The type of a document stored in a table.
 *
 * @typeParam TableName - A string literal type of the table name (like "entities").
 */
export type Doc<TableName extends TableNames> = DocumentByName<DataModel, TableName>;

/**
 * An identifier for a document.
 *
 * Documents are uniquely identified by their `Id`, which is accessible on the `_id` field. IDs are
 * just strings at runtime (`ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R`), but this type can be used to
 * distinguish them from other strings when type checking.
 *
 * @typeParam TableName - A string literal type of the table name (like "entities").
 */
export type Id<TableName extends TableNames | SystemTableNames> = GenericId<TableName>;

/**
 * An entity of one type, as a function returns it: `Entity<"token">` is a token, with the token's
 * `properties`.
 *
 * @typeParam Type - A string literal type of the entity type (like "token").
 */
export type Entity<Type extends EntityType = EntityType> = Doc<"entities"> & { type: Type };
