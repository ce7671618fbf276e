// Optional is not nullable: tokens:create's `totalSupply` may be left out, never null (its
// `description` may be either); an id is not any string.
import { ConvexHttpClient } from "convex/browser";
import { api } from "@/convex/_generated/api";

export async function launch(client: ConvexHttpClient, creatorId: string) {
  return await client.action(api.tokens.create, {
    creatorId, // error TS2322
    name: "Ada Coin",
    symbol: "ADA",
    priceUsd: 0.5,
    description: null,
    totalSupply: null, // error TS2322
  });
}
