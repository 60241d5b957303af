//! The decimal parser (`fixed::Decimal`) against an independent, obviously correct reference.
//!
//! The reference reads the grammar `digits [ "." digits ]` one byte at a time and builds the
//! mantissa in `u128` from a digit string with its leading zeros removed, so overflow is a plain
//! comparison with `u64::MAX`. Exactness rule: the mantissa and the decimal count must be equal
//! (no tolerance). The conversions built on the parse are checked the same way: `at_scale` and
//! `significant_decimals` in `u128` arithmetic, `write_at` against the input text with its
//! integer part's leading zeros removed, and `to_f64` within 4 units in the last place of
//! `str::parse::<f64>` (correctly rounded; `to_f64` divides two rounded values).

use _core::fixed::{Decimal, NumberError, MAX_DECIMALS};

/// What the reference makes of the longest decimal at the start of `text`.
#[derive(Debug, PartialEq, Eq)]
struct Reference {
    result: Result<(Decimal, usize), NumberError>,
    /// The integer digits and the fraction digits as written.
    int: Vec<u8>,
    frac: Vec<u8>,
}

fn reference(text: &[u8]) -> Reference {
    let int: Vec<u8> = text
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    let mut used = int.len();
    let mut frac = Vec::new();
    let fail = |why| Reference {
        result: Err(why),
        int: Vec::new(),
        frac: Vec::new(),
    };
    if int.is_empty() {
        return fail(NumberError::NotANumber);
    }
    if text.get(used) == Some(&b'.') {
        frac = text[used + 1..]
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        if frac.is_empty() {
            // `1.` is not a number: the dot must be followed by digits.
            return fail(NumberError::NotANumber);
        }
        used += 1 + frac.len();
    }
    if frac.len() > usize::from(MAX_DECIMALS) {
        return fail(NumberError::TooLarge);
    }
    let digits: Vec<u8> = int.iter().chain(&frac).copied().collect();
    let significant: &[u8] = match digits.iter().position(|&d| d != b'0') {
        Some(start) => &digits[start..],
        None => &[],
    };
    // 20 digits already exceed u64::MAX, and u128 holds 38: compare after parsing.
    if significant.len() > 20 {
        return fail(NumberError::TooLarge);
    }
    let mantissa = significant
        .iter()
        .fold(0u128, |m, d| m * 10 + u128::from(d - b'0'));
    let Ok(mantissa) = u64::try_from(mantissa) else {
        return fail(NumberError::TooLarge);
    };
    Reference {
        result: Ok((
            Decimal {
                mantissa,
                decimals: frac.len() as u8,
            },
            used,
        )),
        int,
        frac,
    }
}

/// Checks `Decimal::parse_prefix` and `Decimal::parse` on `data`, and the conversions of what
/// they accept.
pub fn check(data: &[u8]) {
    let expected = reference(data);
    let prefix = Decimal::parse_prefix(data);
    assert_eq!(
        prefix,
        expected.result,
        "parse_prefix({:?})",
        String::from_utf8_lossy(data)
    );
    let whole = match expected.result {
        Ok((value, used)) if used == data.len() => Ok(value),
        Ok(_) => Err(NumberError::NotANumber),
        Err(why) => Err(why),
    };
    assert_eq!(
        Decimal::parse(data),
        whole,
        "parse({:?})",
        String::from_utf8_lossy(data)
    );
    if let Ok((value, _)) = expected.result {
        check_conversions(value, &expected.int, &expected.frac);
    }
}

fn check_conversions(value: Decimal, int: &[u8], frac: &[u8]) {
    let mantissa = u128::from(value.mantissa);
    for scale in 0..=MAX_DECIMALS {
        let expected = if scale >= value.decimals {
            let scaled = mantissa * 10u128.pow(u32::from(scale - value.decimals));
            u64::try_from(scaled).ok()
        } else {
            let divisor = 10u128.pow(u32::from(value.decimals - scale));
            (mantissa % divisor == 0).then(|| (mantissa / divisor) as u64)
        };
        assert_eq!(
            value.at_scale(scale),
            expected,
            "{value:?} at scale {scale}"
        );
    }
    let trailing_zeros = frac.iter().rev().take_while(|&&d| d == b'0').count();
    assert_eq!(
        value.significant_decimals(),
        (frac.len() - trailing_zeros) as u8,
        "{value:?}"
    );

    // Written back as the venue wrote it (the OKX checksum text), leading zeros aside.
    let int_start = int.iter().position(|&d| d != b'0').unwrap_or(int.len() - 1);
    let mut text = String::from_utf8(int[int_start..].to_vec()).expect("ASCII digits");
    if !frac.is_empty() {
        text.push('.');
        text.push_str(std::str::from_utf8(frac).expect("ASCII digits"));
    }
    let mut written = String::new();
    Decimal::write_at(value.mantissa, value.decimals, value.decimals, &mut written);
    assert_eq!(written, text, "{value:?}");

    let exact: f64 = text.parse().expect("a decimal parses as f64");
    let got = value.to_f64();
    assert!(
        (got - exact).abs() <= 4.0 * f64::EPSILON * exact.abs(),
        "{value:?}: to_f64 gave {got}, the text is {exact}"
    );
}
