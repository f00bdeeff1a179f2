//! The OpenAPI 3.1 description of the routes, generated from the code that serves them:
//! the paths from the same [`Endpoints`] table the router is built from (so a moved or
//! switched-off endpoint moves or disappears in the document too), the bodies' schemas
//! derived (`utoipa::ToSchema`) from the very types the handlers serialise.
//!
//! Simple JWT's own schema (drf-spectacular's) is wrong in known ways: it documents the
//! obtain view as answering its request serializer (`{username, password}`), and none of
//! the error bodies. This one documents what is answered, errors included: Simple JWT's
//! `{detail, code, messages}` for token failures, DRF's `{field: [message]}` for invalid
//! input, `{detail}` for the rest.

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::{PartialSchema, ToSchema};

use crate::endpoints::{Endpoint, Endpoints};

/// `{refresh, access}`: a login's token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// The refresh token.
    pub refresh: String,
    /// The access token.
    pub access: String,
}

/// `{access}`, and `refresh` when rotation is on: a refresh's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refreshed {
    /// The new access token.
    pub access: String,
    /// The new refresh token (`ROTATE_REFRESH_TOKENS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh: Option<String>,
}

/// `{token}`: a sliding token.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlidingToken {
    /// The sliding token.
    pub token: String,
}

/// `{}`: verify, blacklist and the logouts answer nothing else.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// The login request (`USERNAME_FIELD` names the first field; `username` by default).
#[derive(Debug, Serialize, ToSchema)]
pub struct Credentials {
    /// The login name.
    pub username: String,
    /// The password (at most 4096 characters).
    pub password: String,
}

/// `{refresh}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshRequest {
    /// A refresh token.
    pub refresh: String,
}

/// `{token}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenRequest {
    /// A token of any type.
    pub token: String,
}

/// Simple JWT's answer to a token that failed: `detail`, `code` and, for a bearer token
/// no token class accepts, one message per class.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenError {
    /// What went wrong, for a person.
    pub detail: String,
    /// `token_not_valid`, `user_not_found`, `user_inactive`, `password_changed`,
    /// `token_reused`, `bad_authorization_header`, …
    pub code: String,
    /// Per token class, why it refused the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub messages: Option<Vec<TokenClassMessage>>,
}

/// One token class's refusal.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenClassMessage {
    /// `AccessToken`, `SlidingToken`, …
    pub token_class: String,
    /// `access`, `sliding`, …
    pub token_type: String,
    /// Why.
    pub message: String,
}

/// `{detail}` (with a `code` on some): DRF's answer for everything else (bad
/// credentials, throttling, unsupported media, a body too large, …).
#[derive(Debug, Serialize, ToSchema)]
pub struct Detail {
    /// What went wrong, for a person.
    pub detail: String,
    /// A machine-readable code, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub code: Option<String>,
}

/// DRF's invalid-input answer: each field with its messages (`non_field_errors` for the
/// whole).
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrors(pub std::collections::BTreeMap<String, Vec<String>>);

/// DRF's answer to `OPTIONS`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionsMetadata {
    /// The view's name.
    pub name: String,
    /// Its description (empty).
    pub description: String,
    /// Media types it answers in.
    pub renders: Vec<String>,
    /// Media types it reads.
    pub parses: Vec<String>,
}

/// A JSON Web Key Set (RFC 7517 §5): the public keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The public keys (JWKs), each with `kty`, `kid`, `alg`, `use` and its parameters.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<Map<String, Value>>,
}

/// The answer to `token/valid/` (the pair check): `detail` and `code`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairCheck {
    /// What the check found.
    pub detail: String,
    /// Its code (the article's codes, or `snake_case` ones: `PAIR_CHECK_CODES`).
    pub code: String,
}

/// The pair check's request: the refresh token (the access token travels in the
/// `Authorization` header); either may be missing, which makes it invalid.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairCheckRequest {
    /// The refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refresh: Option<String>,
}

