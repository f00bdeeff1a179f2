-- Token families (RFC 9700 §4.14); see the SQLite migration of the same name.
CREATE TABLE IF NOT EXISTS "tessera_token_family" (
    "id" varchar(32) NOT NULL PRIMARY KEY,
    "user_id" integer NULL REFERENCES "auth_user" ("id") ON DELETE SET NULL,
    "created_at" timestamp with time zone NOT NULL,
    "revoked_at" timestamp with time zone NULL
);
CREATE INDEX IF NOT EXISTS "tessera_token_family_user_id" ON "tessera_token_family" ("user_id");
CREATE INDEX IF NOT EXISTS "tessera_token_family_revoked_at" ON "tessera_token_family" ("revoked_at");
