-- Failed-login counters for throttling, per username and per client address, in fixed
-- windows. In the database (not in memory) so that the limit holds across instances.
-- Times are integer microseconds since the epoch.
CREATE TABLE IF NOT EXISTS "tessera_login_throttle" (
    "key" varchar(200) NOT NULL PRIMARY KEY,
    "failures" bigint NOT NULL,
    "window_start" bigint NOT NULL
);