/// The signed-in user of a browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    /// The user's id, as tokens carry it (Simple JWT 5.5: a string).
    #[schema(value_type = Value)]
    pub id: Value,
    /// The login name.
    pub username: String,
}

/// A browser session (`token/session/`): `authenticated`, and when it is, who, until
/// when, and a fresh CSRF token. Never a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Whether the refresh cookie holds a live session.
    pub authenticated: bool,
    /// The signed-in user.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub user: Option<SessionUser>,
    /// When the session's refresh token expires (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub expires: Option<i64>,
    /// A fresh CSRF token for the CSRF header.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub csrf: Option<String>,
}

/// One operation of the document: its method, request and answers.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `get` or `post` (lower case, as OpenAPI keys them).
    pub method: &'static str,
    /// One line on what it does.
    pub summary: String,
    /// The JSON body's schema, when it takes one.
    pub request: Option<Value>,
    /// Whether the body must be sent (not in the cookie modes, where the token may
    /// travel in a cookie instead).
    pub request_required: bool,
    /// Whether it takes `Authorization: Bearer <access>`.
    pub bearer: bool,
    /// The media type of its 2xx answers (`application/json`).
    pub media_type: &'static str,
    /// Status → the answer's schema (several: any of them).
    pub responses: Vec<(u16, Vec<Value>)>,
}

impl Operation {
    /// A `POST` taking `request` and answering `ok` with 200.
    pub fn post(summary: impl Into<String>, request: Option<Value>, ok: Value) -> Operation {
        Operation {
            method: "post",
            summary: summary.into(),
            request,
            request_required: true,
            bearer: false,
            media_type: "application/json",
            responses: vec![(200, vec![ok])],
        }
    }

    /// A `GET` answering `ok` with 200.
    pub fn get(summary: impl Into<String>, ok: Value) -> Operation {
        Operation {
            method: "get",
            summary: summary.into(),
            request: None,
            request_required: false,
            bearer: false,
            media_type: "application/json",
            responses: vec![(200, vec![ok])],
        }
    }

    /// Also answers `status` with one of `schemas`.
    pub fn answers(mut self, status: u16, schemas: Vec<Value>) -> Operation {
        match self.responses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, list)) => list.extend(schemas),
            None => self.responses.push((status, schemas)),
        }
        self
    }

    /// Takes a bearer access token: 401 (and 400 for a malformed header) documented.
    pub fn with_bearer(mut self) -> Operation {
        self.bearer = true;
        self.answers(
            401,
            vec![schema_ref::<TokenError>(), schema_ref::<Detail>()],
        )
    }
}

/// The JWKS's `GET` (`application/jwk-set+json`, 304 when the `ETag` matched).
pub fn jwks_operation(summary: &str) -> Operation {
    let mut op = Operation::get(summary, schema_ref::<Jwks>()).answers(304, vec![]);
    op.media_type = "application/jwk-set+json";
    op
}

/// `{"$ref": "#/components/schemas/<T>"}`.
pub fn schema_ref<T: ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
}

/// The answers every route may give besides its own: DRF's `{detail}` for a wrong
/// method, an unsupported media type, a body or header block too large, and a service
/// that cannot answer now; `{field: [message]}` or `{detail}` for bad input.
fn common_errors(op: Operation) -> Operation {
    let detail = schema_ref::<Detail>;
    let op = op
        .answers(405, vec![detail()])
        .answers(431, vec![detail()])
        .answers(503, vec![detail()]);
    if op.method == "post" {
        op.answers(400, vec![schema_ref::<FieldErrors>(), detail()])
            .answers(403, vec![detail()])
            .answers(413, vec![detail()])
            .answers(415, vec![detail()])
    } else {
        op
    }
}

/// An OpenAPI 3.1 document being assembled.
#[derive(Debug)]
pub struct ApiDoc {
    title: String,
    version: String,
    paths: Map<String, Value>,
    schemas: Map<String, Value>,
}

