//! Request bodies as DRF parses them: JSON or form-encoded, into a field map, with
//! DRF's field errors.
//!
//! Front ends written for Django send either encoding and expect DRF's exact messages
//! (`This field is required.`), so this mirrors DRF's `CharField` rules: strings are
//! trimmed, numbers are coerced to strings, `null`/lists/objects/booleans are refused.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::HttpConfig;
use axum::extract::FromRef;

/// The parsed body: field name → JSON value (form fields become strings).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Map<String, Value>);

impl<S> FromRequest<S> for Fields
where
    HttpConfig: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let http = HttpConfig::from_ref(state);
        let (limit, depth) = (http.max_body_bytes(), http.max_json_depth());
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        // A declared length over the limit is refused before a byte is read.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::PayloadTooLarge);
        }
        let bytes = read_body(req.into_body(), limit).await?;
        if json_depth(&bytes) > depth {
            return Err(ApiError::JsonParse(format!(
                "nesting deeper than {depth} levels"
            )));
        }
        parse(content_type.as_deref(), &bytes).map(Fields)
    }
}

async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)
}

/// The deepest nesting of `[`/`{` outside strings: checked before parsing so that a
/// body of ten thousand brackets costs a scan, not a recursion.
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses `bytes` by content type, as DRF's default parsers would.
pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let essence = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if bytes.is_empty() && (essence.is_empty() || is_known(&essence)) {
        return Ok(Map::new());
    }
    match essence.as_str() {
        "application/json" => {
            let v: Value =
                serde_json::from_slice(bytes).map_err(|e| ApiError::JsonParse(e.to_string()))?;
            match v {
                Value::Object(m) => Ok(m),
                other => {
                    let mut errors = Map::new();
                    errors.insert(
                        "non_field_errors".into(),
                        Value::from(vec![format!(
                            "Invalid data. Expected a dictionary, but got {}.",
                            python_type(&other)
                        )]),
                    );
                    Err(ApiError::Fields(errors))
                }
            }
        }
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
                .map_err(|e| ApiError::JsonParse(e.to_string()))?;
            // Django's QueryDict returns the last value of a repeated key.
            Ok(pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect())
        }
        _ => Err(ApiError::UnsupportedMediaType(
            content_type.unwrap_or("").to_owned(),
        )),
    }
}

fn is_known(essence: &str) -> bool {
    matches!(
        essence,
        "application/json" | "application/x-www-form-urlencoded"
    )
}

fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Collects DRF-style field errors across several fields, so a request missing two
/// fields hears about both.
#[derive(Debug)]
pub struct Validator<'a> {
    fields: &'a Map<String, Value>,
    errors: Map<String, Value>,
}

impl<'a> Validator<'a> {
    /// Validates fields of `fields`.
    pub fn new(fields: &'a Fields) -> Self {
        Validator {
            fields: &fields.0,
            errors: Map::new(),
        }
    }

    /// A required DRF `CharField`: trimmed, not blank, numbers coerced.
    pub fn string(&mut self, name: &str) -> String {
        match char_field(self.fields.get(name)) {
            Ok(s) => s,
            Err(msg) => {
                self.error(name, msg);
                String::new()
            }
        }
    }

    /// An optional `CharField` that may be blank (`comment`).
    pub fn optional_string(&mut self, name: &str) -> String {
        let value = match self.fields.get(name) {
            None => return String::new(),
            Some(Value::String(s)) => Ok(py_strip(s).to_owned()),
            v => char_field(v),
        };
        match value.and_then(no_null_characters) {
            Ok(s) => s,
            Err(msg) => {
                self.error(name, msg);
                String::new()
            }
        }
    }

    /// A required integer field within `min..=max` (DRF `IntegerField` messages).
    pub fn integer(&mut self, name: &str, min: i64, max: i64) -> i64 {
        let parsed = match self.fields.get(name) {
            None => Err("This field is required.".to_owned()),
            Some(Value::Null) => Err("This field may not be null.".to_owned()),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                        .map(|f| f as i64)
                })
                .ok_or_else(|| "A valid integer is required.".to_owned()),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| "A valid integer is required.".to_owned()),
            Some(_) => Err("A valid integer is required.".to_owned()),
        };
        match parsed {
            Ok(n) if n > max => {
                self.error(
                    name,
                    format!("Ensure this value is less than or equal to {max}."),
                );
                0
            }
            Ok(n) if n < min => {
                self.error(
                    name,
                    format!("Ensure this value is greater than or equal to {min}."),
                );
                0
            }
            Ok(n) => n,
            Err(msg) => {
                self.error(name, msg);
                0
            }
        }
    }

    /// Records an error for `name` (e.g. a length check the caller makes).
    pub fn error(&mut self, name: &str, msg: impl Into<String>) {
        let entry = self
            .errors
            .entry(name.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(msg.into()));
        }
    }

    /// `Ok` when every field was valid, else the collected 400.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Fields(self.errors))
        }
    }
}

