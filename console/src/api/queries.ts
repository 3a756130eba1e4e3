/** The GraphQL documents the console sends, and the shapes of their answers. Every one is
 * a public operation of the API (GraphiQL documents them); none needs more than the scope
 * the console shows it for. */

export interface IdentifierRef {
  kind: string;
  value: string;
}

export interface FieldComparison {
  field: string;
  left: string | null;
  right: string | null;
  level: string;
  weight: number;
  bucket: string;
}

export interface MatchScore {
  fields: FieldComparison[];
  weight: number;
  probability: number;
  decision: string;
  vetoedBy: string | null;
}

export interface Link {
  a: IdentifierRef;
  b: IdentifierRef;
  rule: string;
  isActive: boolean;
  inactiveReason: string | null;
  score: number | null;
  sources: string[];
  firstSeen: string;
  lastSeen: string;
  eventCount: number;
  comparison: MatchScore | null;
}

export interface IdentifierNode extends IdentifierRef {
  firstSeen: string;
  lastSeen: string;
  hubReason: string | null;
}

export interface GoldenField {
  name: string;
  value: string;
  source: string;
  observedAt: string;
  eventId: string;
  support: number;
}

export interface ConsentDecision {
  purpose: string;
  granted: boolean;
  source: string;
  at: string;
  eventId: string;
}

export interface Profile {
  id: string;
  requestedId: string;
  mergedIds: string[];
  createdAt: string;
  firstSeen: string;
  lastSeen: string;
  updatedAt: string | null;
  version: number;
  orderCount: number;
  totalSpend: { currency: string; amount: string }[];
  unknownValueOrderCount: number;
  limitsReached: { kind: string; limit: number }[];
  identifiers: { kind: string; identifiers: IdentifierNode[] }[];
  golden: GoldenField[];
  consent: ConsentDecision[];
}

export interface Viewer {
  subject: string;
  scopes: string[];
  development: boolean;
}

const SCORE = `fields { field left right level weight bucket } weight probability decision vetoedBy`;
const LINK = `a { kind value } b { kind value } rule isActive inactiveReason score sources
  firstSeen lastSeen eventCount comparison { ${SCORE} }`;
const PROFILE = `id requestedId mergedIds createdAt firstSeen lastSeen updatedAt version orderCount
  totalSpend { currency amount } unknownValueOrderCount limitsReached { kind limit }
  identifiers { kind identifiers { kind value firstSeen lastSeen hubReason } }
  golden { name value source observedAt eventId support }
  consent { purpose granted source at eventId }`;

export const VIEWER = `query Viewer { viewer { subject scopes development } }`;

export interface SearchResult {
  profileId: string;
  score: number;
  matches: { field: string; value: string; how: string }[];
  profile: {
    id: string;
    lastSeen: string;
    updatedAt: string | null;
    version: number;
    golden: { name: string; value: string }[];
    identifiers: { kind: string; identifiers: { value: string }[] }[];
  } | null;
}

export interface SearchPage {
  items: SearchResult[];
  endCursor: string | null;
  total: number;
  notes: string[];
  skippedBlocks: { key: string; size: number }[];
}

export const SEARCH = `query Search($query: String!, $by: SearchBy!, $kind: String, $after: String) {
  search(query: $query, by: $by, kind: $kind, first: 20, after: $after) {
    total endCursor notes skippedBlocks { key size }
    items {
      profileId score matches { field value how }
      profile { id lastSeen updatedAt version golden { name value } identifiers { kind identifiers { value } } }
    }
  }
}`;

export interface ProfileGraph {
  profile: Profile | null;
  explainProfile: { steps: Link[]; blocked: Link[] } | null;
}

export const PROFILE_PAGE = `query ProfilePage($id: ID!) {
  profile(id: $id) { ${PROFILE} }
  explainProfile(id: $id) { steps { ${LINK} } blocked { ${LINK} } }
}`;

export interface ProfileVersion {
  version: number;
  at: string;
  kind: string;
  cause: string;
  actor: string | null;
  added: IdentifierRef[];
  removed: IdentifierRef[];
  related: string[];
  fieldChanges: { name: string; before: string | null; after: string | null }[];
}

export const HISTORY = `query History($id: ID!, $after: Int!) {
  profileHistory(id: $id, first: 20, after: $after) {
    endCursor
    versions { version at kind cause actor added { kind value } removed { kind value } related
      fieldChanges { name before after } }
  }
}`;

