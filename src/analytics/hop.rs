//! Hopping windows (`GROUP BY HOP(ts, INTERVAL slide, INTERVAL size)`): fixed-size windows that start every
//! `slide`, so a row lands in `size / slide` windows. The operator is [`super::tumbling::FixedWindows`] with a
//! slide shorter than its size; this file holds the pure assignment.

/// Starts (epoch ms, ascending) of every hopping window `[start, start + size)` that holds `t`; starts are
/// multiples of `slide_ms`.
pub fn hop_starts(t: i64, slide_ms: i64, size_ms: i64) -> Vec<i64> {
    let last = t - t.rem_euclid(slide_ms);
    let mut starts = Vec::new();
    let mut s = last;
    while s + size_ms > t {
        starts.push(s);
        s -= slide_ms;
    }
    starts.reverse();
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_lands_in_size_over_slide_windows() {
        assert_eq!(hop_starts(65_000, 30_000, 60_000), vec![30_000, 60_000]);
        assert_eq!(hop_starts(60_000, 30_000, 60_000), vec![30_000, 60_000]);
        assert_eq!(hop_starts(59_999, 30_000, 60_000), vec![0, 30_000]);
        assert_eq!(hop_starts(10, 10, 25), vec![-10, 0, 10]);
    }
}
