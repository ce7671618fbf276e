// A function the platform does not have.
import { ConvexHttpClient } from "convex/browser";
import { api } from "@/convex/_generated/api";
import type { Id } from "@/convex/_generated/dataModel";

export async function price(client: ConvexHttpClient, id: Id<"entities">) {
  return await client.query(api.tokens.getPrice, { id }); // error TS2339
}
