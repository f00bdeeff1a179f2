//! Password hashes in Django's formats, so a Django `auth_user` table works as it is.
//!
//! * `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`: Django's default hasher.
//! * `argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<b64 salt>$<b64 hash>`: Django's
//!   `Argon2PasswordHasher` (argon2-cffi's PHC string behind an `argon2` prefix).
//! * `pbkdf2_sha1$…`, `scrypt$<N>$<salt>$<r>$<p>$<hash>`, `bcrypt$<bcrypt hash>` and
//!   `bcrypt_sha256$<bcrypt hash of the SHA-256 hex digest>`: Django's other hashers, verified
//!   so that users hashed by them can log in (and are rehashed on success).
//! * A hash starting with `!` is Django's "unusable password": nothing matches it.
//!
//! New passwords get the configured hasher (Argon2id by default). A successful login
//! with a hash of another algorithm or weaker parameters is reported by
//! [`PasswordHasher::must_update`] so the caller can rehash, as Django does.
//! Every function here is CPU-heavy by design: call it on a blocking pool.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};

use argon2::{Argon2, Params, Version};
use aws_lc_rs::pbkdf2;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use subtle::ConstantTimeEq;

use crate::clock::Random;
use crate::error::{Error, Result};
use crate::settings::{HasherKind, Settings};

/// Longest password accepted for hashing (bytes). Checked before any hashing, so a
/// megabyte "password" costs nothing.
pub const MAX_PASSWORD_LEN: usize = 4096;

/// Hashes and verifies passwords with one configured policy.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    kind: HasherKind,
    /// `PASSWORD_HASHERS`: the algorithms whose hashes verify (`None`: every one Tessera
    /// knows).
    allowed: Option<Vec<&'static str>>,
    argon2_m: u32,
    argon2_t: u32,
    argon2_p: u32,
    pbkdf2_iterations: u32,
    random: Arc<dyn Random>,
    dummy: Arc<OnceLock<String>>,
}

