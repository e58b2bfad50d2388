//! The textual forms of TTLV values shared by the KMIP XML and JSON encodings (KMIP Profiles, "Type" and
//! "Value" of both): hex, ISO 8601 date-times, enumeration and mask names, and the Attribute Value context rule.

use crate::tags::{self, ValueInfo};
use crate::ttlv::{ItemType, Node, NodeValue, Tag};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex, as the profiles' byte strings are written.
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0F)]));
    }
    s
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Hex of either case, an even number of digits.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some((hex_digit(p[0])? << 4) | hex_digit(p[1])?))
        .collect()
}

/// `0x` followed by 1 to 16 hex digits.
pub(crate) fn parse_hex_u64(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if h.is_empty() || h.len() > 16 {
        return None;
    }
    h.bytes()
        .try_fold(0u64, |acc, c| Some((acc << 4) | u64::from(hex_digit(c)?)))
}

/// `0x` + 8 upper-case hex digits, the profiles' form of an unnamed Enumeration or Integer.
pub(crate) fn hex_u32(v: u32) -> String {
    format!("0x{v:08X}")
}

/// A decimal or `0x` hex integer of type `T`.
pub(crate) fn parse_int<T: TryFrom<i128>>(s: &str) -> Option<T> {
    if let Some(v) = parse_hex_u64(s) {
        return T::try_from(i128::from(v)).ok();
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) || digits.len() > 20 {
        return None;
    }
    s.parse::<i128>().ok().and_then(|v| T::try_from(v).ok())
}

/// The tag whose enumeration names and mask bits apply to `node`: its own, except for a KMIP 1.x Attribute
/// Value, whose meaning comes from the Attribute Name before it (`Cryptographic Usage Mask` → the mask bits).
pub(crate) fn value_tag(node_tag: Tag, attribute_name: Option<&str>) -> Tag {
    if node_tag == Tag::ATTRIBUTE_VALUE
        && let Some(t) = attribute_name.and_then(Tag::from_spec_name)
    {
        return t;
    }
    node_tag
}

/// Tracks the last Attribute Name text among a structure's children, for [`value_tag`].
pub(crate) fn attribute_name_of<'n>(node: &'n Node<'_>) -> Option<&'n str> {
    match &node.value {
        NodeValue::TextString(s) if node.tag == Tag::ATTRIBUTE_NAME => Some(s),
        _ => None,
    }
}

/// An Enumeration value as text: its name, or `0x` hex.
pub(crate) fn format_enumeration(tag: Tag, v: u32) -> String {
    tags::enumeration_name(tag, v).map_or_else(|| hex_u32(v), str::to_owned)
}

/// An Enumeration from its name, `0x` hex or decimal.
pub(crate) fn parse_enumeration(tag: Tag, s: &str) -> Option<u32> {
    tags::enumeration_value(tag, s).or_else(|| parse_int::<u32>(s))
}

/// An Integer as text: the names of its bits joined by `sep` when `tag` carries a mask (unnamed bits as `0x`
/// hex), else decimal.
pub(crate) fn format_integer(tag: Tag, v: i32, sep: &str) -> String {
    let Some(bits) = tags::mask_bits(tag) else {
        return v.to_string();
    };
    if v == 0 {
        return "0".to_owned();
    }
    let mut rest = v.cast_unsigned();
    let mut parts: Vec<String> = Vec::new();
    for b in bits {
        if b.value != 0 && rest & b.value == b.value {
            parts.push(b.name.to_owned());
            rest &= !b.value;
        }
    }
    if rest != 0 {
        parts.push(hex_u32(rest));
    }
    parts.join(sep)
}

/// An Integer from decimal, `0x` hex, or (for a mask) names and hex joined by spaces or `|`.
pub(crate) fn parse_integer(tag: Tag, s: &str) -> Option<i32> {
    if let Some(v) = parse_int::<i64>(s) {
        // Hex spells the 32 bits; decimal must fit an i32.
        return if s.starts_with("0x") || s.starts_with("0X") {
            u32::try_from(v).ok().map(u32::cast_signed)
        } else {
            i32::try_from(v).ok()
        };
    }
    let bits: &[ValueInfo] = tags::mask_bits(tag)?;
    let mut v = 0u32;
    let mut any = false;
    for part in s.split(['|', ' ']).filter(|p| !p.is_empty()) {
        any = true;
        v |= match bits.iter().find(|b| b.name == part) {
            Some(b) => b.value,
            None => u32::try_from(parse_hex_u64(part)?).ok()?,
        };
    }
    any.then_some(v.cast_signed())
}

