//! Entry timestamps in the reference's format.
//!
//! The reference writes `datetime.now(UTC).isoformat()`: `2026-01-01T00:00:00.001001+00:00`,
//! microsecond precision, the fraction left out when it is zero. The hash covers `ts` as an
//! opaque string.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::json::canonical::write_padded;

/// Where the writer gets each entry's time from.
///
/// The writer asks once per entry, in chain order. [`SystemClock`] is the default;
/// [`SteppingClock`] gives reproducible timestamps for fixtures and tests.
pub trait Clock: Send + 'static {
    /// The current time.
    fn now(&mut self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&mut self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that starts at a given instant and moves by a fixed step on every reading.
///
/// The reference's published test vectors were made with `2026-01-01T00:00:00+00:00` and a step
/// of 1001 µs, so with this clock the crate reproduces them byte for byte.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use acttrace::chain::{Clock, SteppingClock, format_timestamp};
///
/// let mut clock = SteppingClock::new(UNIX_EPOCH + Duration::from_secs(1_767_225_600), Duration::from_micros(1001));
/// assert_eq!(format_timestamp(clock.now()), "2026-01-01T00:00:00+00:00");
/// assert_eq!(format_timestamp(clock.now()), "2026-01-01T00:00:00.001001+00:00");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SteppingClock {
    next: SystemTime,
    step: Duration,
}

impl SteppingClock {
    /// A clock whose first reading is `start`, each later one `step` after the previous.
    pub fn new(start: SystemTime, step: Duration) -> Self {
        Self { next: start, step }
    }
}

impl Clock for SteppingClock {
    fn now(&mut self) -> SystemTime {
        let now = self.next;
        self.next += self.step;
        now
    }
}

/// Formats `t` as the reference does: ISO-8601 UTC with microseconds, `+00:00` offset.
pub fn format_timestamp(t: SystemTime) -> String {
    let mut out = String::with_capacity(32);
    write_timestamp(&mut out, t);
    out
}

/// Reads an RFC 3339 time stamp (`2026-06-01T00:00:00Z`, `2026-12-06T05:18:27.700322+00:00`):
/// the inverse of [`format_timestamp`], for any offset. `None` for anything else, or a time
/// before 1970.
///
/// ```
/// use acttrace::chain::{format_timestamp, parse_timestamp};
///
/// let t = parse_timestamp("2026-06-01T02:00:00+02:00").unwrap();
/// assert_eq!(format_timestamp(t), "2026-06-01T00:00:00+00:00");
/// assert!(parse_timestamp("June 1st").is_none());
/// ```
pub fn parse_timestamp(ts: &str) -> Option<SystemTime> {
    let s = seconds(ts).filter(|s| s.is_finite() && *s >= 0.0)?;
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(s).ok()?)
}

/// Appends `t`, formatted as [`format_timestamp`] does, to `out`.
pub(crate) fn write_timestamp(out: &mut String, t: SystemTime) {
    // Times before 1970 do not occur for a writer; clamp rather than fail.
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    write_to_second(out, since.as_secs());
    write_fraction_and_offset(out, since.subsec_micros());
}

/// `YYYY-MM-DDTHH:MM:SS` for `secs` since the epoch.
fn write_to_second(out: &mut String, secs: u64) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    // Every entry is stamped: digits are laid out directly, without the formatting machinery.
    write_padded(out, y.max(0) as u64, 4);
    out.push('-');
    write_padded(out, u64::from(m), 2);
    out.push('-');
    write_padded(out, u64::from(d), 2);
    out.push('T');
    write_padded(out, rem / 3600, 2);
    out.push(':');
    write_padded(out, rem / 60 % 60, 2);
    out.push(':');
    write_padded(out, rem % 60, 2);
}

/// `.ffffff+00:00`, the fraction left out when it is zero, as the reference does.
fn write_fraction_and_offset(out: &mut String, micros: u32) {
    if micros != 0 {
        out.push('.');
        write_padded(out, u64::from(micros), 6);
    }
    out.push_str("+00:00");
}

/// [`write_timestamp`] for a writer stamping many entries a second: the date and time down to
/// the second are laid out once per second and copied after that, so most stamps cost only
/// their six fraction digits.
#[derive(Debug, Default)]
pub(crate) struct Stamper {
    /// The second `prefix` holds, if any.
    second: Option<u64>,
    /// `YYYY-MM-DDTHH:MM:SS` for `second`.
    prefix: String,
}

impl Stamper {
    /// Appends `t` to `out`, exactly as [`write_timestamp`] would.
    pub(crate) fn write(&mut self, out: &mut String, t: SystemTime) {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        if self.second != Some(secs) {
            self.prefix.clear();
            write_to_second(&mut self.prefix, secs);
            self.second = Some(secs);
        }
        out.push_str(&self.prefix);
        write_fraction_and_offset(out, since.subsec_micros());
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since 1970 of an RFC 3339 time stamp (`2026-12-06T05:18:27.700322+00:00`).
pub(crate) fn seconds(ts: &str) -> Option<f64> {
    let b = ts.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &ts[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (format!("0.{}", &r[..end]).parse::<f64>().ok()?, &r[end..])
        }
        None => (0.0, rest),
    };
    let offset = match zone {
        "" | "Z" => 0,
        z if z.len() == 6 => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (z[1..3].parse::<i64>().ok()? * 3600 + z[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss - offset) as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, micros: u64) -> String {
        format_timestamp(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
    }

    #[test]
    fn formats_like_python_isoformat() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(at(1_767_225_600, 1_001), "2026-01-01T00:00:00.001001+00:00");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005+00:00");
        assert_eq!(
            at(4_107_542_399, 999_999),
            "2100-02-28T23:59:59.999999+00:00"
        );
        assert_eq!(at(1_795_478_400 + 3661, 0), "2026-11-24T01:01:01+00:00");
    }

    /// The stamper writes what `format_timestamp` writes, within a second, across seconds,
    /// days and years, and when time goes backwards.
    #[test]
    fn stamper_agrees_with_format_timestamp() {
        let mut stamper = Stamper::default();
        let start = 1_767_225_599; // 2025-12-31T23:59:59
        let mut times = Vec::new();
        for step in [0, 1, 999_999, 1_000_000, 250_000, 3_000_001] {
            let last = times.last().copied().unwrap_or(start * 1_000_000);
            times.push(last + step);
        }
        times.extend([0, start * 1_000_000 + 7, 951_782_400 * 1_000_000 + 5]);
        for micros in times {
            let t = UNIX_EPOCH + Duration::from_micros(micros);
            let mut out = String::from("x");
            stamper.write(&mut out, t);
            assert_eq!(out, format!("x{}", format_timestamp(t)), "{micros}");
        }
    }
}
