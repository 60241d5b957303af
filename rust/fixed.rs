//! Exact fixed-point numbers parsed straight from exchange decimal strings.
//!
//! A [`Decimal`] keeps the digits as an integer mantissa plus the number of decimals written in
//! the string, so `"0.5000"` is `5000 × 10⁻⁴`. Keeping the written decimals lets the OKX checksum
//! rebuild the venue's original text without storing strings.

/// Powers of ten that fit in a `u64` (10⁰ ..= 10¹⁹).
pub const POW10: [u64; 20] = {
    let mut table = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Most decimals a value may carry; keeps every scale factor inside `u64`.
pub const MAX_DECIMALS: u8 = 18;

/// A non-negative decimal exactly as written: `mantissa × 10^-decimals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Decimal {
    pub mantissa: u64,
    pub decimals: u8,
}

/// Why a decimal string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Not of the form `digits[.digits]`.
    NotANumber,
    /// More significant digits than a `u64` holds, or more than [`MAX_DECIMALS`] decimals.
    TooLarge,
}

impl std::fmt::Display for NumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NumberError::NotANumber => "not a decimal number",
            NumberError::TooLarge => "does not fit (too many digits)",
        })
    }
}

impl Decimal {
    /// Parses `digits[.digits]` (no sign, no exponent: exchanges never send them for prices
    /// and sizes, so anything else is malformed input).
    #[inline]
    pub fn parse(text: &[u8]) -> Result<Decimal, NumberError> {
        match Self::parse_prefix(text)? {
            (decimal, used) if used == text.len() => Ok(decimal),
            _ => Err(NumberError::NotANumber),
        }
    }

    /// Parses the decimal at the start of `text`, returning it and the bytes it used; the caller
    /// checks what follows (a scanner reading `"123.45"` stops at the closing quote).
    #[inline(always)]
    pub fn parse_prefix(text: &[u8]) -> Result<(Decimal, usize), NumberError> {
        // Up to 19 digits always fit a u64, so the common case needs no overflow checks.
        #[inline(always)]
        fn digits(text: &[u8], mut at: usize, mantissa: &mut u64) -> usize {
            while let Some(value) = eight_digits(text, at) {
                *mantissa = mantissa.wrapping_mul(100_000_000).wrapping_add(value);
                at += 8;
            }
            while let Some(&byte) = text.get(at) {
                let digit = byte.wrapping_sub(b'0');
                if digit >= 10 {
                    break;
                }
                *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
                at += 1;
            }
            at
        }
        let mut mantissa = 0u64;
        let int_end = digits(text, 0, &mut mantissa);
        if int_end == 0 {
            return Err(NumberError::NotANumber);
        }
        let mut used = int_end;
        if text.get(int_end) == Some(&b'.') {
            used = digits(text, int_end + 1, &mut mantissa);
            if used == int_end + 1 {
                return Err(NumberError::NotANumber);
            }
        }
        let decimals = used.saturating_sub(int_end + 1);
        if decimals > usize::from(MAX_DECIMALS) {
            return Err(NumberError::TooLarge);
        }
        if used - usize::from(decimals > 0) > 19 {
            mantissa = Self::checked_mantissa(&text[..used])?;
        }
        Ok((
            Decimal {
                mantissa,
                decimals: decimals as u8,
            },
            used,
        ))
    }

    /// The slow path for long digit strings (leading zeros, or too large).
    fn checked_mantissa(text: &[u8]) -> Result<u64, NumberError> {
        text.iter()
            .filter(|b| b.is_ascii_digit())
            .try_fold(0u64, |m, &b| {
                m.checked_mul(10)
                    .and_then(|m| m.checked_add(u64::from(b - b'0')))
                    .ok_or(NumberError::TooLarge)
            })
    }

