// Minimal stand-ins for shadcn/ui's Card parts.
import type { HTMLAttributes } from "react";

type Props = HTMLAttributes<HTMLDivElement>;
const cx = (...names: (string | undefined)[]) => names.filter(Boolean).join(" ");

export function Card({ className, ...props }: Props) {
  return <div className={cx("card", className)} {...props} />;
}

export function CardHeader({ className, ...props }: Props) {
  return <div className={cx("card-header", className)} {...props} />;
}

export function CardTitle({ className, ...props }: HTMLAttributes<HTMLHeadingElement>) {
  return <h3 className={cx("card-title", className)} {...props} />;
}

export function CardContent({ className, ...props }: Props) {
  return <div className={cx("card-content", className)} {...props} />;
}
