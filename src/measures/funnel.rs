//! The funnel plot's exact binomial control limits (SPEC §7; Spiegelhalter, "Funnel plots for
//! comparing institutional performance", Statistics in Medicine 2005): for a denominator n and
//! the national rate θ, the limits at 0.1%, 2.5%, 97.5% and 99.9% with the interpolated binomial
//! quantile, and the class of a region's rate against them. Arithmetic only.

use statrs::distribution::{Binomial, DiscreteCDF};

/// Where a region's rate lies against the national rate's control limits (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Funnel {
    Within,
    Above95,
    Above998,
    Below95,
    Below998,
}

impl Funnel {
    pub fn code(self) -> &'static str {
        match self {
            Funnel::Within => "within",
            Funnel::Above95 => "above_95",
            Funnel::Above998 => "above_99_8",
            Funnel::Below95 => "below_95",
            Funnel::Below998 => "below_99_8",
        }
    }
}

/// The probabilities of the four limits: 99.8% (outer) and 95% (inner), low and high.
pub const LIMIT_PROBABILITIES: [f64; 4] = [0.001, 0.025, 0.975, 0.999];

/// The four control limits for a denominator `n` around `theta`, in the order of
/// `LIMIT_PROBABILITIES`: r = the p-quantile of Binomial(n, θ) (the smallest r with
/// F(r) ≥ p), α = (F(r) − p) / (F(r) − F(r − 1)), limit = (r − α) / n. `None` for n = 0 or a
/// θ outside [0, 1].
pub fn control_limits(n: u64, theta: f64) -> Option<[f64; 4]> {
    if n == 0 || !(0.0..=1.0).contains(&theta) {
        return None;
    }
    let binomial = Binomial::new(theta, n).ok()?;
    let cdf = |r: u64| binomial.cdf(r);
    Some(LIMIT_PROBABILITIES.map(|p| {
        let r = quantile(&binomial, p, n);
        let f_r = cdf(r);
        let f_below = if r == 0 { 0.0 } else { cdf(r - 1) };
        let alpha = if f_r > f_below {
            (f_r - p) / (f_r - f_below)
        } else {
            0.0
        };
        (r as f64 - alpha) / n as f64
    }))
}

/// The smallest r in 0..=n with F(r) ≥ p, by bisection on the CDF.
fn quantile(binomial: &Binomial, p: f64, n: u64) -> u64 {
    let (mut low, mut high) = (0u64, n);
    while low < high {
        let mid = low + (high - low) / 2;
        if binomial.cdf(mid) >= p {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

/// The class of `x` of `n` against the limits around `theta`, with SPEC §7's strict
/// comparisons: above the 99.9% limit `above_99_8`, else above the 97.5% limit `above_95`, and
/// likewise below; else `within`.
pub fn classify(x: u64, n: u64, theta: f64) -> Option<Funnel> {
    let [low_998, low_95, high_95, high_998] = control_limits(n, theta)?;
    let rate = x as f64 / n as f64;
    Some(if rate > high_998 {
        Funnel::Above998
    } else if rate > high_95 {
        Funnel::Above95
    } else if rate < low_998 {
        Funnel::Below998
    } else if rate < low_95 {
        Funnel::Below95
    } else {
        Funnel::Within
    })
}

/// The chance, at the national rate `theta`, that a region of `n` cases scores at least `x`
/// (`above`) or at most `x`: how unusual its point really is. SPEC §7's interpolated limits flag
/// a region at 100% of a few cases although such a score is common; the report says so.
pub fn tail_chance(x: u64, n: u64, theta: f64, above: bool) -> Option<f64> {
    let binomial = Binomial::new(theta, n).ok()?;
    Some(match (above, x) {
        (true, 0) => 1.0,
        (true, x) => 1.0 - binomial.cdf(x - 1),
        (false, x) => binomial.cdf(x),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Limits computed independently in Python with scipy.stats.binom (ppf for r, cdf for F):
    /// `r = binom.ppf(p, n, θ); F = binom.cdf; α = (F(r) − p)/(F(r) − F(r − 1)); (r − α)/n`.
    #[test]
    fn control_limits_match_scipy() {
        for (n, theta, expected) in [
            (
                20u64,
                0.75,
                [
                    0.4010743896041614,
                    0.5205751554231901,
                    0.8994866335736121,
                    0.9842331572399392,
                ],
            ),
            (
                200,
                0.6,
                [
                    0.4892941470175514,
                    0.5291178083501774,
                    0.6648563120863409,
                    0.7029996119642243,
                ],
            ),
            (
                7,
                0.9,
                [
                    0.3318216175359033,
                    0.5671267135111934,
                    0.9925330300668297,
                    0.9997013212026732,
                ],
            ),
        ] {
            let got = control_limits(n, theta).unwrap();
            for (g, e) in got.iter().zip(expected) {
                assert!(
                    (g - e).abs() < 1e-9,
                    "n {n}, θ {theta}: {got:?} against scipy {expected:?}"
                );
            }
        }
    }

    /// scipy.stats.binom: `sf(4, 5, 0.795)`, `sf(16, 20, 0.6)`, `cdf(7, 20, 0.6)`.
    #[test]
    fn tail_chances_match_scipy() {
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
        assert!(close(tail_chance(5, 5, 0.795, true), 0.3175672024968751));
        assert!(close(tail_chance(17, 20, 0.6, true), 0.01596116279000825));
        assert!(close(tail_chance(7, 20, 0.6, false), 0.021028927477771155));
        assert_eq!(tail_chance(0, 20, 0.6, true), Some(1.0));
    }

    #[test]
    fn one_region_above_and_one_below() {
        assert_eq!(classify(190, 200, 0.6), Some(Funnel::Above998));
        assert_eq!(classify(136, 200, 0.6), Some(Funnel::Above95));
        assert_eq!(classify(120, 200, 0.6), Some(Funnel::Within));
        assert_eq!(classify(100, 200, 0.6), Some(Funnel::Below95));
        assert_eq!(classify(60, 200, 0.6), Some(Funnel::Below998));
        assert_eq!(classify(1, 0, 0.6), None);
    }
}
