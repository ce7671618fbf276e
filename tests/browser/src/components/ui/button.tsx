// A minimal stand-in for shadcn/ui's Button: a native button with the same props.
import type { ButtonHTMLAttributes } from "react";

export function Button({ className, ...props }: ButtonHTMLAttributes<HTMLButtonElement>) {
  return <button className={["btn", className].filter(Boolean).join(" ")} {...props} />;
}
