-- Token families (OAuth 2.0 Security BCP, RFC 9700 §4.14): every refresh token descends
-- from one login. Rotation passes the family on; presenting a token that was already
-- rotated away revokes the whole family. Which family a token belongs to is kept in
-- tessera_token (0005), beside Django's tables rather than in them.
CREATE TABLE IF NOT EXISTS "tessera_token_family" (
    "id" varchar(32) NOT NULL PRIMARY KEY,
    "user_id" integer NULL REFERENCES "auth_user" ("id") ON DELETE SET NULL,
    "created_at" datetime NOT NULL,
    "revoked_at" datetime NULL
);
CREATE INDEX IF NOT EXISTS "tessera_token_family_user_id" ON "tessera_token_family" ("user_id");
CREATE INDEX IF NOT EXISTS "tessera_token_family_revoked_at" ON "tessera_token_family" ("revoked_at");