/// What a stored hash is, parsed.
enum Parsed<'a> {
    Pbkdf2 {
        /// `pbkdf2_sha1` rather than `pbkdf2_sha256`.
        sha1: bool,
        iterations: u32,
        salt: &'a str,
        hash: Vec<u8>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: &'a str,
        hash: Vec<u8>,
    },
    Bcrypt {
        /// `bcrypt_sha256`: bcrypt of the password's SHA-256 hex digest.
        sha256: bool,
        /// The bcrypt string (`$2b$12$…`).
        hash: &'a str,
    },
    Argon2 {
        variant: argon2::Algorithm,
        version: Version,
        m: u32,
        t: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

impl PasswordHasher {
    /// The policy of `settings` (`PASSWORD_HASHER`, `ARGON2_*`, `PBKDF2_ITERATIONS`).
    pub fn new(settings: &Settings, random: Arc<dyn Random>) -> Self {
        let allowed: Vec<&'static str> = settings
            .password_hashers
            .iter()
            .filter_map(|h| crate::settings::algorithm_of_hasher(h))
            .collect();
        let kind = match allowed.first() {
            Some(&"pbkdf2_sha256") => HasherKind::Pbkdf2Sha256,
            Some(_) => HasherKind::Argon2,
            None => settings.password_hasher,
        };
        PasswordHasher {
            kind,
            allowed: (!allowed.is_empty()).then_some(allowed),
            argon2_m: settings.argon2_memory_kib,
            argon2_t: settings.argon2_iterations,
            argon2_p: settings.argon2_parallelism,
            pbkdf2_iterations: settings.pbkdf2_iterations,
            random,
            dummy: Arc::new(OnceLock::new()),
        }
    }

    /// Hashes `password` with the configured hasher and a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String> {
        if password.len() > MAX_PASSWORD_LEN {
            return Err(Error::PasswordHash("password too long".into()));
        }
        let salt = self.salt();
        match self.kind {
            HasherKind::Pbkdf2Sha256 => {
                let iterations = self.pbkdf2_iterations;
                let hash = pbkdf2_sha256(password, &salt, iterations)?;
                Ok(format!(
                    "pbkdf2_sha256${iterations}${salt}${}",
                    STANDARD.encode(hash)
                ))
            }
            HasherKind::Argon2 => {
                let (m, t, p) = (self.argon2_m, self.argon2_t, self.argon2_p);
                let hash = argon2_hash(
                    argon2::Algorithm::Argon2id,
                    Version::V0x13,
                    (m, t, p),
                    password.as_bytes(),
                    salt.as_bytes(),
                    32,
                )?;
                Ok(format!(
                    "argon2$argon2id$v=19$m={m},t={t},p={p}${}${}",
                    STANDARD_NO_PAD.encode(salt.as_bytes()),
                    STANDARD_NO_PAD.encode(hash)
                ))
            }
        }
    }

    /// True when `password` matches `encoded`. Unknown formats, unusable (`!…`) hashes
    /// and over-long passwords never match. The final comparison is constant-time.
    pub fn verify(&self, password: &str, encoded: &str) -> bool {
        if password.len() > MAX_PASSWORD_LEN {
            return false;
        }
        let Ok(parsed) = parse(encoded) else {
            return false;
        };
        if let Some(allowed) = &self.allowed
            && !allowed.contains(&algorithm(encoded))
        {
            return false;
        }
        let computed = match &parsed {
            Parsed::Pbkdf2 {
                sha1,
                iterations,
                salt,
                hash,
            } => pbkdf2_derive(*sha1, password, salt, *iterations, hash.len()),
            Parsed::Argon2 {
                variant,
                version,
                m,
                t,
                p,
                salt,
                hash,
            } => argon2_hash(
                *variant,
                *version,
                (*m, *t, *p),
                password.as_bytes(),
                salt,
                hash.len(),
            ),
            Parsed::Scrypt {
                log_n,
                r,
                p,
                salt,
                hash,
            } => scrypt_hash(password, salt, (*log_n, *r, *p), hash.len()),
            // bcrypt compares in constant time itself.
            Parsed::Bcrypt { sha256, hash } => {
                let input = if *sha256 {
                    let digest =
                        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password.as_bytes());
                    crate::clock::hex(digest.as_ref())
                } else {
                    password.to_owned()
                };
                return bcrypt::verify(input, hash).unwrap_or(false);
            }
        };
        let expected = match &parsed {
            Parsed::Pbkdf2 { hash, .. }
            | Parsed::Argon2 { hash, .. }
            | Parsed::Scrypt { hash, .. } => hash,
            Parsed::Bcrypt { .. } => return false,
        };
        match computed {
            Ok(c) => c.len() == expected.len() && bool::from(c.ct_eq(expected)),
            Err(_) => false,
        }
    }

    /// Spends the same work as verifying a real user's password, against a hash nobody
    /// knows the password of. Used for unknown usernames, so that a login's timing does
    /// not reveal whether the account exists.
    pub fn verify_dummy(&self, password: &str) {
        let dummy = self.dummy.get_or_init(|| {
            let mut secret = [0u8; 24];
            self.random.fill(&mut secret);
            self.hash(&crate::clock::hex(&secret)).unwrap_or_default()
        });
        let _ = self.verify(password, dummy);
    }

    /// True when `encoded` should be replaced by a fresh hash after a successful login:
    /// another algorithm than the configured one, or weaker parameters.
    pub fn must_update(&self, encoded: &str) -> bool {
        match (parse(encoded), self.kind) {
            (
                Ok(Parsed::Pbkdf2 {
                    sha1: false,
                    iterations,
                    ..
                }),
                HasherKind::Pbkdf2Sha256,
            ) => iterations < self.pbkdf2_iterations,
            (
                Ok(Parsed::Argon2 {
                    variant,
                    version,
                    m,
                    t,
                    p,
                    ..
                }),
                HasherKind::Argon2,
            ) => {
                variant != argon2::Algorithm::Argon2id
                    || version != Version::V0x13
                    || m < self.argon2_m
                    || t < self.argon2_t
                    || p < self.argon2_p
            }
            (Ok(_), _) => true,
            (Err(_), _) => false,
        }
    }

    /// Django's salt: 22 characters from `[a-zA-Z0-9]` (about 131 bits).
    fn salt(&self) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut out = String::with_capacity(22);
        while out.len() < 22 {
            let mut buf = [0u8; 32];
            self.random.fill(&mut buf);
            for b in buf {
                // 248 = 4 * 62: rejection sampling keeps the distribution uniform.
                if b < 248 && out.len() < 22 {
                    out.push(char::from(CHARS[usize::from(b % 62)]));
                }
            }
        }
        out
    }
}

