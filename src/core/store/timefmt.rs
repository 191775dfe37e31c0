//! Time: the clock (Unix seconds, milliseconds, microseconds) and the formats
//! clawrun writes: the seed registries' naive local ISO time and the UTC stamp
//! in run ids. This is the one home of the time helpers; `core::now_secs`
//! re-exports [`now_secs`].
//!
//! The seed wrote `datetime.now().isoformat()`: a *naive local* time such as
//! `2026-11-21T23:10:01.123456`, with the fraction left out when the
//! microseconds are zero. We write the same shape, and read it back (with or
//! without a fraction, `T` or space separator, and also with a `Z`/`±HH:MM`
//! offset in case another tool wrote an aware time) into Unix microseconds.
//!
//! Calendar, time-zone and ISO 8601 work is [`jiff`]'s. A naive local time is
//! ambiguous around a DST change; it is resolved like Python's `fold=0` (jiff's
//! "compatible" rule): in a fall-back fold the earlier instant, in a
//! spring-forward gap the time shifted forward by the gap. Every conversion has
//! a `*_in` form taking the time zone, so tests pin one (the plain forms use the
//! system zone, `$TZ` included, as Python does).
//!
//! Still written by hand, because no crate does it for us:
//! - the clocks read [`SystemTime`] rather than `jiff::Timestamp::now`, which
//!   panics on a clock outside jiff's range (years ±9999); ours saturate;
//! - Python's `isoformat` rule of dropping a zero fraction (a format choice, a
//!   few lines over jiff's civil fields);
//! - [`format_age`], the table's `5m`/`3h` ages (jiff's spans print `5m 12s`
//!   style durations, not one truncated unit).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

const MICROS_PER_SEC: i64 = 1_000_000;

/// Time since the Unix epoch (negative before it), saturating at `i64::MAX`
/// in the given unit.
fn since_epoch(as_unit: fn(std::time::Duration) -> u128) -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(as_unit(d)).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(as_unit(e.duration())).unwrap_or(i64::MAX),
    }
}

/// Current time as Unix seconds.
pub fn now_secs() -> i64 {
    since_epoch(|d| u128::from(d.as_secs()))
}

/// Current time as Unix milliseconds.
pub fn now_ms() -> i64 {
    since_epoch(|d| d.as_millis())
}

/// Current time as Unix microseconds.
pub fn now_micros() -> i64 {
    since_epoch(|d| d.as_micros())
}

/// The system's time zone, as Python takes it: `$TZ` when set, else
/// `/etc/localtime`. Read once per process, as Python reads it once: a zone
/// changed while a run goes on shows from the next command (jiff would
/// notice within its cache's few seconds).
///
/// `/etc/localtime` is read here rather than by [`TimeZone::system`], which
/// names the zone from the symbolic link and, to look the name up, lists the
/// whole zoneinfo directory first: about a millisecond and a thousand
/// allocations at every start of every command, for a name the formats never
/// show. With `$TZ` set (a name or a rule) jiff reads it.
fn system_zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| localtime_file().unwrap_or_else(TimeZone::system))
}

/// The zone of `/etc/localtime` when `$TZ` does not say another one.
fn localtime_file() -> Option<TimeZone> {
    if std::env::var_os("TZ").is_some() {
        return None;
    }
    let data = std::fs::read("/etc/localtime").ok()?;
    TimeZone::tzif("localtime", &data).ok()
}

/// The current local time in the seed's format, e.g. `2026-11-21T23:10:01.123456`.
pub fn now_local_iso() -> String {
    // An out-of-range clock is the only failure; an empty string is then
    // stored, which readers treat as "unknown time".
    format_local_iso(now_micros()).unwrap_or_default()
}

/// Format Unix microseconds as a naive local ISO time, like Python's
/// `datetime.fromtimestamp(t).isoformat()`: `YYYY-MM-DDTHH:MM:SS[.ffffff]`,
/// the fraction omitted when it is zero. `None` outside jiff's range.
pub fn format_local_iso(unix_micros: i64) -> Option<String> {
    format_local_iso_in(unix_micros, system_zone())
}

