/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED from the ONE platform's functions and schema: do not
 * edit it.
 *
 * To regenerate, run `one codegen` (`make dev` keeps it current as functions change).
 * @module
 */

import type { FunctionReference, PaginationOptions, PaginationResult } from "convex/server";
import type { Doc, Entity, EntityStatus, EntityType, EventType, Id, RelationshipType, Role, TableNames } from "./dataModel.js";

/**
 * The platform's public functions: every query, mutation and action a client may call, by
 * its namespace and its own name (`tokens.get_balance`) and by the camelCase one
 * (`tokens.getBalance`), as the platform resolves both.
 */
export type PublicApiType = {
  billing: {
    /**
     * Start saving a card: a Stripe SetupIntent for the caller's Stripe customer (made on first use),
     * whose client secret the page confirms with Stripe.js; then `billing:save_payment_method` (or
     * Stripe's webhook) makes the card the caller's default for purchases.
     *
     * `billing:create_setup_intent`: an action; who may call it: member.
     */
    create_setup_intent: FunctionReference<
      "action",
      "public",
      Record<string, never>,
      {
        setupIntentId: string;
        clientSecret: string;
        status: string;
      }
    >;
    /** `billing:create_setup_intent` by its camelCase name, `billing:createSetupIntent`. */
    createSetupIntent: PublicApiType["billing"]["create_setup_intent"];
    /**
     * The caller's saved cards (brand, last 4 digits, expiry; never the number), the default marked.
     *
     * `billing:list_payment_methods`: an action; who may call it: member.
     */
    list_payment_methods: FunctionReference<
      "action",
      "public",
      Record<string, never>,
      Array<{
        paymentMethodId: string;
        brand?: string | null;
        last4?: string | null;
        expMonth?: number | null;
        expYear?: number | null;
        isDefault: boolean;
      }>
    >;
    /** `billing:list_payment_methods` by its camelCase name, `billing:listPaymentMethods`. */
    listPaymentMethods: PublicApiType["billing"]["list_payment_methods"];
    /**
     * Remove one of the caller's saved cards (detached from their Stripe customer); NOT_FOUND for a
     * card that is not theirs. Without a default, a purchase must name its payment method.
     *
     * `billing:remove_payment_method`: an action; who may call it: member.
     */
    remove_payment_method: FunctionReference<
      "action",
      "public",
      {
        paymentMethodId: string;
      },
      {
        paymentMethodId: string;
        removed: boolean;
      }
    >;
    /** `billing:remove_payment_method` by its camelCase name, `billing:removePaymentMethod`. */
    removePaymentMethod: PublicApiType["billing"]["remove_payment_method"];
    /**
     * After the page confirmed the SetupIntent: the card it saved becomes the caller's default, once
     * Stripe says the SetupIntent (the caller's own) succeeded; CONFLICT while it has not.
     *
     * `billing:save_payment_method`: an action; who may call it: member.
     */
    save_payment_method: FunctionReference<
      "action",
      "public",
      {
        setupIntentId: string;
      },
      {
        paymentMethodId: string;
        brand?: string | null;
        last4?: string | null;
        expMonth?: number | null;
        expYear?: number | null;
        isDefault: boolean;
      }
    >;
    /** `billing:save_payment_method` by its camelCase name, `billing:savePaymentMethod`. */
    savePaymentMethod: PublicApiType["billing"]["save_payment_method"];
  };
  clones: {
    /**
     * Talk with a clone: the reply comes from the chat model with the clone's system prompt and
     * temperature, grounded on the clone's knowledge chunks nearest the message (`sources`). Both
     * messages are `message` entities `part_of` the conversation (created on first use, the caller and
     * the clone `participated_in` it); `clone_interaction` is logged and counted. With an
     * `idempotencyKey`, the same key again answers the turn already recorded.
     *
     * `clones:chat`: an action; who may call it: member.
     */
    chat: FunctionReference<
      "action",
      "public",
      {
        cloneId: Id<"entities">;
        message: string;
        conversationId?: Id<"entities"> | null;
        idempotencyKey?: string | null;
      },
      {
        conversationId: Id<"entities">;
        messageId: Id<"entities">;
        replyId: Id<"entities">;
        reply: string;
        sources: Array<{
          knowledgeItemId: Id<"entities">;
          contentId?: Id<"entities"> | null;
          title?: string | null;
          text: string;
          score: number;
        }>;
      }
    >;
    /**
     * An appearance clone from an uploaded portrait (JPEG or PNG) through the appearance provider
     * (HeyGen's talking photo): `appearanceId` and `appearanceProvider` on the clone,
     * `appearance_cloned` logged. The same image again answers the appearance it made.
     *
     * `clones:clone_appearance`: an action; who may call it: org_user.
     */
    clone_appearance: FunctionReference<
      "action",
      "public",
      {
        cloneId: Id<"entities">;
        imageStorageId: string;
      },
      {
        cloneId: Id<"entities">;
        appearanceId: string;
        appearanceProvider: string;
      }
    >;
    /** `clones:clone_appearance` by its camelCase name, `clones:cloneAppearance`. */
    cloneAppearance: PublicApiType["clones"]["clone_appearance"];
    /**
     * The reference's `cloneVoice`: the uploaded audio samples (storage ids) to ElevenLabs' instant
     * voice clone; the voice id on the creator's clone (`voiceProvider: "elevenlabs"`), `voice_cloned`
     * logged. The same samples again answer the voice they made (no second voice).
     *
     * `clones:clone_voice`: an action; who may call it: org_user.
     */
    clone_voice: FunctionReference<
      "action",
      "public",
      {
        creatorId: Id<"entities">;
        audioSamples: Array<string>;
      },
      {
        cloneId: Id<"entities">;
        voiceId: string;
        voiceProvider: string;
      }
    >;
    /** `clones:clone_voice` by its camelCase name, `clones:cloneVoice`. */
    cloneVoice: PublicApiType["clones"]["clone_voice"];
    /**
     * Create the creator's AI clone and schedule its training (one clone per creator: asking again
     * answers the same clone and trains it on what is new since).
     *
     * `clones:create`: a mutation; who may call it: org_user.
     */
    create: FunctionReference<
      "mutation",
      "public",
      {
        creatorId: Id<"entities">;
        name?: string | null;
        systemPrompt?: string | null;
        temperature?: number | null;
        agentId?: Id<"entities"> | null;
      },
      {
        cloneId: Id<"entities">;
        status: string;
        created: boolean;
      }
    >;
    /**
     * The clone, its training status (`training` or `active`) and its knowledge size; null when it is
     * no clone of this organization.
     *
     * `clones:get`: a query; who may call it: member.
     */
    get: FunctionReference<
      "query",
      "public",
      {
        cloneId: Id<"entities">;
      },
      (Entity<"ai_clone"> & {
        trainingStatus?: "training" | "active" | null;
        knowledgeBaseSize?: number;
      }) | null
    >;
    /**
     * A conversation's messages, oldest first, a page at a time (its participants and the
     * organization's staff only); reactive over the sync protocol like any query.
     *
     * `clones:messages`: a query; who may call it: member.
     */
    messages: FunctionReference<
      "query",
      "public",
      {
        conversationId: Id<"entities">;
        paginationOpts: PaginationOptions;
      },
      PaginationResult<Entity<"message">>
    >;
    /**
     * The text in the clone's voice (ElevenLabs text-to-speech), stored as a `media_asset`; answers
     * its URL. CONFLICT when the clone has no voice yet (clones:clone_voice).
     *
     * `clones:speak`: an action; who may call it: org_user.
     */
    speak: FunctionReference<
      "action",
      "public",
      {
        cloneId: Id<"entities">;
        text: string;
      },
      {
        url: string;
        storageId: string;
        mediaAssetId: Id<"entities">;
      }
    >;
  };
  connections: {
    /**
     * A connection between two entities of the organization; a (from, to, type) exists once.
     *
     * `connections:create`: a mutation; who may call it: org_user.
     */
    create: FunctionReference<
      "mutation",
      "public",
      {
        fromEntityId: Id<"entities">;
        toEntityId: Id<"entities">;
        relationshipType: RelationshipType;
        metadata?: Record<string, any> | null;
      },
      {
        id: Id<"connections">;
      }
    >;
    /**
     * Remove a connection.
     *
     * `connections:delete`: a mutation; who may call it: org_user.
     */
    delete: FunctionReference<
      "mutation",
      "public",
      {
        id: Id<"connections">;
      },
      {
        success: boolean;
      }
    >;
    /**
     * An entity's connections leaving it (`from`) or reaching it (`to`), optionally of one type.
     *
     * `connections:list`: a query; who may call it: member.
     */
    list: FunctionReference<
      "query",
      "public",
      {
        entityId: Id<"entities">;
        direction?: "from" | "to";
        relationshipType?: RelationshipType | null;
        paginationOpts: PaginationOptions;
        order?: string;
      },
      PaginationResult<Doc<"connections">>
    >;
  };
  courses: {
    /**
     * Enroll the caller in a course. A course priced in tokens (`tokenPrice` of `tokenId`) moves that
     * many of the caller's tokens to the course's creator in the same transaction (INSUFFICIENT_TOKENS
     * when they hold fewer, and nothing is written); a course with a money price and no token price is
     * not sold here. CONFLICT when already enrolled.
     *
     * `courses:enroll`: a mutation; who may call it: member.
     */
    enroll: FunctionReference<
      "mutation",
      "public",
      {
        courseId: Id<"entities">;
      },
      {
        courseId: Id<"entities">;
        tokensSpent: number;
        balance?: number | null;
      }
    >;
    /**
     * Start generating a course on `topic` taught by the creator's AI clone (CONFLICT when the creator
     * has none): the course is there at once as a `draft` and is written in steps.
     *
     * `courses:generate`: a mutation; who may call it: org_user.
     */
    generate: FunctionReference<
      "mutation",
      "public",
      {
        creatorId: Id<"entities">;
        topic: string;
        lessons?: number;
        audience?: "beginner" | "intermediate" | "advanced";
        format?: "video" | "text" | "interactive";
        idempotencyKey?: string | null;
      },
      {
        courseId: Id<"entities">;
        status: string;
        generation: string;
        created: boolean;
      }
    >;
    /**
     * The course, where its generation stands (`state`, `step`, `reason`: for the organization's
     * staff) and its lessons in order; null when the caller may not see it. Anyone reads a published
     * course's page by its id, with its published lessons.
     *
     * `courses:get`: a query; who may call it: public.
     */
    get: FunctionReference<
      "query",
      "public",
      {
        courseId: Id<"entities">;
      },
      (Entity<"course"> & {
        generation?: Record<string, any> | null;
        lessonList?: Array<{
          lessonId: Id<"entities">;
          title: string;
          lessonIndex: number;
          status: string;
        }>;
      }) | null
    >;
  };
  creators: {
    /**
     * A new creator; its email is unique within the organization (CONFLICT otherwise).
     *
     * `creators:create`: a mutation; who may call it: org_user.
     */
    create: FunctionReference<
      "mutation",
      "public",
      {
        email: string;
        name: string;
        niche: Array<string>;
      },
      {
        creatorId: Id<"entities">;
      }
    >;
    /**
     * A creator with the number of content items it authored that the caller may see (staff: every
     * item; others: the items they see, drafts not counted). Anyone reads an active creator's public
     * profile by its id (without its email or revenue). The count is a counter: the same two requests
     * at 10 items as at 100,000. It is eventually consistent: an authored item made shows in it once
     * the table's stream has counted it, within about a second, and a subscription updates then
     * (docs/data-model.md, "Counts").
     *
     * `creators:get`: a query; who may call it: public.
     */
    get: FunctionReference<
      "query",
      "public",
      {
        id: Id<"entities">;
      },
      (Entity<"creator"> & {
        contentCount?: number | null;
      }) | null
    >;
    /**
     * A creator, a page of its authored content (oldest first) and its follower count, in the same few
     * requests whatever the number of items: the page's authored connections (one Query), the follower
     * counter (one Query), then the creator and the page's items together (one BatchGetItem), for its
     * organization's members. Anyone reads an active creator's public profile with its published
     * content. Without `paginationOpts`, the first 99 items; `isDone` says whether that was all, and
     * `continueCursor` (as `paginationOpts.cursor`) gives the next page. The follower count is
     * eventually consistent: a follow or unfollow shows in it once the table's stream has counted it,
     * within about a second, and a subscription updates then (docs/data-model.md, "Counts").
     *
     * `creators:get_with_content`: a query; who may call it: public.
     */
    get_with_content: FunctionReference<
      "query",
      "public",
      {
        creatorId: Id<"entities">;
        paginationOpts?: PaginationOptions | null;
      },
      (Entity<"creator"> & {
        content: Array<Doc<"entities">>;
        followerCount: number;
        isDone?: boolean | null;
        continueCursor?: string | null;
      }) | null
    >;
    /** `creators:get_with_content` by its camelCase name, `creators:getWithContent`. */
    getWithContent: PublicApiType["creators"]["get_with_content"];
    /** `creators:get_with_content` by the reference's name, `creators:getCreatorWithContent`. */
    getCreatorWithContent: PublicApiType["creators"]["get_with_content"];
    /**
     * Active creators, optionally of one niche (default 20, at most 100): the organization's, or,
     * without a session, every organization's public creators (their public profiles).
     *
     * `creators:list`: a query; who may call it: public.
     */
    list: FunctionReference<
      "query",
      "public",
      {
        limit?: number | null;
        niche?: string | null;
      },
      Array<Entity<"creator"> & {
        contentCount?: number | null;
      }>
    >;
    /**
     * All creators, newest first, a page at a time: the organization's (as the caller may see them),
     * or, without a session, every organization's public creators.
     *
     * `creators:list_paginated`: a query; who may call it: public.
     */
    list_paginated: FunctionReference<
      "query",
      "public",
      {
        paginationOpts: PaginationOptions;
      },
      PaginationResult<Entity<"creator"> & {
        contentCount?: number | null;
      }>
    >;
    /** `creators:list_paginated` by its camelCase name, `creators:listPaginated`. */
    listPaginated: PublicApiType["creators"]["list_paginated"];
    /**
     * Merge the given fields into a creator's properties.
     *
     * `creators:update`: a mutation; who may call it: org_user.
     */
    update: FunctionReference<
      "mutation",
      "public",
      {
        id: Id<"entities">;
        bio?: string | null;
        niche?: Array<string> | null;
        avatar?: string | null;
      },
      {
        success: boolean;
      }
    >;
  };
  entities: {
    /**
     * Mark an entity archived (it stays readable; lists by status leave it out).
     *
     * `entities:archive`: a mutation; who may call it: org_user.
     */
    archive: FunctionReference<
      "mutation",
      "public",
      {
        id: Id<"entities">;
      },
      {
        success: boolean;
      }
    >;
    /**
     * An entity of any type; properties are validated for the type (typed for creator, ai_clone,
     * token, course, media_asset and payment; a JSON object of at most 64 KB otherwise).
     *
     * `entities:create`: a mutation; who may call it: org_user.
     */
    create: FunctionReference<
      "mutation",
      "public",
      {
        type: EntityType;
        name: string;
        properties?: Record<string, any>;
        status?: EntityStatus | null;
      },
      {
        id: Id<"entities">;
      }
    >;
    /**
     * An entity as the caller may see it, or null: the organization's staff see every entity of it, a
     * customer what the world sees and what is theirs, anyone a public entity of any organization
     * (docs/auth.md, "Who sees what").
     *
     * `entities:get`: a query; who may call it: public.
     */
    get: FunctionReference<
      "query",
      "public",
      {
        id: Id<"entities">;
      },
      Doc<"entities"> | null
    >;
    /**
     * Entities by type, by status, or by both, newest first, a page at a time (a customer's page
     * leaves out what they may not see, so it may hold fewer than `numItems`).
     *
     * `entities:list`: a query; who may call it: member.
     */
    list: FunctionReference<
      "query",
      "public",
      {
        type?: EntityType | null;
        status?: EntityStatus | null;
        paginationOpts: PaginationOptions;
        order?: string;
      },
      PaginationResult<Doc<"entities">>
    >;
    /**
     * Entities whose name matches the query, most relevant first (Convex's full-text search: any of at
     * most 16 terms, the last one a prefix, BM25; optionally of one type and status; default 20, at
     * most 100).
     *
     * `entities:search`: a query; who may call it: member.
     */
    search: FunctionReference<
      "query",
      "public",
      {
        query: string;
        type?: EntityType | null;
        status?: EntityStatus | null;
        limit?: number;
      },
      Array<Doc<"entities">>
    >;
    /**
     * Change an entity's name, status or properties (the properties are replaced, and validated for
     * the type as on create); logs `content_changed` (`action: updated`, `creator_updated` for a
     * creator) with the caller's entity as the actor. Entities only their own functions write (a
     * token, a payment, …) are refused.
     *
     * `entities:update`: a mutation; who may call it: org_user.
     */
    update: FunctionReference<
      "mutation",
      "public",
      {
        id: Id<"entities">;
        name?: string | null;
        status?: EntityStatus | null;
        properties?: Record<string, any> | null;
      },
      {
        success: boolean;
      }
    >;
  };
  events: {
    /**
     * Events by actor and/or type, by target and/or type, by type, or by time (`since` ≤ timestamp <
     * `until`); newest first. A customer's page holds only the events they act in, are the target of,
     * or bought in (docs/auth.md), so it may hold fewer than `numItems`.
     *
     * `events:list`: a query; who may call it: member.
     */
    list: FunctionReference<
      "query",
      "public",
      {
        actorId?: Id<"entities"> | null;
        targetId?: Id<"entities"> | null;
        type?: EventType | null;
        since?: number | null;
        until?: number | null;
        paginationOpts: PaginationOptions;
        order?: string;
      },
      PaginationResult<Doc<"events">>
    >;
  };
  files: {
    /**
     * Delete a `media_asset` and its stored bytes (the bytes once the deletion has committed).
     *
     * `files:delete_file`: a mutation; who may call it: org_user.
     */
    delete_file: FunctionReference<
      "mutation",
      "public",
      {
        fileId: Id<"entities">;
      },
      {
        success: boolean;
      }
    >;
    /** `files:delete_file` by its camelCase name, `files:deleteFile`. */
    deleteFile: PublicApiType["files"]["delete_file"];
    /**
     * A presigned PUT (valid 15 minutes) for one file of the given type and exact size; the key is
     * chosen by the server under the organization's prefix.
     *
     * `files:generate_upload_url`: a mutation; who may call it: member.
     */
    generate_upload_url: FunctionReference<
      "mutation",
      "public",
      {
        contentType: string;
        size: number;
      },
      {
        uploadUrl: string;
        storageId: string;
        method: string;
        headers: Record<string, string>;
        expiresAt: number;
      }
    >;
    /** `files:generate_upload_url` by its camelCase name, `files:generateUploadUrl`. */
    generateUploadUrl: PublicApiType["files"]["generate_upload_url"];
    /**
     * A presigned download URL (15 minutes), or null when there is no such file.
     *
     * `files:get_file_url`: a query; who may call it: member.
     */
    get_file_url: FunctionReference<
      "query",
      "public",
      {
        storageId: string;
      },
      string | null
    >;
    /** `files:get_file_url` by its camelCase name, `files:getFileUrl`. */
    getFileUrl: PublicApiType["files"]["get_file_url"];
    /**
     * Record an uploaded file as a `media_asset` entity (the upload must exist and match).
     *
     * `files:save_file`: a mutation; who may call it: member.
     */
    save_file: FunctionReference<
      "mutation",
      "public",
      {
        storageId: string;
        name: string;
        type: string;
        size: number;
      },
      {
        fileId: Id<"entities">;
      }
    >;
    /** `files:save_file` by its camelCase name, `files:saveFile`. */
    saveFile: PublicApiType["files"]["save_file"];
  };
  knowledge: {
    /**
     * Store a text about a source (any document of the organization): chunked, each chunk embedded
     * through the AI provider (one request), stored with the labels; chunks already known for the
     * source are not stored again. Answers the chunks' ids in order.
     *
     * `knowledge:add`: an action; who may call it: org_user.
     */
    add: FunctionReference<
      "action",
      "public",
      {
        sourceId: Id<TableNames>;
        text: string;
        labels?: Record<string, any>;
      },
      {
        sourceId: Id<TableNames>;
        ids: Array<Id<"knowledge">>;
        added: number;
        existing: number;
      }
    >;
    /**
     * The chunks nearest in meaning to the query (its embedding, cosine similarity), most similar
     * first, optionally of one source (NOT_FOUND if it is no document of the organization): each with
     * its text, source, labels and `_score`.
     *
     * `knowledge:search`: an action; who may call it: member.
     */
    search: FunctionReference<
      "action",
      "public",
      {
        query: string;
        sourceId?: Id<TableNames> | null;
        limit?: number;
      },
      Array<{
        _id: Id<"knowledge">;
        _score: number;
        text: string;
        sourceId: Id<TableNames>;
        kind: "label" | "chunk";
        chunkIndex?: number | null;
        labels: Record<string, string>;
      }>
    >;
  };
  livestreams: {
    /**
     * The livestream's chat, oldest first, a page at a time (its participants and the organization's
     * staff); reactive over the sync protocol like any query.
     *
     * `livestreams:chat`: a query; who may call it: member.
     */
    chat: FunctionReference<
      "query",
      "public",
      {
        livestreamId: Id<"entities">;
        paginationOpts: PaginationOptions;
      },
      PaginationResult<Entity<"message">>
    >;
    /**
     * End the stream: started → ended (CONFLICT otherwise), its `recording` and `content_changed`.
     *
     * `livestreams:end`: a mutation; who may call it: org_user.
     */
    end: FunctionReference<
      "mutation",
      "public",
      {
        livestreamId: Id<"entities">;
      },
      {
        livestreamId: Id<"entities">;
        status: string;
        recordingId: Id<"entities">;
      }
    >;
    /**
     * The livestream (its `streamStatus`, viewers, recording); null when the caller may not see it.
     * Anyone reads a scheduled or live livestream's page by its id.
     *
     * `livestreams:get`: a query; who may call it: public.
     */
    get: FunctionReference<
      "query",
      "public",
      {
        livestreamId: Id<"entities">;
      },
      Entity<"livestream"> | null
    >;
    /**
     * Join as a viewer (scheduled or live; CONFLICT once it has ended). Joining again while present
     * changes nothing.
     *
     * `livestreams:join`: a mutation; who may call it: member.
     */
    join: FunctionReference<
      "mutation",
      "public",
      {
        livestreamId: Id<"entities">;
      },
      {
        livestreamId: Id<"entities">;
        changed: boolean;
        viewerCount: number;
      }
    >;
    /**
     * Leave (leaving when not present changes nothing).
     *
     * `livestreams:leave`: a mutation; who may call it: member.
     */
    leave: FunctionReference<
      "mutation",
      "public",
      {
        livestreamId: Id<"entities">;
      },
      {
        livestreamId: Id<"entities">;
        changed: boolean;
        viewerCount: number;
      }
    >;
    /**
     * Schedule a creator's livestream (co-hosted by `cloneId`, an AI clone of the organization).
     *
     * `livestreams:schedule`: a mutation; who may call it: org_user.
     */
    schedule: FunctionReference<
      "mutation",
      "public",
      {
        creatorId: Id<"entities">;
        title: string;
        scheduledFor: number;
        cloneId?: Id<"entities"> | null;
        topics?: Array<string> | null;
        idempotencyKey?: string | null;
      },
      {
        livestreamId: Id<"entities">;
        status: string;
        created: boolean;
      }
    >;
    /**
     * Chat in a live stream (its viewers who are present, and the organization's staff): a `message`
     * `part_of` the livestream and `livestream_interaction`; a question for the co-host schedules its
     * reply.
     *
     * `livestreams:send_message`: a mutation; who may call it: member.
     */
    send_message: FunctionReference<
      "mutation",
      "public",
      {
        livestreamId: Id<"entities">;
        text: string;
        idempotencyKey?: string | null;
      },
      {
        livestreamId: Id<"entities">;
        messageId: Id<"entities">;
        cohostReplying: boolean;
      }
    >;
    /** `livestreams:send_message` by its camelCase name, `livestreams:sendMessage`. */
    sendMessage: PublicApiType["livestreams"]["send_message"];
    /**
     * Go live: scheduled → started (CONFLICT from any other status).
     *
     * `livestreams:start`: a mutation; who may call it: org_user.
     */
    start: FunctionReference<
      "mutation",
      "public",
      {
        livestreamId: Id<"entities">;
      },
      {
        livestreamId: Id<"entities">;
        status: string;
      }
    >;
  };
  meta: {
    /**
     * The OpenAPI 3.1 document of every public function, generated from the registry.
     *
     * `meta:openapi`: a query; who may call it: public.
     */
    openapi: FunctionReference<"query", "public", Record<string, never>, Record<string, any>>;
  };
  organizations: {
    /**
     * Accept an invitation sent to the caller's email: join its organization with its role.
     *
     * `organizations:accept`: an action; who may call it: member.
     */
    accept: FunctionReference<
      "action",
      "public",
      {
        token: string;
      },
      {
        organizationId: Id<"organizations">;
      }
    >;
    /**
     * Change a member's role (an organization always keeps an owner).
     *
     * `organizations:change_role`: an action; who may call it: org_owner.
     */
    change_role: FunctionReference<
      "action",
      "public",
      {
        userId: Id<"users">;
        role: "org_owner" | "org_user" | "customer";
      },
      {
        success: boolean;
      }
    >;
    /** `organizations:change_role` by its camelCase name, `organizations:changeRole`. */
    changeRole: PublicApiType["organizations"]["change_role"];
    /**
     * A new organization; the caller is its org_owner.
     *
     * `organizations:create`: an action; who may call it: member.
     */
    create: FunctionReference<
      "action",
      "public",
      {
        name: string;
        joinPolicy?: "invitation" | "open";
      },
      {
        organizationId: Id<"organizations">;
      }
    >;
    /**
     * Invite someone by email: they get a link with a single-use token, valid 7 days. The invitation
     * is an email like any other the platform sends: the organization's name (which its owner chose)
     * is quoted and escaped, and it counts against the 5 emails per address per hour (RATE_LIMITED
     * past them, and nothing is written).
     *
     * `organizations:invite`: an action; who may call it: org_owner.
     */
    invite: FunctionReference<
      "action",
      "public",
      {
        email: string;
        role?: "org_owner" | "org_user" | "customer";
      },
      {
        success: boolean;
      }
    >;
    /**
     * Join an open organization (by its id or its slug) as a `customer`, without an invitation; then
     * `switch_active` to act in it. An organization that takes members by invitation only refuses
     * (FORBIDDEN) and nothing is written; joining one again answers the same.
     *
     * `organizations:join`: an action; who may call it: member.
     */
    join: FunctionReference<
      "action",
      "public",
      {
        organizationId?: Id<"organizations"> | null;
        slug?: string | null;
      },
      {
        organizationId: Id<"organizations">;
      }
    >;
    /**
     * The active organization's members: user, email, name, role, since. Its staff read every member's
     * email; a customer (a fan of an open organization) reads only their own, the others as a public
     * profile shows them (`email` null).
     *
     * `organizations:list_members`: a query; who may call it: member.
     */
    list_members: FunctionReference<
      "query",
      "public",
      Record<string, never>,
      Array<{
        userId: Id<"users">;
        email: string | null;
        name: string | null;
        role: Role;
        entityId: Id<"entities"> | null;
        since: number;
      }>
    >;
    /** `organizations:list_members` by its camelCase name, `organizations:listMembers`. */
    listMembers: PublicApiType["organizations"]["list_members"];
    /**
     * Remove a member (owners may remove anyone; anyone may leave); the last owner stays.
     *
     * `organizations:remove_member`: an action; who may call it: member.
     */
    remove_member: FunctionReference<
      "action",
      "public",
      {
        userId: Id<"users">;
      },
      {
        success: boolean;
      }
    >;
    /** `organizations:remove_member` by its camelCase name, `organizations:removeMember`. */
    removeMember: PublicApiType["organizations"]["remove_member"];
    /**
     * Make another of the caller's organizations the session's active one, as Better Auth's
     * `organization.setActive` does: the session keeps its token, and the very next call made with it
     * (from any tab, socket or server holding it) acts in the new organization, since every call reads
     * its session afresh. `sessionToken` is that same token, for clients that adopt what they are
     * given.
     *
     * `organizations:switch_active`: an action; who may call it: member.
     */
    switch_active: FunctionReference<
      "action",
      "public",
      {
        organizationId: Id<"organizations">;
      },
      {
        success: boolean;
        organizationId: Id<"organizations">;
        sessionToken?: string | null;
      }
    >;
    /** `organizations:switch_active` by its camelCase name, `organizations:switchActive`. */
    switchActive: PublicApiType["organizations"]["switch_active"];
    /**
     * Rename the active organization or change who may join it (its `joinPolicy`).
     *
     * `organizations:update`: an action; who may call it: org_owner.
     */
    update: FunctionReference<
      "action",
      "public",
      {
        name?: string | null;
        joinPolicy?: "invitation" | "open" | null;
      },
      {
        success: boolean;
      }
    >;
  };
  scheduler: {
    /**
     * Cancel a pending scheduled function of the organization (a running or finished one stays).
     *
     * `scheduler:cancel`: a mutation; who may call it: org_user.
     */
    cancel: FunctionReference<
      "mutation",
      "public",
      {
        jobId: string;
      },
      {
        success: boolean;
      }
    >;
    /**
     * The organization's scheduled functions, latest first: name, args, scheduledTime, state (pending
     * → inProgress → success | failed | canceled), completedTime, error.
     *
     * `scheduler:list`: a query; who may call it: org_user.
     */
    list: FunctionReference<
      "query",
      "public",
      {
        state?: "pending" | "inProgress" | "success" | "failed" | "canceled" | null;
        paginationOpts: PaginationOptions;
      },
      PaginationResult<{
        _id: Id<"scheduledFunctions">;
        _creationTime: number;
        name: string;
        args: Record<string, any>;
        scheduledTime: number;
        completedTime?: number | null;
        state: {
          kind: "pending" | "inProgress" | "success" | "failed" | "canceled";
          error?: string | null;
        };
      }>
    >;
  };
  tags: {
    /**
     * Tag an entity (a key/value pair is on an entity once: CONFLICT otherwise). A tag is no event:
     * the reference's `content_changed` is content created, updated or deleted, and the tags table is
     * the tag's own record.
     *
     * `tags:add`: a mutation; who may call it: org_user.
     */
    add: FunctionReference<
      "mutation",
      "public",
      {
        entityId: Id<"entities">;
        key: string;
        value: string;
      },
      {
        id: Id<"tags">;
      }
    >;
    /**
     * An entity's tags, or the tags with a key, or with a key and value.
     *
     * `tags:list`: a query; who may call it: member.
     */
    list: FunctionReference<
      "query",
      "public",
      {
        entityId?: Id<"entities"> | null;
        key?: string | null;
        value?: string | null;
        paginationOpts: PaginationOptions;
      },
      PaginationResult<Doc<"tags">>
    >;
    /**
     * Remove a tag from an entity (no event, as :func:`add`).
     *
     * `tags:remove`: a mutation; who may call it: org_user.
     */
    remove: FunctionReference<
      "mutation",
      "public",
      {
        entityId: Id<"entities">;
        key: string;
        value: string;
      },
      {
        success: boolean;
      }
    >;
  };
  tokens: {
    /**
     * Deploy a creator's token: a new instance of the CreatorToken contract (capped at `totalSupply`),
     * then in one transaction the `token` and `token_contract` entities, the creator's `owns`
     * connections and token_deployed.
     *
     * `tokens:create`: an action; who may call it: org_user.
     */
    create: FunctionReference<
      "action",
      "public",
      {
        creatorId: Id<"entities">;
        name: string;
        symbol: string;
        priceUsd: number;
        totalSupply?: number;
        idempotencyKey?: string | null;
        description?: string | null;
        image?: string | null;
      },
      {
        tokenId: Id<"entities">;
      }
    >;
    /**
     * A token entity, or null. Anyone reads an active token's page by its id (its public fields: the
     * reference's, its symbol, price, description and image); the organization's staff also read its
     * drafts.
     *
     * `tokens:get`: a query; who may call it: public.
     */
    get: FunctionReference<
      "query",
      "public",
      {
        id: Id<"entities">;
      },
      Entity<"token"> | null
    >;
    /**
     * The caller's balance of a token (0 when they hold none): a consistent read of the `holds_tokens`
     * connection at the key its from/to/type derives.
     *
     * `tokens:get_balance`: a query; who may call it: member.
     */
    get_balance: FunctionReference<
      "query",
      "public",
      {
        tokenId: Id<"entities">;
      },
      {
        tokenId: Id<"entities">;
        amount: number;
      }
    >;
    /** `tokens:get_balance` by its camelCase name, `tokens:getBalance`. */
    getBalance: PublicApiType["tokens"]["get_balance"];
    /**
     * A purchase's status (pending, requires_action, completed, failed, refunded), amounts, Stripe
     * payment id, mint transaction hash and failure reason, or null. Buyers see their own; org users
     * and owners see every purchase of the organization. While the card waits for 3-D Secure
     * (`requires_action`) the buyer, and only the buyer, also gets the PaymentIntent's client secret.
     *
     * `tokens:get_purchase`: a query; who may call it: member.
     */
    get_purchase: FunctionReference<
      "query",
      "public",
      {
        purchaseId: Id<"entities">;
      },
      {
        purchaseId: Id<"entities">;
        status: string;
        tokenId?: Id<"entities"> | null;
        amount?: number | null;
        usdCents: number;
        currency: string;
        paymentId?: string | null;
        transactionHash?: string | null;
        failureReason?: string | null;
        failureCode?: string | null;
        clientSecret?: string | null;
        nextAction?: Record<string, any> | null;
        createdAt: number;
        updatedAt: number;
      } | null
    >;
    /** `tokens:get_purchase` by its camelCase name, `tokens:getPurchase`. */
    getPurchase: PublicApiType["tokens"]["get_purchase"];
    /**
     * Every token an entity holds, with its balance (one Query and one BatchGetItem).
     *
     * `tokens:get_user_holdings`: a query; who may call it: member.
     */
    get_user_holdings: FunctionReference<
      "query",
      "public",
      {
        userId: Id<"entities">;
      },
      Array<{
        token: Entity<"token">;
        balance: number;
      }>
    >;
    /** `tokens:get_user_holdings` by its camelCase name, `tokens:getUserHoldings`. */
    getUserHoldings: PublicApiType["tokens"]["get_user_holdings"];
    /** `tokens:get_user_holdings` by the reference's name, `tokens:getUserTokenHoldings`. */
    getUserTokenHoldings: PublicApiType["tokens"]["get_user_holdings"];
    /**
     * Buy tokens: the price is the token's current price times `amount` (computed here, never taken
     * from the client). Writes the pending purchase and its idempotency guard and schedules the saga's
     * start (`tokens:start_purchase`) in one transaction, Convex's way (a mutation schedules an
     * action), and answers at once with `{purchaseId, status}`; `tokens:get_purchase` and
     * `tokens:get_balance` (live over the sync protocol) show the outcome. The same `idempotencyKey`
     * again answers with the same purchase (CONFLICT if the arguments differ).
     *
     * `tokens:purchase`: a mutation; who may call it: member.
     */
    purchase: FunctionReference<
      "mutation",
      "public",
      {
        tokenId: Id<"entities">;
        amount: number;
        paymentMethodId?: string | null;
        idempotencyKey?: string | null;
        usdAmount?: number | null;
      },
      {
        purchaseId: Id<"entities">;
        status: string;
      }
    >;
    /**
     * Give tokens to another entity of the organization: the caller's `holds_tokens` balance goes down
     * and the recipient's up, in one transaction (INSUFFICIENT_TOKENS when the caller holds fewer).
     * Purchased tokens sit in the platform's custody on chain, so a transfer moves ledger balances.
     *
     * `tokens:transfer`: a mutation; who may call it: member.
     */
    transfer: FunctionReference<
      "mutation",
      "public",
      {
        tokenId: Id<"entities">;
        toEntityId: Id<"entities">;
        amount: number;
      },
      {
        tokenId: Id<"entities">;
        fromBalance: number;
        toBalance: number;
      }
    >;
    /**
     * Change a token's description, image or price (the organization's staff; its contract, supply and
     * symbol stay what they were deployed with); `content_changed` is logged.
     *
     * `tokens:update`: a mutation; who may call it: org_user.
     */
    update: FunctionReference<
      "mutation",
      "public",
      {
        id: Id<"entities">;
        description?: string | null;
        image?: string | null;
        priceUsd?: number | null;
      },
      {
        success: boolean;
      }
    >;
  };
};