impl ApiDoc {
    /// An empty document with every body schema of the token routes.
    pub fn new(title: &str, version: &str) -> ApiDoc {
        let mut doc = ApiDoc {
            title: title.into(),
            version: version.into(),
            paths: Map::new(),
            schemas: Map::new(),
        };
        doc.schema::<TokenPair>();
        doc.schema::<Refreshed>();
        doc.schema::<SlidingToken>();
        doc.schema::<Empty>();
        doc.schema::<Credentials>();
        doc.schema::<RefreshRequest>();
        doc.schema::<TokenRequest>();
        doc.schema::<TokenError>();
        doc.schema::<TokenClassMessage>();
        doc.schema::<Detail>();
        doc.schema::<FieldErrors>();
        doc.schema::<OptionsMetadata>();
        doc.schema::<Jwks>();
        doc.schema::<PairCheck>();
        doc.schema::<PairCheckRequest>();
        doc.schema::<SessionUser>();
        doc.schema::<SessionInfo>();
        doc
    }

    /// Adds `T`'s schema to the components.
    pub fn schema<T: ToSchema>(&mut self) -> &mut ApiDoc {
        let schema = serde_json::to_value(<T as PartialSchema>::schema()).unwrap_or(Value::Null);
        self.schemas.insert(T::name().into_owned(), schema);
        self
    }

    /// Adds a schema under `name` as it is.
    pub fn named_schema(&mut self, name: &str, schema: Value) -> &mut ApiDoc {
        self.schemas.insert(name.to_owned(), schema);
        self
    }

