// Stand-in for Convex's generated `api` until the platform generates it: `anyApi` names any
// function (`api.tokens.get` is "tokens:get"), untyped.
import { anyApi } from "convex/server";

export const api = anyApi;
export const internal = anyApi;