/// The algorithm part of a stored hash (`pbkdf2_sha256`, `argon2`, …).
fn algorithm(encoded: &str) -> &str {
    encoded.split('$').next().unwrap_or("")
}

/// Checks that `encoded` is a hash Tessera can verify (for imports and `createuser`).
pub fn is_known_format(encoded: &str) -> bool {
    parse(encoded).is_ok()
}

fn parse(encoded: &str) -> Result<Parsed<'_>> {
    let bad = |why: &str| Error::PasswordHash(why.to_owned());
    if encoded.starts_with('!') {
        return Err(bad("unusable password"));
    }
    let pbkdf2 = encoded
        .strip_prefix("pbkdf2_sha256$")
        .map(|r| (false, r))
        .or_else(|| encoded.strip_prefix("pbkdf2_sha1$").map(|r| (true, r)));
    if let Some((sha1, rest)) = pbkdf2 {
        let mut parts = rest.split('$');
        let (Some(it), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("pbkdf2_sha256 needs iterations$salt$hash"));
        };
        let iterations: u32 = it.parse().map_err(|_| bad("bad iteration count"))?;
        if iterations == 0 || salt.is_empty() || salt.contains('$') {
            return Err(bad("bad pbkdf2 parameters"));
        }
        let hash = STANDARD.decode(hash).map_err(|_| bad("bad base64 hash"))?;
        if hash.is_empty() {
            return Err(bad("empty hash"));
        }
        return Ok(Parsed::Pbkdf2 {
            sha1,
            iterations,
            salt,
            hash,
        });
    }
    if let Some(rest) = encoded.strip_prefix("argon2$") {
        // argon2id$v=19$m=102400,t=2,p=8$salt$hash  (v= is absent in very old hashes)
        let parts: Vec<&str> = rest.split('$').collect();
        let (variant, version, params, salt, hash) = match parts.as_slice() {
            [v, ver, params, salt, hash] => (*v, Some(*ver), *params, *salt, *hash),
            [v, params, salt, hash] => (*v, None, *params, *salt, *hash),
            _ => return Err(bad("argon2 hash has the wrong number of fields")),
        };
        let variant = match variant {
            "argon2id" => argon2::Algorithm::Argon2id,
            "argon2i" => argon2::Algorithm::Argon2i,
            "argon2d" => argon2::Algorithm::Argon2d,
            _ => return Err(bad("unknown argon2 variant")),
        };
        let version = match version {
            None | Some("v=16") => Version::V0x10,
            Some("v=19") => Version::V0x13,
            Some(_) => return Err(bad("unknown argon2 version")),
        };
        let (mut m, mut t, mut p) = (None, None, None);
        for kv in params.split(',') {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| bad("bad argon2 parameter"))?;
            let v: u32 = v.parse().map_err(|_| bad("bad argon2 parameter"))?;
            match k {
                "m" => m = Some(v),
                "t" => t = Some(v),
                "p" => p = Some(v),
                _ => return Err(bad("unknown argon2 parameter")),
            }
        }
        let (Some(m), Some(t), Some(p)) = (m, t, p) else {
            return Err(bad("argon2 parameters m, t, p required"));
        };
        // Refuse absurd costs from a tampered table: 4 GiB, 64 passes, 64 lanes.
        if m > 4 * 1024 * 1024 || t > 64 || p > 64 {
            return Err(bad("argon2 parameters out of range"));
        }
        let salt = STANDARD_NO_PAD
            .decode(salt.trim_end_matches('='))
            .map_err(|_| bad("bad base64 salt"))?;
        let hash = STANDARD_NO_PAD
            .decode(hash.trim_end_matches('='))
            .map_err(|_| bad("bad base64 hash"))?;
        if hash.len() < 4 {
            return Err(bad("argon2 hash too short"));
        }
        return Ok(Parsed::Argon2 {
            variant,
            version,
            m,
            t,
            p,
            salt,
            hash,
        });
    }
    if let Some(rest) = encoded.strip_prefix("scrypt$") {
        // N$salt$r$p$hash (Django's ScryptPasswordHasher, 64-byte hash)
        let parts: Vec<&str> = rest.split('$').collect();
        let [n, salt, r, p, hash] = parts.as_slice() else {
            return Err(bad("scrypt needs N$salt$r$p$hash"));
        };
        let n: u32 = n.parse().map_err(|_| bad("bad scrypt N"))?;
        let r: u32 = r.parse().map_err(|_| bad("bad scrypt r"))?;
        let p: u32 = p.parse().map_err(|_| bad("bad scrypt p"))?;
        // Refuse absurd costs from a tampered table: N up to 2^20, r up to 32, p up to 16.
        if !n.is_power_of_two()
            || !(2..=1 << 20).contains(&n)
            || !(1..=32).contains(&r)
            || !(1..=16).contains(&p)
            || salt.is_empty()
        {
            return Err(bad("scrypt parameters out of range"));
        }
        let hash = STANDARD.decode(hash).map_err(|_| bad("bad base64 hash"))?;
        if hash.len() < 16 {
            return Err(bad("scrypt hash too short"));
        }
        return Ok(Parsed::Scrypt {
            log_n: u8::try_from(n.trailing_zeros()).map_err(|_| bad("bad scrypt N"))?,
            r,
            p,
            salt,
            hash,
        });
    }
    let bcrypt = encoded
        .strip_prefix("bcrypt_sha256$")
        .map(|h| (true, h))
        .or_else(|| encoded.strip_prefix("bcrypt$").map(|h| (false, h)));
    if let Some((sha256, hash)) = bcrypt {
        // $2b$<cost>$<22 salt chars><31 hash chars>; costs above 16 refused (tampering).
        let cost: Option<u32> = hash.split('$').nth(2).and_then(|c| c.parse().ok());
        if !hash.starts_with("$2")
            || hash.len() != 60
            || !cost.is_some_and(|c| (4..=16).contains(&c))
        {
            return Err(bad("not a bcrypt hash Tessera verifies"));
        }
        return Ok(Parsed::Bcrypt { sha256, hash });
    }
    Err(bad(
        "unknown hasher (supported: pbkdf2_sha256, pbkdf2_sha1, argon2, scrypt, bcrypt, bcrypt_sha256)",
    ))
}

