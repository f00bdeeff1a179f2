//! The user statements of a store, built from its [`UserTable`] once when it opens.

use tessera_core::DjangoId;

use crate::user_table::{IdKind, UserTable};

/// `"name"`, for a validated identifier.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// The SQL dialect a statement is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

impl Dialect {
    /// The `n`th placeholder.
    fn p(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The placeholder `n` of an id of `kind` (on PostgreSQL cast to the column's type:
    /// an integer is bound as `int8`, a UUID as text).
    pub(crate) fn id_p(self, kind: IdKind, n: usize) -> String {
        match (self, kind) {
            (Dialect::Sqlite, _) => format!("?{n}"),
            (Dialect::Postgres, IdKind::Integer) => format!("${n}::int8"),
            (Dialect::Postgres, IdKind::Uuid) => format!("${n}::uuid"),
        }
    }

    /// A time placeholder: Django's datetime text on SQLite (bound as text), a
    /// `timestamptz` from integer microseconds on PostgreSQL.
    fn time_p(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => {
                format!("(TIMESTAMPTZ 'epoch' + ${n}::int8 * INTERVAL '1 microsecond')")
            }
        }
    }
}

/// The user statements of one store, built from its [`UserTable`]. Shared text
/// (`Arc<str>`), so a query borrows it without copying.
#[derive(Debug)]
pub(crate) struct UserSql {
    pub table: UserTable,
    /// `?1` = id.
    pub by_id: std::sync::Arc<str>,
    /// `?1` = login.
    pub by_login: std::sync::Arc<str>,
    /// Every user, by id.
    pub list: std::sync::Arc<str>,
    /// `?1` = hash, `?2` = id.
    pub set_password: std::sync::Arc<str>,
    /// `?1` = time, `?2` = id; `None` without a `last_login` column.
    pub set_last_login: Option<std::sync::Arc<str>>,
    /// `?1` = active, `?2` = id; `None` without an `is_active` column.
    pub set_active: Option<std::sync::Arc<str>>,
    /// `?1` = id.
    pub delete: std::sync::Arc<str>,
    /// The columns of [`NewUser`](crate::NewUser) the table has, in bind order, and
    /// the insert statement (returning nothing; ids are read back by login).
    pub insert: (Vec<NewUserField>, std::sync::Arc<str>),
    /// The same for a user copied whole from another database (`import-django`): with
    /// its id and last login, and skipped when its id or login is taken.
    pub copy: (Vec<NewUserField>, std::sync::Arc<str>),
    /// Login state: the user by login (`?1`) and two throttle counters (`?2`, `?3`).
    pub login_state: std::sync::Arc<str>,
    /// `(SELECT id FROM <table> WHERE id = <placeholder>)`, the ledger's guard that a
    /// user reference names a user that still exists. Formatted with the placeholder.
    pub exists_prefix: String,
}

/// A field of [`NewUser`](crate::NewUser), in the order an insert binds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewUserField {
    Id,
    LastLogin,
    Password,
    Login,
    Username,
    IsActive,
    Email,
    FirstName,
    LastName,
    IsStaff,
    IsSuperuser,
    DateJoined,
}

impl UserSql {
    pub fn new(table: UserTable, d: Dialect) -> Self {
        let t = quoted(&table.table);
        let select = |rest: &str| format!("SELECT {} FROM {t} AS u {rest}", select_list(&table, d));
        let id = quoted(&table.id);
        let by_id = select(&format!("WHERE u.{id} = {}", d.id_p(table.id_kind, 1)));
        let by_login = select(&format!("WHERE u.{} = {}", quoted(&table.login), d.p(1)));
        let list = select(&format!("ORDER BY u.{id}"));
        // `UPDATE <table> SET <column> = <value at 1> WHERE <id> = <id at 2>`.
        let update = |column: &str, value: String| {
            format!(
                "UPDATE {t} SET {} = {value} WHERE {id} = {}",
                quoted(column),
                d.id_p(table.id_kind, 2)
            )
        };
        let set_password = update(&table.password, d.p(1));
        let set_last_login = table.last_login.as_ref().map(|c| update(c, d.time_p(1)));
        let set_active = table.is_active.as_ref().map(|c| update(c, d.p(1)));
        let delete = format!("DELETE FROM {t} WHERE {id} = {}", d.id_p(table.id_kind, 1));
        let insert = insert_statement(&table, d, false);
        let copy = insert_statement(&table, d, true);
        let login_state = format!(
            "SELECT {}, t1.failures AS failures1, t1.window_start AS start1, \
             t2.failures AS failures2, t2.window_start AS start2 \
             FROM (SELECT 1) AS one \
             LEFT JOIN {t} AS u ON u.{} = {} \
             LEFT JOIN tessera_login_throttle AS t1 ON t1.key = {} \
             LEFT JOIN tessera_login_throttle AS t2 ON t2.key = {}",
            select_list(&table, d),
            quoted(&table.login),
            d.p(1),
            d.p(2),
            d.p(3)
        );
        let exists_prefix = format!("(SELECT {id} FROM {t} WHERE {id} = ");
        let a = |s: String| std::sync::Arc::<str>::from(s);
        UserSql {
            by_id: a(by_id),
            by_login: a(by_login),
            list: a(list),
            set_password: a(set_password),
            set_last_login: set_last_login.map(a),
            set_active: set_active.map(a),
            delete: a(delete),
            insert: (insert.0, a(insert.1)),
            copy: (copy.0, a(copy.1)),
            login_state: a(login_state),
            exists_prefix,
            table,
        }
    }

