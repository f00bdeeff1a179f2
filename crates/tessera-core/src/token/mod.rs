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

use arc_swap::ArcSwap;
use serde_json::Value;

use crate::clock::{Clock, Random};
use crate::error::{Error, Result};
use crate::jws::{STACK_SEGMENT, b64_decode, b64_decode_into, parse_object, split_compact};
use crate::keys::{Key, KeyLookup, KeySet};
use crate::settings::Settings;
use crate::token_cache::VerifiedTokens;

pub use crate::claims::{Claims, MAX_TOKEN_LEN, TokenKind};
pub use crate::jws::b64_encode;

mod mint;
mod validate;

/// Mints and validates tokens for one configuration and one key set.
#[derive(Debug, Clone)]
pub struct TokenService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Replaced whole when the key set changes (a rotation on another instance, a
    /// reloaded key file); readers on the hot path take a guard, not a lock.
    keys: ArcSwap<KeySet>,
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
                keys: ArcSwap::from_pointee(keys),
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

    /// The key set this service signs with now (a snapshot: a later
    /// [`TokenService::replace_keys`] does not change it).
    pub fn keys(&self) -> Arc<KeySet> {
        self.inner.keys.load_full()
    }

    /// Signs and verifies with `keys` from now on, in every clone of this service.
    ///
    /// Tokens remembered as verified are forgotten: one signed by a key that left the
    /// set must not keep passing from memory.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tessera_core::{Algorithm, KeySet, OsRandom, Settings, SystemClock, TokenService};
    /// let old = KeySet::hmac(Algorithm::HS256, &[1; 32]).unwrap();
    /// let new = KeySet::hmac(Algorithm::HS256, &[2; 32]).unwrap();
    /// let s = TokenService::new(&Settings::default(), old, Arc::new(SystemClock), Arc::new(OsRandom));
    /// let signed_before = s.keys().sign(b"x").unwrap();
    /// s.replace_keys(new);
    /// assert!(!s.keys().verify(b"x", &signed_before));
    /// ```
    pub fn replace_keys(&self, keys: KeySet) {
        self.inner.keys.store(Arc::new(keys));
        self.inner.verified.clear();
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
        // Held across the check: a key set replaced meanwhile must not see this token
        // entered into the cache it has just emptied.
        let keys_before = self.inner.keys.load();
        let (claims, local_key) = self.verify_payload(raw, parse_object)?;
        let times = self.validate_registered(&claims)?;
        let claims = Arc::new(claims);
        if local_key {
            // Kept with the time claims already read out: a hit needs no map lookups.
            self.inner
                .verified
                .insert_if(raw, claims.clone(), times, || {
                    std::ptr::eq(&**keys_before, &**self.inner.keys.load())
                });
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
        let keys = self.inner.keys.load();
        let (key, local_key): (&Key, bool) = match keys.by_own_header(header) {
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
        let keys = self.inner.keys.load();
        if let Some(key) = keys.select(alg, kid, None) {
            return Ok((key, true));
        }
        keys.select(alg, kid, self.inner.remote.as_deref())
            .map(|key| (key, false))
            .ok_or(Error::InvalidToken)
    }

    /// True when this service's own key set has a key with this id.
    pub fn has_local_kid(&self, kid: &str) -> bool {
        self.inner
            .keys
            .load()
            .keys()
            .iter()
            .any(|k| k.kid() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, OsRandom};
    use crate::keys::Algorithm;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