    /// The value as an integer at `scale` decimals, or `None` when it has significant digits
    /// beyond `scale` or overflows.
    #[inline]
    pub fn at_scale(self, scale: u8) -> Option<u64> {
        if self.decimals <= scale {
            self.mantissa
                .checked_mul(POW10[usize::from(scale - self.decimals)])
        } else {
            let divisor = POW10[usize::from(self.decimals - scale)];
            (self.mantissa % divisor == 0).then_some(self.mantissa / divisor)
        }
    }

    /// The fewest decimals that represent the value exactly (`"1.500"` needs 1).
    pub fn significant_decimals(self) -> u8 {
        let mut mantissa = self.mantissa;
        let mut decimals = self.decimals;
        while decimals > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            decimals -= 1;
        }
        decimals
    }

    /// The value as a float (features only; the book never uses it).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.mantissa as f64 / POW10[usize::from(self.decimals)] as f64
    }

    /// Writes the value as the venue wrote it, given its integer value at `scale` decimals.
    pub fn write_at(value: u64, scale: u8, decimals: u8, out: &mut String) {
        use std::fmt::Write;
        let unscaled = if decimals <= scale {
            value / POW10[usize::from(scale - decimals)]
        } else {
            value * POW10[usize::from(decimals - scale)]
        };
        if decimals == 0 {
            let _ = write!(out, "{unscaled}");
        } else {
            let unit = POW10[usize::from(decimals)];
            let _ = write!(
                out,
                "{}.{:0width$}",
                unscaled / unit,
                unscaled % unit,
                width = usize::from(decimals)
            );
        }
    }
}

/// The value of eight ASCII digits at `text[at..]`, or `None` if they are not all digits
/// (SWAR: all eight bytes are checked and combined in a few integer operations).
#[inline(always)]
fn eight_digits(text: &[u8], at: usize) -> Option<u64> {
    let chunk = u64::from_le_bytes(text.get(at..at + 8)?.try_into().ok()?);
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let all_digits =
        chunk & HIGH == ZEROS && chunk.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS;
    if !all_digits {
        return None;
    }
    Some(swar8(chunk))
}

/// The value of eight digit bytes in a word, the first byte the most significant; only the low
/// nibble of each byte is read, so ASCII digits and zero bytes (leading zeros) both work.
#[inline(always)]
fn swar8(chunk: u64) -> u64 {
    let v = chunk & 0x0F0F_0F0F_0F0F_0F0F;
    let v = (v.wrapping_mul(2561) >> 8) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(6_553_601) >> 16) & 0x0000_FFFF_0000_FFFF;
    v.wrapping_mul(42_949_672_960_001) >> 32
}

/// The value of the `len` ASCII digits at `block[start..]`: a run of up to 16 digits read as
/// one or two little-endian words, each shifted so the run's digits end at its last byte (the
/// bytes shifted in are zero digits), instead of a loop over the digits.
///
/// The caller has checked that those bytes are digits, `1 <= len <= 16`, `start <= 8` and
/// `start + len <= 16`; 16 digits always fit a `u64`, so there is no overflow check.
#[inline(always)]
pub fn digit_run(block: &[u8; 16], start: usize, len: usize) -> u64 {
    debug_assert!((1..=16).contains(&len) && start <= 8 && start + len <= 16);
    // Up to 8 digits at `at` (`at <= 8`, `1 <= n <= 8`).
    let word = |at: usize, n: usize| {
        let bytes = block.get(at..at + 8).and_then(|b| b.try_into().ok());
        swar8(u64::from_le_bytes(bytes.unwrap_or([0; 8])) << (8 * (8 - n)))
    };
    if len <= 8 {
        word(start, len)
    } else {
        word(start, len - 8) * 100_000_000 + word(start + len - 8, 8)
    }
}