    /// The ledger's guard for a user id bound at `placeholder` (NULL when that user
    /// does not exist, so a deleted user's reference is dropped instead of failing the
    /// foreign key).
    pub fn existing_user(&self, placeholder: &str) -> String {
        match self.table.id_kind {
            IdKind::Integer => format!("{}{placeholder})", self.exists_prefix),
            // The ledger's integer user references cannot name these users.
            IdKind::Uuid => "NULL".to_owned(),
        }
    }

    /// The `user_id` a token family records for a user id bound at `placeholder`:
    /// families refer to Django's `auth_user`; with another user table they name their
    /// user by key only, and this is `null` (the dialect's typed NULL).
    pub fn family_user(&self, placeholder: &str, null: &str) -> String {
        if self.table.is_django_default() {
            self.existing_user(placeholder)
        } else {
            null.to_owned()
        }
    }

    /// Whether `id` can name a user of this table (an integer cannot name a user keyed
    /// by UUID, nor the reverse): otherwise there is no such user, without a query.
    pub fn accepts(&self, id: DjangoId) -> bool {
        matches!(
            (self.table.id_kind, id),
            (IdKind::Integer, DjangoId::Int(_)) | (IdKind::Uuid, DjangoId::Uuid(_))
        )
    }

    /// The statements that clear a user's references in Django's tables before the
    /// user row goes, as Django's `on_delete` does in Python: `(statement, table it
    /// needs)`, each binding the id at the first placeholder.
    pub fn before_delete(&self, d: Dialect) -> Vec<(String, &'static str)> {
        // A UUID-keyed model's references are uuid columns in Django's tables, but
        // integer ones in tables Tessera made: compared as text, either works.
        let (p, col): (String, fn(&str) -> String) = match (d, self.table.id_kind) {
            (_, IdKind::Integer) => (d.id_p(IdKind::Integer, 1), |c| format!("\"{c}\"")),
            (Dialect::Sqlite, IdKind::Uuid) => ("?1".into(), |c| format!("CAST(\"{c}\" AS text)")),
            (Dialect::Postgres, IdKind::Uuid) => ("replace($1::uuid::text, '-', '')".into(), |c| {
                format!("replace(\"{c}\"::text, '-', '')")
            }),
        };
        let mut out = vec![(
            format!(
                "UPDATE token_blacklist_outstandingtoken SET user_id = NULL WHERE {} = {p}",
                col("user_id")
            ),
            "token_blacklist_outstandingtoken",
        )];
        for (table, column) in crate::DJANGO_USER_CASCADES {
            out.push((
                format!("DELETE FROM \"{table}\" WHERE {} = {p}", col(column)),
                table,
            ));
        }
        out
    }
}

/// A value an admin statement binds, in placeholder order.
#[derive(Debug, Clone)]
pub(crate) enum AdminBind {
    Text(String),
    Flag(bool),
    Id(DjangoId),
}

