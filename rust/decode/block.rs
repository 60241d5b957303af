//! The scanner's SIMD step: 16 payload bytes classified at once into bitmasks (quotes, digits,
//! dots, bytes a fast-path string may not hold), simdjson's structural classification at the
//! width of the values on the hot path. Level numbers, ids, keys and symbols are 1 to 15 bytes,
//! so one block holds a whole value and its closing quote: its length, its dot and its validity
//! come from a few mask operations instead of a loop over its bytes.
//!
//! SSE2 is part of the x86_64 baseline, so that path needs no runtime detection; other targets
//! use the portable classification, which the tests check against SSE2 byte for byte.

/// Bytes per block.
pub const WIDTH: usize = 16;

/// One bit per byte of a block (bit `i` is byte `i`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Masks {
    /// `"`
    pub quote: u32,
    /// `0`..=`9`
    pub digit: u32,
    /// `.`
    pub dot: u32,
    /// What the scanner leaves to the validating decoder inside a string: control bytes
    /// (below 0x20), non-ASCII bytes (0x80 and up) and `\` (escapes).
    pub special: u32,
}

/// The 16 bytes at `at`; past the end of `bytes` the block is padded with spaces, which are in
/// no mask, so a value is never found beyond the payload.
#[inline(always)]
pub fn load(bytes: &[u8], at: usize) -> [u8; WIDTH] {
    match bytes.get(at..at + WIDTH) {
        Some(block) => block.try_into().unwrap_or([b' '; WIDTH]),
        None => padded(bytes, at),
    }
}

#[cold]
fn padded(bytes: &[u8], at: usize) -> [u8; WIDTH] {
    let mut block = [b' '; WIDTH];
    let tail = bytes.get(at..).unwrap_or_default();
    block[..tail.len()].copy_from_slice(tail);
    block
}

/// Classifies the 16 bytes of `block`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
pub fn classify(block: &[u8; WIDTH]) -> Masks {
    // SAFETY: `sse2` is enabled on every x86_64 target (it is part of the architecture's
    // baseline), so the function's target feature is always present.
    unsafe { sse2(block) }
}

/// [`classify`] with SSE2: one load, five compares, four movemasks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
#[allow(unsafe_code)]
fn sse2(block: &[u8; WIDTH]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: the unaligned load reads exactly the 16 bytes of `block`.
    let v = unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) };
    let is = |byte: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8));
    let bits = |m: __m128i| _mm_movemask_epi8(m) as u32;
    // Signed compares: bytes 0x80 and up are negative, so they are below '0' (no digit) and
    // below 0x20 (special) without a separate test.
    let digit = _mm_and_si128(
        _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1)),
        _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1)),
    );
    let special = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), is(b'\\'));
    Masks {
        quote: bits(is(b'"')),
        digit: bits(digit),
        dot: bits(is(b'.')),
        special: bits(special),
    }
}

/// Classifies the 16 bytes of `block`, one byte at a time (targets without SSE2).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn classify(block: &[u8; WIDTH]) -> Masks {
    portable(block)
}

/// The portable classification: the definition the SSE2 path must match.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn portable(block: &[u8; WIDTH]) -> Masks {
    let mut masks = Masks {
        quote: 0,
        digit: 0,
        dot: 0,
        special: 0,
    };
    for (i, &byte) in block.iter().enumerate() {
        let bit = 1 << i;
        masks.quote |= u32::from(byte == b'"') * bit;
        masks.digit |= u32::from(byte.is_ascii_digit()) * bit;
        masks.dot |= u32::from(byte == b'.') * bit;
        masks.special |= u32::from(!(0x20..0x80).contains(&byte) || byte == b'\\') * bit;
    }
    masks
}

/// The bits below bit `n` (`n <= 16`).
#[inline(always)]
pub fn below(n: u32) -> u32 {
    (1 << n) - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_name_each_kind_of_byte() {
        let masks = classify(b"\"12.5\\\x1f\xc3 ab:/09\"");
        assert_eq!(masks.quote, 1 | 1 << 15);
        assert_eq!(masks.digit, 0b110_0000_0001_0110);
        assert_eq!(masks.dot, 1 << 3);
        assert_eq!(masks.special, 0b111 << 5);
    }

    #[test]
    fn a_short_tail_is_padded_with_bytes_in_no_mask() {
        let block = load(b"12\"", 1);
        assert_eq!(&block[..2], b"2\"");
        assert!(block[2..].iter().all(|&b| b == b' '));
        assert_eq!(classify(&block).quote, 0b10);
        assert_eq!(load(b"12", 5), [b' '; WIDTH]);
        assert_eq!(load(b"0123456789abcdefgh", 1)[15], b'g');
    }

    proptest! {
        #[test]
        fn sse2_matches_the_portable_definition(block in any::<[u8; WIDTH]>()) {
            prop_assert_eq!(classify(&block), portable(&block));
        }

        #[test]
        fn json_bytes_match_the_portable_definition(
            block in prop::collection::vec(prop::sample::select(&b"\"\\.0123456789/:,[]{} \x00\x1f\x7f\x80\xff"[..]), WIDTH),
        ) {
            let block: [u8; WIDTH] = block.try_into().unwrap();
            prop_assert_eq!(classify(&block), portable(&block));
        }
    }
}