fn pbkdf2_sha256(password: &str, salt: &str, iterations: u32) -> Result<Vec<u8>> {
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| Error::PasswordHash("zero iterations".into()))?;
    let mut out = vec![0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt.as_bytes(),
        password.as_bytes(),
        &mut out,
    );
    Ok(out)
}

/// PBKDF2 with HMAC-SHA1 or HMAC-SHA256, `len` bytes (Django's `pbkdf2_sha1` and
/// `pbkdf2_sha256`).
fn pbkdf2_derive(
    sha1: bool,
    password: &str,
    salt: &str,
    iterations: u32,
    len: usize,
) -> Result<Vec<u8>> {
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| Error::PasswordHash("zero iterations".into()))?;
    let alg = if sha1 {
        pbkdf2::PBKDF2_HMAC_SHA1
    } else {
        pbkdf2::PBKDF2_HMAC_SHA256
    };
    let mut out = vec![0u8; len];
    pbkdf2::derive(
        alg,
        iterations,
        salt.as_bytes(),
        password.as_bytes(),
        &mut out,
    );
    Ok(out)
}

/// scrypt as Django's `ScryptPasswordHasher` computes it.
fn scrypt_hash(
    password: &str,
    salt: &str,
    (log_n, r, p): (u8, u32, u32),
    len: usize,
) -> Result<Vec<u8>> {
    let params = scrypt::Params::new(log_n, r, p, len)
        .map_err(|_| Error::PasswordHash("bad scrypt parameters".into()))?;
    let mut out = vec![0u8; len];
    scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out)
        .map_err(|_| Error::PasswordHash("scrypt failed".into()))?;
    Ok(out)
}

