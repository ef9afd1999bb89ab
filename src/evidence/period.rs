//! A span of time a report or a summary covers: a quarter, a month, the weeks an incident
//! spans. Verification still covers the whole chain; only what is counted and listed is cut to
//! the period, and so is what making it holds in memory.
//!
//! Uses the format's time stamps.

use std::fmt;

use crate::chain::time::seconds;

/// A [`Period`] that cannot be: a time that is not one, or an end before the start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeriodError(String);

/// The span of time a report or a summary covers: entries timestamped at or after its start
/// and before its end. [`Period::all`] (the default) is the whole log.
///
/// ```
/// use acttrace::evidence::Period;
/// use acttrace::evidence::report::ReportOptions;
///
/// # fn main() -> Result<(), acttrace::evidence::PeriodError> {
/// let q3 = Period::all().since("2026-07-01")?.until("2026-10-01T00:00:00+00:00")?;
/// let opts = ReportOptions::new().period(q3);
/// assert!(Period::all().since("2026-13-01").is_err());
/// # let _ = opts; Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Period {
    since: Option<Bound>,
    until: Option<Bound>,
}

/// One end of a period: the time as given, and in seconds since 1970.
#[derive(Debug, Clone, PartialEq)]
struct Bound {
    text: String,
    at: f64,
}

/// Where an entry's time falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Falls {
    Inside,
    Outside,
    /// The entry's time stamp cannot be read, so it cannot be placed.
    Unknown,
}

impl Period {
    /// The whole log.
    pub fn all() -> Self {
        Self::default()
    }

    /// Starts the period at `time`: an RFC 3339 time (`2026-07-01T00:00:00+02:00`, `...Z`, or
    /// without an offset for UTC) or a date (`2026-07-01`, its midnight UTC). Entries at that
    /// time are in the period.
    ///
    /// # Errors
    ///
    /// [`PeriodError`] if `time` is not such a time, or is not before the period's end.
    pub fn since(mut self, time: &str) -> Result<Self, PeriodError> {
        self.since = Some(Bound::parse(time)?);
        self.checked()
    }

    /// Ends the period at `time` (read as [`since`](Self::since) reads it). Entries at that
    /// time are not in the period: a quarter is `since("2026-07-01")`, `until("2026-10-01")`.
    ///
    /// # Errors
    ///
    /// [`PeriodError`] if `time` is not such a time, or is not after the period's start.
    pub fn until(mut self, time: &str) -> Result<Self, PeriodError> {
        self.until = Some(Bound::parse(time)?);
        self.checked()
    }

    /// Whether this is the whole log.
    pub fn is_all(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    fn checked(self) -> Result<Self, PeriodError> {
        match (&self.since, &self.until) {
            (Some(s), Some(u)) if s.at >= u.at => Err(PeriodError(format!(
                "the period ends ({}) before it starts ({})",
                u.text, s.text
            ))),
            _ => Ok(self),
        }
    }

    /// Where an entry timestamped `ts` falls.
    pub(crate) fn place(&self, ts: &str) -> Falls {
        if self.is_all() {
            return Falls::Inside;
        }
        let Some(at) = seconds(ts) else {
            return Falls::Unknown;
        };
        let after_start = self.since.as_ref().is_none_or(|s| at >= s.at);
        let before_end = self.until.as_ref().is_none_or(|u| at < u.at);
        match after_start && before_end {
            true => Falls::Inside,
            false => Falls::Outside,
        }
    }
}

/// The period in words: `from 2026-07-01 until 2026-10-01 (not included)`, `the whole log`.
impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.since, &self.until) {
            (None, None) => write!(f, "the whole log"),
            (Some(s), None) => write!(f, "from {}", s.text),
            (None, Some(u)) => write!(f, "before {}", u.text),
            (Some(s), Some(u)) => write!(f, "from {} until {} (not included)", s.text, u.text),
        }
    }
}

impl Bound {
    fn parse(time: &str) -> Result<Self, PeriodError> {
        let bad = || {
            PeriodError(format!(
                "{time:?} is not an RFC 3339 time (2026-07-01T00:00:00Z) or a date (2026-07-01)"
            ))
        };
        let full = match time.len() {
            10 => format!("{time}T00:00:00Z"),
            _ => time.to_owned(),
        };
        // `seconds` reads the fields where they stand; their ranges are checked here.
        let b = full.as_bytes();
        let field = |from: usize, max: u32| -> Option<u32> {
            let f = full.get(from..from + 2)?;
            f.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| f.parse::<u32>().ok())
                .flatten()
                .filter(|v| *v <= max)
        };
        let in_range = b.len() >= 19
            && full
                .get(..4)
                .is_some_and(|y| y.bytes().all(|c| c.is_ascii_digit()))
            && (b[7], b[13], b[16]) == (b'-', b':', b':')
            && field(5, 12).is_some_and(|m| m >= 1)
            && field(8, 31).is_some_and(|d| d >= 1 && d <= days_in_month(&full))
            && field(11, 23).is_some()
            && field(14, 59).is_some()
            && field(17, 60).is_some();
        let at = seconds(&full).filter(|_| in_range).ok_or_else(bad)?;
        Ok(Self {
            text: time.to_owned(),
            at,
        })
    }
}

/// The days in the month of `YYYY-MM...` (31 when the fields cannot be read: the caller
/// checks them).
fn days_in_month(time: &str) -> u32 {
    let (Some(year), Some(month)) = (
        time.get(..4).and_then(|y| y.parse::<u32>().ok()),
        time.get(5..7).and_then(|m| m.parse::<u32>().ok()),
    ) else {
        return 31;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::{Falls, Period};

    #[test]
    fn times_and_dates_are_read_and_bad_ones_refused() {
        let p = Period::all().since("2026-07-01").unwrap();
        assert_eq!(p.place("2026-06-30T23:59:59.999999+00:00"), Falls::Outside);
        assert_eq!(p.place("2026-07-01T00:00:00+00:00"), Falls::Inside);
        assert_eq!(p.place("2026-07-01T01:59:59+02:00"), Falls::Outside);
        assert_eq!(p.place("not a time"), Falls::Unknown);
        let p = p.until("2026-10-01T02:00:00+02:00").unwrap();
        assert_eq!(p.place("2026-09-30T23:59:59.5Z"), Falls::Inside);
        assert_eq!(p.place("2026-10-01T00:00:00+00:00"), Falls::Outside);
        assert_eq!(Period::all().place("not a time"), Falls::Inside);
        assert!(Period::all().since("2028-02-29").is_ok(), "a leap day");
        for bad in [
            "",
            "2026-7-01",
            "2026-13-01",
            "2026-00-10",
            "2026-07-32",
            "2026-02-29",
            "2026-04-31",
            "2026-07-01T24:00:00Z",
            "2026-07-01T00:60:00Z",
            "2026-07-01T00:00:00+2",
            "2026-07-01 00:00:00Z",
            "+026-07-01",
            "yesterday",
        ] {
            let e = Period::all().since(bad).unwrap_err().to_string();
            assert!(e.contains("not an RFC 3339 time"), "{bad}: {e}");
        }
        let e = Period::all()
            .until("2026-07-01")
            .unwrap()
            .since("2026-07-01T00:00:00Z")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ends"), "{e}");
    }
}
