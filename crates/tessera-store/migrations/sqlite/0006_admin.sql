-- The admin page: staff's signed-in sessions (server-side; the cookie carries a secret
-- whose SHA-256 is the id, so this table never holds a usable cookie) and the audit log
-- (admin actions and security events). Times are integer microseconds since the epoch.
CREATE TABLE IF NOT EXISTS "tessera_admin_session" (
    "id" varchar(64) NOT NULL PRIMARY KEY,
    "user_key" varchar(255) NOT NULL,
    "csrf" varchar(64) NOT NULL,
    "created_at" bigint NOT NULL,
    "seen_at" bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS "tessera_admin_session_user_key" ON "tessera_admin_session" ("user_key");
CREATE TABLE IF NOT EXISTS "tessera_audit_log" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" bigint NOT NULL,
    "actor" varchar(255) NOT NULL,
    "action" varchar(64) NOT NULL,
    "target" varchar(255) NOT NULL,
    "client" varchar(64) NOT NULL,
    "detail" varchar(512) NOT NULL
);
CREATE INDEX IF NOT EXISTS "tessera_audit_log_actor" ON "tessera_audit_log" ("actor");
CREATE INDEX IF NOT EXISTS "tessera_audit_log_target" ON "tessera_audit_log" ("target");
CREATE INDEX IF NOT EXISTS "tessera_audit_log_action" ON "tessera_audit_log" ("action");
-- Where each session (token family) was started from, for the admin page's sessions.
ALTER TABLE "tessera_token_family" ADD COLUMN "client_ip" varchar(45) NULL;
ALTER TABLE "tessera_token_family" ADD COLUMN "user_agent" varchar(256) NULL;
