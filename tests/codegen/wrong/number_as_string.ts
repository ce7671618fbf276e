// A number used as a string: a creator's name is a string, a token's price a number.
import { ConvexHttpClient } from "convex/browser";
import { api } from "@/convex/_generated/api";
import type { Id } from "@/convex/_generated/dataModel";

export async function shout(client: ConvexHttpClient, id: Id<"entities">) {
  await client.mutation(api.creators.create, { email: "ada@example.com", name: 42, niche: [] }); // error TS2322
  const token = await client.query(api.tokens.get, { id });
  return token?.properties.priceUsd.toUpperCase(); // error TS2339
}
