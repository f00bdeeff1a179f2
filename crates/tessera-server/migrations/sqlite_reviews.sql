-- The demo API's product reviews (the reference project's api_review). Owned by the
-- server's demo, not by the library: applied by `tessera migrate` and `tessera serve`.
CREATE TABLE IF NOT EXISTS "api_review" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "product" varchar(200) NOT NULL,
    "rating" smallint unsigned NOT NULL CHECK ("rating" >= 0),
    "comment" text NOT NULL,
    "created_at" datetime NOT NULL,
    "author_id" integer NOT NULL REFERENCES "auth_user" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "api_review_author_id" ON "api_review" ("author_id");
