-- Token families name their user by the id as tokens carry it; see the SQLite migration
-- of the same name.
ALTER TABLE "tessera_token_family" ADD COLUMN IF NOT EXISTS "user_key" varchar(255) NULL;
CREATE INDEX IF NOT EXISTS "tessera_token_family_user_key" ON "tessera_token_family" ("user_key");
UPDATE "tessera_token_family" SET "user_key" = CAST("user_id" AS text)
    WHERE "user_id" IS NOT NULL AND "user_key" IS NULL;