    /// Adds `op` at `path` (with the answers every route may give, and `OPTIONS`).
    pub fn operation(&mut self, path: &str, op: Operation) -> &mut ApiDoc {
        let op = common_errors(op);
        let mut responses = Map::new();
        for (status, schemas) in &op.responses {
            let mut response = json!({ "description": status_text(*status) });
            // An answer with no schema (304) has no body.
            let schema = match schemas.as_slice() {
                [] => None,
                [one] => Some(one.clone()),
                many => Some(json!({ "anyOf": many })),
            };
            if let Some(schema) = schema {
                let media = if (200..300).contains(status) {
                    op.media_type
                } else {
                    "application/json"
                };
                response["content"] = json!({ media: { "schema": schema } });
            }
            responses.insert(status.to_string(), response);
        }
        let mut operation = json!({
            "summary": op.summary,
            "operationId": operation_id(op.method, path),
            "responses": responses,
        });
        if let Some(request) = &op.request {
            operation["requestBody"] = json!({
                "required": op.request_required,
                "content": {
                    "application/json": { "schema": request },
                    "application/x-www-form-urlencoded": { "schema": request },
                },
            });
        }
        if op.bearer {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        let item = self
            .paths
            .entry(path.to_owned())
            .or_insert_with(|| json!({}));
        item[op.method] = operation;
        item["options"] = json!({
            "summary": "DRF's metadata of the view",
            "operationId": operation_id("options", path),
            "responses": { "200": {
                "description": "OK",
                "content": { "application/json": { "schema": schema_ref::<OptionsMetadata>() } },
            }},
        });
        self
    }

    /// The token routes `endpoints` enables, under `prefix` (`/api`), with the login
    /// field named `login_field` (`USERNAME_FIELD`); with `cookies` (a cookie mode) the
    /// token bodies are optional, since the cookie may carry the token.
    pub fn token_routes(
        &mut self,
        prefix: &str,
        endpoints: &Endpoints,
        login_field: &str,
        cookies: bool,
    ) -> &mut ApiDoc {
        let token = || schema_ref::<TokenError>();
        let detail = || schema_ref::<Detail>();
        let credentials = || schema_ref::<Credentials>();
        if login_field != "username" {
            let mut schema = serde_json::to_value(Credentials::schema()).unwrap_or(Value::Null);
            rename_property(&mut schema, "username", login_field);
            self.named_schema(&Credentials::name(), schema);
        }
        for (endpoint, path) in endpoints.enabled() {
            let full = format!("{}{}", prefix.trim_end_matches('/'), path);
            let op = match endpoint {
                Endpoint::ObtainPair => Operation::post(
                    "Log in: a token pair",
                    Some(credentials()),
                    schema_ref::<TokenPair>(),
                )
                .answers(401, vec![detail()])
                .answers(429, vec![detail()]),
                Endpoint::ObtainSliding => Operation::post(
                    "Log in: a sliding token",
                    Some(credentials()),
                    schema_ref::<SlidingToken>(),
                )
                .answers(401, vec![detail()])
                .answers(429, vec![detail()]),
                Endpoint::Refresh => Operation::post(
                    "A new access token (and refresh token, with rotation)",
                    Some(schema_ref::<RefreshRequest>()),
                    schema_ref::<Refreshed>(),
                )
                .answers(401, vec![token(), detail()]),
                Endpoint::Verify => Operation::post(
                    "Whether a token is valid",
                    Some(schema_ref::<TokenRequest>()),
                    schema_ref::<Empty>(),
                )
                .answers(401, vec![token()]),
                Endpoint::Blacklist => Operation::post(
                    "Log out: the refresh token's session ends",
                    Some(schema_ref::<RefreshRequest>()),
                    schema_ref::<Empty>(),
                )
                .answers(401, vec![token()]),
                Endpoint::BlacklistAll => {
                    Operation::post("Log out everywhere", None, schema_ref::<Empty>()).with_bearer()
                }
                Endpoint::RefreshSliding => Operation::post(
                    "A sliding token with a later expiry",
                    Some(schema_ref::<TokenRequest>()),
                    schema_ref::<SlidingToken>(),
                )
                .answers(401, vec![token()]),
                Endpoint::PairCheck => {
                    let mut op = Operation::post(
                        "Which of an access and a refresh token is bad",
                        Some(schema_ref::<PairCheckRequest>()),
                        schema_ref::<PairCheck>(),
                    )
                    .answers(400, vec![schema_ref::<PairCheck>()]);
                    op.request_required = false;
                    op
                }
                Endpoint::Jwks => jwks_operation("The public keys"),
                Endpoint::Logout => Operation::post(
                    "Log out (browser): the cookie's session ends, the cookies are cleared",
                    None,
                    schema_ref::<Empty>(),
                )
                .answers(403, vec![detail()]),
                Endpoint::LogoutAll => {
                    Operation::post("Log out everywhere (browser)", None, schema_ref::<Empty>())
                        .with_bearer()
                        .answers(403, vec![detail()])
                }
                Endpoint::Session => Operation::get(
                    "The browser session: who, until when, a CSRF token",
                    schema_ref::<SessionInfo>(),
                ),
            };
            let mut op = op;
            if cookies && endpoint != Endpoint::ObtainPair && endpoint != Endpoint::ObtainSliding {
                op.request_required = false;
            }
            self.operation(&full, op);
        }
        self
    }

    /// The document as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "openapi": "3.1.0",
            "info": { "title": self.title, "version": self.version },
            "paths": self.paths,
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {
                    "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                },
            },
        })
    }
}

fn rename_property(schema: &mut Value, from: &str, to: &str) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut)
        && let Some(v) = props.remove(from)
    {
        props.insert(to.to_owned(), v);
    }
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        for r in required.iter_mut() {
            if r == from {
                *r = Value::from(to);
            }
        }
    }
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.push_str(&seg.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    }
    id
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not modified (the ETag matched)",
        400 => "Invalid input",
        401 => "Not authenticated, or the token or credentials are not valid",
        403 => "Refused (CSRF check)",
        404 => "Not found",
        405 => "Method not allowed",
        413 => "Body too large",
        415 => "Unsupported media type",
        429 => "Throttled (too many failed logins)",
        431 => "Header block too large",
        503 => "Unavailable for now (database, or every hashing slot busy)",
        _ => "Answer",
    }
}