impl UserSql {
    /// A page of users for the admin page: `SELECT … WHERE <filters> ORDER BY id LIMIT n`
    /// with its values. A filter on a column the table lacks matches as its default
    /// would (every user active, nobody staff).
    pub fn page(&self, d: Dialect, q: &crate::admin::UserQuery) -> (String, Vec<AdminBind>) {
        let t = &self.table;
        let mut binds = Vec::new();
        let mut conds = Vec::new();
        let bind = |b: AdminBind, binds: &mut Vec<AdminBind>| {
            binds.push(b);
            binds.len()
        };
        if !q.search.is_empty() {
            let n = bind(
                AdminBind::Text(crate::admin::like_prefix(&q.search.to_lowercase())),
                &mut binds,
            );
            let mut cols = vec![t.login.clone()];
            cols.extend(t.email.clone().filter(|e| *e != t.login));
            let any: Vec<String> = cols
                .iter()
                .map(|c| format!("lower(u.{}) LIKE {} ESCAPE '\\'", quoted(c), d.p(n)))
                .collect();
            conds.push(format!("({})", any.join(" OR ")));
        }
        for (flag, column, default) in [
            (q.active, &t.is_active, true),
            (q.staff, &t.is_staff, false),
        ] {
            match (flag, column) {
                (None, _) => {}
                (Some(want), Some(c)) => {
                    let n = bind(AdminBind::Flag(want), &mut binds);
                    conds.push(format!("u.{} = {}", quoted(c), d.p(n)));
                }
                (Some(want), None) if want == default => {}
                (Some(_), None) => conds.push("1 = 0".to_owned()),
            }
        }
        if let Some(after) = q.after {
            let n = bind(AdminBind::Id(after), &mut binds);
            conds.push(format!("u.{} > {}", quoted(&t.id), d.id_p(t.id_kind, n)));
        }
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT {} FROM {} AS u {filter} ORDER BY u.{} LIMIT {}",
            select_list(t, d),
            quoted(&t.table),
            quoted(&t.id),
            q.limit.min(1000)
        );
        (sql, binds)
    }

    /// `UPDATE … SET` the profile fields the table has `WHERE id = …`, with its values.
    pub fn update_profile(
        &self,
        d: Dialect,
        id: DjangoId,
        p: &crate::admin::UserProfile,
    ) -> (String, Vec<AdminBind>) {
        let t = &self.table;
        let mut sets = Vec::new();
        let mut binds = Vec::new();
        let fields = [
            (
                t.email.as_ref().filter(|e| **e != t.login),
                AdminBind::Text(p.email.clone()),
            ),
            (t.first_name.as_ref(), AdminBind::Text(p.first_name.clone())),
            (t.last_name.as_ref(), AdminBind::Text(p.last_name.clone())),
            (t.is_active.as_ref(), AdminBind::Flag(p.is_active)),
            (t.is_staff.as_ref(), AdminBind::Flag(p.is_staff)),
        ];
        for (column, value) in fields {
            if let Some(c) = column {
                binds.push(value);
                sets.push(format!("{} = {}", quoted(c), d.p(binds.len())));
            }
        }
        binds.push(AdminBind::Id(id));
        // A table with none of the fields still gets a statement (a no-op update) that
        // says whether the user exists.
        if sets.is_empty() {
            sets.push(format!("{0} = {0}", quoted(&t.id)));
        }
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = {}",
            quoted(&t.table),
            sets.join(", "),
            quoted(&t.id),
            d.id_p(t.id_kind, binds.len())
        );
        (sql, binds)
    }
}

/// `u.<col> AS <field>, …` for every field [`tessera_core::User`] has, with a constant
/// in place of each column the table lacks.
fn select_list(t: &UserTable, d: Dialect) -> String {
    let col = |c: &str| format!("u.{}", quoted(c));
    let time = |c: &str| match d {
        Dialect::Sqlite => col(c),
        Dialect::Postgres => format!("(EXTRACT(EPOCH FROM {}) * 1000000)::int8", col(c)),
    };
    let id = match (d, t.id_kind) {
        (Dialect::Sqlite, _) => col(&t.id),
        (Dialect::Postgres, IdKind::Integer) => format!("{}::int8", col(&t.id)),
        (Dialect::Postgres, IdKind::Uuid) => format!("{}::text", col(&t.id)),
    };
    let (yes, no, none_time) = match d {
        Dialect::Sqlite => ("1", "0", "NULL"),
        Dialect::Postgres => ("TRUE", "FALSE", "NULL::int8"),
    };
    let text = |c: &Option<String>| c.as_deref().map_or("''".to_owned(), col);
    let flag = |c: &Option<String>, default: &str| c.as_deref().map_or(default.to_owned(), col);
    let when = |c: &Option<String>| c.as_deref().map_or(none_time.to_owned(), time);
    let email = match t.email.as_deref() {
        Some(e) => col(e),
        None => "''".to_owned(),
    };
    [
        format!("{id} AS id"),
        format!("{} AS password", col(&t.password)),
        format!("{} AS last_login", when(&t.last_login)),
        format!("{} AS is_superuser", flag(&t.is_superuser, no)),
        format!("{} AS username", col(&t.login)),
        format!("{} AS last_name", text(&t.last_name)),
        format!("{email} AS email"),
        format!("{} AS is_staff", flag(&t.is_staff, no)),
        format!("{} AS is_active", flag(&t.is_active, yes)),
        format!("{} AS date_joined", when(&t.date_joined)),
        format!("{} AS first_name", text(&t.first_name)),
    ]
    .join(", ")
}

