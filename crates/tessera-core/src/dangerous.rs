//! Reading a token **without verifying it**. Nothing read here is authentic: anyone can
//! write any header and any claims. Use it only to display a token (`tessera decode`) or
//! to decide which key to fetch before verifying (`kid`), never to decide who a request
//! is from or what it may do; [`crate::TokenService`] validates.
//!
//! ```
//! let raw = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJ1c2VyX2lkIjoiNDIifQ.c2lnbmF0dXJl";
//! let (header, claims) = tessera_core::dangerous::decode_unverified(raw).unwrap();
//! assert_eq!(header["kid"], "k1");
//! assert_eq!(claims["user_id"], "42"); // says who wrote it, not who it is
//! assert_eq!(tessera_core::dangerous::unverified_kid(raw).as_deref(), Some("k1"));
//! ```

use crate::claims::Claims;
use crate::error::{Error, Result};
use crate::jws::{b64_decode, parse_object};

/// The header and claims of a compact JWS, with the same strict parsing as validation
/// (canonical base64url, JSON objects without duplicate members) but **no signature
/// check and no claim check**.
pub fn decode_unverified(raw: &str) -> Result<(Claims, Claims)> {
    let mut parts = raw.split('.');
    let (Some(header), Some(claims), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidToken);
    };
    Ok((
        parse_object(&b64_decode(header)?)?,
        parse_object(&b64_decode(claims)?)?,
    ))
}

/// The `kid` of a token's header, unverified (to decide whether a remote key set must
/// be fetched before verifying). `None` for no kid or a malformed token.
pub fn unverified_kid(raw: &str) -> Option<String> {
    let header = raw.split('.').next()?;
    let map = parse_object(&b64_decode(header).ok()?).ok()?;
    map.get("kid")?.as_str().map(str::to_owned)
}
