//! Minting and validating tokens with Simple JWT 5.5.1's exact layout and checks.
//!
//! Claims are kept in a JSON map that preserves insertion order, so a fresh token's
//! payload reads `token_type, exp, iat, jti, user_id, …` exactly as Simple JWT writes it.
//!
//! Validation is split the way Simple JWT orders it, because the order decides which
//! message a client sees: [`TokenService::decode`] is PyJWT's part (signature, `iat`,
//! `nbf`, `exp`, `iss`, `aud`), then the caller may consult the blacklist, then
//! [`TokenService::check`] is Simple JWT's own part (`exp` present, id, type).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::clock::{Clock, Random, new_jti};
use crate::error::{Error, Result};
use crate::keys::{Key, KeyLookup, KeySet};
use crate::settings::Settings;
use crate::token_cache::VerifiedTokens;

/// The claims of a token, in insertion order.
pub type Claims = Map<String, Value>;

/// Longest token accepted whatever `MAX_TOKEN_BYTES` says, in bytes. Real tokens are
/// a few hundred bytes; refusing larger ones before decoding bounds the work an
/// attacker can ask for.
pub const MAX_TOKEN_LEN: usize = 1 << 20;

/// The token types Simple JWT defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Short-lived bearer credential.
    Access,
    /// Long-lived credential that mints access tokens.
    Refresh,
    /// A single token that both authenticates and refreshes itself.
    Sliding,
}

impl TokenKind {
    /// The `token_type` claim value.
    pub fn type_name(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Sliding => "sliding",
        }
    }

    /// Simple JWT's class name, used in the `messages` of a 401.
    pub fn class_name(self) -> &'static str {
        match self {
            TokenKind::Access => "AccessToken",
            TokenKind::Refresh => "RefreshToken",
            TokenKind::Sliding => "SlidingToken",
        }
    }

    /// Whether Simple JWT checks this type against the blacklist when validating.
    pub fn is_blacklistable(self) -> bool {
        matches!(self, TokenKind::Refresh | TokenKind::Sliding)
    }
}

/// base64url without padding, as JWS uses.
pub fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url: no padding, no `+`/`/`, no whitespace, no stray trailing bits.
fn b64_decode(segment: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Error::InvalidToken)
}

/// Decoded segments up to this size (a 8192-bit RSA signature, any ordinary payload) are
/// decoded on the stack.
const STACK_SEGMENT: usize = 1024;

/// [`b64_decode`] into `stack` when the result fits, else into `heap`.
fn b64_decode_into<'a>(
    segment: &str,
    stack: &'a mut [u8; STACK_SEGMENT],
    heap: &'a mut Vec<u8>,
) -> Result<&'a [u8]> {
    // base64 needs 4 characters per 3 bytes; shorter input cannot overflow the buffer.
    if segment.len() / 4 * 3 + 3 <= STACK_SEGMENT {
        let n = URL_SAFE_NO_PAD
            .decode_slice(segment, stack)
            .map_err(|_| Error::InvalidToken)?;
        return stack.get(..n).ok_or(Error::InvalidToken);
    }
    *heap = b64_decode(segment)?;
    Ok(heap)
}

/// Mints and validates tokens for one configuration and one key set.
#[derive(Debug, Clone)]
pub struct TokenService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: KeySet,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    access_lifetime: i64,
    refresh_lifetime: i64,
    sliding_lifetime: i64,
    sliding_refresh_lifetime: i64,
    leeway: i64,
    audience: Option<Vec<String>>,
    issuer: Option<String>,
    type_claim: Option<String>,
    jti_claim: Option<String>,
    refresh_exp_claim: String,
    user_id_claim: String,
    remote: Option<Arc<dyn KeyLookup>>,
    max_token_bytes: usize,
    verified: VerifiedTokens,
}

impl TokenService {
    /// A service for `settings`, signing with `keys`, reading time from `clock`.
    pub fn new(
        settings: &Settings,
        keys: KeySet,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        TokenService {
            inner: Arc::new(Inner {
                keys,
                clock,
                random,
                access_lifetime: settings.access_token_lifetime,
                refresh_lifetime: settings.refresh_token_lifetime,
                sliding_lifetime: settings.sliding_token_lifetime,
                sliding_refresh_lifetime: settings.sliding_token_refresh_lifetime,
                leeway: settings.leeway,
                audience: settings.audience.clone(),
                issuer: settings.issuer.clone(),
                type_claim: settings.token_type_claim.clone(),
                jti_claim: settings.jti_claim.clone(),
                refresh_exp_claim: settings.sliding_token_refresh_exp_claim.clone(),
                user_id_claim: settings.user_id_claim.clone(),
                remote: None,
                max_token_bytes: settings.max_token_bytes,
                verified: VerifiedTokens::new(settings.verified_token_cache),
            }),
        }
    }

