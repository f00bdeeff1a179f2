//! `GET /api/schema/`: the OpenAPI 3.1 document of everything `tessera serve` answers
//! under `API_PREFIX` (and the JWKS at the root), built once at start-up from the same
//! route table the router is built from ([`tessera_axum::openapi`]), with the server's
//! own routes (health, ready, me, password change, the demo reviews) added from the
//! types their handlers serialise.

use serde::Serialize;
use serde_json::Value;
use tessera_axum::openapi::{ApiDoc, Detail, FieldErrors, Operation, jwks_operation, schema_ref};
use utoipa::ToSchema;

use crate::config::{Config, ServerRoutes};

/// `{status}` of the health and readiness probes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`, `ready`, `migrations pending`, `database unreachable`.
    pub status: String,
    /// The migrations this build has that the database lacks (when not ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub pending: Option<Vec<String>>,
}

/// `GET /api/me/`: the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user's id (a number, or a UUID string for a UUID primary key).
    #[schema(value_type = Value)]
    pub id: Value,
    /// The login name.
    pub username: String,
    /// The e-mail address (may be empty).
    pub email: String,
}

/// `POST /api/me/password/`'s body.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChange {
    /// The current password.
    pub old_password: String,
    /// The new one (Django's strength rules).
    pub new_password: String,
}

/// A product review of the demo API.
#[derive(Debug, Serialize, ToSchema)]
pub struct Review {
    /// Its id.
    pub id: i64,
    /// The product reviewed.
    pub product: String,
    /// 1 to 5.
    pub rating: i64,
    /// Free text (may be empty).
    pub comment: String,
    /// The author's username.
    pub author: String,
    /// When it was written (ISO 8601).
    pub created_at: String,
}

/// `POST /api/reviews/`'s body.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewReview {
    /// The product reviewed (at most 200 characters).
    pub product: String,
    /// 1 to 5.
    pub rating: i64,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub comment: Option<String>,
}

/// The whole document for `config`, as served.
pub fn document(config: &Config) -> crate::error::Result<Value> {
    let (mut endpoints, routes) = config.routes()?;
    let cookies = config.settings.auth_cookie_mode != tessera_core::CookieMode::Off;
    if !cookies {
        for e in tessera_axum::Endpoint::ALL {
            if e.is_browser_only() {
                endpoints.set(e, None)?;
            }
        }
    }
    let prefix = format!("/{}", config.server.api_prefix.trim_matches('/'));
    let mut doc = ApiDoc::new("Tessera", env!("CARGO_PKG_VERSION"));
    doc.schema::<Status>()
        .schema::<Me>()
        .schema::<PasswordChange>()
        .schema::<Review>()
        .schema::<NewReview>();
    doc.token_routes(
        &prefix,
        &endpoints,
        &config.settings.username_field,
        cookies,
    );
    server_routes(&mut doc, &prefix, &routes);
    doc.operation(
        "/.well-known/jwks.json",
        jwks_operation("The public keys (RFC 8615's place)"),
    );
    Ok(doc.to_json())
}

fn server_routes(doc: &mut ApiDoc, prefix: &str, routes: &ServerRoutes) {
    let at = |path: &str| format!("{prefix}{path}");
    if let Some(p) = &routes.health {
        doc.operation(
            &at(p),
            Operation::get("Liveness: the process answers", schema_ref::<Status>()),
        );
    }
    if let Some(p) = &routes.ready {
        doc.operation(
            &at(p),
            Operation::get(
                "Readiness: the database answers and its schema is current",
                schema_ref::<Status>(),
            )
            .answers(503, vec![schema_ref::<Status>()]),
        );
    }
    if let Some(p) = &routes.me {
        doc.operation(
            &at(p),
            Operation::get("The caller's user", schema_ref::<Me>()).with_bearer(),
        );
    }
    if let Some(p) = &routes.me_password {
        doc.operation(
            &at(p),
            Operation::post(
                "Change the caller's password (every session ends)",
                Some(schema_ref::<PasswordChange>()),
                schema_ref::<Detail>(),
            )
            .with_bearer(),
        );
    }
    if let Some(p) = &routes.reviews {
        let list = serde_json::json!({ "type": "array", "items": schema_ref::<Review>() });
        doc.operation(
            &at(p),
            Operation::get("The demo API's reviews", list).with_bearer(),
        );
        doc.operation(
            &at(p),
            Operation::post(
                "Write a review",
                Some(schema_ref::<NewReview>()),
                schema_ref::<Review>(),
            )
            .answers(201, vec![schema_ref::<Review>()])
            .answers(400, vec![schema_ref::<FieldErrors>()])
            .with_bearer(),
        );
    }
    if let Some(p) = &routes.schema {
        doc.operation(
            &at(p),
            Operation::get(
                "This document (OpenAPI 3.1)",
                serde_json::json!({ "type": "object" }),
            ),
        );
    }
}
