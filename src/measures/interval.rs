//! The 95% intervals of the outputs: the Wilson score interval every rate carries (SPEC §4),
//! and for programmes (SPEC §10) Newcombe's hybrid score interval of a difference of two rates
//! and the Wald interval of a difference in differences. Arithmetic only: which rows get an
//! interval is the tables' decision.

/// z for a two-sided 95% interval: the 0.975 quantile of the standard normal.
const Z: f64 = 1.959_963_984_540_054;

/// The 95% Wilson score interval of `x` successes in `n` trials.
pub fn wilson_interval(x: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = x as f64 / n;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// `p1 − p2` for `x1` of `n1` against `x2` of `n2`, with the 95% hybrid score interval of
/// Newcombe (1998, "Interval estimation for the difference between independent proportions",
/// method 10), made from the two Wilson intervals: (difference, low, high). `n1`, `n2` > 0.
pub fn newcombe_difference(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64, f64) {
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (l1, u1) = wilson_interval(x1, n1);
    let (l2, u2) = wilson_interval(x2, n2);
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    (d, low, high)
}

/// The difference in differences `(pa − ca) − (pb − cb)` of four (successes, trials) pairs —
/// programme and comparison in a period, programme and comparison before — with its 95% Wald
/// interval, estimate ± z·√(Σ p(1−p)/n), not clipped: (estimate, low, high). Every n > 0.
pub fn wald_difference_in_differences(
    programme: (u64, u64),
    comparison: (u64, u64),
    programme_before: (u64, u64),
    comparison_before: (u64, u64),
) -> (f64, f64, f64) {
    let p = |(x, n): (u64, u64)| x as f64 / n as f64;
    let variance = |(x, n): (u64, u64)| p((x, n)) * (1.0 - p((x, n))) / n as f64;
    let estimate = (p(programme) - p(comparison)) - (p(programme_before) - p(comparison_before));
    let se = (variance(programme)
        + variance(comparison)
        + variance(programme_before)
        + variance(comparison_before))
    .sqrt();
    (estimate, estimate - Z * se, estimate + Z * se)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    /// Newcombe (1998), Table II, worked examples of method 10 (values to 4 places), which
    /// statsmodels' `confint_proportions_2indep(..., method="newcomb", compare="diff")` also
    /// gives.
    #[test]
    fn newcombe_method_10_matches_the_papers_worked_examples() {
        for (x1, n1, x2, n2, low, high) in [
            (56, 70, 48, 80, 0.0524, 0.3339), // example (a)
            (9, 10, 3, 10, 0.1705, 0.8090),   // example (b)
            (6, 7, 2, 7, 0.0582, 0.8062),     // example (c)
            (5, 56, 0, 29, -0.0381, 0.1926),  // example (d)
            (0, 10, 0, 20, -0.1611, 0.2775),  // example (e)
            (10, 10, 0, 20, 0.6791, 1.0000),  // example (f)
        ] {
            let (_, lo, hi) = newcombe_difference(x1, n1, x2, n2);
            assert!(
                close(lo, low) && close(hi, high),
                "{x1}/{n1} − {x2}/{n2}: got ({lo:.4}, {hi:.4}), Newcombe gives ({low}, {high})"
            );
        }
    }

    /// (81/100 − 74/120) − (70/90 − 73/100), computed independently in Python with scipy:
    /// `p = x/n; se = sqrt(sum(p*(1-p)/n)); est ± scipy.stats.norm.ppf(0.975)*se`.
    #[test]
    fn difference_in_differences_wald_interval_matches_scipy() {
        let (est, lo, hi) =
            wald_difference_in_differences((81, 100), (74, 120), (70, 90), (73, 100));
        assert!((est - 0.145_555_555_555_555_55).abs() < 1e-12, "{est}");
        assert!((lo - -0.023_050_867_274_575_81).abs() < 1e-12, "{lo}");
        assert!((hi - 0.314_161_978_385_686_94).abs() < 1e-12, "{hi}");
    }
}