    /// The same service, also verifying with keys from `remote` (a JWKS cache) for `kid`s
    /// the local key set does not have.
    pub fn with_remote_keys(
        settings: &Settings,
        keys: KeySet,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        remote: Arc<dyn KeyLookup>,
    ) -> Self {
        let mut s = TokenService::new(settings, keys, clock, random);
        if let Some(inner) = Arc::get_mut(&mut s.inner) {
            inner.remote = Some(remote);
        }
        s
    }

    /// The clock this service reads.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// The key set this service signs with.
    pub fn keys(&self) -> &KeySet {
        &self.inner.keys
    }

    /// The claim that holds the user id (`USER_ID_CLAIM`).
    pub fn user_id_claim(&self) -> &str {
        &self.inner.user_id_claim
    }

    /// The claim that holds the token id, if any (`JTI_CLAIM`).
    pub fn jti_claim(&self) -> Option<&str> {
        self.inner.jti_claim.as_deref()
    }

    /// The token id of `claims`, when it has a string one.
    pub fn jti<'a>(&self, claims: &'a Claims) -> Option<&'a str> {
        claims.get(self.inner.jti_claim.as_deref()?)?.as_str()
    }

    /// The lifetime of a fresh token of `kind`, in seconds.
    pub fn lifetime(&self, kind: TokenKind) -> i64 {
        match kind {
            TokenKind::Access => self.inner.access_lifetime,
            TokenKind::Refresh => self.inner.refresh_lifetime,
            TokenKind::Sliding => self.inner.sliding_lifetime,
        }
    }

    /// A fresh token's claims: `token_type, exp, iat, jti` (+ `refresh_exp` for sliding).
    pub fn new_claims(&self, kind: TokenKind) -> Claims {
        let now = self.inner.clock.now_secs();
        let mut c = Claims::new();
        if let Some(t) = &self.inner.type_claim {
            c.insert(t.clone(), Value::from(kind.type_name()));
        }
        c.insert(
            "exp".into(),
            Value::from(now.saturating_add(self.lifetime(kind))),
        );
        c.insert("iat".into(), Value::from(now));
        if let Some(j) = &self.inner.jti_claim {
            c.insert(j.clone(), Value::from(new_jti(self.inner.random.as_ref())));
        }
        if kind == TokenKind::Sliding {
            c.insert(
                self.inner.refresh_exp_claim.clone(),
                Value::from(now.saturating_add(self.inner.sliding_refresh_lifetime)),
            );
        }
        c
    }

    /// A fresh token of `kind` for the user whose id (as a string, Simple JWT 5.5.1) is
    /// `user_id`.
    pub fn for_user(&self, kind: TokenKind, user_id: &str) -> Claims {
        let mut c = self.new_claims(kind);
        c.insert(self.inner.user_id_claim.clone(), Value::from(user_id));
        c
    }

    /// The access token a refresh token yields: fresh `token_type/exp/iat/jti`, then every
    /// other claim of the refresh token in its order (Simple JWT's `no_copy_claims`).
    pub fn access_from_refresh(&self, refresh: &Claims) -> Claims {
        let mut access = self.new_claims(TokenKind::Access);
        for (k, v) in refresh {
            if !self.is_no_copy(k) {
                access.insert(k.clone(), v.clone());
            }
        }
        access
    }

    fn is_no_copy(&self, claim: &str) -> bool {
        matches!(claim, "exp" | "iat" | "jti")
            || self.inner.type_claim.as_deref() == Some(claim)
            || self.inner.jti_claim.as_deref() == Some(claim)
    }

    /// Rotation: the same refresh payload with a new `jti`, `exp` and `iat`, in place.
    pub fn rotate(&self, refresh: &mut Claims) {
        let now = self.inner.clock.now_secs();
        if let Some(j) = &self.inner.jti_claim {
            refresh.insert(j.clone(), Value::from(new_jti(self.inner.random.as_ref())));
        }
        refresh.insert(
            "exp".into(),
            Value::from(now.saturating_add(self.inner.refresh_lifetime)),
        );
        refresh.insert("iat".into(), Value::from(now));
    }

    /// Sliding refresh: the same payload (same `jti`, same `refresh_exp`) with a new
    /// `exp` and `iat`. The caller checks `refresh_exp` first ([`Self::check_refresh_exp`]).
    pub fn slide(&self, sliding: &mut Claims) {
        let now = self.inner.clock.now_secs();
        sliding.insert(
            "exp".into(),
            Value::from(now.saturating_add(self.inner.sliding_lifetime)),
        );
        sliding.insert("iat".into(), Value::from(now));
    }

    /// Signs `claims` into a compact JWS, adding `aud`/`iss` when configured (they
    /// overwrite any the claims hold, as Simple JWT's backend does).
    pub fn encode(&self, claims: &Claims) -> Result<String> {
        let payload = if self.inner.audience.is_some() || self.inner.issuer.is_some() {
            let mut c = claims.clone();
            if let Some(aud) = &self.inner.audience {
                let v = match aud.as_slice() {
                    [one] => Value::from(one.as_str()),
                    many => Value::from(many.to_vec()),
                };
                c.insert("aud".into(), v);
            }
            if let Some(iss) = &self.inner.issuer {
                c.insert("iss".into(), Value::from(iss.as_str()));
            }
            serde_json::to_vec(&c)
        } else {
            serde_json::to_vec(claims)
        }
        .map_err(|e| Error::Key(e.to_string()))?;
        let keys = &self.inner.keys;
        let mut out = String::with_capacity(keys.header_b64().len() + payload.len() * 4 / 3 + 90);
        out.push_str(keys.header_b64());
        out.push('.');
        out.push_str(&b64_encode(&payload));
        let sig = keys.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&sig);
        Ok(out)
    }

    /// The PyJWT half of validation: structure, algorithm pin, signature, then the
    /// registered claims (`iat`, `nbf`, `exp`, `iss`, `aud`, `sub`, `jti`) in PyJWT's
    /// order. Errors are [`Error::InvalidToken`] or [`Error::ExpiredToken`].
    pub fn decode(&self, raw: &str) -> Result<Claims> {
        let claims = self.decode_signed(raw)?;
        self.validate_registered(&claims)?;
        Ok(claims)
    }

    /// [`Self::decode`] for the authentication of a request, through the verified-token
    /// cache (`VERIFIED_TOKEN_CACHE`): a token that validated before with one of our own
    /// keys has only its time claims checked again, since nothing else about fixed token
    /// bytes can change while the service lives. The answer is the same as `decode`'s.
    pub fn decode_cached(&self, raw: &str) -> Result<Arc<Claims>> {
        if let Some((claims, times)) = self.inner.verified.get(raw) {
            if let Err(e) = self.check_times(times) {
                self.inner.verified.remove(raw);
                return Err(e);
            }
            return Ok(claims);
        }
        let (claims, local_key) = self.verify_payload(raw, parse_object)?;
        let times = self.validate_registered(&claims)?;
        let claims = Arc::new(claims);
        if local_key {
            // Kept with the time claims already read out: a hit needs no map lookups.
            self.inner.verified.insert(raw, claims.clone(), times);
        }
        Ok(claims)
    }

    /// Structure, header, algorithm pin and signature only; the payload as a JSON object.
    /// Used by `tessera decode` to show a token whose claims fail validation.
    pub fn decode_signed(&self, raw: &str) -> Result<Claims> {
        self.with_verified_payload(raw, parse_object)
    }

    /// Verifies a compact JWS (any payload): three canonical base64url segments, a JSON
    /// object header without `crit`, a key chosen by `kid` (or the default key) whose
    /// pinned algorithm is the header's `alg`, and a good signature. Returns the raw
    /// payload. `jku`, `x5u` and embedded `jwk` headers are never followed.
    pub fn verify_jws(&self, raw: &str) -> Result<Vec<u8>> {
        self.with_verified_payload(raw, |payload| Ok(payload.to_vec()))
    }

    /// [`Self::verify_jws`], handing the decoded payload to `then` from a buffer on the
    /// stack: the per-request path allocates nothing for the token's bytes.
    fn with_verified_payload<T>(
        &self,
        raw: &str,
        then: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<T> {
        self.verify_payload(raw, then).map(|(t, _)| t)
    }

    /// [`Self::with_verified_payload`], also telling whether the key that verified the
    /// token is one of ours (`false`: a key from `JWK_URL`).
    fn verify_payload<T>(
        &self,
        raw: &str,
        then: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<(T, bool)> {
        if raw.len() > self.inner.max_token_bytes {
            return Err(Error::InvalidToken);
        }
        let (header, payload, signature) = split_compact(raw)?;
        // Our own tokens carry, byte for byte, the header one of our keys writes; such a
        // header names that key and its algorithm, so decoding and parsing it again would
        // reach the same key. Any other header takes the general path.
        let selected;
        let (key, local_key): (&Key, bool) = match self.inner.keys.by_own_header(header) {
            Some(k) => (k, true),
            None => {
                let local;
                (selected, local) = self.key_for_header(header)?;
                (&selected, local)
            }
        };
        let signing_input_len = header.len() + 1 + payload.len();
        let signing_input = raw.get(..signing_input_len).ok_or(Error::InvalidToken)?;
        // Decoded strictly (no padding, no stray bits) before verifying.
        let mut buf = [0u8; STACK_SEGMENT];
        let mut heap = Vec::new();
        let signature_bytes = b64_decode_into(signature, &mut buf, &mut heap)?;
        if !key.verify_decoded(signing_input.as_bytes(), signature, signature_bytes) {
            return Err(Error::InvalidToken);
        }
        let mut buf = [0u8; STACK_SEGMENT];
        let mut heap = Vec::new();
        Ok((
            then(b64_decode_into(payload, &mut buf, &mut heap)?)?,
            local_key,
        ))
    }

    /// The key a JOSE header selects: a JSON object without `crit`, whose `kid` (or the
    /// default key when there is none) names a key pinned to the header's `alg`; and
    /// whether it is one of our own keys rather than a remote one.
    fn key_for_header(&self, header_b64: &str) -> Result<(Arc<Key>, bool)> {
        let header_map = parse_object(&b64_decode(header_b64)?)?;
        let Some(Value::String(alg)) = header_map.get("alg") else {
            return Err(Error::InvalidToken);
        };
        // RFC 7515 §4.1.11: we understand no critical extensions, so `crit` is fatal.
        if header_map.contains_key("crit") {
            return Err(Error::InvalidToken);
        }
        let kid = match header_map.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(Error::InvalidToken),
        };
        if let Some(key) = self.inner.keys.select(alg, kid, None) {
            return Ok((key, true));
        }
        self.inner
            .keys
            .select(alg, kid, self.inner.remote.as_deref())
            .map(|key| (key, false))
            .ok_or(Error::InvalidToken)
    }

    /// The `kid` of a token's header without verifying anything (to decide whether a
    /// remote key set must be fetched first). `None` for no kid or a malformed token.
    pub fn peek_kid(raw: &str) -> Option<String> {
        let header = raw.split('.').next()?;
        let map = parse_object(&b64_decode(header).ok()?).ok()?;
        map.get("kid")?.as_str().map(str::to_owned)
    }

    /// True when this service's own key set has a key with this id.
    pub fn has_local_kid(&self, kid: &str) -> bool {
        self.inner.keys.keys().iter().any(|k| k.kid() == Some(kid))
    }

    /// PyJWT's checks of the registered claims; the time claims it read, for the cache.
    fn validate_registered(&self, c: &Claims) -> Result<Times> {
        let times = Times::of(c)?;
        self.check_times(times)?;
        if let Some(iss) = &self.inner.issuer {
            match c.get("iss") {
                Some(Value::String(s)) if s == iss => {}
                _ => return Err(Error::InvalidToken),
            }
        }
        if let Some(expected) = &self.inner.audience {
            let ok = match c.get("aud") {
                Some(Value::String(s)) => expected.contains(s),
                Some(Value::Array(items)) => {
                    let mut any = false;
                    for i in items {
                        let Value::String(s) = i else {
                            return Err(Error::InvalidToken);
                        };
                        any |= expected.contains(s);
                    }
                    any
                }
                _ => false,
            };
            if !ok {
                return Err(Error::InvalidToken);
            }
        }
        for name in ["sub", "jti"] {
            if c.get(name).is_some_and(|v| !v.is_string()) {
                return Err(Error::InvalidToken);
            }
        }
        Ok(times)
    }

    /// The registered claims that change meaning with time (`iat`, `nbf`, `exp`), in
    /// PyJWT's order: all a cached token needs checking again.
    fn check_times(&self, t: Times) -> Result<()> {
        let now = self.inner.clock.now_secs();
        let leeway = self.inner.leeway;
        if t.iat.is_some_and(|iat| iat > now.saturating_add(leeway))
            || t.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(Error::InvalidToken);
        }
        if t.exp.is_some_and(|exp| exp <= now.saturating_sub(leeway)) {
            return Err(Error::ExpiredToken);
        }
        Ok(())
    }

    /// Simple JWT's own checks after decoding: `exp` present and not passed, an id, and
    /// the expected type (`None` = any type, as `UntypedToken` for verify).
    pub fn check(&self, c: &Claims, kind: Option<TokenKind>) -> Result<()> {
        self.check_time_claim(c, "exp")?;
        if let Some(j) = &self.inner.jti_claim {
            match c.get(j) {
                None => return Err(Error::NoId),
                Some(Value::String(_)) => {}
                Some(_) => return Err(Error::InvalidToken),
            }
        }
        if let (Some(t), Some(kind)) = (&self.inner.type_claim, kind) {
            match c.get(t) {
                None => return Err(Error::NoType),
                Some(Value::String(s)) if s == kind.type_name() => {}
                Some(_) => return Err(Error::WrongType),
            }
        }
        Ok(())
    }

    /// For sliding refresh: the `refresh_exp` claim must be present and in the future.
    pub fn check_refresh_exp(&self, c: &Claims) -> Result<()> {
        let name = self.inner.refresh_exp_claim.clone();
        self.check_time_claim(c, &name)
    }

    fn check_time_claim(&self, c: &Claims, name: &str) -> Result<()> {
        let v = c
            .get(name)
            .ok_or_else(|| Error::MissingClaim(name.to_owned()))?;
        let t = int_claim(v)?;
        if t <= self
            .inner
            .clock
            .now_secs()
            .saturating_sub(self.inner.leeway)
        {
            return Err(Error::ClaimExpired(name.to_owned()));
        }
        Ok(())
    }

    /// Full validation of a token of `kind` without the blacklist: [`Self::decode`]
    /// then [`Self::check`].
    pub fn validate(&self, raw: &str, kind: Option<TokenKind>) -> Result<Claims> {
        let c = self.decode(raw)?;
        self.check(&c, kind)?;
        Ok(c)
    }

    /// The `exp` of validated claims (0 when absent, which `check` already refused).
    pub fn exp(&self, c: &Claims) -> i64 {
        c.get("exp").and_then(Value::as_i64).unwrap_or(0)
    }
}

