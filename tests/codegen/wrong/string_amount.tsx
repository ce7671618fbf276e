// A string where a number goes: tokens:purchase's `amount` is a number of tokens.
import { useMutation } from "convex/react";
import { api } from "@/convex/_generated/api";
import type { Id } from "@/convex/_generated/dataModel";

export function BuyButton({ tokenId }: { tokenId: Id<"entities"> }) {
  const purchase = useMutation(api.tokens.purchase);
  const buy = () => purchase({ tokenId, amount: "100" }); // error TS2322
  return <button onClick={buy}>Buy</button>;
}
