// A result's field read as the wrong type: a balance is a number, a token's chain one of three.
import { ConvexHttpClient } from "convex/browser";
import { api } from "@/convex/_generated/api";
import type { Id } from "@/convex/_generated/dataModel";

export async function show(client: ConvexHttpClient, tokenId: Id<"entities">) {
  const balance = await client.query(api.tokens.getBalance, { tokenId });
  const shown: string = balance.amount; // error TS2322
  const token = await client.query(api.tokens.get, { id: tokenId });
  const onEthereum = token?.properties.blockchain === "ethereum"; // error TS2367
  return [shown, onEthereum];
}