/// The insert of a new user into the columns the table has. `copy`: an existing user
/// copied whole (its id and last login too), skipped on any conflict (id or login).
fn insert_statement(t: &UserTable, d: Dialect, copy: bool) -> (Vec<NewUserField>, String) {
    use NewUserField as F;
    let mut fields = vec![(F::Password, t.password.as_str()), (F::Login, &t.login)];
    // Django makes UUID keys in Python (`default=uuid.uuid4`): so must an insert.
    if copy || t.id_kind == IdKind::Uuid {
        fields.insert(0, (F::Id, &t.id));
    }
    if copy && let Some(c) = &t.last_login {
        fields.push((F::LastLogin, c));
    }
    let optional = [
        (F::Username, t.username.as_deref()),
        (F::IsActive, t.is_active.as_deref()),
        (F::Email, t.email.as_deref().filter(|e| *e != t.login)),
        (F::FirstName, t.first_name.as_deref()),
        (F::LastName, t.last_name.as_deref()),
        (F::IsStaff, t.is_staff.as_deref()),
        (F::IsSuperuser, t.is_superuser.as_deref()),
        (F::DateJoined, t.date_joined.as_deref()),
    ];
    fields.extend(
        optional
            .into_iter()
            .filter_map(|(f, c)| c.map(|c| (f, c)))
            .filter(|(_, c)| *c != t.login),
    );
    let columns: Vec<String> = fields.iter().map(|(_, c)| quoted(c)).collect();
    let values: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, (f, _))| match f {
            F::DateJoined | F::LastLogin => d.time_p(i + 1),
            F::Id => d.id_p(t.id_kind, i + 1),
            _ => d.p(i + 1),
        })
        .collect();
    let conflict = if copy {
        String::new()
    } else {
        format!("({}) ", quoted(&t.login))
    };
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT {conflict}DO NOTHING",
        quoted(&t.table),
        columns.join(", "),
        values.join(", "),
    );
    (fields.into_iter().map(|(f, _)| f).collect(), sql)
}

/// Binds a user id as its column holds it: an integer, or a UUID's 32 hex digits (what
/// Django's SQLite column holds; PostgreSQL's `::uuid` cast reads them too).
pub(crate) trait BindId {
    fn bind_id(self, id: DjangoId) -> Self;
}

#[cfg(feature = "sqlite")]
impl BindId for sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    fn bind_id(self, id: DjangoId) -> Self {
        match id {
            DjangoId::Int(n) => self.bind(n),
            DjangoId::Uuid(_) => self.bind(id.simple()),
        }
    }
}

#[cfg(feature = "postgres")]
impl BindId for sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind_id(self, id: DjangoId) -> Self {
        match id {
            DjangoId::Int(n) => self.bind(n),
            DjangoId::Uuid(_) => self.bind(id.simple()),
        }
    }
}

/// The `id` column of a user row: an integer, or a UUID's text.
pub(crate) fn read_id<R>(row: &R, kind: IdKind) -> crate::Result<DjangoId>
where
    R: sqlx::Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
{
    Ok(match kind {
        IdKind::Integer => DjangoId::Int(row.try_get("id")?),
        IdKind::Uuid => {
            let text: String = row.try_get("id")?;
            DjangoId::parse_uuid(&text).ok_or_else(|| crate::Error::BadRow {
                table: "auth_user",
                message: "the id is not a UUID".into(),
            })?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_default_reads_every_column() {
        let sql = UserSql::new(UserTable::default(), Dialect::Sqlite);
        assert!(
            sql.by_id
                .contains("FROM \"auth_user\" AS u WHERE u.\"id\" = ?1")
        );
        assert!(sql.by_login.contains("u.\"username\" AS username"));
        assert!(sql.set_last_login.is_some());
        assert_eq!(sql.insert.0.len(), 9);
    }

    #[test]
    fn absent_columns_read_as_constants_and_are_not_written() {
        let mut t = UserTable::named("accounts_user");
        t.login = "email".into();
        t.is_staff = None;
        t.is_active = None;
        t.last_login = None;
        let sql = UserSql::new(t, Dialect::Postgres);
        assert!(sql.by_login.contains("WHERE u.\"email\" = $1"));
        assert!(sql.by_id.contains("TRUE AS is_active"));
        assert!(sql.by_id.contains("NULL::int8 AS last_login"));
        assert!(sql.set_last_login.is_none());
        assert!(sql.set_active.is_none());
        // The e-mail is the login: inserted once.
        assert_eq!(sql.insert.1.matches("\"email\"").count(), 2);
        assert!(!sql.insert.0.contains(&NewUserField::Email));
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "1x", "a b", "a\"b", "a;b", &"x".repeat(64)] {
            assert!(UserTable::named(bad).validate().is_err(), "{bad:?}");
        }
        assert!(UserTable::named("Accounts_User2").validate().is_ok());
    }
}
