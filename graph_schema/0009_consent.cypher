// Consent decisions (docs/architecture.md, "Consent"): one (:Consent) per identifier and
// purpose, the latest decision for it; `anchor` is the identifier's key ("kind|value").
CREATE CONSTRAINT consent_anchor_purpose IF NOT EXISTS
  FOR (c:Consent) REQUIRE (c.anchor, c.purpose) IS UNIQUE;
// A profile's decisions are read by its identifiers' keys alone.
CREATE RANGE INDEX consent_by_anchor IF NOT EXISTS FOR (c:Consent) ON (c.anchor);
