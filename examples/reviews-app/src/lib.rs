//! # A product-review API that mounts Tessera
//!
//! An ordinary axum app: its own users table with integer ids ([`users::Members`]), its own
//! routes, its own reviews table. Tessera comes in as a library:
//!
//! * the token routes under `/api/v1/auth/` (`token/`, `token/refresh/`, …), logging in by
//!   e-mail address;
//! * `Authenticated<Member>` on the app's own routes;
//! * `issue_pair_for` at sign-up, so a new member is logged in at once.
//!
//! The ledger and the login throttling counters live in Tessera's tables in the same
//! SQLite file.

#![allow(missing_docs)] // an example: the items are described where they are used

pub mod users;

// The README's Rust snippets are compiled as this crate's doc tests, so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeSnippets;

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row as _;
use tessera_axum::{ApiError, AuthState, Authenticated, HttpConfig, SecurityLayer};
use tessera_core::{KeySet, Settings};
use tessera_engine::Tessera;

use crate::users::{Member, Members};

/// The app's state: Tessera (over the app's members) and the app's own tables.
#[derive(Clone)]
pub struct App {
    pub auth: AuthState<Member>,
    pub members: Members,
}

impl FromRef<App> for AuthState<Member> {
    fn from_ref(app: &App) -> Self {
        app.auth.clone()
    }
}

impl FromRef<App> for HttpConfig {
    fn from_ref(app: &App) -> Self {
        app.auth.http().clone()
    }
}

/// The app on the SQLite file at `path`, signing with the HMAC secret `key`.
pub async fn build(path: &str, key: &[u8]) -> Result<(App, Router), Box<dyn std::error::Error>> {
    let url = format!("sqlite://{path}");
    // Tessera's ledger and counters (and, unused here, Django's user table).
    let tessera_tables = tessera_store::open(&url).await?;
    tessera_tables.migrate().await?;
    // The app's own tables, through its own pool.
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(5)),
        )
        .await?;
    let members = Members(pool);
    members.migrate().await?;

    let settings = Settings::from_json(json!({
        "ROTATE_REFRESH_TOKENS": true,
        "BLACKLIST_AFTER_ROTATION": true,
    }))?;
    let keys = KeySet::hmac(settings.algorithm, key)?;
    let engine = Tessera::builder_with_users(
        settings.clone(),
        keys,
        Arc::new(members.clone()),
        tessera_tables.clone(),
        tessera_tables,
    )
    // Members' rows kept in memory for the user check; see `suspend` for the other half.
    .cache_app_users(std::time::Duration::from_secs(30))
    .build()?;
    let auth = AuthState::new(engine)?;
    let app = App { auth, members };
    let router = Router::new()
        .nest(
            "/api/v1/auth",
            tessera_axum::token_router().with_state(app.auth.clone()),
        )
        .route("/api/v1/signup", post(signup))
        .route("/api/v1/me", get(me))
        .route("/api/v1/reviews", get(list_reviews).post(add_review))
        .with_state(app.clone())
        .layer(SecurityLayer::from_settings(&settings));
    Ok((app, router))
}

impl App {
    /// Suspends (or restores) a member: their tokens stop working with the next request.
    /// The app changed the row behind Tessera's back, so it tells Tessera's user cache.
    pub async fn suspend(&self, id: i64, suspended: bool) -> Result<(), sqlx::Error> {
        self.members.set_active(id, !suspended).await?;
        self.auth.forget_user(&id);
        Ok(())
    }
}

#[derive(Deserialize)]
struct SignUp {
    email: String,
    password: String,
}

/// `POST /api/v1/signup`: a new member, logged in at once (`issue_pair_for`).
async fn signup(State(app): State<App>, Json(body): Json<SignUp>) -> Response {
    let email = body.email.trim().to_lowercase();
    if !email.contains('@') {
        return bad_request("email", "Enter a valid email address.");
    }
    if let Some(problem) = tessera_core::password::strength_problems(&email, &body.password)
        .into_iter()
        .next()
    {
        return bad_request("password", problem);
    }
    let run = async {
        let hash = app.auth.hash_password(body.password).await?;
        let Some(member) = app
            .members
            .create(&email, &hash)
            .await
            .map_err(tessera_store::Error::from)?
        else {
            return Ok(bad_request("email", "This email address is taken."));
        };
        let pair = app.auth.issue_pair_for(&member).await?;
        Ok::<_, ApiError>(
            (
                StatusCode::CREATED,
                Json(json!({"id": member.id, "refresh": pair.refresh, "access": pair.access})),
            )
                .into_response(),
        )
    };
    run.await
        .unwrap_or_else(|e| app.auth.reject(e).into_response())
}

fn bad_request(field: &str, message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ field: [message] }))).into_response()
}

/// `GET /api/v1/me`: the member the access token names.
async fn me(Authenticated { user, .. }: Authenticated<Member>) -> Json<Value> {
    Json(json!({"id": user.id, "email": user.email}))
}

#[derive(Deserialize)]
struct NewReview {
    product: String,
    rating: i64,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/reviews`: a review by the caller.
async fn add_review(
    State(app): State<App>,
    who: Authenticated<Member>,
    Json(r): Json<NewReview>,
) -> Response {
    if !(1..=5).contains(&r.rating) {
        return bad_request("rating", "Ensure this value is between 1 and 5.");
    }
    let done = sqlx::query(
        "INSERT INTO reviews (member_id, product, rating, comment) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(who.user.id)
    .bind(&r.product)
    .bind(r.rating)
    .bind(&r.comment)
    .execute(&app.members.0)
    .await;
    match done {
        Ok(d) => (
            StatusCode::CREATED,
            Json(
                json!({"id": d.last_insert_rowid(), "product": r.product, "rating": r.rating,
                        "comment": r.comment, "author": who.user.email}),
            ),
        )
            .into_response(),
        Err(e) => app
            .auth
            .reject(tessera_store::Error::from(e))
            .into_response(),
    }
}

/// `GET /api/v1/reviews`: every review, oldest first.
async fn list_reviews(State(app): State<App>, _who: Authenticated<Member>) -> Response {
    let rows = sqlx::query(
        "SELECT r.id, r.product, r.rating, r.comment, m.email FROM reviews r \
         JOIN members m ON m.id = r.member_id ORDER BY r.id",
    )
    .fetch_all(&app.members.0)
    .await;
    match rows {
        Ok(rows) => Json(
            rows.iter()
                .map(|r| {
                    json!({
                        "id": r.get::<i64, _>(0), "product": r.get::<String, _>(1),
                        "rating": r.get::<i64, _>(2), "comment": r.get::<String, _>(3),
                        "author": r.get::<String, _>(4),
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => app
            .auth
            .reject(tessera_store::Error::from(e))
            .into_response(),
    }
}
