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
        let mut mantissa: u64 = 0;
        let mut decimals: u8 = 0;
        let mut seen_point = false;
        let mut digits = 0usize;
        for &byte in text {
            match byte {
                b'0'..=b'9' => {
                    mantissa = mantissa
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(u64::from(byte - b'0')))
                        .ok_or(NumberError::TooLarge)?;
                    digits += 1;
                    if seen_point {
                        decimals += 1;
                        if decimals > MAX_DECIMALS {
                            return Err(NumberError::TooLarge);
                        }
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => return Err(NumberError::NotANumber),
            }
        }
        if digits == 0 || (seen_point && decimals == 0) {
            return Err(NumberError::NotANumber);
        }
        Ok(Decimal { mantissa, decimals })
    }

    /// The value as an integer at `scale` decimals, or `None` when it has significant digits
    /// beyond `scale` or overflows.
    #[inline]
    pub fn at_scale(self, scale: u8) -> Option<u64> {
        if self.decimals <= scale {
            self.mantissa.checked_mul(POW10[usize::from(scale - self.decimals)])
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

/// Integer value at `scale` decimals as a float.
#[inline]
pub fn scaled_to_f64(value: u64, scale: u8) -> f64 {
    value as f64 / POW10[usize::from(scale)] as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Result<Decimal, NumberError> {
        Decimal::parse(text.as_bytes())
    }

    #[test]
    fn parses_exchange_strings_exactly() {
        assert_eq!(dec("0.5000"), Ok(Decimal { mantissa: 5000, decimals: 4 }));
        assert_eq!(dec("30261"), Ok(Decimal { mantissa: 30261, decimals: 0 }));
        assert_eq!(dec("65000.01000000").unwrap().at_scale(2), Some(6_500_001));
        assert_eq!(dec("0.00000001").unwrap().at_scale(8), Some(1));
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for bad in ["", ".", "1.", ".5", "-1", "+1", "1e5", "1.2.3", "abc", " 1", "1,5", "NaN"] {
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
