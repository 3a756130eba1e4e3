// API keys: one (:ApiKey) per key, found by its id; the secret is kept only as a salted hash.
CREATE CONSTRAINT api_key_id IF NOT EXISTS
  FOR (k:ApiKey) REQUIRE k.key_id IS UNIQUE;