/// The text of a scalar value in the XML and JSON encodings; `mask_separator` joins mask bit names (a space
/// in XML, `|` in JSON). `None` for a structure.
pub(crate) fn format_scalar(
    value: &NodeValue<'_>,
    value_tag: Tag,
    mask_separator: &str,
) -> Option<String> {
    Some(match value {
        NodeValue::Structure(_) => return None,
        NodeValue::Integer(v) => format_integer(value_tag, *v, mask_separator),
        NodeValue::LongInteger(v) => v.to_string(),
        NodeValue::BigInteger(b) | NodeValue::ByteString(b) => hex_encode(b),
        NodeValue::Enumeration(v) => format_enumeration(value_tag, *v),
        NodeValue::Boolean(v) => v.to_string(),
        NodeValue::TextString(s) => s.to_string(),
        NodeValue::DateTime(v) => format_date_time(*v),
        NodeValue::Interval(v) => v.to_string(),
        NodeValue::DateTimeExtended(v) => format_date_time_extended(*v),
    })
}

/// Parses the text of a scalar of type `item_type`; `None` if it is not a valid value (or `item_type` is
/// Structure).
pub(crate) fn parse_scalar(
    item_type: ItemType,
    value_tag: Tag,
    s: &str,
) -> Option<NodeValue<'static>> {
    Some(match item_type {
        ItemType::Structure => return None,
        ItemType::Integer => NodeValue::Integer(parse_integer(value_tag, s)?),
        ItemType::LongInteger => NodeValue::LongInteger(match parse_hex_u64(s) {
            Some(v) => v.cast_signed(),
            None => parse_int::<i64>(s)?,
        }),
        ItemType::BigInteger => {
            let h = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s);
            NodeValue::BigInteger(hex_decode(h)?.into())
        }
        ItemType::Enumeration => NodeValue::Enumeration(parse_enumeration(value_tag, s)?),
        ItemType::Boolean => NodeValue::Boolean(match s {
            "true" => true,
            "false" => false,
            _ => match parse_hex_u64(s)? {
                0 => false,
                1 => true,
                _ => return None,
            },
        }),
        ItemType::TextString => NodeValue::TextString(s.to_owned().into()),
        ItemType::ByteString => NodeValue::ByteString(hex_decode(s)?.into()),
        ItemType::DateTime => NodeValue::DateTime(parse_date_time(s)?),
        ItemType::Interval => NodeValue::Interval(parse_int::<u32>(s)?),
        ItemType::DateTimeExtended => NodeValue::DateTimeExtended(parse_date_time_extended(s)?),
    })
}

// --- date-time ------------------------------------------------------------------------------------------------

/// Days from 1970-01-01 to the civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Seconds of 0000-01-01T00:00:00Z and of 10000-01-01T00:00:00Z: the range written as ISO 8601 (4-digit
/// years); other values are written as `0x` hex, which the profiles also allow.
const MIN_ISO_SECS: i64 = -62_167_219_200;
const END_ISO_SECS: i64 = 253_402_300_800;

/// ISO 8601 in UTC (`2013-04-12T12:00:00+00:00`, the profiles' form), or `0x` hex out of 4-digit years; with
/// `micros`, six fractional digits (Date-Time Extended).
fn format_instant(secs: i64, micros: Option<u32>, raw: i64) -> String {
    if !(MIN_ISO_SECS..END_ISO_SECS).contains(&secs) {
        return format!("0x{:016X}", raw.cast_unsigned());
    }
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let (h, mi, se) = (s / 3600, s % 3600 / 60, s % 60);
    match micros {
        Some(us) => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}.{us:06}+00:00"),
        None => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}+00:00"),
    }
}

/// A Date-Time (POSIX seconds) as text.
pub(crate) fn format_date_time(secs: i64) -> String {
    format_instant(secs, None, secs)
}

