//! `GET /api/schema/`: the OpenAPI document follows the configuration the router is
//! built from (moved, switched-off and cookie-mode endpoints, the prefix, the login
//! field). That the server answers as the document says is `scripts/schema-test.sh`
//! (schemathesis against the running binary, run by CI).

use serde_json::{Value, json};

use crate::support::TestServer;

async fn schema(overrides: Value, at: &str) -> Value {
    let s = TestServer::start(overrides).await;
    let r = s.get(at, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.body
}

fn paths(doc: &Value) -> Vec<String> {
    doc["paths"].as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn the_schema_describes_the_routes_as_configured() {
    let doc = schema(json!({}), "/api/schema/").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let p = paths(&doc);
    for path in [
        "/api/token/",
        "/api/token/refresh/",
        "/api/token/verify/",
        "/api/token/blacklist/",
        "/api/token/valid/",
        "/api/me/",
        "/api/schema/",
        "/.well-known/jwks.json",
    ] {
        assert!(p.contains(&path.to_owned()), "{path} missing from {p:?}");
    }
    assert!(
        !p.iter().any(|p| p.contains("logout")),
        "bearer mode has no logout route"
    );
    let login = &doc["paths"]["/api/token/"]["post"];
    assert_eq!(
        login["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TokenPair",
        "the obtain view answers a token pair, not its request (Simple JWT's schema error)"
    );
    assert!(
        login["responses"]["429"].is_object(),
        "throttling is documented"
    );
    assert_eq!(
        doc["components"]["schemas"]["TokenPair"]["required"],
        json!(["refresh", "access"])
    );
    assert_eq!(
        doc["paths"]["/api/me/"]["get"]["security"],
        json!([{"bearer": []}])
    );

    let doc = schema(
        json!({
            "API_PREFIX": "/api/v1/",
            "ENDPOINTS": {"obtain_pair": "auth/login/", "obtain_sliding": false},
            "USERNAME_FIELD": "email",
            "AUTH_COOKIE_MODE": "refresh",
            "AUTH_COOKIE_SECURE": false,
        }),
        "/api/v1/schema/",
    )
    .await;
    let p = paths(&doc);
    assert!(p.contains(&"/api/v1/auth/login/".to_owned()), "{p:?}");
    assert!(!p.contains(&"/api/v1/token/".to_owned()), "{p:?}");
    assert!(!p.contains(&"/api/v1/token/sliding/".to_owned()), "{p:?}");
    assert!(p.contains(&"/api/v1/token/logout/".to_owned()), "{p:?}");
    assert_eq!(
        doc["components"]["schemas"]["Credentials"]["required"],
        json!(["email", "password"])
    );
    assert_eq!(
        doc["paths"]["/api/v1/token/refresh/"]["post"]["requestBody"]["required"], false,
        "in a cookie mode the refresh token may come from the cookie"
    );
}
