//! Calendar dates of Unix times in UTC, as Nix prints them (`%F`, `%F %T`).

/// `(year, month, day)` of the day `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` (UTC) of Unix seconds.
pub fn date(secs: u64) -> String {
    let (y, m, d) = civil(i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of Unix seconds.
pub fn date_time(secs: u64) -> String {
    let rem = secs % 86_400;
    format!(
        "{} {:02}:{:02}:{:02}",
        date(secs),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_700_000_000), "2023-11-14");
        assert_eq!(super::date_time(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(super::date(951_782_400), "2000-02-29");
    }
}
