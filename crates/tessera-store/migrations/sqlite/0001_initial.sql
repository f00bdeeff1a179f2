-- Tessera 0.1 schema for SQLite. Table and column names are Django's (auth_user and
-- the token_blacklist app), so an existing Django database can be shared and a Django
-- admin can read Tessera's. Foreign keys act in the database (ON DELETE), because no
-- ORM sits in front of it here.
CREATE TABLE IF NOT EXISTS "auth_user" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "password" varchar(128) NOT NULL,
    "last_login" datetime NULL,
    "is_superuser" bool NOT NULL,
    "username" varchar(150) NOT NULL UNIQUE,
    "last_name" varchar(150) NOT NULL,
    "email" varchar(254) NOT NULL,
    "is_staff" bool NOT NULL,
    "is_active" bool NOT NULL,
    "date_joined" datetime NOT NULL,
    "first_name" varchar(150) NOT NULL
);

CREATE TABLE IF NOT EXISTS "token_blacklist_outstandingtoken" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "token" text NOT NULL,
    "created_at" datetime NULL,
    "expires_at" datetime NOT NULL,
    "user_id" integer NULL REFERENCES "auth_user" ("id") ON DELETE SET NULL,
    "jti" varchar(255) NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS "token_blacklist_outstandingtoken_user_id"
    ON "token_blacklist_outstandingtoken" ("user_id");
CREATE INDEX IF NOT EXISTS "tessera_outstandingtoken_expires_at"
    ON "token_blacklist_outstandingtoken" ("expires_at");

CREATE TABLE IF NOT EXISTS "token_blacklist_blacklistedtoken" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "blacklisted_at" datetime NOT NULL,
    "token_id" bigint NOT NULL UNIQUE
        REFERENCES "token_blacklist_outstandingtoken" ("id") ON DELETE CASCADE
);
