// What else a frontend does with the generated files, all of which type-checks: a paginated list,
// a query without arguments, the reference's own names beside the platform's, the data model's
// types, a nullable argument, and the function names Convex's clients send.
import { useAction, usePaginatedQuery, useQuery } from "convex/react";
import { ConvexHttpClient } from "convex/browser";
import { getFunctionName } from "convex/server";
import { api } from "@/convex/_generated/api";
import type { Doc, Entity, EntityType, Id, TableNames } from "@/convex/_generated/dataModel";

export function Creators() {
  const { results, status, loadMore } = usePaginatedQuery(api.creators.listPaginated, {}, { initialNumItems: 10 });
  const members = useQuery(api.organizations.list_members);
  const creators = results;
  const first: Entity<"creator"> | undefined = results[0];
  return (
    <ul title={first?.name} data-status={status} data-members={members === undefined ? "…" : "loaded"} onClick={() => loadMore(10)}>
      {creators.map((c) => (
        <li key={c._id}>
          {c.properties.displayName} ({c.properties.niche.join(", ")}), {c.contentCount ?? 0} pieces
        </li>
      ))}
    </ul>
  );
}

export function Chat({ cloneId }: { cloneId: Id<"entities"> }) {
  const chat = useAction(api.clones.chat);
  const send = async () => {
    const turn = await chat({ cloneId, message: "Hello", conversationId: null });
    const reply: string = turn.reply;
    const conversation: Id<"entities"> = turn.conversationId;
    return [reply, conversation, turn.sources.map((s) => s.score.toFixed(2))];
  };
  return <button onClick={send}>Ask</button>;
}

export async function holdings(client: ConvexHttpClient, userId: Id<"entities">) {
  const held = await client.query(api.tokens.getUserTokenHoldings, { userId });
  const same = await client.query(api.tokens.get_user_holdings, { userId });
  const withContent = await client.query(api.creators.getCreatorWithContent, { creatorId: userId });
  const names: string[] = held.map((h) => `${h.token.properties.symbol ?? h.token.name}: ${h.balance}`);
  const followers: number | undefined = withContent?.followerCount;
  const purchase = await client.query(api.tokens.getPurchase, { purchaseId: userId });
  const cents: number | undefined = purchase?.usdCents;
  return { names, same, followers, cents };
}

export function kinds(doc: Doc<"entities">, table: TableNames): string {
  const kind: EntityType = doc.type;
  if (doc.type === "token") {
    return `${table} ${kind} ${doc.properties.priceUsd.toFixed(2)} on ${doc.properties.blockchain}`;
  }
  return getFunctionName(api.tokens.getBalance); // "tokens:getBalance"
}
