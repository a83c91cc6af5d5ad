//! The 95% Wilson score interval that every rate carries (SPEC §4). Arithmetic only: which
//! rows get an interval is `table.rs`' decision.

/// The 95% Wilson score interval of `x` successes in `n` trials.
pub fn wilson_interval(x: u64, n: u64) -> (f64, f64) {
    const Z: f64 = 1.959_963_984_540_054;
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
