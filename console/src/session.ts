/** The steward's API key and name, kept for this browser tab only (sessionStorage): a key
 * left in localStorage would outlive the session on a shared machine. GraphiQL, served from
 * the same origin, reads the same key. */

const KEY = "identity.apiKey";
const ACTOR = "identity.actor";

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

/** Signs in with `key`, or out with null. The name actions were recorded under belongs to
 * whoever held the last key: it goes with it, so the next steward is not recorded as them. */
export function setApiKey(key: string | null): void {
  if (key !== apiKey()) sessionStorage.removeItem(ACTOR);
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** The name steward actions are recorded under (after the key's own id, server side). */
export function actorName(): string | null {
  return sessionStorage.getItem(ACTOR);
}

export function setActorName(name: string): void {
  sessionStorage.setItem(ACTOR, name);
}

export function authorization(key: string | null = apiKey()): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}