/**
 * The platform's internal functions (schedules, crons, the token purchase's saga): only the
 * platform calls them; no client reaches them, and `api` does not name them.
 */
export type InternalApiType = {
  analytics: {
    /**
     * One page of the organization's events with start ≤ timestamp < end.
     *
     * `analytics:events_page`: a query; who may call it: internal.
     */
    events_page: FunctionReference<
      "query",
      "internal",
      {
        start: number;
        end: number;
        cursor?: string | null;
      },
      any
    >;
    /**
     * Mondays: per organization, a `report` entity with the past week's event counts by type, new
     * followers and revenue (the sum of `revenue_generated` amounts); logs `report_generated`. One
     * report per organization per week, however often the week runs. The run schedules one
     * `analytics:report_organization` job per organization, a page of them at a time (`fanout:page`).
     *
     * `analytics:generate_weekly_report`: an action; who may call it: internal.
     */
    generate_weekly_report: FunctionReference<
      "action",
      "internal",
      {
        time?: string | null;
      },
      any
    >;
    /**
     * The weekly report of one organization: its week's events a page at a time (a piece whose budget
     * is spent continues in a job of its own, with the counts so far), then the report, once per week.
     *
     * `analytics:report_organization`: an action; who may call it: internal.
     */
    report_organization: FunctionReference<
      "action",
      "internal",
      {
        organizationIds: Array<Id<"organizations">>;
        window: string;
        time: string;
        cursor?: string | null;
        carry?: Record<string, any> | null;
        attempt?: number;
        part?: number | bigint;
      },
      any
    >;
    /**
     * `analytics:save_report`.
     *
     * `analytics:save_report`: a mutation; who may call it: internal.
     */
    save_report: FunctionReference<
      "mutation",
      "internal",
      {
        window: string;
        start: number;
        end: number;
        eventCounts: Record<string, number | bigint>;
        newFollowers: number | bigint;
        revenue: number;
        extra?: Record<string, any> | null;
      },
      any
    >;
  };
  auth: {
    /**
     * Hourly: delete every session and verification token that has expired (idempotent: a second run
     * finds nothing left to delete); a run out of time continues in a job of its own, once.
     *
     * `auth:cleanup_expired_tokens`: an action; who may call it: internal.
     */
    cleanup_expired_tokens: FunctionReference<
      "action",
      "internal",
      {
        time?: string | null;
        part?: number;
      },
      any
    >;
    /**
     * Delete up to one batch of documents of `table` that expired before `before`.
     *
     * `auth:delete_expired_batch`: a mutation; who may call it: internal.
     */
    delete_expired_batch: FunctionReference<
      "mutation",
      "internal",
      {
        table: "sessions" | "verificationTokens";
        before: number;
      },
      any
    >;
    /**
     * Send one email through the email provider (Resend; the file outbox in the local stack).
     * Scheduled by the mutation that decided to send it.
     *
     * `auth:send_email`: an action; who may call it: internal.
     */
    send_email: FunctionReference<
      "action",
      "internal",
      {
        to: string;
        subject: string;
        text: string;
        html: string;
      },
      any
    >;
  };
  billing: {
    /**
     * The monthly billing of one organization: its active subscriptions a page at a time (the month's
     * invoice made and charged), then what earlier months left unpaid; a piece out of time continues
     * in a job of its own.
     *
     * `billing:bill_organization`: an action; who may call it: internal.
     */
    bill_organization: FunctionReference<
      "action",
      "internal",
      {
        organizationIds: Array<Id<"organizations">>;
        window: string;
        time: string;
        cursor?: string | null;
        carry?: Record<string, any> | null;
        attempt?: number;
        part?: number | bigint;
      },
      any
    >;
    /**
     * A page of the active subscriptions, or of the invoices still unpaid (`draft`) with the active
     * subscription of each (`active`: subscription id → document).
     *
     * `billing:billable`: a query; who may call it: internal.
     */
    billable: FunctionReference<
      "query",
      "internal",
      {
        kind: "subscriptions" | "unpaid";
        cursor?: string | null;
      },
      any
    >;
    /**
     * This month's invoice of a subscription, created with the month's record the first time.
     *
     * `billing:ensure_invoice`: a mutation; who may call it: internal.
     */
    ensure_invoice: FunctionReference<
      "mutation",
      "internal",
      {
        subscriptionId: Id<"entities">;
        window: string;
      },
      any
    >;
    /**
     * The 1st of the month: for each active subscription, this month's `invoice` entity and a charge
     * through the payments port; logs `payment_processed` and `subscription_updated`. A failure is
     * recorded and retried on the next run; nothing is ever charged twice. The run schedules one
     * `billing:bill_organization` job per organization, a page of them at a time (`fanout:page`).
     *
     * `billing:process_monthly_billing`: an action; who may call it: internal.
     */
    process_monthly_billing: FunctionReference<
      "action",
      "internal",
      {
        time?: string | null;
      },
      any
    >;
    /**
     * Record the PaymentIntent about to be confirmed (before confirming it); False when another run
     * already moved the invoice on.
     *
     * `billing:record_attempt`: a mutation; who may call it: internal.
     */
    record_attempt: FunctionReference<
      "mutation",
      "internal",
      {
        invoiceId: Id<"entities">;
        paymentIntentId: string;
        attempts: number | bigint;
      },
      any
    >;
    /**
     * Mark the invoice paid or failed, and log payment_processed and subscription_updated.
     *
     * `billing:record_outcome`: a mutation; who may call it: internal.
     */
    record_outcome: FunctionReference<
      "mutation",
      "internal",
      {
        invoiceId: Id<"entities">;
        paid: boolean;
        reason?: string | null;
      },
      any
    >;
  };
  clones: {
    /**
     * One content item into the clone's knowledge: the `knowledge_item` entity, clone → item
     * `trained_on`, the chunks (owned by the clone). Once per item: again, it answers the same item.
     *
     * `clones:add_knowledge_item`: a mutation; who may call it: internal.
     */
    add_knowledge_item: FunctionReference<
      "mutation",
      "internal",
      {
        cloneId: Id<"entities">;
        contentId: Id<"entities">;
        title: string;
        chunks: Array<Record<string, any>>;
      },
      any
    >;
    /**
     * The clone's appearance_cloned events' metadata, latest first (NOT_FOUND: no such clone).
     *
     * `clones:appearances_of`: a query; who may call it: internal.
     */
    appearances_of: FunctionReference<
      "query",
      "internal",
      {
        cloneId: Id<"entities">;
      },
      any
    >;
    /**
     * The clone, and the conversation's last messages (NOT_FOUND: no such clone or conversation of
     * this participant with this clone); `replay`: the turn already recorded under the idempotency
     * key.
     *
     * `clones:chat_context`: a query; who may call it: internal.
     */
    chat_context: FunctionReference<
      "query",
      "internal",
      {
        cloneId: Id<"entities">;
        conversationId?: Id<"entities"> | null;
        participantId: Id<"entities">;
        idempotencyKey?: string | null;
      },
      any
    >;
    /**
     * The creator's clone and its voice_cloned events (NOT_FOUND: no creator, or no clone yet).
     *
     * `clones:clone_of`: a query; who may call it: internal.
     */
    clone_of: FunctionReference<
      "query",
      "internal",
      {
        creatorId: Id<"entities">;
      },
      any
    >;
    /**
     * The clone's knowledge size and training date, `status:active`, and its agent (`powers`).
     *
     * `clones:finish_training`: a mutation; who may call it: internal.
     */
    finish_training: FunctionReference<
      "mutation",
      "internal",
      {
        cloneId: Id<"entities">;
        agentId?: Id<"entities"> | null;
      },
      any
    >;
    /**
     * `clones:record_appearance`.
     *
     * `clones:record_appearance`: a mutation; who may call it: internal.
     */
    record_appearance: FunctionReference<
      "mutation",
      "internal",
      {
        cloneId: Id<"entities">;
        appearanceId: string;
        provider: string;
        imageStorageId: string;
      },
      any
    >;
    /**
     * The message and the reply (and the conversation, on first use), the interaction, the count: one
     * transaction, so a chat is recorded whole or not at all (a turn already recorded under the
     * idempotency key is answered, `replayed`, and nothing is written).
     *
     * `clones:record_exchange`: a mutation; who may call it: internal.
     */
    record_exchange: FunctionReference<
      "mutation",
      "internal",
      {
        cloneId: Id<"entities">;
        participantId: Id<"entities">;
        conversationId?: Id<"entities"> | null;
        message: string;
        reply: string;
        model?: string;
        sources?: Array<{
          knowledgeItemId: Id<"entities">;
          contentId?: Id<"entities"> | null;
          title?: string | null;
          text: string;
          score: number;
        }>;
        idempotencyKey?: string | null;
      },
      any
    >;
    /**
     * The rendered speech as a `media_asset` the clone `owns`, with `content_uploaded`.
     *
     * `clones:record_speech`: a mutation; who may call it: internal.
     */
    record_speech: FunctionReference<
      "mutation",
      "internal",
      {
        cloneId: Id<"entities">;
        storageId: string;
        fileType: string;
        fileSize: number | bigint;
        text: string;
      },
      any
    >;
    /**
     * `clones:record_voice`.
     *
     * `clones:record_voice`: a mutation; who may call it: internal.
     */
    record_voice: FunctionReference<
      "mutation",
      "internal",
      {
        cloneId: Id<"entities">;
        voiceId: string;
        samples: string;
      },
      any
    >;
    /**
     * Train the clone on what is new: each content item a knowledge item with its chunks (embedded,
     * one transaction per item), then the clone's knowledge size, date, status and agent.
     *
     * `clones:train`: an action; who may call it: internal.
     */
    train: FunctionReference<
      "action",
      "internal",
      {
        cloneId: Id<"entities">;
        agentId?: Id<"entities"> | null;
      },
      any
    >;
    /**
     * The clone, and the creator's authored content it is not trained on yet (at most ITEMS_PER_RUN).
     *
     * `clones:training_plan`: a query; who may call it: internal.
     */
    training_plan: FunctionReference<
      "query",
      "internal",
      {
        cloneId: Id<"entities">;
        agentId?: Id<"entities"> | null;
      },
      any
    >;
    /**
     * `clones:voice_of`.
     *
     * `clones:voice_of`: a query; who may call it: internal.
     */
    voice_of: FunctionReference<
      "query",
      "internal",
      {
        cloneId: Id<"entities">;
      },
      any
    >;
  };
  content: {
    /**
     * A page of the organization's active creators, with the `ai_clone` of each that owns one.
     *
     * `content:creators_with_clones`: a query; who may call it: internal.
     */
    creators_with_clones: FunctionReference<
      "query",
      "internal",
      {
        cursor?: string | null;
      },
      any
    >;
    /**
     * Daily: for each active creator with an AI clone, a draft generated through the AI provider,
     * connected (`generated_by` the clone, `authored` by the creator), logged
     * `clone_generated_content`. Once per clone per day, however often the day runs. The run schedules
     * one `content:generate_for_organization` job per organization, a page of them at a time
     * (`fanout:page`).
     *
     * `content:generate_daily_content`: an action; who may call it: internal.
     */
    generate_daily_content: FunctionReference<
      "action",
      "internal",
      {
        time?: string | null;
      },
      any
    >;
    /**
     * The daily content of one organization, a page of creators at a time; a piece whose budget is
     * spent continues in a job of its own. Each clone's draft once per window.
     *
     * `content:generate_for_organization`: an action; who may call it: internal.
     */
    generate_for_organization: FunctionReference<
      "action",
      "internal",
      {
        organizationIds: Array<Id<"organizations">>;
        window: string;
        time: string;
        cursor?: string | null;
        carry?: Record<string, any> | null;
        attempt?: number;
        part?: number | bigint;
      },
      any
    >;
    /**
     * The draft, its connections and its event, with the window's record, in one transaction; None
     * when this clone's draft for the window already exists.
     *
     * `content:save_draft`: a mutation; who may call it: internal.
     */
    save_draft: FunctionReference<
      "mutation",
      "internal",
      {
        creatorId: Id<"entities">;
        cloneId: Id<"entities">;
        window: string;
        title: string;
        body: string;
        model: string;
      },
      any
    >;
  };
  courses: {
    /**
     * The generation failed at `step`: the course stays `draft`, its generation `failed` with the
     * reason (unless the step was done meanwhile).
     *
     * `courses:fail_generation`: a mutation; who may call it: internal.
     */
    fail_generation: FunctionReference<
      "mutation",
      "internal",
      {
        courseId: Id<"entities">;
        step: number;
        reason: string;
      },
      any
    >;
    /**
     * A publishing step: PUBLISH_BATCH lessons and their content `published`; the last step the course
     * itself, with `course_created` and the `skill`, `industry`, `audience` and `format` tags (so the
     * course is `draft` until everything it holds is published).
     *
     * `courses:publish`: a mutation; who may call it: internal.
     */
    publish: FunctionReference<
      "mutation",
      "internal",
      {
        courseId: Id<"entities">;
        step: number;
      },
      any
    >;
    /**
     * One lesson, whole: the `lesson`, course → lesson `part_of`, its video, text and quiz with lesson
     * → content `part_of`, `clone_generated_content`; then the next step.
     *
     * `courses:save_lesson`: a mutation; who may call it: internal.
     */
    save_lesson: FunctionReference<
      "mutation",
      "internal",
      {
        courseId: Id<"entities">;
        step: number;
        content: Record<string, any>;
      },
      any
    >;
    /**
     * The outline on the course (its title, description, duration), and the first lesson's step.
     *
     * `courses:save_outline`: a mutation; who may call it: internal.
     */
    save_outline: FunctionReference<
      "mutation",
      "internal",
      {
        courseId: Id<"entities">;
        outline: Record<string, any>;
      },
      any
    >;
    /**
     * What the step needs: `todo` false when it is done already (or the generation is not running),
     * else the course's generation, the clone's prompt and temperature.
     *
     * `courses:step_plan`: a query; who may call it: internal.
     */
    step_plan: FunctionReference<
      "query",
      "internal",
      {
        courseId: Id<"entities">;
        step: number;
      },
      any
    >;
    /**
     * One per running generation, every 15 minutes (STEP_DEADLINE_S): a generation still at the step
     * it was at the last look (its action died where no error could be caught) is failed, so no course
     * is left writing forever; one that has moved on is looked at again later.
     *
     * `courses:watchdog`: a mutation; who may call it: internal.
     */
    watchdog: FunctionReference<
      "mutation",
      "internal",
      {
        courseId: Id<"entities">;
        step: number;
        attempt?: number | bigint | null;
      },
      any
    >;
    /**
     * One step of a generation: step 0 the outline, step i ≤ lessons the i-th lesson, the steps after
     * publish PUBLISH_BATCH lessons each, and the last the course. A step done already (delivered
     * again) does nothing; a failure marks the course failed.
     *
     * `courses:write_step`: an action; who may call it: internal.
     */
    write_step: FunctionReference<
      "action",
      "internal",
      {
        courseId: Id<"entities">;
        step: number;
      },
      any
    >;
  };
  fanout: {
    /**
     * One page of a cron's organizations: a job of its worker for each (or each group) not yet
     * scheduled in the run's window, and the next page as a job of its own; once per page, however
     * often it is delivered.
     *
     * `fanout:page`: a mutation; who may call it: internal.
     */
    page: FunctionReference<
      "mutation",
      "internal",
      {
        cron: string;
        worker: string;
        window: string;
        time: string;
        cursor?: string | null;
        group?: number;
      },
      any
    >;
  };
  knowledge: {
    /**
     * The knowledge documents of these ids (of the caller's organization), without their vectors.
     *
     * `knowledge:chunks_by_id`: a query; who may call it: internal.
     */
    chunks_by_id: FunctionReference<
      "query",
      "internal",
      {
        ids: Array<string>;
      },
      any
    >;
    /**
     * Whether the source is a document of the caller's organization.
     *
     * `knowledge:source_exists`: a query; who may call it: internal.
     */
    source_exists: FunctionReference<
      "query",
      "internal",
      {
        sourceId: Id<TableNames>;
      },
      any
    >;
    /**
     * Insert the chunks the source does not hold yet (by content), in one transaction.
     *
     * `knowledge:store_chunks`: a mutation; who may call it: internal.
     */
    store_chunks: FunctionReference<
      "mutation",
      "internal",
      {
        sourceId: Id<TableNames>;
        labels?: Record<string, any>;
        chunks: Array<{
          text: string;
          chunkIndex: number;
          contentHash: string;
          embedding: Array<number>;
        }>;
      },
      any
    >;
  };
  livestreams: {
    /**
     * The co-host's answer to a viewer's question, grounded on the clone's knowledge, posted once.
     *
     * `livestreams:cohost_reply`: an action; who may call it: internal.
     */
    cohost_reply: FunctionReference<
      "action",
      "internal",
      {
        livestreamId: Id<"entities">;
        messageId: Id<"entities">;
      },
      any
    >;
    /**
     * The co-host's reply in the chat, once per question (a unique rule on the clone's reply key).
     *
     * `livestreams:post_reply`: a mutation; who may call it: internal.
     */
    post_reply: FunctionReference<
      "mutation",
      "internal",
      {
        livestreamId: Id<"entities">;
        messageId: Id<"entities">;
        text: string;
        sourceIds?: Array<Id<"entities">>;
      },
      any
    >;
    /**
     * What the co-host needs to answer `messageId`: `todo` false when it has answered already (or the
     * stream is no longer live), else the clone's prompt and the chat's last messages.
     *
     * `livestreams:reply_context`: a query; who may call it: internal.
     */
    reply_context: FunctionReference<
      "query",
      "internal",
      {
        livestreamId: Id<"entities">;
        messageId: Id<"entities">;
      },
      any
    >;
  };
  organizations: {
    /**
     * Carry a member's membership as it is now onto their sessions that act in the organization: its
     * role, or (removed) no active organization at all, so the very next call is refused. Idempotent;
     * answers how many sessions changed.
     *
     * `organizations:sweep_member_sessions`: an action; who may call it: internal.
     */
    sweep_member_sessions: FunctionReference<
      "action",
      "internal",
      {
        organizationId: Id<"organizations">;
        userId: Id<"users">;
      },
      any
    >;
  };
  purchases: {
    /**
     * Saga step (waitForTaskToken): the card asked for 3-D Secure; record the execution's task token
     * on the purchase, which waits (no Lambda running) until Stripe's webhook resumes or fails it.
     *
     * `purchases:await_authentication`: an action; who may call it: internal.
     */
    await_authentication: FunctionReference<
      "action",
      "internal",
      {
        purchaseId: Id<"entities">;
        taskToken: string;
      },
      any
    >;
    /**
     * Compensation: burn the minted tokens, if any were minted.
     *
     * `purchases:burn`: an action; who may call it: internal.
     */
    burn: FunctionReference<
      "action",
      "internal",
      {
        purchaseId: Id<"entities">;
      },
      any
    >;
    /**
     * Saga step: capture the authorized charge.
     *
     * `purchases:capture`: an action; who may call it: internal.
     */
    capture: FunctionReference<
      "action",
      "internal",
      {
        purchaseId: Id<"entities">;
      },
      any
    >;
    /**
     * Saga step: authorize the card (a manual-capture Stripe PaymentIntent).
     *
     * `purchases:charge`: an action; who may call it: internal.
     */
    charge: FunctionReference<
      "action",
      "internal",
      {
        purchaseId: Id<"entities">;
      },
      any
    >;
    /**
     * Compensation, last: mark the purchase failed (or refunded) once nothing is held any more.
     *
     * `purchases:finalise`: a mutation; who may call it: internal.
     */
    finalise: FunctionReference<
      "mutation",
      "internal",
      {
        purchaseId: Id<"entities">;
        error?:
          | {
              Error: string;
              Cause?: string | null;
            }
          | null;
      },
      any
    >;
    /**
     * Saga step: mint the purchased tokens (a signed transaction, recorded before it is sent).
     *
     * `purchases:mint`: an action; who may call it: internal.
     */
    mint: FunctionReference<
      "action",
      "internal",
      {
        purchaseId: Id<"entities">;
      },
      any
    >;
    /**
     * Every five minutes: purchases still pending after the saga's timeout (a timed-out or stopped
     * execution, an execution that never started, a compensation that could not finish) are driven to
     * completed, failed or refunded. The run schedules one `purchases:reconcile_organizations` job per
     * group of organizations, a page of them at a time (`fanout:page`).
     *
     * `purchases:reconcile`: an action; who may call it: internal.
     */
    reconcile: FunctionReference<
      "action",
      "internal",
      {
        time?: string | null;
      },
      any
    >;
    /**
     * The stale purchases of a group of organizations, driven within the job's budget; what is left
     * (`later`) the next run takes. One purchase failing leaves the others to go on.
     *
     * `purchases:reconcile_organizations`: an action; who may call it: internal.
     */
    reconcile_organizations: FunctionReference<
      "action",
      "internal",
      {
        organizationIds: Array<Id<"organizations">>;
        window: string;
        time: string;
        cursor?: string | null;
        carry?: Record<string, any> | null;
        attempt?: number;
        part?: number | bigint;
      },
      any
    >;
    /**
     * Saga step: record the purchase in one transaction (balance added to, three events).
     *
     * `purchases:record`: a mutation; who may call it: internal.
     */
    record: FunctionReference<
      "mutation",
      "internal",
      {
        purchaseId: Id<"entities">;
      },
      any
    >;
    /**
     * Compensation: void the authorization or refund the charge, if there is one.
     *
     * `purchases:refund`: an action; who may call it: internal.
     */
    refund: FunctionReference<
      "action",
      "internal",
      {
        purchaseId: Id<"entities">;
      },
      any
    >;
  };
  tokens: {
    /**
     * Start a new purchase's saga (scheduled by `tokens:purchase` in the purchase's own transaction).
     * Starting it twice is answered with the same execution; a purchase whose saga never starts is
     * settled by `purchases:reconcile`.
     *
     * `tokens:start_purchase`: an action; who may call it: internal.
     */
    start_purchase: FunctionReference<
      "action",
      "internal",
      {
        purchaseId: Id<"entities">;
      },
      any
    >;
  };
};

/**
 * A utility for referencing Convex functions in your app's public API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
export declare const api: PublicApiType;

/**
 * A utility for referencing Convex functions in your app's internal API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = internal.myModule.myFunction;
 * ```
 */
export declare const internal: InternalApiType;
