//! Seeds: the one `u64` that fixes a simulated run, and how the others derive from it.
//!
//! A campaign has a *base seed*; case `i` gets the case seed `case_seed(base, i)`.
//! A case seed fixes everything about that case: the generated schedule, turmoil's
//! RNG (and through it tokio's scheduler RNG under `--cfg tokio_unstable`), and
//! every random choice a model makes. Sub-seeds are derived with a stable mixing
//! function and a label, so adding a new consumer never shifts the others.

use std::fmt;

/// The environment variable that replays one case seed.
pub const SEED_VARIABLE: &str = "LIFECYCLE_SEED";
/// The environment variable that sets how many cases a campaign runs.
pub const CASES_VARIABLE: &str = "LIFECYCLE_CASES";

/// A seed could not be read from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    /// The text that was not a seed.
    pub text: String,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a seed: expected a decimal or 0x-hexadecimal u64",
            self.text
        )
    }
}

impl std::error::Error for SeedError {}

/// Reads a seed written in decimal (`1234`) or hexadecimal (`0x4d2`).
pub fn parse_seed(text: &str) -> Result<u64, SeedError> {
    let trimmed = text.trim().replace('_', "");
    let parsed = match trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => trimmed.parse::<u64>(),
    };
    parsed.map_err(|_| SeedError {
        text: text.to_string(),
    })
}

/// Renders a seed the way reports print it: `0x` and 16 hexadecimal digits.
pub fn render_seed(seed: u64) -> String {
    format!("{seed:#018x}")
}

/// One round of SplitMix64: a stable, well-mixed function of its input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of case `index` of a campaign whose base seed is `base`.
pub fn case_seed(base: u64, index: u64) -> u64 {
    mix(mix(base) ^ index)
}

/// A sub-seed for one consumer (`label`) of a case seed.
pub fn derive(seed: u64, label: &str) -> u64 {
    mix(seed ^ fnv1a(FNV_OFFSET, label.bytes()))
}

/// Where an FNV-1a hash starts.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, from `hash` on: stable across platforms and Rust
/// versions, so labels derive the same seeds and traces hash the same
/// everywhere.
pub(crate) fn fnv1a(hash: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(hash, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The case seed named by `LIFECYCLE_SEED`, if set.
pub fn seed_from_environment() -> Result<Option<u64>, SeedError> {
    match std::env::var(SEED_VARIABLE) {
        Ok(text) => parse_seed(&text).map(Some),
        Err(_) => Ok(None),
    }
}

/// The case count named by `LIFECYCLE_CASES`, if set.
pub fn cases_from_environment() -> Result<Option<u64>, SeedError> {
    match std::env::var(CASES_VARIABLE) {
        Ok(text) => parse_seed(&text).map(Some),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_in_decimal_and_hexadecimal() {
        assert_eq!(parse_seed("1234"), Ok(1234));
        assert_eq!(parse_seed("0x4d2"), Ok(1234));
        assert_eq!(parse_seed(&render_seed(u64::MAX)), Ok(u64::MAX));
        assert!(parse_seed("12ab").is_err());
        assert!(parse_seed("").is_err());
    }

    #[test]
    fn derived_seeds_differ_by_label_and_index() {
        assert_ne!(derive(7, "turmoil"), derive(7, "model"));
        assert_ne!(case_seed(7, 0), case_seed(7, 1));
        assert_eq!(case_seed(7, 3), case_seed(7, 3));
    }
}
