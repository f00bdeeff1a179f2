//! Reading the credentials header as Simple JWT's `JWTAuthentication.get_raw_token` does.

/// What the `Authorization` header holds, per Simple JWT's `get_raw_token`.
#[derive(Debug, PartialEq, Eq)]
pub enum RawToken<'a> {
    /// No header, an empty one, or a scheme word not in `AUTH_HEADER_TYPES`: the request
    /// is anonymous (other schemes may coexist).
    Absent,
    /// A recognised scheme with other than exactly one value after it.
    Malformed,
    /// The token bytes.
    Token(&'a [u8]),
}

/// Python's `bytes.split()` whitespace: space, \t, \n, \r, \x0b, \x0c.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Splits a header value as Simple JWT does and picks out the token.
pub fn raw_token<'a>(value: &'a [u8], schemes: &[String]) -> RawToken<'a> {
    let value = trim_py_space(value);
    let scheme_len = value
        .iter()
        .position(|b| is_py_space(*b))
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_len);
    if scheme.is_empty() || !schemes.iter().any(|s| s.as_bytes() == scheme) {
        return RawToken::Absent;
    }
    let token = trim_py_space(rest);
    // Every Python whitespace byte is at or below b' ', so one branch-free pass over
    // the (long) token rules them all out in the common case.
    let maybe_space = token.iter().fold(false, |any, b| any | (*b <= b' '));
    if token.is_empty() || (maybe_space && token.iter().any(|b| is_py_space(*b))) {
        return RawToken::Malformed;
    }
    RawToken::Token(token)
}

fn trim_py_space(mut v: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = v
        && is_py_space(*first)
    {
        v = rest;
    }
    while let [rest @ .., last] = v
        && is_py_space(*last)
    {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_splitting_matches_simple_jwt() {
        let bearer = vec!["Bearer".to_owned()];
        assert_eq!(raw_token(b"Bearer abc", &bearer), RawToken::Token(b"abc"));
        assert_eq!(raw_token(b"Bearer\tabc", &bearer), RawToken::Token(b"abc"));
        assert_eq!(
            raw_token(b"Bearer   abc  ", &bearer),
            RawToken::Token(b"abc")
        );
        assert_eq!(raw_token(b"", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"   ", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"bearer abc", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"JWT abc", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"Bearer", &bearer), RawToken::Malformed);
        assert_eq!(raw_token(b"Bearer a b", &bearer), RawToken::Malformed);
        assert_eq!(raw_token(b"Bearer a\x0bb", &bearer), RawToken::Malformed);
        assert_eq!(
            raw_token(b" Bearer  a\x01b ", &bearer),
            RawToken::Token(b"a\x01b")
        );
        let two = vec!["JWT".to_owned(), "Bearer".to_owned()];
        assert_eq!(raw_token(b"JWT abc", &two), RawToken::Token(b"abc"));
    }
}
