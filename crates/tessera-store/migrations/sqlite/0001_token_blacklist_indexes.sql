-- Indexes for the token_blacklist tables Tessera created just now (never added to
-- a Django project's tables: Tessera does not alter what Django made).
CREATE INDEX IF NOT EXISTS "token_blacklist_outstandingtoken_user_id"
    ON "token_blacklist_outstandingtoken" ("user_id");
CREATE INDEX IF NOT EXISTS "tessera_outstandingtoken_expires_at"
    ON "token_blacklist_outstandingtoken" ("expires_at");
