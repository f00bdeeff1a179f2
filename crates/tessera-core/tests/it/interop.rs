//! Interoperability with an independent implementation: Python's PyJWT (with
//! `cryptography`), installed from PyPI into a virtualenv under the target directory.
//! Tokens Tessera signs with each algorithm verify in PyJWT, and tokens PyJWT signs
//! verify in Tessera. Skipped (with a message) when PyPI cannot be reached, except under
//! `CI=true`, where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_core::{
    Algorithm, Key, KeySet, ManualClock, OsRandom, Settings, TokenKind, TokenService,
};

const PYJWT: &str = "PyJWT==2.10.1";
const CRYPTOGRAPHY: &str = "cryptography==44.0.2";

const SCRIPT: &str = r#"
import json, sys, jwt
jobs = json.load(open(sys.argv[1]))
out = []
for job in jobs:
    alg = job["alg"]
    if alg.startswith("HS"):
        verify_key = job["secret"].encode()
        sign_key = verify_key
    else:
        verify_key = jwt.PyJWK(job["jwk"]).key
        sign_key = job["private_pem"].encode()
    claims = jwt.decode(job["token"], verify_key, algorithms=[alg], options={"verify_exp": False, "verify_iat": False})
    assert claims["user_id"] == "42", claims
    header = jwt.get_unverified_header(job["token"])
    py_token = jwt.encode({"token_type": "access", "exp": 4102444800, "iat": 1, "jti": "p" * 32, "user_id": "7"},
                          sign_key, algorithm=alg, headers={"kid": job["kid"]})
    out.append({"alg": alg, "header": header, "py_token": py_token})
json.dump(out, open(sys.argv[2], "w"))
"#;

fn venv() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pyjwt-venv");
    let python = dir.join("bin/python");
    let ready = dir.join(".ready");
    if ready.exists() {
        return Some(python);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let run = |cmd: &mut Command| cmd.status().map(|s| s.success()).unwrap_or(false);
    let ok = run(Command::new("python3").args(["-m", "venv"]).arg(&dir))
        && run(Command::new(dir.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PYJWT,
            CRYPTOGRAPHY,
        ]));
    if !ok {
        if ci {
            panic!(
                "could not install {PYJWT} and {CRYPTOGRAPHY} into {}",
                dir.display()
            );
        }
        eprintln!("SKIPPED: PyJWT interop test (cannot install {PYJWT} from PyPI)");
        return None;
    }
    std::fs::write(ready, "").unwrap();
    Some(python)
}

fn service(key: Key) -> TokenService {
    let settings = Settings::default();
    TokenService::new(
        &settings,
        KeySet::single(key).unwrap(),
        Arc::new(ManualClock::at_secs(1_800_000_000)),
        Arc::new(OsRandom),
    )
}

fn run_python(python: &Path, jobs: &Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let (script, input, output) = (
        dir.path().join("t.py"),
        dir.path().join("in.json"),
        dir.path().join("out.json"),
    );
    std::fs::write(&script, SCRIPT).unwrap();
    std::fs::write(&input, jobs.to_string()).unwrap();
    let o = Command::new(python)
        .arg(&script)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "PyJWT refused a Tessera token:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str::<Vec<Value>>(&std::fs::read_to_string(output).unwrap()).unwrap()
}

#[test]
fn tessera_and_pyjwt_verify_each_other() {
    let Some(python) = venv() else { return };
    let algs = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    let mut jobs = Vec::new();
    let mut services = Vec::new();
    for alg in algs {
        let kid = format!("interop-{}", alg.name());
        let (key, private) = Key::generate(alg, &OsRandom, Some(kid.clone())).unwrap();
        let jwk = key
            .public_jwk()
            .cloned()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        let tokens = service(key);
        let token = tokens
            .encode(&tokens.for_user(TokenKind::Access, "42"))
            .unwrap();
        jobs.push(json!({
            "alg": alg.name(), "kid": kid, "token": token, "jwk": jwk,
            "secret": if alg.is_hmac() { private.clone() } else { String::new() },
            "private_pem": if alg.is_hmac() { String::new() } else { private },
        }));
        services.push((alg, tokens));
    }
    let results = run_python(&python, &Value::from(jobs));
    assert_eq!(results.len(), services.len());
    for ((alg, tokens), r) in services.iter().zip(results) {
        assert_eq!(r["alg"], alg.name());
        let py_token = r["py_token"].as_str().unwrap();
        let claims = tokens
            .validate(py_token, Some(TokenKind::Access))
            .unwrap_or_else(|e| panic!("Tessera refused PyJWT's {alg:?} token: {e}"));
        assert_eq!(claims["user_id"], "7");
    }
}
