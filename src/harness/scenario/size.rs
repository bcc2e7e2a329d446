//! Sizes in bytes as scenario files write them: `512MiB`, `2GB`, `1048576B`.
//!
//! A size is a whole number and a unit, binary (`KiB`, `MiB`, `GiB`, `TiB`:
//! powers of 1,024, as memory is sold and as `ulimit` and Kubernetes' `Mi`
//! and `Gi` count it) or decimal (`KB`, `MB`, `GB`, `TB`: powers of 1,000,
//! as disks are sold), or `B`. Both kinds are read because people write
//! both; they are told apart by the `i`, never guessed. A space may stand
//! between the number and its unit.

/// The units a size may have, and how many bytes each is.
const UNITS: [(&str, u64); 9] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
];

/// Reads a size such as `512MiB`, `2 GB` or `4096B`, in bytes.
pub(super) fn parse_size(text: &str) -> Result<u64, String> {
    let units = || UNITS.map(|(unit, _)| unit).join(", ");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. `512MiB`, `2GB` or `4096B`"))?;
    let (number, unit) = text.split_at(split);
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write e.g. `512MiB`, `2GB` or `4096B`"))?;
    let (_, scale) = UNITS
        .into_iter()
        .find(|(name, _)| *name == unit)
        .ok_or_else(|| format!("`{text}` has unknown unit `{unit}`: use {}", units()))?;
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is more bytes than a 64-bit count holds"))
}

/// Renders a size in the form [`parse_size`] reads, exactly: in the unit
/// that writes it with the smallest whole number (`1GiB`, not
/// `1073741824B`; `2GB`, not `1953125KiB`), binary before decimal when
/// both do.
pub(super) fn render_size(bytes: u64) -> String {
    let (unit, scale) = UNITS
        .into_iter()
        .filter(|(_, scale)| bytes % scale == 0)
        .min_by_key(|(_, scale)| bytes / scale)
        .unwrap_or(UNITS[0]);
    format!("{}{unit}", bytes / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_units_are_read_apart() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("512MB"), Ok(512_000_000));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("3KB"), Ok(3_000));
        assert_eq!(parse_size("3KiB"), Ok(3_072));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert_eq!(parse_size("1TB"), Ok(1_000_000_000_000));
        assert_eq!(parse_size("4096B"), Ok(4_096));
    }

    #[test]
    fn a_size_without_a_known_unit_or_number_is_refused_with_the_units() {
        for text in [
            "512", "512mb", "512 MiBs", "512  MiB", "MiB", "-1MiB", "1.5GiB", "",
        ] {
            let error = parse_size(text).expect_err(text);
            assert!(error.contains(&format!("`{text}`")), "{error}");
        }
        let error = parse_size("512Mi").unwrap_err();
        assert!(
            error.contains("B, KiB, MiB, GiB, TiB, KB, MB, GB, TB"),
            "{error}"
        );
    }

    #[test]
    fn a_size_past_a_64_bit_count_is_refused_not_wrapped() {
        let error = parse_size("99999999999TiB").unwrap_err();
        assert!(error.contains("64-bit"), "{error}");
    }

    #[test]
    fn a_size_is_written_in_its_shortest_exact_unit_and_reads_back() {
        for (bytes, text) in [
            (1 << 30, "1GiB"),
            (2_000_000_000, "2GB"),
            (1_536 << 20, "1536MiB"),
            (1_048_577, "1048577B"),
            (0, "0B"),
            (1 << 40, "1TiB"),
        ] {
            assert_eq!(render_size(bytes), text);
            assert_eq!(parse_size(text), Ok(bytes));
        }
        for bytes in [1_u64, 999, 1_000, 1_024, 123_456_789, u64::MAX] {
            assert_eq!(parse_size(&render_size(bytes)), Ok(bytes), "{bytes}");
        }
    }
}