/// Splits a compact JWS into its three segments, refusing anything else (JWE's five
/// segments, JSON serialization, empty parts, oversized input).
fn split_compact(raw: &str) -> Result<(&str, &str, &str)> {
    if raw.is_empty() || raw.len() > MAX_TOKEN_LEN {
        return Err(Error::InvalidToken);
    }
    let mut parts = raw.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidToken);
    };
    // An empty payload is a valid JWS (it fails later as claims); an empty header or
    // signature never is.
    if h.is_empty() || s.is_empty() {
        return Err(Error::InvalidToken);
    }
    Ok((h, p, s))
}

/// A JSON object, or an invalid token. Duplicate member names are refused (RFC 7515
/// §5.2 allows a parser to refuse them; accepting "last wins" invites confusion attacks).
fn parse_object(bytes: &[u8]) -> Result<Claims> {
    let v: crate::json::StrictValue =
        serde_json::from_slice(bytes).map_err(|_| Error::InvalidToken)?;
    match v.0 {
        Value::Object(m) => Ok(m),
        _ => Err(Error::InvalidToken),
    }
}

/// A token's time claims, read out once: what must be checked again on every use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Times {
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

impl Times {
    /// The time claims of `c`; any that is present but not a NumericDate is an invalid
    /// token (PyJWT's order of reading them does not change which error that is).
    fn of(c: &Claims) -> Result<Times> {
        let read = |name| c.get(name).map(int_claim).transpose();
        Ok(Times {
            iat: read("iat")?,
            nbf: read("nbf")?,
            exp: read("exp")?,
        })
    }
}

