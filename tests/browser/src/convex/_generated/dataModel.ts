// Stand-in for Convex's generated data model types until the platform generates them.
import type { GenericId } from "convex/values";

export type TableNames = "entities" | "connections" | "events" | "knowledge" | "tags";
export type Id<TableName extends TableNames | string> = GenericId<TableName>;
