//! Depth grids.

/// How many powers base^n, n = 0, 1, …, [`geometric`] computes to reach `max`:
/// ln(max + 1) / ln(base) + 1, computed, not counted (base → 1 makes it huge).
pub fn powers(max: usize, base: f64) -> f64 {
    (max as f64 + 1.0).ln() / base.ln() + 1.0
}

/// The distinct values ⌊base^n⌋, n = 0, 1, …, that lie in [min, max], increasing.
pub fn geometric(min: usize, max: usize, base: f64) -> Vec<usize> {
    assert!(base > 1.0, "a geometric grid needs base > 1");
    let mut depths = Vec::new();
    let mut power = 1.0f64;
    // ⌊power⌋ ≤ max while power < max + 1 (1.2^29 = 197.8 gives 197).
    while power < max as f64 + 1.0 {
        // A relative nudge so that exact integers such as 1.2^n·… = 46.000… do not floor down.
        let depth = (power * (1.0 + 1e-12)).floor() as usize;
        if depth >= min && depth <= max && depths.last() != Some(&depth) {
            depths.push(depth);
        }
        power *= base;
    }
    depths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_grid() {
        let expected = [
            3, 4, 5, 6, 7, 8, 10, 12, 15, 18, 22, 26, 31, 38, 46, 55, 66, 79, 95, 114, 137, 164,
            197, 237, 284, 341, 410, 492, 590, 708, 850, 1020, 1224,
        ];
        assert_eq!(geometric(3, 1300, 1.2), expected);
        let tail = geometric(6000, 10_000, 1.2);
        assert_eq!(tail, [6319, 7583, 9100]);
    }

    #[test]
    fn bounds_are_inclusive_and_values_distinct() {
        assert_eq!(geometric(1, 8, 2.0), [1, 2, 4, 8]);
        assert_eq!(geometric(1, 3, 1.1), [1, 2, 3]);
        // ⌊1.2^29⌋ = ⌊197.8⌋ = 197 is the last depth of a grid to 197.
        assert_eq!(geometric(150, 197, 1.2), [164, 197]);
        assert!(geometric(5, 5, 2.0).is_empty());
    }

    #[test]
    fn the_count_of_powers_is_the_loops() {
        for (max, base) in [(300, 1.2), (9100, 1.2), (8, 2.0), (3, 1.1), (1, 1.5)] {
            let mut count = 0;
            let mut power = 1.0f64;
            while power < max as f64 + 1.0 {
                count += 1;
                power *= base;
            }
            assert_eq!(powers(max, base).floor() as usize, count, "{max} {base}");
        }
        assert!(powers(9100, 1.000_000_000_1) > 9e10);
    }
}