/// A NumericDate claim: a JSON integer within a sane range. Floats, strings and
/// out-of-range numbers are an invalid token, never "absent".
fn int_claim(v: &Value) -> Result<i64> {
    // Year 10000 is far beyond any lifetime we allow; beyond it arithmetic could wrap.
    const MAX: i64 = 253_402_300_799;
    match v.as_i64() {
        Some(n) if (0..=MAX).contains(&n) && !v.is_f64() => Ok(n),
        _ => Err(Error::InvalidToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, OsRandom};
    use crate::keys::Algorithm;
    use serde_json::json;

    const KEY: &[u8] = b"test-signing-key-that-is-32-bytes-long!!";

    fn service(settings: &Settings, clock: &ManualClock) -> TokenService {
        let keys = KeySet::hmac(settings.algorithm, KEY).unwrap();
        TokenService::new(settings, keys, Arc::new(clock.clone()), Arc::new(OsRandom))
    }

    fn sign_raw(header: &str, payload: &str) -> String {
        let keys = KeySet::hmac(Algorithm::HS256, KEY).unwrap();
        let input = format!(
            "{}.{}",
            b64_encode(header.as_bytes()),
            b64_encode(payload.as_bytes())
        );
        let sig = keys.sign(input.as_bytes()).unwrap();
        format!("{input}.{sig}")
    }

    #[test]
    fn layout_matches_simple_jwt() {
        let clock = ManualClock::at_secs(1_795_431_882);
        let s = service(&Settings::default(), &clock);
        let refresh = s.for_user(TokenKind::Refresh, "1");
        let keys: Vec<&str> = refresh.keys().map(String::as_str).collect();
        assert_eq!(keys, ["token_type", "exp", "iat", "jti", "user_id"]);
        assert_eq!(refresh["exp"], json!(1_795_518_282));
        let raw = s.encode(&refresh).unwrap();
        assert!(raw.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
        let access = s.access_from_refresh(&refresh);
        let keys: Vec<&str> = access.keys().map(String::as_str).collect();
        assert_eq!(keys, ["token_type", "exp", "iat", "jti", "user_id"]);
        assert_eq!(access["exp"], json!(1_795_431_882 + 300));
        assert_ne!(access["jti"], refresh["jti"]);
        let sliding = s.for_user(TokenKind::Sliding, "1");
        let keys: Vec<&str> = sliding.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["token_type", "exp", "iat", "jti", "refresh_exp", "user_id"]
        );
    }

    #[test]
    fn the_verified_token_cache_answers_as_decode_does() {
        let clock = ManualClock::at_secs(1_000_000);
        let s = service(&Settings::default(), &clock);
        let raw = s.encode(&s.for_user(TokenKind::Access, "1")).unwrap();
        let first = s.decode_cached(&raw).unwrap();
        let again = s.decode_cached(&raw).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second use is a hit");
        assert_eq!(*first, s.decode(&raw).unwrap());
        // Other bytes never hit, whatever they share with the held token.
        let last = if raw.ends_with('A') { 'E' } else { 'A' };
        let tampered = format!("{}{last}", &raw[..raw.len() - 1]);
        assert_eq!(s.decode_cached(&tampered), Err(Error::InvalidToken));
        assert_eq!(
            s.decode_cached(&format!("{raw} ")),
            s.decode(&format!("{raw} ")).map(Arc::new)
        );
        // Time claims are checked on every hit: expiry and a not-yet-valid token.
        clock.advance_secs(300);
        assert_eq!(s.decode_cached(&raw), Err(Error::ExpiredToken));
        clock.set_secs(1_000_000);
        let fresh = s.decode_cached(&raw).unwrap();
        assert!(
            !Arc::ptr_eq(&first, &fresh),
            "the expired entry was dropped"
        );
        let mut later = s.for_user(TokenKind::Access, "1");
        later.insert("nbf".into(), json!(1_000_100));
        let later = s.encode(&later).unwrap();
        assert_eq!(s.decode_cached(&later), Err(Error::InvalidToken));
        clock.advance_secs(100);
        assert!(s.decode_cached(&later).is_ok());
        clock.set_secs(1_000_000);
        assert_eq!(s.decode_cached(&later), Err(Error::InvalidToken));

        // VERIFIED_TOKEN_CACHE = 0: every use is validated afresh.
        let off = Settings::from_json(json!({"VERIFIED_TOKEN_CACHE": 0})).unwrap();
        let s = service(&off, &clock);
        let a = s.decode_cached(&raw).unwrap();
        assert!(!Arc::ptr_eq(&a, &s.decode_cached(&raw).unwrap()));
    }

    #[derive(Debug)]
    struct Remote(Arc<Key>);

    impl KeyLookup for Remote {
        fn key(&self, kid: &str) -> Option<Arc<Key>> {
            (self.0.kid() == Some(kid)).then(|| self.0.clone())
        }
    }

    #[test]
    fn tokens_checked_with_a_remote_key_are_not_cached() {
        let clock = ManualClock::at_secs(1_000_000);
        let settings = Settings::default();
        let remote_key = Key::hmac(Algorithm::HS256, &[9u8; 32], Some("r".into())).unwrap();
        let signer = TokenService::new(
            &settings,
            KeySet::single(Key::hmac(Algorithm::HS256, &[9u8; 32], Some("r".into())).unwrap())
                .unwrap(),
            Arc::new(clock.clone()),
            Arc::new(OsRandom),
        );
        let raw = signer
            .encode(&signer.for_user(TokenKind::Access, "1"))
            .unwrap();
        let s = TokenService::with_remote_keys(
            &settings,
            KeySet::hmac(Algorithm::HS256, KEY).unwrap(),
            Arc::new(clock.clone()),
            Arc::new(OsRandom),
            Arc::new(Remote(Arc::new(remote_key))),
        );
        let a = s.decode_cached(&raw).unwrap();
        let b = s.decode_cached(&raw).unwrap();
        assert!(
            !Arc::ptr_eq(&a, &b),
            "a remote key may be withdrawn: never cached"
        );
        let own = s.encode(&s.for_user(TokenKind::Access, "1")).unwrap();
        let a = s.decode_cached(&own).unwrap();
        assert!(Arc::ptr_eq(&a, &s.decode_cached(&own).unwrap()));
    }

    #[test]
    fn payloads_of_any_size_and_either_header_path_validate() {
        let clock = ManualClock::at_secs(1_000_000);
        let s = service(&Settings::default(), &clock);
        for size in [0, 700, 1100, 5000] {
            let mut claims = s.for_user(TokenKind::Access, "1");
            claims.insert("pad".into(), json!("x".repeat(size)));
            let raw = s.encode(&claims).unwrap();
            assert_eq!(s.validate(&raw, None).unwrap(), claims, "{size}");
            // The same payload under a header we never write (other member order)
            // takes the general header path and validates the same.
            let (_, rest) = raw.split_once('.').unwrap();
            let (payload, _) = rest.split_once('.').unwrap();
            let payload = URL_SAFE_NO_PAD.decode(payload).unwrap();
            let other = sign_raw(
                r#"{"typ":"JWT","alg":"HS256"}"#,
                std::str::from_utf8(&payload).unwrap(),
            );
            assert_eq!(s.validate(&other, None).unwrap(), claims, "{size}");
            // A tampered signature fails on both paths.
            let last = if raw.ends_with('A') { 'E' } else { 'A' };
            let bad = format!("{}{last}", &raw[..raw.len() - 1]);
            assert!(s.validate(&bad, None).is_err());
        }
    }

    #[test]
    fn validation_messages() {
        let clock = ManualClock::at_secs(1_000_000);
        let s = service(&Settings::default(), &clock);
        let raw = s.encode(&s.for_user(TokenKind::Access, "1")).unwrap();
        assert!(s.validate(&raw, Some(TokenKind::Access)).is_ok());
        assert_eq!(
            s.validate(&raw, Some(TokenKind::Refresh)),
            Err(Error::WrongType)
        );
        assert!(s.validate(&raw, None).is_ok());
        clock.advance_secs(300);
        assert_eq!(s.validate(&raw, None), Err(Error::ExpiredToken));
        assert_eq!(s.validate("garbage", None), Err(Error::InvalidToken));

        clock.set_secs(1_000_000);
        let no_exp = sign_raw(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"token_type":"access","jti":"a"}"#,
        );
        assert_eq!(
            s.validate(&no_exp, None).unwrap_err().to_string(),
            "Token has no 'exp' claim"
        );
        let no_jti = sign_raw(
            r#"{"alg":"HS256"}"#,
            r#"{"token_type":"access","exp":2000000}"#,
        );
        assert_eq!(s.validate(&no_jti, None), Err(Error::NoId));
        let no_type = sign_raw(r#"{"alg":"HS256"}"#, r#"{"exp":2000000,"jti":"a"}"#);
        assert_eq!(
            s.validate(&no_type, Some(TokenKind::Access)),
            Err(Error::NoType)
        );
    }

    #[test]
    fn hostile_tokens_are_invalid() {
        let clock = ManualClock::at_secs(1_000_000);
        let s = service(&Settings::default(), &clock);
        let ok = r#"{"token_type":"access","exp":2000000,"jti":"a","user_id":"1"}"#;
        let none = format!(
            "{}.{}.",
            b64_encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64_encode(ok.as_bytes())
        );
        for bad in [
            none,
            sign_raw(r#"{"alg":"HS512"}"#, ok),
            sign_raw(r#"{"alg":"HS256","crit":["exp"]}"#, ok),
            sign_raw(r#"{"alg":"HS256","alg":"none"}"#, ok),
            sign_raw(r#"{"alg":"HS256"}"#, r#"{"exp":"2000000","jti":"a"}"#),
            sign_raw(r#"{"alg":"HS256"}"#, r#"{"exp":2000000.5,"jti":"a"}"#),
            sign_raw(
                r#"{"alg":"HS256"}"#,
                r#"{"exp":2000000,"iat":1000061,"jti":"a"}"#,
            ),
            sign_raw(
                r#"{"alg":"HS256"}"#,
                r#"{"exp":99999999999999999,"jti":"a"}"#,
            ),
            sign_raw(r#"{"alg":"HS256"}"#, r#"[1,2]"#),
            sign_raw(
                r#"{"alg":"HS256"}"#,
                r#"{"exp":2000000,"jti":"a","jti":"b"}"#,
            ),
            format!("{}=", sign_raw(r#"{"alg":"HS256"}"#, ok)),
            "a.b.c.d.e".to_owned(),
            "...".to_owned(),
            "x".repeat(8 * 1024 + 1),
        ] {
            assert_eq!(s.decode(&bad), Err(Error::InvalidToken), "{bad}");
        }
        let good = sign_raw(r#"{"alg":"HS256"}"#, ok);
        let mut tampered = good.clone().into_bytes();
        let i = tampered.len() - 5;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        assert!(s.decode(&good).is_ok());
        assert_eq!(
            s.decode(std::str::from_utf8(&tampered).unwrap()),
            Err(Error::InvalidToken)
        );
    }

    #[test]
    fn leeway_audience_issuer() {
        let clock = ManualClock::at_secs(1_000_000);
        let settings = Settings {
            leeway: 10,
            audience: Some(vec!["svc".into()]),
            issuer: Some("me".into()),
            ..Settings::default()
        };
        let s = service(&settings, &clock);
        let c = s.for_user(TokenKind::Access, "1");
        let raw = s.encode(&c).unwrap();
        let decoded = s.decode(&raw).unwrap();
        assert_eq!(decoded["aud"], json!("svc"));
        assert_eq!(decoded["iss"], json!("me"));
        clock.advance_secs(305);
        assert!(s.validate(&raw, Some(TokenKind::Access)).is_ok());
        clock.advance_secs(10);
        assert_eq!(s.validate(&raw, None), Err(Error::ExpiredToken));

        clock.set_secs(1_000_000);
        let list_aud = sign_raw(
            r#"{"alg":"HS256"}"#,
            r#"{"exp":2000000,"jti":"a","aud":["x","svc"],"iss":"me"}"#,
        );
        assert!(s.decode(&list_aud).is_ok());
        let no_aud = sign_raw(
            r#"{"alg":"HS256"}"#,
            r#"{"exp":2000000,"jti":"a","iss":"me"}"#,
        );
        assert_eq!(s.decode(&no_aud), Err(Error::InvalidToken));
        let wrong_iss = sign_raw(
            r#"{"alg":"HS256"}"#,
            r#"{"exp":2000000,"aud":"svc","iss":"x"}"#,
        );
        assert_eq!(s.decode(&wrong_iss), Err(Error::InvalidToken));
    }

    #[test]
    fn rotation_and_sliding() {
        let clock = ManualClock::at_secs(1_000_000);
        let s = service(&Settings::default(), &clock);
        let mut r = s.for_user(TokenKind::Refresh, "7");
        r.insert("username".into(), json!("alice"));
        let before = r.clone();
        clock.advance_secs(10);
        s.rotate(&mut r);
        assert_ne!(r["jti"], before["jti"]);
        assert_eq!(r["exp"], json!(1_000_010 + 86_400));
        assert_eq!(r["username"], json!("alice"));
        let keys: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["token_type", "exp", "iat", "jti", "user_id", "username"]
        );

        let mut sl = s.for_user(TokenKind::Sliding, "7");
        let jti = sl["jti"].clone();
        clock.advance_secs(100);
        s.check_refresh_exp(&sl).unwrap();
        s.slide(&mut sl);
        assert_eq!(sl["jti"], jti);
        assert_eq!(sl["exp"], json!(1_000_110 + 300));
        clock.advance_secs(86_400);
        assert_eq!(
            s.check_refresh_exp(&sl).unwrap_err().to_string(),
            "Token 'refresh_exp' claim has expired"
        );
    }
}
