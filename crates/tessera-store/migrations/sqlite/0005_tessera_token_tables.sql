-- What Tessera knows of a token beyond Simple JWT's columns, in its own tables beside
-- Django's token_blacklist tables instead of extra columns in them: a Django migration
-- that rebuilds those tables (SQLite's way of altering one) would drop foreign columns,
-- and Django never reads them. Each row hangs off a Django row and goes with it
-- (ON DELETE CASCADE acts for Django's deletes too: Django turns SQLite's foreign
-- keys on). The keys are `integer PRIMARY KEY`: SQLite then keeps each table in one
-- B-tree keyed by it (a rowid alias) instead of a table and a separate key index, which
-- cost a rotation a sixth of its throughput.
-- The family of a recorded token (tokens minted by Simple JWT have none).
CREATE TABLE IF NOT EXISTS "tessera_token" (
    "token_id" integer NOT NULL PRIMARY KEY
        REFERENCES "token_blacklist_outstandingtoken" ("id") ON DELETE CASCADE,
    "family_id" varchar(32) NOT NULL
        REFERENCES "tessera_token_family" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "tessera_token_family_id" ON "tessera_token" ("family_id");
-- Why a token was blacklisted: 'rotated', 'logout' or 'revoked' (rows Django wrote have
-- none).
CREATE TABLE IF NOT EXISTS "tessera_blacklist_reason" (
    "blacklist_id" integer NOT NULL PRIMARY KEY
        REFERENCES "token_blacklist_blacklistedtoken" ("id") ON DELETE CASCADE,
    "reason" varchar(16) NOT NULL
);
