//! A real server on 127.0.0.1:<ephemeral> with a real SQLite file and a manual clock.

use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use tessera_axum::AuthState;
use tessera_core::{KeySet, ManualClock, User};
use tessera_engine::Tessera;
use tessera_server::config::Config;
use tessera_store::postgres::scratch;
use tessera_store::{NewUser, Store};

pub const KEY: &str = "test-signing-key-that-is-long-enough-0123456789";

pub struct TestServer {
    pub base: String,
    pub clock: ManualClock,
    pub tessera: Tessera,
    /// The HTTP state over `tessera`, for tests that mount routes of their own.
    pub auth: AuthState,
    store: Arc<dyn Store>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
    pg_database: Option<String>,
    /// The PostgreSQL URL, for tests that open a second connection (another instance).
    pub pg_url: Option<String>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(name) = self.pg_database.take() {
            drop_pg_database(name);
        }
    }
}

/// Drops a scratch database from a thread of its own (we may be inside a runtime).
pub fn drop_pg_database(name: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = rt.block_on(scratch::drop(&scratch::admin_url(), &name));
    })
    .join();
}

/// A new PostgreSQL database for one test: `(name, url)`, or `None` (skipped, said on
/// stderr) when no server answers, which under `CI=true` fails the test instead.
pub async fn pg_database() -> Option<(String, String)> {
    let admin = scratch::admin_url();
    let name = format!(
        "tessera_test_{}",
        tessera_core::clock::new_jti(&tessera_core::OsRandom)
    );
    match scratch::create(&admin, &name).await {
        Ok(url) => Some((name, url)),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {admin} is required under CI=true: {e}");
            }
            eprintln!(
                "SKIPPED: PostgreSQL test, no server at {admin} ({e}); set TEST_DATABASE_URL"
            );
            None
        }
    }
}

/// Runs `sql` (several statements) on the database at `url`, creating a SQLite file.
pub async fn run_sql(url: &str, sql: &str) {
    use sqlx::Connection as _;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let path = url.trim_start_matches("sqlite://");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let mut c = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut c)
            .await
            .unwrap();
    }
}

/// Whether `sql` returns any row on the database at `url`.
pub async fn sql_has_rows(url: &str, sql: &str) -> bool {
    use sqlx::Connection as _;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        !sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut c)
            .await
            .unwrap()
            .is_empty()
    } else {
        let path = url.trim_start_matches("sqlite://");
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
        let mut c = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        !sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut c)
            .await
            .unwrap()
            .is_empty()
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.body))
            .to_owned()
    }
}

impl TestServer {
    /// The server with default settings plus `overrides` (a JSON object of settings),
    /// on a SQLite file.
    pub async fn start(overrides: Value) -> TestServer {
        Self::start_on(overrides, None, None).await
    }

    /// [`TestServer::start_either`] on a database that already holds `schema` (SQL run
    /// before Tessera migrates: a Django project's tables).
    pub async fn start_on_schema(pg: bool, overrides: Value, schema: &str) -> Option<TestServer> {
        if !pg {
            return Some(Self::start_on(overrides, None, Some(schema)).await);
        }
        let (name, url) = pg_database().await?;
        let mut s = Self::start_on(overrides, Some(url.clone()), Some(schema)).await;
        s.pg_database = Some(name);
        s.pg_url = Some(url);
        Some(s)
    }

    /// [`TestServer::start`] (`pg` false) or [`TestServer::start_pg`] (`None`: PostgreSQL
    /// is unavailable outside CI), for tests run on both databases.
    pub async fn start_either(pg: bool, overrides: Value) -> Option<TestServer> {
        if pg {
            Self::start_pg(overrides, None).await
        } else {
            Some(Self::start(overrides).await)
        }
    }

    /// The same on a new PostgreSQL database (reached through `url_override` when given,
    /// e.g. a proxy), or `None` when PostgreSQL is unavailable outside CI.
    pub async fn start_pg(
        overrides: Value,
        via: Option<&dyn Fn(&str) -> String>,
    ) -> Option<TestServer> {
        let (name, url) = pg_database().await?;
        let url = via.map_or(url.clone(), |f| f(&url));
        let mut s = Self::start_on(overrides, Some(url.clone()), None).await;
        s.pg_database = Some(name);
        s.pg_url = Some(url);
        Some(s)
    }

    /// The server on an existing database at `url` (another instance beside a server
    /// made by [`TestServer::start_pg`]; the database is not dropped with it).
    pub async fn start_on_url(overrides: Value, url: String) -> TestServer {
        Self::start_on(overrides, Some(url), None).await
    }