/// DRF's message for a NUL character in a `CharField` (`ProhibitNullCharactersValidator`).
pub const NULL_CHARACTERS: &str = "Null characters are not allowed.";

/// DRF's `CharField` with its defaults (`allow_blank=False`, `trim_whitespace=True`), in
/// DRF's order: required, not null, a string (numbers coerced), not blank once trimmed,
/// then its validators, of which only the NUL check can fail here (a Rust string holds no
/// lone surrogates). A NUL never reaches a store: PostgreSQL refuses it in text.
fn char_field(v: Option<&Value>) -> Result<String, String> {
    let s = match v {
        None => return Err("This field is required.".into()),
        Some(Value::Null) => return Err("This field may not be null.".into()),
        Some(Value::String(s)) => py_strip(s).to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("Not a valid string.".into()),
    };
    if s.is_empty() {
        return Err("This field may not be blank.".into());
    }
    no_null_characters(s)
}

fn no_null_characters(s: String) -> Result<String, String> {
    if s.contains('\0') {
        return Err(NULL_CHARACTERS.into());
    }
    Ok(s)
}

/// Python's `str.strip()`: the characters `str.isspace()` calls whitespace, which are
/// Unicode's White_Space plus the four ASCII separators U+001C..U+001F.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// One required string field, as DRF's `CharField` reads it.
pub(crate) fn one_field(fields: &Fields, name: &str) -> Result<String, ApiError> {
    let mut v = Validator::new(fields);
    let value = v.string(name);
    v.finish()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        Fields(v.as_object().cloned().unwrap())
    }

    #[test]
    fn drf_char_field_rules() {
        let f = fields(json!({"a": "  x ", "b": "", "c": null, "d": [1], "e": 12, "f": true}));
        let mut v = Validator::new(&f);
        assert_eq!(v.string("a"), "x");
        assert_eq!(v.string("e"), "12");
        for k in ["b", "c", "d", "f", "missing"] {
            v.string(k);
        }
        let Err(ApiError::Fields(errs)) = v.finish() else {
            panic!("expected field errors")
        };
        assert_eq!(
            Value::Object(errs),
            json!({
                "b": ["This field may not be blank."],
                "c": ["This field may not be null."],
                "d": ["Not a valid string."],
                "f": ["Not a valid string."],
                "missing": ["This field is required."],
            })
        );
    }

    #[test]
    fn null_characters_and_python_whitespace() {
        let f = fields(json!({
            "a": "ab\u{0}c", "b": "\u{0}", "c": "\u{1f} x \u{3000}", "d": " \u{0} ",
            "e": "\u{200b}x", "comment": "ok\u{0}",
        }));
        let mut v = Validator::new(&f);
        assert_eq!(v.string("c"), "x");
        // A zero-width space is no whitespace, for Python either.
        assert_eq!(v.string("e"), "\u{200b}x");
        for k in ["a", "b", "d"] {
            v.string(k);
        }
        v.optional_string("comment");
        let Err(ApiError::Fields(errs)) = v.finish() else {
            panic!("expected field errors")
        };
        assert_eq!(
            Value::Object(errs),
            json!({
                "a": [NULL_CHARACTERS], "b": [NULL_CHARACTERS], "d": [NULL_CHARACTERS],
                "comment": [NULL_CHARACTERS],
            })
        );
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(br#"{"a":[1,{"b":"[[[[{{"}]}"#), 3);
        assert_eq!(json_depth(br#"{"a":"\"[["}"#), 1);
        assert_eq!(json_depth(&[b'['; 10_000]), 10_000);
    }

    #[test]
    fn content_types() {
        assert!(parse(Some("application/json; charset=utf-8"), br#"{"a":1}"#).is_ok());
        assert!(parse(None, b"").unwrap().is_empty());
        let form = parse(Some("application/x-www-form-urlencoded"), b"a=1&b=x+y&a=2").unwrap();
        assert_eq!(Value::Object(form), json!({"a": "2", "b": "x y"}));
        assert!(
            matches!(parse(Some("text/plain"), b"x"), Err(ApiError::UnsupportedMediaType(t)) if t == "text/plain")
        );
        assert!(matches!(
            parse(Some("application/json"), b"{"),
            Err(ApiError::JsonParse(_))
        ));
        assert!(matches!(
            parse(Some("application/json"), b"[1]"),
            Err(ApiError::Fields(_))
        ));
    }
}
