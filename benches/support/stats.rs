//! Statistics the benchmarks share.

/// The median of `values` and a bootstrap 95% interval for it: 1,000 resamples with
/// replacement, from a fixed seed, so the same samples always give the same interval. `None`
/// when there are no values.
pub(crate) fn median_interval(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        // xorshift64: enough to resample with, and needs no dependency.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut medians: Vec<f64> = (0..1000)
        .map(|_| {
            let mut sample: Vec<f64> = (0..values.len())
                .map(|_| values[(next() % values.len() as u64) as usize])
                .collect();
            median(&mut sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    Some((median(&mut values.to_vec()), medians[25], medians[974]))
}