    async fn start_on(
        overrides: Value,
        database_url: Option<String>,
        schema: Option<&str>,
    ) -> TestServer {
        let mut map: Map<String, Value> = json!({
            "USER_CLAIM_FIELDS": ["username", "email"],
            "SIGNING_KEY": KEY,
        })
        .as_object()
        .unwrap()
        .clone();
        for (k, v) in overrides.as_object().unwrap() {
            map.insert(k.clone(), v.clone());
        }
        let config = Config::from_map(map, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url =
            database_url.unwrap_or_else(|| format!("sqlite://{}/t.sqlite3", dir.path().display()));
        let limits = tessera_store::PoolOptions {
            max_connections: 5,
            acquire_timeout: std::time::Duration::from_secs(1),
        };
        if let Some(schema) = schema {
            run_sql(&url, schema).await;
        }
        let db =
            tessera_store::open_database_with_users(&url, limits, config.user_table().unwrap())
                .await
                .unwrap();
        tessera_server::database::migrate(&db).await.unwrap();
        let store = tessera_server::serve::with_user_cache(&config, db.store());
        let clock = ManualClock::now();
        // The suite's fixed key, else the keys as `tessera serve` finds them (the data
        // directory's files, or the database key set).
        let (source, keys) = if config.settings.signing_key.expose() == KEY {
            let keys = KeySet::hmac(config.settings.algorithm, KEY.as_bytes()).unwrap();
            (None, keys)
        } else {
            let (source, keys) =
                tessera_server::key_source::KeySource::open(&config, store.clone(), dir.path())
                    .await
                    .unwrap();
            (Some(source), keys)
        };
        let mut builder = tessera_server::serve::tessera_builder(&config, keys, store.clone())
            .unwrap()
            .clock(Arc::new(clock.clone()));
        if let Some(tessera_server::key_source::KeySource::Database(ring)) = &source {
            builder = builder.key_ring(ring.clone());
        }
        let tessera = builder.build().unwrap();
        let sync = tessera.start_revocation_sync().await.unwrap();
        drop(sync); // detached: it runs as long as the runtime
        let app = tessera_server::app::build_with(
            tessera.clone(),
            tessera_server::reviews::Reviews::new(db),
            &config,
            false,
            None,
            source,
        )
        .unwrap();
        let auth = AuthState::new(tessera.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
        TestServer {
            base,
            clock,
            tessera,
            auth,
            store,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            _dir: dir,
            task,
            pg_database: None,
            pg_url: None,
        }
    }

    /// The directory holding the SQLite file (and the key files) of this server.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Creates a user with a real (Argon2id) password hash.
    pub async fn user(&self, name: &str, password: &str) -> User {
        let hash = self
            .tessera
            .hash_password(password.to_owned())
            .await
            .unwrap();
        let mut nu = NewUser::new(name, &hash, 0);
        nu.email = format!("{name}@example.com");
        self.store().create_user(&nu).await.unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some((ct, bytes)) = body {
            req = req.header("content-type", ct).body(bytes);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "non-JSON body {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            Method::POST,
            path,
            &[],
            Some(("application/json", serde_json::to_vec(&body).unwrap())),
        )
        .await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Resp {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.send(Method::GET, path, &headers, None).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send(Method::GET, path, headers, None).await
    }

    /// Logs in; returns (access, refresh).
    pub async fn login(&self, user: &str, password: &str) -> (String, String) {
        let r = self
            .post(
                "/api/token/",
                json!({"username": user, "password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        (r.str("access"), r.str("refresh"))
    }

    /// Signs arbitrary claims with the test key (a token "from someone with the key").
    pub fn sign(&self, header: &str, claims: &Value) -> String {
        let keys = KeySet::hmac(tessera_core::Algorithm::HS256, KEY.as_bytes()).unwrap();
        let input = format!(
            "{}.{}",
            b64(header.as_bytes()),
            b64(&serde_json::to_vec(claims).unwrap())
        );
        let sig = keys.sign(input.as_bytes()).unwrap();
        format!("{input}.{sig}")
    }

    pub fn now(&self) -> i64 {
        use tessera_core::Clock as _;
        self.clock.now_secs()
    }
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Header and claims of a token, without verification.
pub fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let d = |s: &str| -> Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap(),
        )
        .unwrap()
    };
    (d(it.next().unwrap()), d(it.next().unwrap()))
}

pub fn token_not_valid(detail: &str) -> Value {
    json!({"detail": detail, "code": "token_not_valid"})
}
