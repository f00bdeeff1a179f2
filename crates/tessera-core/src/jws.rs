//! The compact JWS format, strictly: canonical base64url segments and JSON objects
//! without duplicate members. Signing and choosing the key belong to the token service.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::claims::{Claims, MAX_TOKEN_LEN};
use crate::error::{Error, Result};

/// base64url without padding, as JWS uses.
pub fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url: no padding, no `+`/`/`, no whitespace, no stray trailing bits.
pub(crate) fn b64_decode(segment: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Error::InvalidToken)
}

/// Decoded segments up to this size (a 8192-bit RSA signature, any ordinary payload) are
/// decoded on the stack.
pub(crate) const STACK_SEGMENT: usize = 1024;

/// [`b64_decode`] into `stack` when the result fits, else into `heap`.
pub(crate) fn b64_decode_into<'a>(
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

/// Splits a compact JWS into its three segments, refusing anything else (JWE's five
/// segments, JSON serialization, empty parts, oversized input).
pub(crate) fn split_compact(raw: &str) -> Result<(&str, &str, &str)> {
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
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Claims> {
    let v: crate::json::StrictValue =
        serde_json::from_slice(bytes).map_err(|_| Error::InvalidToken)?;
    match v.0 {
        Value::Object(m) => Ok(m),
        _ => Err(Error::InvalidToken),
    }
}