fn argon2_hash(
    variant: argon2::Algorithm,
    version: Version,
    (m, t, p): (u32, u32, u32),
    password: &[u8],
    salt: &[u8],
    out_len: usize,
) -> Result<Vec<u8>> {
    let err = |e: argon2::Error| Error::PasswordHash(e.to_string());
    let params = Params::new(m, t, p, Some(out_len)).map_err(err)?;
    let blocks = params.block_count();
    let mut out = vec![0u8; out_len];
    let argon = Argon2::new(variant, version, params);
    // Argon2's memory (19 MiB by default) is reused by each hashing thread rather than
    // allocated and faulted in per login: that page-faulting cost as much as a fifth of
    // the hash itself. Hashes of other sizes (a Django hash with m=100 MiB) get their own.
    ARGON2_MEMORY
        .with(|cell| {
            let mut memory = cell.borrow_mut();
            if memory.len() != blocks {
                if blocks > REUSED_BLOCKS_MAX {
                    let mut once = vec![argon2::Block::new(); blocks];
                    return argon.hash_password_into_with_memory(
                        password,
                        salt,
                        &mut out,
                        &mut once[..],
                    );
                }
                memory.clear();
                memory.resize(blocks, argon2::Block::new());
            }
            argon.hash_password_into_with_memory(password, salt, &mut out, &mut memory[..])
        })
        .map_err(err)?;
    Ok(out)
}

/// Largest Argon2 memory kept per thread between hashes (64 MiB, in 1 KiB blocks).
const REUSED_BLOCKS_MAX: usize = 64 * 1024;

thread_local! {
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Django's default password validators, in short: what is wrong with `password` as a
/// new password for `username` (empty when nothing is). The messages are Django's.
///
/// ```
/// use tessera_core::password::strength_problems;
/// assert!(strength_problems("alice", "correct-horse-9").is_empty());
/// assert_eq!(strength_problems("alice", "1234").len(), 2);
/// ```
pub fn strength_problems(username: &str, password: &str) -> Vec<&'static str> {
    const COMMON: &[&str] = &[
        "password",
        "password1",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "iloveyou",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome1",
        "abc12345",
        "passw0rd",
        "letmein1",
        "trustno1",
        "superman",
        "11111111",
        "00000000",
        "qwerty123",
    ];
    let mut problems = Vec::new();
    if password.len() > MAX_PASSWORD_LEN {
        problems.push("This password is too long.");
        return problems;
    }
    if password.chars().count() < 8 {
        problems.push("This password is too short. It must contain at least 8 characters.");
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        problems.push("This password is entirely numeric.");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        problems.push("This password is too common.");
    }
    let user = username.to_lowercase();
    if !user.is_empty()
        && (lower == user || (lower.contains(&user) && user.len() * 2 > lower.len()))
    {
        problems.push("The password is too similar to the username.");
    }
    problems
}

