// An internal function (the purchase saga's start) is not in `api`, by either of its names, and its
// reference in `internal` is refused by the client.
import { ConvexHttpClient } from "convex/browser";
import { api, internal } from "@/convex/_generated/api";
import type { Id } from "@/convex/_generated/dataModel";

export async function start(client: ConvexHttpClient, purchaseId: Id<"entities">) {
  await client.action(api.tokens.start_purchase, { purchaseId }); // error TS2339
  await client.action(api.tokens.startPurchase, { purchaseId }); // error TS2339
  await client.action(internal.tokens.start_purchase, { purchaseId }); // error TS2345
}
