/** How values read on screen, in one place. */

import type { IdentifierRef } from "./api/queries";

/** The identifier kinds the service knows by name (besides external:<system>): what the
 * kind fields offer. */
export const BUILT_IN_KINDS = [
  "email", "phone", "customer_id", "anonymous_id", "device_id", "session_id", "order_id",
] as const;

/** "email:ann@northwind.org": an identifier as one string (the kind has no colon except
 * external:<system>, whose value follows the second colon). */
export function refText(ref: IdentifierRef): string {
  return `${ref.kind}:${ref.value}`;
}

export function parseRef(text: string): IdentifierRef | null {
  const trimmed = text.trim();
  const external = /^(external:[^:]+):(.+)$/.exec(trimmed);
  if (external) return { kind: external[1]!, value: external[2]! };
  const at = trimmed.indexOf(":");
  if (at <= 0 || at === trimmed.length - 1) return null;
  return { kind: trimmed.slice(0, at), value: trimmed.slice(at + 1) };
}

/** A date and time in the reader's zone, to the minute: "2026-12-05 14:03". */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function percent(probability: number | null | undefined): string {
  if (probability == null) return "—";
  if (probability >= 0.9995 && probability < 1) return ">99.9%";
  return `${(probability * 100).toFixed(1)}%`;
}

export function signed(weight: number): string {
  return `${weight >= 0 ? "+" : ""}${weight.toFixed(2)}`;
}

/** The golden name of a profile: first and last name, or "(no name)". */
export function displayName(golden: { name: string; value: string }[]): string {
  const field = (name: string) => golden.find((g) => g.name === name)?.value ?? "";
  return [field("first_name"), field("last_name")].filter(Boolean).join(" ") || "(no name)";
}

export function identifierCount(groups: { identifiers: unknown[] }[]): number {
  return groups.reduce((sum, group) => sum + group.identifiers.length, 0);
}

/** Text the console did not get from the server (an address typed or pasted), fit to echo
 * back: control and invisible formatting characters (bidi overrides) shown as "�", cut to
 * `max`. */
export function echoed(text: string, max = 80): string {
  return short(text.replace(/[\p{Cc}\p{Cf}]/gu, "\uFFFD"), max);
}

/** Cuts a long value for a label; the full value stays in the title and the tables. */
export function short(text: string, max = 28): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