export interface AuditEntry {
  actionId: string;
  action: string;
  actor: string;
  at: string;
  reason: string;
  profileIds: string[];
  undoOf: string | null;
  undoneBy: string | null;
}

// Reads of personal data (one entry per clear read) would bury the actions a steward undoes:
// left out by the server unless asked for, so a page holds as many actions as it asks.
export const NOT_SHOWN = ["read_pii"];
export const AUDIT = `query Audit($filter: AuditLogFilter, $after: String, $first: Int! = 20) {
  auditLog(filter: $filter, first: $first, after: $after) {
    endCursor
    entries { actionId action actor at reason profileIds undoOf undoneBy }
  }
}`;

export interface Explanation {
  a: IdentifierRef;
  b: IdentifierRef;
  profileA: string | null;
  profileB: string | null;
  sameProfile: boolean;
  path: Link[];
  comparison: MatchScore | null;
  linkThreshold: number | null;
  reviewThreshold: number | null;
}

export const EXPLAIN = `query Explain($a: IdentifierInput!, $b: IdentifierInput!) {
  explain(a: $a, b: $b) {
    a { kind value } b { kind value } profileA profileB sameProfile
    path { ${LINK} } comparison { ${SCORE} } linkThreshold reviewThreshold
  }
}`;

export interface ReviewItem {
  link: Link;
  profileA: string;
  profileB: string;
}

export const REVIEW_QUEUE = `query Review($after: String, $minScore: Float!) {
  reviewQueue(first: 20, after: $after, minScore: $minScore) {
    endCursor
    items { profileA profileB link { ${LINK} } }
  }
}`;

export interface SplitPlan {
  profileId: string;
  cut: Link[];
  parts: { profileId: string | null; identifiers: IdentifierRef[] }[];
}

export const SPLIT_PREVIEW = `query SplitPreview($id: ID!, $sides: [[IdentifierInput!]!]!) {
  splitPreview(profileId: $id, sides: $sides) {
    profileId cut { ${LINK} } parts { profileId identifiers { kind value } }
  }
}`;

export interface ActionResult {
  actionId: string;
  profileIds: string[];
  changes: { kind: string; profileId: string; absorbedIds: string[]; splitIds: string[] }[];
}

const ACTION = `actionId profileIds changes { kind profileId absorbedIds splitIds }`;

export const MERGE = `mutation Merge($ids: [ID!]!, $actor: String!, $reason: String!, $override: Boolean!) {
  merge(profileIds: $ids, actor: $actor, reason: $reason, overrideLimits: $override) { ${ACTION} }
}`;

export const SPLIT = `mutation Split($id: ID!, $sides: [[IdentifierInput!]!]!, $actor: String!, $reason: String!) {
  split(profileId: $id, sides: $sides, actor: $actor, reason: $reason) { ${ACTION} }
}`;

export const UNLINK = `mutation Unlink($a: IdentifierInput!, $b: IdentifierInput!, $actor: String!, $reason: String!) {
  unlink(a: $a, b: $b, actor: $actor, reason: $reason) { ${ACTION} }
}`;

export const UNDO = `mutation Undo($actionId: ID!, $actor: String!, $reason: String!) {
  undo(actionId: $actionId, actor: $actor, reason: $reason) { ${ACTION} }
}`;

export const DECIDE_REVIEW = `mutation DecideReview($a: IdentifierInput!, $b: IdentifierInput!, $accept: Boolean!,
    $actor: String!, $reason: String!) {
  decideReview(a: $a, b: $b, accept: $accept, actor: $actor, reason: $reason) { ${ACTION} }
}`;

export const ERASE = `mutation Erase($id: ID!, $reason: String!) {
  eraseProfile(id: $id, reason: $reason) { actionId profileId erasedIds identifiers }
}`;

export interface ProfileChange {
  position: string;
  kind: string;
  profileId: string;
  absorbedIds: string[];
  splitIds: string[];
  at: string;
}

export const CHANGES = `subscription Changes($ids: [ID!], $after: String) {
  profileChanges(profileIds: $ids, after: $after) { position kind profileId absorbedIds splitIds at }
}`;

/** The change feed's newest position: subscribing after it gets the changes from now on. */
export const LATEST_POSITION = `query LatestPosition { latestChangePosition }`;