/// [`format_local_iso`] in the time zone `tz`.
pub fn format_local_iso_in(unix_micros: i64, tz: &TimeZone) -> Option<String> {
    let ts = Timestamp::from_microsecond(unix_micros).ok()?;
    let dt = tz.to_datetime(ts);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    // Offsets are whole seconds, so the local fraction is the Unix one.
    let micros = unix_micros.rem_euclid(MICROS_PER_SEC);
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    Some(out)
}

/// Parse an ISO time as the seed (or another tool) wrote it into Unix
/// microseconds. Accepted: `YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,9}]]` followed by
/// nothing (local time), `Z`, or `±HH[:MM]`. Also a bare `YYYY-MM-DD`
/// (local midnight). Anything else, including impossible dates, is `None`.
pub fn parse_iso_micros(s: &str) -> Option<i64> {
    parse_iso_micros_in(s, system_zone())
}

/// [`parse_iso_micros`] with naive times taken in the time zone `tz`.
pub fn parse_iso_micros_in(s: &str, tz: &TimeZone) -> Option<i64> {
    let s = s.trim();
    // An aware time (with `Z` or an offset) is an instant; jiff refuses to
    // read one without an offset as a `Timestamp`, so a naive time falls
    // through to the civil parse and the zone's rules.
    let ts = match s.parse::<Timestamp>() {
        Ok(ts) => ts,
        Err(_) => tz.to_timestamp(s.parse::<DateTime>().ok()?).ok()?,
    };
    Some(ts.as_microsecond())
}

