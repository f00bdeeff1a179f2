-- The key set, shared by every instance (KEY_STORE = "database"). A key's state follows
-- from its times: it signs from activates_at (the latest such key signs; NULL: published,
-- not scheduled), and stops verifying at retires_at. The private half is sealed
-- (AES-256-GCM under KEY_ENCRYPTION_KEY) by the engine: this table never holds a usable key.
-- Times are integer microseconds since the epoch.
CREATE TABLE IF NOT EXISTS "tessera_signing_key" (
    "kid" varchar(100) NOT NULL PRIMARY KEY,
    "alg" varchar(10) NOT NULL,
    "created_at" bigint NOT NULL,
    "activates_at" bigint NULL,
    "retires_at" bigint NULL,
    "accepts_tokens_without_kid" boolean NOT NULL DEFAULT false,
    "sealed_key" blob NOT NULL
);
