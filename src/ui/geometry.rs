//! Pure geometry of the shard map: the hash-key space 0..2^128 drawn as a bar, shards as segments, a click on the
//! bar back to a hash key, and a load ratio to a colour. No browser types here, so it is tested on its own.

use crate::streams::hash_key::HashKeyRange;

/// 2^128 as a float (the width of the hash-key space).
const SPACE: f64 = 340_282_366_920_938_463_463_374_607_431_768_211_456.0;

/// Where `hash` sits on the bar, as a fraction of its width in `0.0..=1.0`.
pub fn fraction(hash: u128) -> f64 {
    // u128 -> f64 rounds to 53 bits: more than enough for pixels.
    #[allow(clippy::cast_precision_loss)]
    let h = hash as f64;
    (h / SPACE).clamp(0.0, 1.0)
}

/// The hash key at fraction `f` of the bar (clamped to the space; not-a-number reads as 0).
pub fn hash_at(f: f64) -> u128 {
    if !f.is_finite() || f <= 0.0 {
        return 0;
    }
    if f >= 1.0 {
        return u128::MAX;
    }
    // Float to integer `as` saturates; f < 1 keeps it below 2^128.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let h = (f * SPACE) as u128;
    h
}

/// One shard drawn on the bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// Left edge, as a fraction of the bar.
    pub x: f64,
    /// Width, as a fraction of the bar.
    pub width: f64,
}

/// The segment of a hash-key range: from its first key to just past its last.
pub fn segment(range: &HashKeyRange) -> Segment {
    let x = fraction(range.starting);
    let end = if range.ending == u128::MAX {
        1.0
    } else {
        fraction(range.ending + 1)
    };
    Segment {
        x,
        width: (end - x).max(0.0),
    }
}

/// The `NewStartingHashKey` for a click at fraction `f` inside `range`: a key the split accepts (greater than the
/// range's first key, at most its last), or `None` when the range holds a single key and cannot be split.
pub fn split_key_at(range: &HashKeyRange, f: f64) -> Option<u128> {
    if range.starting >= range.ending {
        return None;
    }
    Some(hash_at(f).clamp(range.starting + 1, range.ending))
}

/// The key that splits `range` into two equal halves (as the console's "split evenly"), if it can be split.
pub fn midpoint(range: &HashKeyRange) -> Option<u128> {
    if range.starting >= range.ending {
        return None;
    }
    Some(range.starting + (range.ending - range.starting) / 2 + 1)
}

/// Indices `(i, i + 1)` of neighbouring ranges (sorted by first key) that can be merged.
pub fn adjacent_pairs(ranges: &[HashKeyRange]) -> Vec<(usize, usize)> {
    ranges
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0].is_adjacent_to(&w[1]))
        .map(|(i, _)| (i, i + 1))
        .collect()
}

/// A shard's share of the hash space, in percent with one decimal (`"50.0%"`).
pub fn share_label(range: &HashKeyRange) -> String {
    format!("{:.1}%", segment(range).width * 100.0)
}

/// The colour of a load ratio (used / limit): green when idle, amber near the limit, red at or over it.
pub fn load_colour(ratio: f64) -> String {
    let r = if ratio.is_finite() {
        ratio.max(0.0)
    } else {
        0.0
    };
    if r >= 1.0 {
        return "hsl(0 72% 50%)".to_string();
    }
    // Hue 145 (green) at 0 down to 30 (amber) at 1.
    let hue = 145.0 - 115.0 * r;
    let lightness = 46.0 - 6.0 * r;
    format!("hsl({hue:.0} 60% {lightness:.0}%)")
}
