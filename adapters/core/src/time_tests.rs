use super::*;
use chrono::FixedOffset;
use proptest::prelude::*;

#[test]
fn parses_with_and_without_fraction() {
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01Z"), Some(1000));
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500));
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.123456Z"), Some(1123));
    assert_eq!(parse_rfc3339_ms("1970-01-01T01:00:01+01:00"), Some(1000));
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01"), Some(1000));
    assert_eq!(parse_rfc3339_ms("yesterday"), None);
}

/// Issue 11, item 2: `+0000` was unreadable.
#[test]
fn every_offset_spelling_of_section_10_reads_the_same_instant() {
    let want = parse_rfc3339_ms("2024-06-03T10:00:01.000Z");
    assert_eq!(format_ms(want.unwrap()), "2024-06-03T10:00:01.000Z");
    for text in [
        "2024-06-03T10:00:01+0000",
        "2024-06-03T10:00:01+00:00",
        "2024-06-03T10:00:01+00",
        "2024-06-03T10:00:01-00:00",
        "2024-06-03T10:00:01z",
        "2024-06-03t10:00:01Z",
        "2024-06-03t10:00:01z",
        "2024-06-03 10:00:01Z",
        "2024-06-03T10:00:01",
        "2024-06-03T12:00:01+0200",
        "2024-06-03T12:00:01+02",
        "2024-06-03T05:30:01-0430",
        "2024-06-03T05:30:01-04:30",
        "2024-06-03T15:45:01.000+05:45",
        "2024-06-03T10:00:01,000Z",
        " 2024-06-03T10:00:01Z ",
    ] {
        assert_eq!(parse_rfc3339_ms(text), want, "{text}");
    }
}

#[test]
fn any_number_of_fraction_digits_truncates_to_the_millisecond() {
    let base = parse_rfc3339_ms("2024-06-03T10:00:00Z").unwrap();
    for (fraction, ms) in [
        ("1", 100),
        ("12", 120),
        ("123", 123),
        ("1232", 123),
        ("12325", 123),
        ("123250", 123),
        ("123750", 123),
        ("1237501", 123),
        ("123999999", 123),
        ("1239999999999", 123),
        ("999999999999", 999),
    ] {
        for offset in ["Z", "+00:00", "+0000", "+00"] {
            let text = format!("2024-06-03T10:00:00.{fraction}{offset}");
            assert_eq!(parse_rfc3339_ms(&text), Some(base + ms), "{text}");
        }
    }
}

/// Issue 11, item 3: a leap second stays before the next minute.
#[test]
fn a_leap_second_is_the_last_millisecond_of_its_minute() {
    let leap = parse_rfc3339_ms("2016-12-31T23:59:60.750Z").unwrap();
    assert_eq!(format_ms(leap), "2016-12-31T23:59:59.999Z");
    let next = parse_rfc3339_ms("2017-01-01T00:00:00.500Z").unwrap();
    let before = parse_rfc3339_ms("2016-12-31T23:59:59.998Z").unwrap();
    assert!(before < leap && leap < next);
    for text in [
        "2016-12-31T23:59:60Z",
        "2016-12-31T23:59:60.000001Z",
        "2016-12-31T23:59:60.999999999Z",
        "2017-01-01T00:59:60.250+01:00",
        "2017-01-01T00:59:60.250+0100",
        "2016-12-31t23:59:60.1z",
        "2016-12-31 23:59:60.5",
    ] {
        assert_eq!(parse_rfc3339_ms(text), Some(leap), "{text}");
    }
}

#[test]
fn what_is_not_a_date_time_stays_unreadable() {
    for text in [
        "",
        "2024-06-03",
        "2024-06-03T25:00:00Z",
        "2024-06-03T10:00:00+2",
        "2024-06-03T10:00:00.Z",
        "2024-06-03T10:00:00Zjunk",
        "1717408800000",
        "2024-06-03T10:00:00ǅ",
    ] {
        assert_eq!(parse_rfc3339_ms(text), None, "{text:?}");
    }
}

#[test]
fn formats_three_fraction_digits_and_z() {
    assert_eq!(format_ms(1_745_948_650_432), "2025-04-29T17:44:10.432Z");
    assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
}

/// Issue 11, item 1: an upper bound covers its whole millisecond.
#[test]
fn upper_bounds_end_at_the_last_nanosecond_of_their_millisecond() {
    assert_eq!(
        format_ms_end(1_745_948_650_432),
        "2025-04-29T17:44:10.432999999Z"
    );
    assert_eq!(format_ms_end(-1), "1969-12-31T23:59:59.999999999Z");
    let ms = parse_rfc3339_ms("2024-06-03T10:00:00.123Z").unwrap();
    let end = format_ms_end(ms);
    assert_eq!(end, "2024-06-03T10:00:00.123999999Z");
    assert_eq!(parse_rfc3339_ms(&end), Some(ms));
    // Lexical comparison, as an upstream storing text would do it.
    assert!("2024-06-03T10:00:00.123750Z" <= end.as_str());
    assert!("2024-06-03T10:00:00.124Z" > end.as_str());
}

fn offset_spellings(minutes: i32) -> Vec<String> {
    let sign = if minutes < 0 { '-' } else { '+' };
    let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
    let mut out = vec![
        format!("{sign}{h:02}:{m:02}"),
        format!("{sign}{h:02}{m:02}"),
    ];
    if m == 0 {
        out.push(format!("{sign}{h:02}"));
    }
    if minutes == 0 {
        out.extend(["Z".into(), "z".into()]);
    }
    out
}

proptest! {
    /// Any spelling of one instant (offset, separators, fraction length)
    /// reads as the same millisecond, the one `format_ms` writes.
    #[test]
    fn every_spelling_of_an_instant_reads_the_same_millisecond(
        ms in 0i64..4_102_444_800_000,
        extra_digits in 0usize..7,
        extra in 0u64..1_000_000,
        quarter_hours in -48i32..56,
        lower_t in any::<bool>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let minutes = quarter_hours * 15;
        let utc = Utc.timestamp_millis_opt(ms).single().unwrap();
        let local = utc.with_timezone(&FixedOffset::east_opt(minutes * 60).unwrap());
        let digits = format!("{:03}{:06}", ms.rem_euclid(1000), extra);
        let fraction = &digits[..3 + extra_digits];
        let spellings = offset_spellings(minutes);
        let offset = &spellings[pick.index(spellings.len())];
        let sep = if lower_t { 't' } else { 'T' };
        let text = format!(
            "{}{sep}{}.{fraction}{offset}",
            local.format("%Y-%m-%d"),
            local.format("%H:%M:%S"),
        );
        prop_assert_eq!(parse_rfc3339_ms(&text), Some(ms), "{}", text);
        prop_assert_eq!(parse_rfc3339_ms(&format_ms(ms)), Some(ms));
        prop_assert_eq!(parse_rfc3339_ms(&format_ms_end(ms)), Some(ms));
    }
}

#[test]
fn full_precision_keeps_what_milliseconds_drop() {
    let a = parse_timestamp_ns("2024-06-03T10:00:00.123250Z").unwrap();
    let b = parse_timestamp_ns("2024-06-03T10:00:00.123750+00:00").unwrap();
    assert_eq!(b - a, 500_000);
    let end = parse_timestamp_ns(&format_ms_end(
        parse_rfc3339_ms("2024-06-03T10:00:00.123Z").unwrap(),
    ));
    assert!(a < b && b <= end.unwrap());
    assert_eq!(
        parse_timestamp_ns("2016-12-31T23:59:60.5Z"),
        parse_timestamp_ns("2016-12-31T23:59:59.999999999Z")
    );
}
