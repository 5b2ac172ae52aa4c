//! Small, dependency-free statistics for the baseline comparison ([`super::compare`]):
//! medians, the Mann–Whitney U rank test, the two-proportion z-test and a seeded
//! percentile bootstrap.
//!
//! The random generator is a fixed SplitMix64 written here rather than `rand`'s `StdRng`,
//! whose output is explicitly allowed to change between `rand` versions: a comparison of the
//! same two files must print the same confidence interval forever, on every machine.

/// A tiny deterministic pseudo-random generator (SplitMix64). Good enough for resampling,
/// not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (`n > 0`), by multiply-shift (bias below 2⁻³² for our `n`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal variate (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A stable 64-bit hash (FNV-1a) of `text`, to derive per-row bootstrap seeds.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// Median of `values` (the mean of the two middle values for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Complementary error function, `erfc(x)`, with a fractional error below 1.2·10⁻⁷
/// (Chebyshev fit from Numerical Recipes, §6.2).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Two-sided p-value of a standard normal statistic `z`.
pub fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// Two-sided p-value of the Mann–Whitney U test that `a` and `b` come from the same
/// distribution, by the normal approximation with tie and continuity corrections (fine from
/// about eight values per side; the comparison requires at least five and a CI besides).
/// Returns 1 when either side is empty or every value is tied.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len() as f64;
    let (mut rank_sum_a, mut tie_term) = (0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_sum_a += avg_rank * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    two_sided_p(z)
}

/// Two-sided p-value of the two-proportion z-test (pooled) that `e1/n1` and `e2/n2` are the
/// same rate. Returns 1 when there is nothing to test (no requests, or no or only errors).
pub fn two_proportion_p(e1: u64, n1: u64, e2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (e1 + e2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se <= 0.0 {
        return 1.0;
    }
    two_sided_p((e2 as f64 / n2f - e1 as f64 / n1f) / se)
}

/// Percentile-bootstrap confidence interval of `effect(stat(a*), stat(b*))`, where `a*` and
/// `b*` are resamples (with replacement, each side on its own) of `a` and `b`.
/// `confidence` is e.g. 0.95. Deterministic for a given `seed`. Returns `(low, high)`.
pub fn bootstrap_ci<T: Copy>(
    a: &[T],
    b: &[T],
    stat: impl Fn(&[T]) -> f64,
    effect: impl Fn(f64, f64) -> f64,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> (f64, f64) {
    if a.is_empty() || b.is_empty() || resamples == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = SplitMix64::new(seed);
    let (mut ra, mut rb) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let mut effects: Vec<f64> = (0..resamples)
        .map(|_| {
            ra.clear();
            rb.clear();
            ra.extend((0..a.len()).map(|_| a[rng.below(a.len())]));
            rb.extend((0..b.len()).map(|_| b[rng.below(b.len())]));
            effect(stat(&ra), stat(&rb))
        })
        .collect();
    effects.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence).clamp(0.0, 1.0) / 2.0;
    let at = |q: f64| {
        let idx = (q * (effects.len() - 1) as f64).round() as usize;
        effects[idx.min(effects.len() - 1)]
    };
    (at(tail), at(1.0 - tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_rng_are_deterministic() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        assert_eq!(a.next_u64(), b.next_u64());
        // Reference value of SplitMix64 seeded with 0 (first output).
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        let mut r = SplitMix64::new(1);
        assert!((0..1000).all(|_| r.below(10) < 10));
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        // z = 1.96 → two-sided p ≈ 0.05.
        assert!((two_sided_p(1.959_964) - 0.05).abs() < 1e-5);
    }

    #[test]
    fn mann_whitney_known_case() {
        // Fully separated samples of 10: U = 0, z = (50 - 0.5)/sqrt(175) = 3.7418,
        // p = 1.83e-4 (scipy.stats.mannwhitneyu, method="asymptotic", use_continuity=True).
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let b: Vec<f64> = (11..=20).map(f64::from).collect();
        let p = mann_whitney_p(&a, &b);
        assert!((p - 1.827e-4).abs() < 2e-6, "{p}");
        assert!(mann_whitney_p(&a, &a) > 0.9);
        assert_eq!(mann_whitney_p(&[1.0; 6], &[1.0; 6]), 1.0);
        assert_eq!(mann_whitney_p(&[], &a), 1.0);
    }

    #[test]
    fn two_proportions() {
        assert_eq!(two_proportion_p(0, 1000, 0, 1000), 1.0);
        assert!(two_proportion_p(10, 1000, 11, 1000) > 0.5);
        assert!(two_proportion_p(10, 10_000, 60, 10_000) < 1e-6);
    }

    #[test]
    fn bootstrap_covers_the_true_shift() {
        let mut rng = SplitMix64::new(3);
        let a: Vec<f64> = (0..60).map(|_| 10.0 + rng.normal()).collect();
        let b: Vec<f64> = (0..60).map(|_| 12.0 + rng.normal()).collect();
        let ci = bootstrap_ci(&a, &b, median, |x, y| y / x - 1.0, 2000, 0.95, 1);
        assert!(ci.0 < 0.2 && 0.2 < ci.1, "{ci:?}");
        assert!(ci.0 > 0.1, "{ci:?}");
        let again = bootstrap_ci(&a, &b, median, |x, y| y / x - 1.0, 2000, 0.95, 1);
        assert_eq!(ci, again);
    }
}