/// Integer value at `scale` decimals as a float.
#[inline]
pub fn scaled_to_f64(value: u64, scale: u8) -> f64 {
    value as f64 / POW10[usize::from(scale)] as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn dec(text: &str) -> Result<Decimal, NumberError> {
        Decimal::parse(text.as_bytes())
    }

    #[test]
    fn parses_exchange_strings_exactly() {
        assert_eq!(
            dec("0.5000"),
            Ok(Decimal {
                mantissa: 5000,
                decimals: 4
            })
        );
        assert_eq!(
            dec("30261"),
            Ok(Decimal {
                mantissa: 30261,
                decimals: 0
            })
        );
        assert_eq!(dec("65000.01000000").unwrap().at_scale(2), Some(6_500_001));
        assert_eq!(dec("0.00000001").unwrap().at_scale(8), Some(1));
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for bad in [
            "", ".", "1.", ".5", "-1", "+1", "1e5", "1.2.3", "abc", " 1", "1,5", "NaN",
        ] {
            assert_eq!(dec(bad), Err(NumberError::NotANumber), "{bad:?}");
        }
    }

    #[test]
    fn refuses_what_does_not_fit() {
        assert_eq!(dec("18446744073709551616"), Err(NumberError::TooLarge));
        assert_eq!(dec("0.0000000000000000001"), Err(NumberError::TooLarge));
        assert!(dec("18446744073709551615").is_ok());
        assert_eq!(dec("18446744073709551615").unwrap().at_scale(1), None);
    }

    #[test]
    fn rescaling_keeps_only_exact_values() {
        let d = dec("1.2300").unwrap();
        assert_eq!(d.significant_decimals(), 2);
        assert_eq!(d.at_scale(2), Some(123));
        assert_eq!(d.at_scale(1), None);
        assert_eq!(dec("100").unwrap().significant_decimals(), 0);
    }

    proptest::proptest! {
        #[test]
        fn matches_a_digit_by_digit_reference(int in "[0-9]{1,21}", frac in proptest::option::of("[0-9]{1,18}")) {
            let text = match &frac { Some(f) => format!("{int}.{f}"), None => int.clone() };
            let all: String = text.chars().filter(char::is_ascii_digit).collect();
            let expected = all.parse::<u64>().ok().map(|mantissa| Decimal {
                mantissa,
                decimals: frac.as_ref().map_or(0, |f| f.len() as u8),
            });
            proptest::prop_assert_eq!(dec(&text).ok(), expected);
        }

        /// A prefix stops exactly where the number does, whatever byte follows
        /// (quotes, letters, bytes >= 0x80, ':' just above '9', '/' just below '0').
        #[test]
        fn a_prefix_stops_at_the_first_non_digit(
            int in "[0-9]{1,12}",
            frac in proptest::option::of("[0-9]{1,12}"),
            stop in proptest::prelude::any::<u8>().prop_filter("not a digit or dot", |b| !b.is_ascii_digit() && *b != b'.'),
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            let text = match &frac { Some(f) => format!("{int}.{f}"), None => int.clone() };
            let mut bytes = text.clone().into_bytes();
            bytes.push(stop);
            bytes.extend(rest);
            proptest::prop_assert_eq!(
                Decimal::parse_prefix(&bytes),
                dec(&text).map(|d| (d, text.len()))
            );
        }
    }

    proptest::proptest! {
        /// A run at any allowed place in a block is the number its digits spell; the bytes
        /// around it (any bytes) do not matter.
        #[test]
        fn a_digit_run_is_the_number_its_digits_spell(
            block in proptest::prelude::any::<[u8; 16]>(),
            digits in "[0-9]{1,16}",
            start in 0usize..=8,
        ) {
            let start = start.min(16 - digits.len());
            let mut block = block;
            block[start..start + digits.len()].copy_from_slice(digits.as_bytes());
            proptest::prop_assert_eq!(
                digit_run(&block, start, digits.len()),
                digits.parse::<u64>().unwrap()
            );
        }
    }

    #[test]
    fn writes_back_the_original_text() {
        for text in ["0.5000", "30261", "30243.5", "2.52627349", "0.059", "0.0"] {
            let d = dec(text).unwrap();
            let mut out = String::new();
            Decimal::write_at(d.at_scale(10).unwrap(), 10, d.decimals, &mut out);
            assert_eq!(out, text);
        }
    }
}
