-- Token families name their user by the id as tokens carry it (the user id claim's text),
-- so that sessions of users kept outside Django's auth_user (an application's own users
-- table, any id type) can be found and revoked. user_id stays for Django's users.
ALTER TABLE "tessera_token_family" ADD COLUMN "user_key" varchar(255) NULL;
CREATE INDEX IF NOT EXISTS "tessera_token_family_user_key" ON "tessera_token_family" ("user_key");
UPDATE "tessera_token_family" SET "user_key" = CAST("user_id" AS text)
    WHERE "user_id" IS NOT NULL AND "user_key" IS NULL;