/// Simple JWT's `CHECK_REVOKE_TOKEN` value: the upper-case hex MD5 of the stored password
/// hash string. Not a security primitive here (the hash is already secret-derived); kept
/// because tokens minted by a Django deployment carry exactly this value.
pub fn revoke_digest(password_hash: &str) -> String {
    use md5::Digest as _;
    let digest = md5::Md5::digest(password_hash.as_bytes());
    crate::clock::hex(&digest).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    fn hasher(kind: HasherKind) -> PasswordHasher {
        let s = Settings {
            password_hasher: kind,
            pbkdf2_iterations: 100_000,
            ..Settings::default()
        };
        PasswordHasher::new(&s, Arc::new(OsRandom))
    }

    #[test]
    fn verifies_django_pbkdf2() {
        // Django 5.2: make_password("alice-pass", "abcdefghijklmnopqrstuv", "pbkdf2_sha256")
        // with 1000 iterations (computed independently with Python's hashlib).
        let h = hasher(HasherKind::Argon2);
        let encoded = "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv$CAEK2n4ta1WGG438Et/leuUZWrPY04RvxWawHsMGwLk=";
        assert!(h.verify("alice-pass", encoded));
        assert!(!h.verify("alice-pasS", encoded));
        assert!(h.must_update(encoded));
    }

    #[test]
    fn verifies_django_argon2() {
        // argon2-cffi: PasswordHasher(time_cost=2, memory_cost=102400, parallelism=8)
        //   .hash("alice-pass", salt=b"abcdefghijklmnopqrstuv"), with Django's prefix.
        let h = hasher(HasherKind::Argon2);
        let encoded = "argon2$argon2id$v=19$m=102400,t=2,p=8$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dg$k71/0VBnUxJnIMS/aGDyLUu8IwB79GQopn4yoiUfa/o";
        assert!(h.verify("alice-pass", encoded));
        assert!(!h.verify("bob-pass", encoded));
        assert!(!h.must_update(encoded));
    }

    /// Made by Django 5.2's own hashers (`PBKDF2SHA1PasswordHasher`,
    /// `ScryptPasswordHasher`, `BCryptPasswordHasher`, `BCryptSHA256PasswordHasher`).
    #[test]
    fn verifies_djangos_other_hashers() {
        let h = hasher(HasherKind::Argon2);
        for encoded in [
            "pbkdf2_sha1$1000$abcdefghijklmnopqrstuv$bAIfDwEoe1HCMfMnFJADVHoWX00=",
            "scrypt$1024$abcdefghijklmnopqrstuv$8$1$7oFtJdc9XSxR8JG+S5ugUSfelmohe/J6QHG2rjGHfxJvJXYnZQzDV9irwDA4/xKTWkEvxzUKg0qD8GAKp625zw==",
            "bcrypt$$2b$04$Qc.4rLT9a2d693NH06MBD.h2QMqCI31UHV4L.YJYh75IAQeNpKqBC",
            "bcrypt_sha256$$2b$04$RMgyMtNxYKCWRQVoCtmpIOcUppjOn2bY4X2XI9KDFSffo7lfk0/RK",
        ] {
            assert!(is_known_format(encoded), "{encoded}");
            assert!(h.verify("alice-pass", encoded), "{encoded}");
            assert!(!h.verify("alice-pasS", encoded), "{encoded}");
            // A login with an older hasher is rehashed with the configured one.
            assert!(h.must_update(encoded), "{encoded}");
        }
        // bcrypt_sha256 is bcrypt of the digest, not of the password.
        assert!(!h.verify(
            "alice-pass",
            "bcrypt$$2b$04$RMgyMtNxYKCWRQVoCtmpIOcUppjOn2bY4X2XI9KDFSffo7lfk0/RK"
        ));
        // Costs a tampered table could use to stall logins are refused.
        for absurd in [
            "scrypt$4194304$salt$8$1$AAAAAAAAAAAAAAAAAAAAAA==",
            "scrypt$1000$salt$8$1$AAAAAAAAAAAAAAAAAAAAAA==",
            "bcrypt$$2b$31$Qc.4rLT9a2d693NH06MBD.h2QMqCI31UHV4L.YJYh75IAQeNpKqBC",
        ] {
            assert!(!is_known_format(absurd), "{absurd}");
        }
    }

    /// `PASSWORD_HASHERS` as in Django: the first writes, the others verify and are
    /// upgraded to the first, unlisted ones do not verify.
    #[test]
    fn password_hashers_as_django_has_them() {
        let settings = Settings::from_json(serde_json::json!({
            "PASSWORD_HASHERS": [
                "django.contrib.auth.hashers.PBKDF2PasswordHasher",
                "django.contrib.auth.hashers.ScryptPasswordHasher",
            ],
            "PBKDF2_ITERATIONS": 100_000,
        }))
        .unwrap();
        let h = PasswordHasher::new(&settings, Arc::new(crate::clock::OsRandom));
        let new = h.hash("alice-pass").unwrap();
        assert!(new.starts_with("pbkdf2_sha256$100000$"), "{new}");
        assert!(h.verify("alice-pass", &new) && !h.must_update(&new));
        let scrypt = "scrypt$1024$abcdefghijklmnopqrstuv$8$1$7oFtJdc9XSxR8JG+S5ugUSfelmohe/J6QHG2rjGHfxJvJXYnZQzDV9irwDA4/xKTWkEvxzUKg0qD8GAKp625zw==";
        assert!(h.verify("alice-pass", scrypt) && h.must_update(scrypt));
        // Not listed: Django would not verify it, nor does Tessera.
        let bcrypt = "bcrypt$$2b$04$Qc.4rLT9a2d693NH06MBD.h2QMqCI31UHV4L.YJYh75IAQeNpKqBC";
        assert!(!h.verify("alice-pass", bcrypt));
        for (bad, says) in [
            (
                serde_json::json!(["django.contrib.auth.hashers.MD5PasswordHasher"]),
                "not a hasher",
            ),
            (
                serde_json::json!(["scrypt", "argon2"]),
                "the first hasher writes",
            ),
        ] {
            let err =
                Settings::from_json(serde_json::json!({"PASSWORD_HASHERS": bad})).unwrap_err();
            assert!(
                err.to_string().contains("PASSWORD_HASHERS") && err.to_string().contains(says),
                "{err}"
            );
        }
    }

    #[test]
    fn round_trips_and_upgrades() {
        for kind in [HasherKind::Argon2, HasherKind::Pbkdf2Sha256] {
            let h = hasher(kind);
            let e = h.hash("correct horse").unwrap();
            assert!(h.verify("correct horse", &e), "{e}");
            assert!(!h.verify("wrong horse", &e));
            assert!(!h.must_update(&e));
            assert!(is_known_format(&e));
        }
        let a = hasher(HasherKind::Argon2).hash("x").unwrap();
        assert!(
            a.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"),
            "{a}"
        );
        assert!(hasher(HasherKind::Pbkdf2Sha256).must_update(&a));
    }

    #[test]
    fn garbage_and_unusable_never_match() {
        let h = hasher(HasherKind::Argon2);
        for e in [
            "",
            "!unusable",
            "md5$x$y",
            "pbkdf2_sha256$0$s$aGFzaA==",
            "pbkdf2_sha256$x",
            "argon2$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            "argon2$argon2id$v=19$m=x$c2FsdA$aGFzaA",
        ] {
            assert!(!h.verify("", e), "{e}");
            assert!(!h.verify("x", e), "{e}");
        }
        assert!(!h.verify(
            &"x".repeat(MAX_PASSWORD_LEN + 1),
            "pbkdf2_sha256$1$s$aGFzaA=="
        ));
        h.verify_dummy("anything");
    }

    #[test]
    fn revoke_digest_is_upper_md5() {
        assert_eq!(revoke_digest(""), "D41D8CD98F00B204E9800998ECF8427E");
    }
}
