//! RANDOM_CUT_FOREST's ANOMALY_SCORE: a small Random Cut Forest (Guha, Mishra, Roy, Schrijvers, "Robust Random
//! Cut Forest Based Anomaly Detection on Streams", ICML 2016) on a seeded [`SimRng`].
//!
//! Each of `numberOfTrees` trees keeps a time-decayed reservoir sample of `subSampleSize` shingled points (a new
//! point joins with probability `subSampleSize / max(rows seen, timeDecay)`, so recent points are favoured). A
//! point's score in one tree is its collusive displacement (CoDisp) in a random cut tree over the tree's sample
//! plus the point: cuts are drawn as the paper's random cut tree draws them (a dimension with probability
//! proportional to its range, a uniform cut inside it) while descending towards the point, and the score is the
//! largest |sibling| / |subtree holding the point| on the way down. ANOMALY_SCORE is the mean over trees, taken
//! before the point joins the samples. The trees are not kept between rows: each score draws fresh cuts, which
//! gives the same distribution as scoring against maintained trees, at O(trees x sample) work per row.
//!
//! Scores are on the paper's CoDisp scale (about 1 for ordinary points, higher for outliers), not the service's
//! exact normalisation; they are 0 until every tree holds at least two points. Same seed and rows give the same
//! scores on every platform.

use crate::sim::SimRng;
use serde::{Deserialize, Serialize};

/// The service's default number of trees.
pub const TREES_DEFAULT: u32 = 100;
/// The service's default sample size per tree.
pub const SUB_SAMPLE_SIZE_DEFAULT: u32 = 256;
/// The service's default time decay (rows).
pub const TIME_DECAY_DEFAULT: u64 = 100_000;
/// The service's default shingle size.
pub const SHINGLE_SIZE_DEFAULT: u32 = 1;

/// One tree's sample of points.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Sample {
    points: Vec<Vec<f64>>,
}

/// A Random Cut Forest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Forest {
    trees: Vec<Sample>,
    sub_sample_size: u32,
    time_decay: u64,
    shingle_size: u32,
    shingle: Vec<Vec<f64>>,
    seq: u64,
    rng: SimRng,
}

fn unit(rng: &mut SimRng) -> f64 {
    // 53 random bits in [0, 1).
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl Forest {
    /// A forest with the service's parameters; `seed` picks the random cuts.
    pub fn new(
        trees: u32,
        sub_sample_size: u32,
        time_decay: u64,
        shingle_size: u32,
        seed: u64,
    ) -> Self {
        Forest {
            trees: vec![Sample::default(); trees as usize],
            sub_sample_size: sub_sample_size.max(2),
            time_decay: time_decay.max(1),
            shingle_size: shingle_size.max(1),
            shingle: Vec::new(),
            seq: 0,
            rng: SimRng::new(seed),
        }
    }

    /// Scores a row's numeric values, then adds them to the forest.
    pub fn score_and_update(&mut self, values: &[f64]) -> f64 {
        self.shingle.push(
            values
                .iter()
                .map(|v| if v.is_finite() { *v } else { 0.0 })
                .collect(),
        );
        if self.shingle.len() > self.shingle_size as usize {
            self.shingle.remove(0);
        }
        if self.shingle.len() < self.shingle_size as usize {
            return 0.0;
        }
        let point: Vec<f64> = self.shingle.iter().flatten().copied().collect();
        let ready = self.trees.iter().all(|t| t.points.len() >= 2);
        let mut total = 0.0;
        if ready {
            for i in 0..self.trees.len() {
                total += codisp(&self.trees[i].points, &point, &mut self.rng);
            }
        }
        self.seq += 1;
        // Time-decayed reservoir in integers (so native and wasm32 agree bit for bit): until a tree's sample is
        // full every point joins; after that a point joins with probability size / max(seq, timeDecay) and
        // replaces a uniformly chosen point, so once seq passes timeDecay a sampled point lives about timeDecay
        // rows.
        let window = self.seq.max(self.time_decay);
        let size = u64::from(self.sub_sample_size);
        for i in 0..self.trees.len() {
            let sample = &mut self.trees[i].points;
            if (sample.len() as u64) < size {
                sample.push(point.clone());
            } else if self.rng.below(window) < size {
                let slot = usize::try_from(self.rng.below(size)).unwrap_or(0);
                if let Some(s) = sample.get_mut(slot) {
                    *s = point.clone();
                }
            }
        }
        if ready {
            total / self.trees.len().max(1) as f64
        } else {
            0.0
        }
    }
}

/// CoDisp of `point` in a random cut tree over `sample` and `point`.
fn codisp(sample: &[Vec<f64>], point: &[f64], rng: &mut SimRng) -> f64 {
    let mut set: Vec<&[f64]> = sample.iter().map(Vec::as_slice).collect();
    set.push(point);
    let dims = point.len();
    let mut best = 0.0f64;
    // Each cut separates some point with positive probability; the cap bounds work on degenerate input.
    for _ in 0..CUTS_MAX {
        // Points equal to the query cannot be separated from it.
        if set.iter().all(|p| *p == point) {
            return best;
        }
        let mut lo = point.to_vec();
        let mut hi = point.to_vec();
        for p in &set {
            for d in 0..dims {
                let v = p.get(d).copied().unwrap_or(0.0);
                lo[d] = lo[d].min(v);
                hi[d] = hi[d].max(v);
            }
        }
        let span: f64 = (0..dims).map(|d| hi[d] - lo[d]).sum();
        if !span.is_finite() || span <= 0.0 {
            return best;
        }
        let mut r = unit(rng) * span;
        let mut dim = 0;
        for d in 0..dims {
            let range = hi[d] - lo[d];
            if r < range || d + 1 == dims {
                dim = d;
                break;
            }
            r -= range;
        }
        let cut = lo[dim] + r.min(hi[dim] - lo[dim]);
        let left = point[dim] <= cut;
        let (with, without): (Vec<&[f64]>, Vec<&[f64]>) = set
            .into_iter()
            .partition(|p| (p.get(dim).copied().unwrap_or(0.0) <= cut) == left);
        if !without.is_empty() {
            best = best.max(without.len() as f64 / with.len() as f64);
        }
        set = with;
    }
    best
}

/// The most cuts one CoDisp descent draws.
const CUTS_MAX: u32 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_score_higher_and_runs_repeat() {
        let run = || {
            let mut f = Forest::new(30, 64, 1000, 1, 7);
            let mut normal = 0.0;
            for i in 0..300 {
                let x = f64::from(i % 10);
                let s = f.score_and_update(&[x, 10.0 - x]);
                if i >= 200 {
                    normal += s / 100.0;
                }
            }
            (normal, f.score_and_update(&[500.0, -300.0]))
        };
        let (normal, outlier) = run();
        assert!(
            outlier > 4.0 * normal,
            "outlier {outlier} vs normal {normal}"
        );
        assert_eq!(run(), (normal, outlier), "same seed, same scores");
    }
}