/// A Date-Time Extended (POSIX microseconds) as text.
pub(crate) fn format_date_time_extended(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let us = u32::try_from(micros.rem_euclid(1_000_000)).unwrap_or(0);
    format_instant(secs, Some(us), micros)
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (UTC when no zone is given) into seconds and
/// microseconds; `None` if malformed or finer than a microsecond.
fn parse_iso(s: &str) -> Option<(i64, u32)> {
    let (date, time) = s.split_once('T')?;
    let mut dp = date.split('-');
    let (y, mo, d) = (dp.next()?, dp.next()?, dp.next()?);
    if dp.next().is_some() || y.len() != 4 || mo.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, mo, d) = (num(y)?, num(mo)?, num(d)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > *month_days.get(usize::try_from(mo - 1).ok()?)? {
        return None;
    }
    // Split off the zone.
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(i);
        let (zh, zm) = z.get(1..)?.split_once(':')?;
        if zh.len() != 2 || zm.len() != 2 {
            return None;
        }
        let (zh, zm) = (num(zh)?, num(zm)?);
        if zh > 23 || zm > 59 {
            return None;
        }
        let off = zh * 3600 + zm * 60;
        (c, if z.starts_with('-') { -off } else { off })
    } else {
        (time, 0)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let mut tp = hms.split(':');
    let (h, mi, se) = (tp.next()?, tp.next()?, tp.next()?);
    if tp.next().is_some() || h.len() != 2 || mi.len() != 2 || se.len() != 2 {
        return None;
    }
    let (h, mi, se) = (num(h)?, num(mi)?, num(se)?);
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let micros = match frac {
        None => 0,
        Some(f) => {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (us, below) = f.split_at(f.len().min(6));
            if below.bytes().any(|c| c != b'0') {
                return None;
            }
            let scale = 10u32.pow(u32::try_from(6 - us.len()).ok()?);
            us.parse::<u32>().ok()? * scale
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some((secs, micros))
}

/// A Date-Time from ISO 8601 (whole seconds) or `0x` hex.
pub(crate) fn parse_date_time(s: &str) -> Option<i64> {
    if let Some(v) = parse_hex_u64(s) {
        return Some(v.cast_signed());
    }
    match parse_iso(s)? {
        (secs, 0) => Some(secs),
        _ => None,
    }
}

/// A Date-Time Extended from ISO 8601 (to the microsecond) or `0x` hex.
pub(crate) fn parse_date_time_extended(s: &str) -> Option<i64> {
    if let Some(v) = parse_hex_u64(s) {
        return Some(v.cast_signed());
    }
    let (secs, us) = parse_iso(s)?;
    secs.checked_mul(1_000_000)?.checked_add(i64::from(us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_round_trip_and_match_the_spec_example() {
        // KMIP 1.4 §9.1.2: 0x47DA67F8 is Friday, March 14, 2008, 11:56:40 GMT.
        assert_eq!(format_date_time(0x47DA_67F8), "2008-03-14T11:56:40+00:00");
        assert_eq!(parse_date_time("2008-03-14T11:56:40Z"), Some(0x47DA_67F8));
        assert_eq!(
            parse_date_time("2008-03-14T13:56:40+02:00"),
            Some(0x47DA_67F8)
        );
        assert_eq!(parse_date_time("1970-01-01T00:00:06+00:00"), Some(6));
        for v in [
            i64::MIN,
            -62_167_219_201,
            MIN_ISO_SECS,
            -1,
            0,
            1,
            END_ISO_SECS - 1,
            END_ISO_SECS,
            i64::MAX,
        ] {
            assert_eq!(parse_date_time(&format_date_time(v)), Some(v), "{v}");
            assert_eq!(
                parse_date_time_extended(&format_date_time_extended(v)),
                Some(v),
                "{v}"
            );
        }
        assert_eq!(parse_date_time("2008-02-30T00:00:00Z"), None);
        assert_eq!(parse_date_time("2008-03-14T11:56:40.5Z"), None);
        assert_eq!(
            parse_date_time_extended("1970-01-01T00:00:01.5Z"),
            Some(1_500_000)
        );
    }

    #[test]
    fn masks_and_enumerations_use_spec_names() {
        let mask = Tag::CRYPTOGRAPHIC_USAGE_MASK;
        assert_eq!(format_integer(mask, 12, " "), "Encrypt Decrypt");
        assert_eq!(parse_integer(mask, "Decrypt Encrypt"), Some(12));
        assert_eq!(parse_integer(mask, "Encrypt|Decrypt"), Some(12));
        assert_eq!(
            format_integer(mask, i32::MIN | 4, "|"),
            "Encrypt|0x80000000"
        );
        assert_eq!(
            parse_integer(mask, "Encrypt|0x80000000"),
            Some(i32::MIN | 4)
        );
        assert_eq!(format_enumeration(Tag::CRYPTOGRAPHIC_ALGORITHM, 2), "DES3");
        assert_eq!(
            format_enumeration(Tag::CRYPTOGRAPHIC_ALGORITHM, 0x8000_0001),
            "0x80000001"
        );
        assert_eq!(
            parse_enumeration(Tag::ATTRIBUTE_REFERENCE, "ActivationDate"),
            Some(0x42_0001)
        );
    }
}
