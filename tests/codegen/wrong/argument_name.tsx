// A wrong argument name: tokens:get takes `id`, not `tokenId`.
import { useQuery } from "convex/react";
import { api } from "@/convex/_generated/api";
import type { Id } from "@/convex/_generated/dataModel";

export function TokenName({ tokenId }: { tokenId: Id<"entities"> }) {
  const token = useQuery(api.tokens.get, { tokenId }); // error TS2353
  return <p>{token?.name}</p>;
}
