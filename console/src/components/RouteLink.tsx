import type { MouseEvent, ReactNode } from "react";
import { go, href, type Route } from "../routing";

/** A link to a console page; a plain click goes there with the route's whole state (what
 * was searched or compared), which the address does not carry. */
interface Props {
  route: Route;
  children: ReactNode;
  className?: string;
  label?: string;
  current?: boolean;
}

export function RouteLink({ route, children, className, label, current }: Props) {
  function follow(event: MouseEvent<HTMLAnchorElement>) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(route);
  }
  return <a href={href(route)} onClick={follow} className={className} aria-label={label}
    aria-current={current ? "page" : undefined}>{children}</a>;
}
