-- Simple JWT's token_blacklist tables, as its migrations create them. Only when the
-- database has none: a Django project's own are used as they are.
CREATE TABLE IF NOT EXISTS "token_blacklist_outstandingtoken" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "token" text NOT NULL,
    "created_at" datetime NULL,
    "expires_at" datetime NOT NULL,
    "user_id" integer NULL REFERENCES "auth_user" ("id") ON DELETE SET NULL,
    "jti" varchar(255) NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS "token_blacklist_blacklistedtoken" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "blacklisted_at" datetime NOT NULL,
    "token_id" bigint NOT NULL UNIQUE
        REFERENCES "token_blacklist_outstandingtoken" ("id") ON DELETE CASCADE
);
