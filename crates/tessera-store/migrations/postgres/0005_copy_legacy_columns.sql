-- Databases made by Tessera before 0005 kept the family and the reason in columns it had
-- added to Django's tables: copy them over. The old columns stay (unused) rather than
-- be dropped from a table Tessera did not create.
INSERT INTO "tessera_token" ("token_id", "family_id")
    SELECT "id", "family_id" FROM "token_blacklist_outstandingtoken"
    WHERE "family_id" IS NOT NULL
    ON CONFLICT ("token_id") DO NOTHING;
INSERT INTO "tessera_blacklist_reason" ("blacklist_id", "reason")
    SELECT "id", "reason" FROM "token_blacklist_blacklistedtoken"
    WHERE "reason" IS NOT NULL
    ON CONFLICT ("blacklist_id") DO NOTHING;
