//! Timestamps in the seed registries' format.
//!
//! The seed wrote `datetime.now().isoformat()`: a *naive local* time such as
//! `2026-11-21T23:10:01.123456`, with the fraction left out when the
//! microseconds are zero. We write the same shape, and read it back (with or
//! without a fraction, `T` or space separator, and also with a `Z`/`±HH:MM`
//! offset in case another tool wrote an aware time) into Unix microseconds.
//!
//! Local time goes through libc (`localtime_r`, `mktime`) so we need no date
//! crate. A naive time is ambiguous around a DST fall-back; `mktime` with
//! `tm_isdst = -1` picks one of the two instants, which is good enough for
//! sorting and "last N hours" filters.

use std::time::{SystemTime, UNIX_EPOCH};

const MICROS_PER_SEC: i64 = 1_000_000;

/// Current time as Unix microseconds.
pub fn now_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// The current local time in the seed's format, e.g. `2026-11-21T23:10:01.123456`.
pub fn now_local_iso() -> String {
    // An out-of-range clock is the only failure; an empty string is then
    // stored, which readers treat as "unknown time".
    format_local_iso(now_micros()).unwrap_or_default()
}

/// Format Unix microseconds as a naive local ISO time, like Python's
/// `datetime.fromtimestamp(t).isoformat()`: `YYYY-MM-DDTHH:MM:SS[.ffffff]`,
/// the fraction omitted when it is zero. `None` if libc cannot convert it.
pub fn format_local_iso(unix_micros: i64) -> Option<String> {
    let secs = unix_micros.div_euclid(MICROS_PER_SEC);
    let micros = unix_micros.rem_euclid(MICROS_PER_SEC);
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: `tm` is plain old data (integers and a nullable pointer), so an
    // all-zero value is valid; localtime_r only writes into it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    let ok = unsafe { libc::localtime_r(&t, &mut tm) };
    if ok.is_null() {
        return None;
    }
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    );
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
    let s = s.trim();
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut micros) = (0, 0, 0, 0);
    let mut i = 10;
    if b.len() > 10 {
        if b[10] != b'T' && b[10] != b' ' {
            return None;
        }
        hour = digits(b, 11, 2)?;
        expect(b, 13, b':')?;
        minute = digits(b, 14, 2)?;
        i = 16;
        if b.get(i) == Some(&b':') {
            second = digits(b, 17, 2)?;
            i = 19;
            if matches!(b.get(i), Some(b'.') | Some(b',')) {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                if end == start || end - start > 9 {
                    return None;
                }
                // Keep microsecond precision: pad or cut to 6 digits.
                let frac = &s[start..end.min(start + 6)];
                micros = frac.parse::<i64>().ok()? * 10_i64.pow(6 - frac.len() as u32);
                i = end;
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
    }
    let rest = &s[i..];
    let offset_secs = match rest {
        "" => None,
        "Z" | "z" => Some(0),
        _ => Some(parse_offset(rest)?),
    };
    let secs = match offset_secs {
        Some(off) => {
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - off
        }
        None => local_to_unix(year, month, day, hour, minute, second)?,
    };
    secs.checked_mul(MICROS_PER_SEC)?.checked_add(micros)
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

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0_i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

fn parse_offset(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = digits(b, 1, 2)?;
    let minutes = match b.len() {
        3 => 0,
        5 => digits(b, 3, 2)?,
        6 => {
            expect(b, 3, b':')?;
            digits(b, 4, 2)?
        }
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A naive local wall-clock time to Unix seconds via `mktime`.
fn local_to_unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    // SAFETY: as in `format_local_iso`, an all-zero `tm` is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = i32::try_from(y - 1900).ok()?;
    tm.tm_mon = i32::try_from(mo - 1).ok()?;
    tm.tm_mday = i32::try_from(d).ok()?;
    tm.tm_hour = i32::try_from(h).ok()?;
    tm.tm_min = i32::try_from(mi).ok()?;
    tm.tm_sec = i32::try_from(s).ok()?;
    tm.tm_isdst = -1; // let libc decide whether DST applies
    // SAFETY: `tm` is a valid, exclusively borrowed struct.
    let t = unsafe { libc::mktime(&mut tm) };
    // -1 is also 1969-12-31T23:59:59 UTC; no registry entry is from then.
    #[allow(clippy::useless_conversion)] // `time_t` is not `i64` on every target
    (t != -1).then_some(i64::from(t))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ages_are_compact() {
        assert_eq!(format_age(-5), "0s");
        assert_eq!(format_age(59), "59s");
        assert_eq!(format_age(60), "1m");
        assert_eq!(format_age(7200), "2h");
        assert_eq!(format_age(3 * 86_400 + 5), "3d");
    }
}
