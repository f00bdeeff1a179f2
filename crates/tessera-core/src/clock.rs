//! Time and randomness, passed in rather than read deep inside the logic.
//!
//! Expiry, leeway and sliding windows are all arithmetic on "now"; with a [`ManualClock`]
//! tests move time forward instantly and deterministically instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in microseconds since the Unix epoch.
///
/// Microseconds because the ledger records `created_at`/`blacklisted_at` with Django's
/// precision; token claims use whole seconds ([`Clock::now_secs`]).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Microseconds since 1970-01-01T00:00:00Z.
    fn now_micros(&self) -> i64;

    /// Whole seconds since the epoch, rounded down (Simple JWT truncates the same way).
    fn now_secs(&self) -> i64 {
        self.now_micros().div_euclid(1_000_000)
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            // A clock set before 1970 is a broken machine; treat it as the epoch.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to. Cheap to clone; clones share the same time.
///
/// ```
/// use tessera_core::{Clock, ManualClock};
/// let clock = ManualClock::at_secs(1_000);
/// clock.advance_secs(61);
/// assert_eq!(clock.now_secs(), 1_061);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `secs` seconds after the epoch.
    pub fn at_secs(secs: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(secs.saturating_mul(1_000_000))))
    }

    /// A clock stopped at the current wall-clock time.
    pub fn now() -> Self {
        ManualClock(Arc::new(AtomicI64::new(SystemClock.now_micros())))
    }

    /// Moves the clock by `secs` seconds (negative moves it back).
    pub fn advance_secs(&self, secs: i64) {
        self.0
            .fetch_add(secs.saturating_mul(1_000_000), Ordering::SeqCst);
    }

    /// Sets the clock to `secs` seconds after the epoch.
    pub fn set_secs(&self, secs: i64) {
        self.0
            .store(secs.saturating_mul(1_000_000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A source of unpredictable bytes (token ids, salts, generated keys).
pub trait Random: Send + Sync + std::fmt::Debug {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails when the OS has no entropy source at all; there is no
        // safe way to go on issuing tokens then, so fall back to aws-lc's DRBG, which
        // seeds itself independently, rather than emit predictable bytes.
        if getrandom::fill(buf).is_err() {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let _ = aws_lc_rs::rand::SecureRandom::fill(&rng, buf);
        }
    }
}

/// A 32-character lower-case hex token id, as Python's `uuid4().hex` gives Simple JWT.
pub fn new_jti(random: &dyn Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    // Set the UUID version (4) and variant bits so the id is a real UUIDv4.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    hex(&bytes)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Formats microseconds since the epoch as Django stores datetimes in SQLite:
/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC). Lexicographic order equals time order.
pub fn django_datetime(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
        tod / 3600,
        (tod % 3600) / 60,
        tod % 60
    )
}

/// Formats microseconds since the epoch as DRF renders a `DateTimeField`:
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn iso_datetime(micros: i64) -> String {
    let mut s = django_datetime(micros);
    s.replace_range(10..11, "T");
    s.push('Z');
    s
}

/// Parses [`django_datetime`]'s format (fraction optional, `T` or space, optional `Z`
/// or `+00:00`) back into microseconds. `None` when it is not such a string.
pub fn parse_django_datetime(s: &str) -> Option<i64> {
    let s = s.trim_end_matches('Z').trim_end_matches("+00:00");
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut micros = 0i64;
    if b.len() > 19 {
        let frac = s.get(20..)?;
        if b[19] != b'.' || frac.is_empty() || frac.len() > 6 {
            return None;
        }
        micros = frac.parse::<i64>().ok()? * 10i64.pow(6 - u32::try_from(frac.len()).ok()?);
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + se) * 1_000_000) + micros)
}

// Howard Hinnant's civil-calendar algorithms (public domain description), proleptic
// Gregorian, valid far beyond any token's lifetime.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_datetime_round_trips() {
        for micros in [0, 1_795_431_882_123_456, 951_782_400_000_001, -1_000_000] {
            let s = django_datetime(micros);
            assert_eq!(parse_django_datetime(&s), Some(micros), "{s}");
        }
        assert_eq!(django_datetime(0), "1970-01-01 00:00:00.000000");
        assert_eq!(iso_datetime(1_000_000), "1970-01-01T00:00:01.000000Z");
        assert_eq!(
            parse_django_datetime("2024-02-29 12:00:00"),
            Some(1_709_208_000_000_000)
        );
        assert_eq!(parse_django_datetime("nonsense"), None);
    }

    #[test]
    fn jti_is_32_lower_hex() {
        let jti = new_jti(&OsRandom);
        assert_eq!(jti.len(), 32);
        assert!(
            jti.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(jti, new_jti(&OsRandom));
    }
}