/// `YYYYmmdd-HHMMSS` in UTC (the time part of a run id). Times outside
/// jiff's range (years ±9999) are clamped to it.
pub fn format_utc_compact(secs: i64) -> String {
    let ts = Timestamp::from_second(secs).unwrap_or(if secs < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    ts.strftime("%Y%m%d-%H%M%S").to_string()
}

/// A compact age for tables: `42s`, `5m`, `3h`, `2d`; negative ages (clock
/// skew) show as `0s`.
pub fn format_age(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Europe/Berlin's rules as a POSIX TZ string, so the test needs no tzdb.
    fn berlin() -> TimeZone {
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap_or(TimeZone::UTC)
    }

    #[test]
    fn the_system_zone_read_directly_is_the_one_jiff_finds() {
        // Read directly exactly when `$TZ` is unset and the file is there
        // (not silently by the fallback, which would make the rest moot).
        let direct =
            std::env::var_os("TZ").is_none() && std::path::Path::new("/etc/localtime").is_file();
        assert_eq!(localtime_file().is_some(), direct);
        let jiff = TimeZone::system();
        // Every fortnight of two years: both DST changes of each, where a zone has them.
        for day in (0..730).step_by(14) {
            let Ok(ts) = Timestamp::from_second(1_767_225_600 + day * 86_400) else {
                panic!("day {day} is in range");
            };
            assert_eq!(system_zone().to_offset(ts), jiff.to_offset(ts), "{ts}");
        }
    }

    #[test]
    fn round_trips_local_time() {
        let t = 1_795_000_000_123_456; // 2026-11-18, with microseconds
        let s = format_local_iso(t).unwrap_or_default();
        assert_eq!(s.len(), 26, "{s}");
        assert_eq!(parse_iso_micros(&s), Some(t));
        let whole = 1_795_000_000_000_000;
        let s = format_local_iso(whole).unwrap_or_default();
        assert_eq!(s.len(), 19, "no fraction when it is zero, like Python: {s}");
        assert_eq!(parse_iso_micros(&s), Some(whole));
    }

    #[test]
    fn formats_and_parses_in_a_given_zone() {
        let tz = berlin();
        // 2026-11-21T22:31:01.123456Z is 23:31:01 in Berlin (CET, +01:00).
        let t = 1_795_300_261_123_456;
        assert_eq!(
            format_local_iso_in(t, &tz).as_deref(),
            Some("2026-11-21T23:31:01.123456")
        );
        assert_eq!(
            parse_iso_micros_in("2026-11-21T23:31:01.123456", &tz),
            Some(t)
        );
        assert_eq!(
            parse_iso_micros_in("2026-11-21 23:31:01,123456", &tz),
            Some(t)
        );
        assert_eq!(
            parse_iso_micros_in("2026-11-21", &tz),
            Some(1_795_215_600_000_000)
        );
    }

    #[test]
    fn dst_transitions_resolve_like_python() {
        let tz = berlin();
        // Spring forward, 2026-03-29 02:00 CET → 03:00 CEST (01:00Z).
        let before = 1_774_745_999_000_000; // 00:59:59Z
        assert_eq!(
            format_local_iso_in(before, &tz).as_deref(),
            Some("2026-03-29T01:59:59")
        );
        assert_eq!(
            format_local_iso_in(before + MICROS_PER_SEC, &tz).as_deref(),
            Some("2026-03-29T03:00:00")
        );
        // 02:30 does not exist: shifted forward by the gap, to 03:30 CEST.
        let gap = parse_iso_micros_in("2026-03-29T02:30:00", &tz);
        assert_eq!(gap, parse_iso_micros_in("2026-03-29T03:30:00", &tz));
        assert_eq!(gap, Some(1_774_747_800_000_000));
        // Fall back, 2026-10-25 03:00 CEST → 02:00 CET (01:00Z): 02:30 is
        // both 00:30Z and 01:30Z; the earlier one is taken (fold=0).
        let first = 1_792_888_200_000_000; // 00:30Z
        let second = first + 3_600 * MICROS_PER_SEC; // 01:30Z
        for t in [first, second] {
            assert_eq!(
                format_local_iso_in(t, &tz).as_deref(),
                Some("2026-10-25T02:30:00")
            );
        }
        assert_eq!(parse_iso_micros_in("2026-10-25T02:30:00", &tz), Some(first));
        // Aware times ignore the zone.
        assert_eq!(
            parse_iso_micros_in("2026-10-25T02:30:00+01:00", &tz),
            Some(second)
        );
    }

    #[test]
    fn parses_offsets_and_fractions_exactly() {
        assert_eq!(parse_iso_micros("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso_micros("1970-01-02T01:00:00+01:00"),
            Some(86_400_000_000)
        );
        assert_eq!(
            parse_iso_micros("2000-03-01T00:00:00.5Z"),
            Some(951_868_800_500_000)
        );
        assert_eq!(
            parse_iso_micros("2000-03-01 00:00:00.123456789-0000"),
            Some(951_868_800_123_456)
        );
    }

    #[test]
    fn rejects_garbage_and_impossible_dates() {
        for bad in [
            "",
            "yesterday",
            "2026-02-30T00:00:00",
            "2026-13-01",
            "2026-01-01T24:00:00",
            "2026-01-01T10:00:00+5",
            "2026-01-01X10:00",
            "2026-01-01T10:00:00.",
        ] {
            assert_eq!(parse_iso_micros(bad), None, "{bad:?}");
        }
        assert!(parse_iso_micros("2024-02-29").is_some());
    }

    #[test]
    fn utc_compact_stamps() {
        assert_eq!(format_utc_compact(0), "19700101-000000");
        assert_eq!(format_utc_compact(1_795_303_502), "20261121-232502");
        assert_eq!(format_utc_compact(-1), "19691231-235959");
    }

    #[test]
    fn clocks_agree() {
        let (s, ms, us) = (now_secs(), now_ms(), now_micros());
        assert!((ms / 1000 - s).abs() <= 1 && (us / 1000 - ms).abs() <= 1000);
    }

    #[test]
    fn ages_are_compact() {
        assert_eq!(format_age(-5), "0s");
        assert_eq!(format_age(59), "59s");
        assert_eq!(format_age(60), "1m");
        assert_eq!(format_age(7200), "2h");
        assert_eq!(format_age(3 * 86_400 + 5), "3d");
    }
}
