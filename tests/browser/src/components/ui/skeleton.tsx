// A minimal stand-in for shadcn/ui's Skeleton: a placeholder block while data loads.
import type { HTMLAttributes } from "react";

export function Skeleton({ className, ...props }: HTMLAttributes<HTMLDivElement>) {
  return <div className={["skeleton", className].filter(Boolean).join(" ")} aria-busy="true" {...props} />;
}
