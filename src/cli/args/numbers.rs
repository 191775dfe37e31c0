//! The numeric flags' parsers: durations with units, whole numbers and
//! amounts, each with its allowed range. A value out of range (a negative
//! one too: these flags take `-1` as a value, not as an unknown flag) is
//! refused by clap with exit 2, in one line naming the flag and what is
//! allowed.

/// A duration flag: plain seconds (`7200`), or numbers with units `s`, `m`,
/// `h`, `d` (`45s`, `90m`, `2h`, `1h30m`).
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_duration_secs(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "'{}' is not a duration: give seconds (7200) or a number with a unit \
             (45s, 90m, 2h, 1d, 1h30m)",
            text.escape_debug()
        )
    };
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(secs);
    }
    let (mut total, mut number) = (0u64, None::<u64>);
    for c in t.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number.unwrap_or(0);
            number = Some(
                n.checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d)))
                    .ok_or_else(bad)?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n = number.take().ok_or_else(bad)?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if number.is_some() || t.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// "allowed: …" for the range `lo..=hi` (`hi` = `u64::MAX`: no upper bound).
fn allowed(lo: u64, hi: u64, unit: &str) -> String {
    if hi == u64::MAX {
        format!("allowed: {lo} or more{unit}")
    } else {
        format!("allowed: {lo} to {hi}{unit}")
    }
}

/// A duration flag (as [`parse_duration_secs`]) of `lo..=hi` seconds.
pub fn duration_in(lo: u64, hi: u64) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text| {
        let range = || allowed(lo, hi, " seconds (or 45s, 90m, 2h, 1d)");
        let secs = parse_duration_secs(text).map_err(|e| format!("{e}; {}", range()))?;
        if (lo..=hi).contains(&secs) {
            Ok(secs)
        } else {
            Err(format!("{secs}s is out of range; {}", range()))
        }
    }
}

/// A whole-number flag of `lo..=hi` (`unit` follows the numbers in the
/// message: " seconds", "").
pub fn whole_in<T: TryFrom<u64>>(
    lo: u64,
    hi: u64,
    unit: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone {
    move |text| {
        let range = || allowed(lo, hi, unit);
        let n: u64 = text.trim().parse().map_err(|_| {
            format!(
                "'{}' is not a whole number; {}",
                text.escape_debug(),
                range()
            )
        })?;
        if !(lo..=hi).contains(&n) {
            return Err(format!("{n} is out of range; {}", range()));
        }
        T::try_from(n).map_err(|_| format!("{n} is too large; {}", range()))
    }
}

/// A flag taking a number greater than zero (fractions allowed: dollars, hours).
pub fn positive(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "'{}' is not a positive number; allowed: more than 0 (e.g. 2.5)",
            text.escape_debug()
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_are_named_and_negative_values_refused() {
        let timeout = duration_in(1, 600);
        assert_eq!(timeout("2m"), Ok(120));
        assert!(
            timeout("-1")
                .unwrap_err()
                .contains("allowed: 1 to 600 seconds")
        );
        assert!(timeout("0").unwrap_err().contains("out of range"));
        let n = whole_in::<u32>(0, u64::MAX, "");
        assert_eq!(n("7"), Ok(7));
        assert!(n("-1").unwrap_err().contains("allowed: 0 or more"));
        assert!(n("99999999999").unwrap_err().contains("too large"));
        assert!(positive("-1").is_err() && positive("0").is_err());
        assert_eq!(positive("2.5"), Ok(2.5));
    }
}
