// Minimal stand-ins for shadcn/ui's Alert (role="alert", as shadcn's has) and AlertDescription.
import type { HTMLAttributes } from "react";

type Props = HTMLAttributes<HTMLDivElement> & { variant?: "default" | "destructive" };

export function Alert({ className, variant = "default", ...props }: Props) {
  return <div role="alert" className={["alert", `alert-${variant}`, className].filter(Boolean).join(" ")} {...props} />;
}

export function AlertDescription({ className, ...props }: HTMLAttributes<HTMLDivElement>) {
  return <div className={["alert-description", className].filter(Boolean).join(" ")} {...props} />;
}
