-- Token families (OAuth 2.0 Security BCP, RFC 9700 §4.14): every refresh token descends
-- from one login. Rotation passes the family on; presenting a token that was already
-- rotated away revokes the whole family. The extra columns are nullable, so Django can
-- keep writing these tables (its rows simply have no family and no reason).
CREATE TABLE IF NOT EXISTS "tessera_token_family" (
    "id" varchar(32) NOT NULL PRIMARY KEY,
    "user_id" integer NULL REFERENCES "auth_user" ("id") ON DELETE SET NULL,
    "created_at" datetime NOT NULL,
    "revoked_at" datetime NULL
);
CREATE INDEX IF NOT EXISTS "tessera_token_family_user_id" ON "tessera_token_family" ("user_id");
CREATE INDEX IF NOT EXISTS "tessera_token_family_revoked_at" ON "tessera_token_family" ("revoked_at");

ALTER TABLE "token_blacklist_outstandingtoken"
    ADD COLUMN "family_id" varchar(32) NULL
    REFERENCES "tessera_token_family" ("id") ON DELETE SET NULL;
CREATE INDEX IF NOT EXISTS "tessera_outstandingtoken_family_id"
    ON "token_blacklist_outstandingtoken" ("family_id");

-- Why a token was blacklisted: 'rotated', 'logout', 'revoked'; NULL for rows written by
-- Django (admin, manual blacklisting).
ALTER TABLE "token_blacklist_blacklistedtoken" ADD COLUMN "reason" varchar(16) NULL;
