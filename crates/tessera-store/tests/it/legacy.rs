//! A database made by Tessera 0.1, which kept a token's family and blacklisting reason in
//! columns it had added to Django's tables: migration 0005 carries both over to
//! Tessera's own tables, so reuse detection keeps working across the upgrade.

use sqlx::Connection as _;
use tessera_core::clock::django_datetime;
use tessera_store::{OutstandingToken, RotateOutcome, RotationTimes, open};

const T0: i64 = 1_800_000_000_000_000;
const FAMILY: &str = "ffffffffffffffffffffffffffffffff";

fn token(jti: char) -> OutstandingToken {
    OutstandingToken {
        jti: jti.to_string().repeat(32),
        user_id: Some(1),
        user_key: Some("1".into()),
        token: "h.p".into(),
        created_at: T0,
        expires_at: T0 + 86_400_000_000,
        family_id: Some(FAMILY.into()),
    }
}

/// The 0.1 rows: user 1; a family; token `a` rotated away at T0 into `b`.
fn rows(time: &dyn Fn(i64) -> String, yes: &str) -> String {
    let (a, b) = ("a".repeat(32), "b".repeat(32));
    let (t0, exp) = (time(T0), time(T0 + 86_400_000_000));
    format!(
        "INSERT INTO auth_user (id, password, is_superuser, username, last_name, email, \
         is_staff, is_active, date_joined, first_name) \
         VALUES (1, '!', {no}, 'old', '', '', {no}, {yes}, {t0}, '');
         INSERT INTO tessera_token_family (id, user_id, created_at, user_key) \
         VALUES ('{FAMILY}', 1, {t0}, '1');
         INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, \
         user_id, jti, family_id) VALUES ('h.p', {t0}, {exp}, 1, '{a}', '{FAMILY}'), \
         ('h.p', {t0}, {exp}, 1, '{b}', '{FAMILY}');
         INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason) \
         SELECT {t0}, id, 'rotated' FROM token_blacklist_outstandingtoken WHERE jti = '{a}';",
        no = if yes == "1" { "0" } else { "FALSE" },
    )
}

async fn replay_is_caught_after_the_upgrade(url: &str) {
    let store = open(url).await.unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        [
            "0005_tessera_token_tables",
            "0006_admin",
            "0007_signing_keys"
        ]
    );
    assert_eq!(
        store.family_of(&token('b').jti).await.unwrap().unwrap().id,
        FAMILY
    );
    let later = RotationTimes::at(T0 + 60_000_000);
    let RotateOutcome::Reused(revoked) =
        store.rotate(&token('a'), &token('c'), later).await.unwrap()
    else {
        panic!("the replay of a token rotated away under 0.1 was not caught")
    };
    assert_eq!(revoked[0].id, FAMILY);
    assert!(store.is_blacklisted(&token('b').jti).await.unwrap());
}

#[tokio::test]
async fn a_tessera_0_1_database_upgrades_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let quoted = |m: i64| format!("'{}'", django_datetime(m));
    let sql = format!(
        "{}
         CREATE TABLE tessera_migrations (version integer PRIMARY KEY, name text NOT NULL, \
         applied_at datetime NOT NULL);
         INSERT INTO tessera_migrations VALUES (1, '0001_initial', datetime('now')), \
         (2, '0002_token_families', datetime('now')), (3, '0003_login_throttle', datetime('now')), \
         (4, '0004_family_user_key', datetime('now'));
         {}",
        include_str!("../fixtures/tessera-0.1-sqlite.sql"),
        rows(&quoted, "1")
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    replay_is_caught_after_the_upgrade(&format!("sqlite://{}", path.display())).await;
}

#[tokio::test]
async fn a_tessera_0_1_database_upgrades_on_postgres() {
    let Some((_guard, url)) = crate::support::pg_scratch().await else {
        return;
    };
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    let ts = |m: i64| format!("(TIMESTAMPTZ 'epoch' + {m} * INTERVAL '1 microsecond')");
    let sql = format!(
        "{}
         CREATE TABLE tessera_migrations (version int8 PRIMARY KEY, name text NOT NULL, \
         applied_at timestamp with time zone NOT NULL DEFAULT now());
         INSERT INTO tessera_migrations (version, name) VALUES (1, '0001_initial'), \
         (2, '0002_token_families'), (3, '0003_login_throttle'), (4, '0004_family_user_key');
         {}",
        include_str!("../fixtures/tessera-0.1-postgres.sql"),
        rows(&ts, "TRUE")
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    replay_is_caught_after_the_upgrade(&url).await;
}
