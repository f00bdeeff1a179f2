//! The admin page's storage on SQLite ([`AdminStore`]). Django's tables keep their
//! datetime text; Tessera's admin tables hold integer microseconds.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row as _};
use tessera_core::DjangoId;
use tessera_core::clock::django_datetime;

use super::SqliteStore;
use super::ledger_sql::parse_micros;
use crate::admin::{
    AdminSession, AdminStore, AuditEntry, AuditEvent, SessionRow, TokenOrder, TokenQuery, TokenRow,
    TokenState, Unblacklisted, UserProfile, UserQuery, short_hash,
};
use crate::user_sql::{AdminBind, BindId as _, Dialect};
use crate::{Result, RevokedFamily, User, ledger};

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

fn bind_all(mut q: Query<'_>, binds: Vec<AdminBind>) -> Query<'_> {
    for b in binds {
        q = match b {
            AdminBind::Text(t) => q.bind(t),
            AdminBind::Flag(f) => q.bind(f),
            AdminBind::Id(id) => q.bind_id(id),
        };
    }
    q
}

fn token_row(r: &SqliteRow) -> Result<TokenRow> {
    let token: String = r.try_get("token")?;
    Ok(TokenRow {
        id: r.try_get("id")?,
        jti: r.try_get("jti")?,
        user_id: r.try_get("user_id")?,
        created_at: parse_micros(r.try_get("created_at")?, "token_blacklist_outstandingtoken")?,
        expires_at: parse_micros(r.try_get("expires_at")?, "token_blacklist_outstandingtoken")?
            .unwrap_or(0),
        blacklisted_at: parse_micros(
            r.try_get("blacklisted_at")?,
            "token_blacklist_blacklistedtoken",
        )?,
        reason: r.try_get("reason")?,
        family: r.try_get("family_id")?,
        short_hash: short_hash(&token),
    })
}

fn audit_row(r: &SqliteRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get("id")?,
        event: AuditEvent {
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            target: r.try_get("target")?,
            client: r.try_get("client")?,
            detail: r.try_get("detail")?,
        },
    })
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn users_page(&self, q: &UserQuery) -> Result<Vec<User>> {
        // No stored text holds a NUL (PostgreSQL refuses one in a query).
        if q.search.contains('\0') {
            return Ok(Vec::new());
        }
        let (sql, binds) = self.users.page(Dialect::Sqlite, q);
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| super::user_from_row(r, self.users.table.id_kind))
            .collect()
    }

    async fn update_profile(&self, id: DjangoId, p: &UserProfile) -> Result<bool> {
        if !self.users.accepts(id) {
            return Ok(false);
        }
        let (sql, binds) = self.users.update_profile(Dialect::Sqlite, id, p);
        let r = bind_all(sqlx::query(AssertSqlSafe(sql)), binds)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn sessions_of(
        &self,
        user_key: &str,
        user_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SessionRow>> {
        let rows = sqlx::query(
            "SELECT f.id, f.created_at, f.revoked_at, max(o.created_at) AS last, \
                    max(o.expires_at) AS expires, f.client_ip, f.user_agent \
             FROM (SELECT id, created_at, revoked_at, client_ip, user_agent \
                   FROM tessera_token_family \
                   WHERE user_key = ?1 OR user_id = ?2 ORDER BY created_at DESC LIMIT ?3) f \
             LEFT JOIN tessera_token t ON t.family_id = f.id \
             LEFT JOIN token_blacklist_outstandingtoken o ON o.id = t.token_id \
             GROUP BY f.id, f.created_at, f.revoked_at, f.client_ip, f.user_agent \
             ORDER BY f.created_at DESC",
        )
        .bind(user_key)
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let table = "tessera_token_family";
        rows.iter()
            .map(|r| {
                Ok(SessionRow {
                    id: r.try_get(0)?,
                    started: parse_micros(r.try_get(1)?, table)?.unwrap_or(0),
                    ended: parse_micros(r.try_get(2)?, table)?,
                    last_refreshed: parse_micros(r.try_get(3)?, table)?,
                    expires: parse_micros(r.try_get(4)?, table)?,
                    client_ip: r.try_get(5)?,
                    user_agent: r.try_get(6)?,
                })
            })
            .collect()
    }

    async fn session_belongs_to(
        &self,
        family: &str,
        user_key: &str,
        user_id: Option<i64>,
    ) -> Result<bool> {
        if family.contains('\0') || user_key.contains('\0') {
            return Ok(false);
        }
        let hit: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM tessera_token_family \
             WHERE id = ?1 AND (user_key = ?2 OR user_id = ?3)",
        )
        .bind(family)
        .bind(user_key)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
    }

    async fn end_session(&self, family: &str, at: i64) -> Result<Option<RevokedFamily>> {
        let mut tx = self.write_tx().await?;
        let revoked = {
            let mut ledger = self.ledger_tx(&mut tx);
            ledger::LedgerTx::revoke_family(&mut ledger, family, at).await?
        };
        tx.commit().await?;
        Ok(revoked)
    }

    async fn tokens_page(&self, q: &TokenQuery) -> Result<Vec<TokenRow>> {
        if q.jti.contains('\0') {
            return Ok(Vec::new());
        }
        let mut conds = vec!["1 = 1".to_owned()];
        if q.user_id.is_some() {
            conds.push("o.user_id = ?1".into());
        }
        if !q.jti.is_empty() {
            conds.push("o.jti = ?2".into());
        }
        match q.state {
            None => {}
            Some(TokenState::Live) => conds.push("b.id IS NULL AND o.expires_at > ?3".into()),
            Some(TokenState::Expired) => conds.push("b.id IS NULL AND o.expires_at <= ?3".into()),
            Some(TokenState::Blacklisted) => conds.push("b.id IS NOT NULL".into()),
        }
        let (keyset, order) = match q.effective_order() {
            TokenOrder::Newest => ("o.id < ?5", "o.id DESC"),
            TokenOrder::Oldest => ("o.id > ?5", "o.id ASC"),
            TokenOrder::ExpiresLast => (
                "(o.expires_at, o.id) < (?4, ?5)",
                "o.expires_at DESC, o.id DESC",
            ),
            TokenOrder::ExpiresFirst => (
                "(o.expires_at, o.id) > (?4, ?5)",
                "o.expires_at ASC, o.id ASC",
            ),
        };
        if q.after.is_some() {
            conds.push(keyset.into());
        }
        let sql = format!(
            "SELECT o.id, o.jti, o.user_id, o.created_at, o.expires_at, o.token, \
                    b.blacklisted_at, r.reason, t.family_id \
             FROM token_blacklist_outstandingtoken o \
             LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id \
             LEFT JOIN tessera_blacklist_reason r ON r.blacklist_id = b.id \
             LEFT JOIN tessera_token t ON t.token_id = o.id \
             WHERE {} ORDER BY {order} LIMIT {}",
            conds.join(" AND "),
            q.limit.min(1000)
        );
        let (after_time, after_id) = q.after.unwrap_or((0, 0));
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(q.user_id)
            .bind(&q.jti)
            .bind(django_datetime(q.now))
            .bind(django_datetime(after_time))
            .bind(after_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_row).collect()
    }

    async fn blacklist_rows(&self, ids: &[i64], at: i64) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let mut added = 0;
        for id in ids {
            let r = sqlx::query(
                "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
                 SELECT ?1, id FROM token_blacklist_outstandingtoken WHERE id = ?2 \
                 ON CONFLICT (token_id) DO NOTHING",
            )
            .bind(django_datetime(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 1 {
                added += 1;
                sqlx::query(
                    "INSERT INTO tessera_blacklist_reason (blacklist_id, reason) \
                     SELECT id, 'admin' FROM token_blacklist_blacklistedtoken WHERE token_id = ?1 \
                     ON CONFLICT (blacklist_id) DO NOTHING",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn unblacklist_row(&self, id: i64) -> Result<Unblacklisted> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT b.id, r.reason, f.revoked_at FROM token_blacklist_blacklistedtoken b \
             LEFT JOIN tessera_blacklist_reason r ON r.blacklist_id = b.id \
             LEFT JOIN tessera_token t ON t.token_id = b.token_id \
             LEFT JOIN tessera_token_family f ON f.id = t.family_id \
             WHERE b.token_id = ?1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Unblacklisted::NotBlacklisted);
        };
        let reason: Option<String> = row.try_get(1)?;
        let ended: Option<String> = row.try_get(2)?;
        if ended.is_some() {
            return Ok(Unblacklisted::SessionEnded);
        }
        if reason.as_deref() == Some("rotated") {
            return Ok(Unblacklisted::Spent);
        }
        let blacklist_id: i64 = row.try_get(0)?;
        sqlx::query("DELETE FROM tessera_blacklist_reason WHERE blacklist_id = ?1")
            .bind(blacklist_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM token_blacklist_blacklistedtoken WHERE id = ?1")
            .bind(blacklist_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Unblacklisted::Removed)
    }

    async fn create_admin_session(&self, s: &AdminSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO tessera_admin_session (id, user_key, csrf, created_at, seen_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&s.id)
        .bind(&s.user_key)
        .bind(&s.csrf)
        .bind(s.created_at)
        .bind(s.seen_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn admin_session(&self, id: &str) -> Result<Option<AdminSession>> {
        let row = sqlx::query(
            "SELECT id, user_key, csrf, created_at, seen_at FROM tessera_admin_session \
             WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AdminSession {
                id: r.try_get(0)?,
                user_key: r.try_get(1)?,
                csrf: r.try_get(2)?,
                created_at: r.try_get(3)?,
                seen_at: r.try_get(4)?,
            })
        })
        .transpose()
    }

    async fn touch_admin_session(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE tessera_admin_session SET seen_at = ?1 WHERE id = ?2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_admin_session(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM tessera_admin_session WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn expire_admin_sessions(&self, idle_before: i64, started_before: i64) -> Result<u64> {
        let r =
            sqlx::query("DELETE FROM tessera_admin_session WHERE seen_at < ?1 OR created_at < ?2")
                .bind(idle_before)
                .bind(started_before)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected())
    }

    async fn prune_audit_batch(&self, before: i64, limit: u32) -> Result<u64> {
        let r = sqlx::query(
            "DELETE FROM tessera_audit_log WHERE id IN \
             (SELECT id FROM tessera_audit_log WHERE at < ?1 ORDER BY id LIMIT ?2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn audit(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for e in events {
            sqlx::query(
                "INSERT INTO tessera_audit_log (at, actor, action, target, client, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(e.at)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.client)
            .bind(&e.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn audit_page(
        &self,
        search: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        if search.contains('\0') {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, client, detail FROM tessera_audit_log \
             WHERE (?1 = '' OR actor = ?1 OR action = ?1 OR target = ?1) \
               AND (?2 IS NULL OR id < ?2) \
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(search)
        .bind(before)
        .bind(i64::from(limit.min(1000)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_row).collect()
    }
}
