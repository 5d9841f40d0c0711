//! Resharding: SplitShard, MergeShards and UpdateShardCount (UNIFORM_SCALING).
//!
//! A reshard puts the stream in UPDATING for [`StreamsConfig::update_delay_ms`]; when it ends the parents close
//! (readable to their end, not writable, kept for the retention period) and the children open with later
//! sequence numbers. Open shards cover the hash space exactly before and after.

use super::{
    ACCOUNT_ID, ChildShard, DataStreams, ErrorType, HashKeyRange, KinesisError, SHARD_ORDINAL_MAX,
    STREAM_SHARDS_MAX, Shard, SimDuration, SimTime, Stream, StreamMode, StreamStatus, even_split,
    parse_shard_id, shard_id, stream_arn,
};
use serde::{Deserialize, Serialize};

/// Default simulated time a reshard keeps a stream UPDATING, in ms.
pub const UPDATE_DELAY_MS_DEFAULT: u64 = 30_000;
/// UpdateShardCount calls a stream accepts per rolling 24 hours (AWS today: 10; classic: 2).
pub const SHARD_COUNT_UPDATES_PER_DAY_MAX_DEFAULT: u32 = 10;
/// The rolling window of that limit, in ms.
const SHARD_COUNT_UPDATE_WINDOW_MS: u64 = 24 * 60 * 60 * 1_000;

/// A reshard waiting for its UPDATING period to end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reshard {
    /// Split `shard` at `new_starting_hash_key`.
    Split {
        /// The parent's ordinal.
        shard: u32,
        /// First hash key of the upper child.
        new_starting_hash_key: u128,
    },
    /// Merge `shard` (the lower range) with `adjacent` (the upper range).
    Merge {
        /// ShardToMerge.
        shard: u32,
        /// AdjacentShardToMerge.
        adjacent: u32,
    },
    /// Replace every open shard by `target` shards of equal ranges.
    Uniform {
        /// TargetShardCount.
        target: u32,
    },
    /// Switch the capacity mode (UpdateStreamMode).
    Mode(StreamMode),
}

/// What UpdateShardCount answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardCountUpdate {
    /// The stream.
    pub stream_name: String,
    /// Its ARN.
    pub stream_arn: String,
    /// Open shards before the update.
    pub current_shard_count: u32,
    /// Open shards after it.
    pub target_shard_count: u32,
}

fn could_not_find(shard: &str, stream: &str) -> KinesisError {
    KinesisError::new(
        ErrorType::ResourceNotFoundException,
        format!("Could not find shard {shard} in stream {stream} under account {ACCOUNT_ID}."),
    )
}

fn on_demand_refusal(operation: &str, stream: &str) -> KinesisError {
    KinesisError::new(
        ErrorType::ValidationException,
        format!(
            "{operation} is not supported for stream {stream} under account {ACCOUNT_ID} because it is in \
             ON_DEMAND capacity mode."
        ),
    )
}

fn already_resharded(shard: u32, stream: &str) -> KinesisError {
    KinesisError::new(
        ErrorType::InvalidArgumentException,
        format!(
            "Shard {} in stream {stream} under account {ACCOUNT_ID} has already been merged or split, and thus \
             is not eligible for merging or splitting.",
            shard_id(shard)
        ),
    )
}

impl Stream {
    /// Applies a reshard at `at` (the end of its UPDATING period).
    pub(super) fn apply_reshard(&mut self, at: SimTime, change: &Reshard) {
        let next = u32::try_from(self.shards.len()).unwrap_or(u32::MAX);
        let close = |shards: &mut Vec<Shard>, ordinal: u32| {
            if let Some(sh) = shards.get_mut(ordinal as usize) {
                sh.closed_at = Some(at);
            }
        };
        match *change {
            Reshard::Split {
                shard,
                new_starting_hash_key,
            } => {
                let Some(range) = self.shards.get(shard as usize).map(|s| s.range) else {
                    return;
                };
                close(&mut self.shards, shard);
                let lower = HashKeyRange {
                    starting: range.starting,
                    ending: new_starting_hash_key - 1,
                };
                let upper = HashKeyRange {
                    starting: new_starting_hash_key,
                    ending: range.ending,
                };
                for (i, r) in [lower, upper].into_iter().enumerate() {
                    let mut child = Shard::new(next + u32::try_from(i).unwrap_or(0), r, at);
                    child.parent = Some(shard);
                    self.shards.push(child);
                }
            }
            Reshard::Merge { shard, adjacent } => {
                let (Some(a), Some(b)) = (
                    self.shards.get(shard as usize).map(|s| s.range),
                    self.shards.get(adjacent as usize).map(|s| s.range),
                ) else {
                    return;
                };
                close(&mut self.shards, shard);
                close(&mut self.shards, adjacent);
                let range = HashKeyRange {
                    starting: a.starting.min(b.starting),
                    ending: a.ending.max(b.ending),
                };
                let mut child = Shard::new(next, range, at);
                child.parent = Some(shard);
                child.adjacent_parent = Some(adjacent);
                self.shards.push(child);
            }
            Reshard::Uniform { target } => {
                let parents: Vec<(u32, HashKeyRange)> = self
                    .shards
                    .iter()
                    .filter(|s| s.is_open())
                    .map(|s| (s.ordinal, s.range))
                    .collect();
                for &(ordinal, _) in &parents {
                    close(&mut self.shards, ordinal);
                }
                let holder = |key: u128| {
                    parents
                        .iter()
                        .find(|(_, r)| r.contains(key))
                        .map(|&(o, _)| o)
                };
                for (i, range) in even_split(target).into_iter().enumerate() {
                    let mut child = Shard::new(next + u32::try_from(i).unwrap_or(0), range, at);
                    child.parent = holder(range.starting);
                    let last = holder(range.ending);
                    if last != child.parent {
                        child.adjacent_parent = last;
                    }
                    self.shards.push(child);
                }
            }
            Reshard::Mode(mode) => {
                self.mode = mode;
                self.meter.mode_changed(at, mode);
            }
        }
        self.rebuild_routing();
    }

    /// The shards that continue `ordinal` (its children), for GetRecords' `ChildShards`: the shards opened when
    /// it closed whose hash keys overlap its own. Each lists every parent it took keys from (UpdateShardCount
    /// can give a child more than the two that `ParentShardId` and `AdjacentParentShardId` name).
    pub(super) fn children_of(&self, ordinal: u32) -> Vec<ChildShard> {
        let Some(parent) = self.shards.get(ordinal as usize) else {
            return Vec::new();
        };
        let Some(closed) = parent.closed_at else {
            return Vec::new();
        };
        let overlaps =
            |a: &HashKeyRange, b: &HashKeyRange| a.starting <= b.ending && b.starting <= a.ending;
        let born_then = |s: &&Shard| s.created_at == closed && s.ordinal > ordinal;
        self.shards
            .iter()
            .filter(born_then)
            .filter(|child| overlaps(&child.range, &parent.range))
            .map(|child| ChildShard {
                shard_id: shard_id(child.ordinal),
                parent_shards: self
                    .shards
                    .iter()
                    .filter(|p| p.closed_at == Some(closed) && overlaps(&p.range, &child.range))
                    .map(|p| shard_id(p.ordinal))
                    .collect(),
                hash_key_range: child.range,
            })
            .collect()
    }

    pub(super) fn start_update(&mut self, now: SimTime, delay_ms: u64, change: Reshard) {
        self.pending = Some((
            now.saturating_add(SimDuration::from_millis(delay_ms)),
            change,
        ));
    }

    /// The shard with this ordinal, open or closed.
    fn shard_at(&self, ordinal: u32) -> Option<&Shard> {
        self.shards.get(ordinal as usize)
    }
}

impl DataStreams {
    fn shard_ordinal(text: &str, stream: &str) -> Result<u32, KinesisError> {
        parse_shard_id(text).ok_or_else(|| could_not_find(text, stream))
    }

    /// SplitShard: `new_starting_hash_key` (decimal text, as sent) must be more than one above the parent's first
    /// hash key and below its last, as AWS requires.
    pub fn split_shard(
        &mut self,
        now: SimTime,
        name: &str,
        shard_to_split: &str,
        new_starting_hash_key: &str,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let ordinal = Self::shard_ordinal(shard_to_split, name)?;
        let delay = self.config.update_delay_ms;
        let s = self.stream(name)?;
        let shard = s
            .shard_at(ordinal)
            .filter(|sh| s.is_kept(sh, now))
            .ok_or_else(|| could_not_find(&shard_id(ordinal), name))?;
        if s.mode == StreamMode::OnDemand {
            return Err(on_demand_refusal("SplitShard", name));
        }
        self.check_shard_room(1)?;
        let range = shard.range;
        // A number above 2^128 - 1 is above every shard's EndingHashKey.
        let key = new_starting_hash_key.parse::<u128>().ok();
        let Some(key) = key.filter(|&k| k > range.starting.saturating_add(1) && k < range.ending)
        else {
            return Err(KinesisError::invalid_argument(format!(
                "NewStartingHashKey {new_starting_hash_key} used in SplitShard() on shard {} in stream {name} \
                 under account {ACCOUNT_ID} is not both greater than one plus the shard's StartingHashKey {} and \
                 less than the shard's EndingHashKey {}.",
                shard_id(ordinal),
                range.starting,
                range.ending
            )));
        };
        if !shard.is_open() {
            return Err(already_resharded(ordinal, name));
        }
        s.require_active(now)?;
        self.check_ordinals(name, 2)?;
        let s = self.stream_mut(name)?;
        s.start_update(
            now,
            delay,
            Reshard::Split {
                shard: ordinal,
                new_starting_hash_key: key,
            },
        );
        Ok(())
    }

    /// MergeShards: the two shards must be open and adjacent.
    pub fn merge_shards(
        &mut self,
        now: SimTime,
        name: &str,
        shard_to_merge: &str,
        adjacent_shard_to_merge: &str,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let first = Self::shard_ordinal(shard_to_merge, name)?;
        let second = Self::shard_ordinal(adjacent_shard_to_merge, name)?;
        let delay = self.config.update_delay_ms;
        let s = self.stream(name)?;
        let kept = |o: u32| {
            s.shard_at(o)
                .filter(|sh| s.is_kept(sh, now))
                .ok_or_else(|| could_not_find(&shard_id(o), name))
        };
        let (a, b) = (kept(first)?, kept(second)?);
        if s.mode == StreamMode::OnDemand {
            return Err(on_demand_refusal("MergeShards", name));
        }
        // Directional: ShardToMerge must end right before AdjacentShardToMerge starts.
        if !a.range.is_adjacent_to(&b.range) {
            return Err(KinesisError::invalid_argument(format!(
                "Shards {} and {} in stream {name} under account {ACCOUNT_ID} are not an adjacent pair of shards \
                 eligible for merging",
                shard_id(first),
                shard_id(second)
            )));
        }
        for sh in [a, b] {
            if !sh.is_open() {
                return Err(already_resharded(sh.ordinal, name));
            }
        }
        s.require_active(now)?;
        self.check_ordinals(name, 1)?;
        let s = self.stream_mut(name)?;
        s.start_update(
            now,
            delay,
            Reshard::Merge {
                shard: first,
                adjacent: second,
            },
        );
        Ok(())
    }

    /// UpdateShardCount with UNIFORM_SCALING: between half and double the open shards, a limited number of
    /// times per rolling 24 hours.
    pub fn update_shard_count(
        &mut self,
        now: SimTime,
        name: &str,
        target: u64,
    ) -> Result<ShardCountUpdate, KinesisError> {
        self.advance(now);
        let delay = self.config.update_delay_ms;
        let per_day = self.config.shard_count_updates_per_day_max;
        let limit = u64::from(self.config.account_shard_limit);
        let s = self.stream(name)?;
        if s.mode == StreamMode::OnDemand {
            return Err(on_demand_refusal("UpdateShardCount", name));
        }
        s.require_active(now)?;
        let open = s.open_shard_count();
        let open_u64 = u64::from(open);
        if target > limit.min(u64::from(STREAM_SHARDS_MAX)) {
            return Err(KinesisError::limit_exceeded(format!(
                "Target shard count or number of open shards cannot be greater than {limit}. Current open shard \
                 count: {open}, Target shard count: {target}"
            )));
        }
        if target > open_u64 * 2 {
            return Err(KinesisError::limit_exceeded(format!(
                "UpdateShardCount cannot scale up over double your current open shard count. Current open shard \
                 count: {open}, Target shard count: {target}"
            )));
        }
        if target * 2 < open_u64 {
            return Err(KinesisError::limit_exceeded(format!(
                "UpdateShardCount cannot scale down below half your current open shard count. Current open shard \
                 count: {open}, Target shard count: {target}"
            )));
        }
        let recent = s
            .shard_count_updates
            .iter()
            .filter(|&&t| {
                t.saturating_add(SimDuration::from_millis(SHARD_COUNT_UPDATE_WINDOW_MS)) > now
            })
            .count();
        if recent >= per_day as usize {
            return Err(KinesisError::limit_exceeded(format!(
                "Exceeded the limit of {per_day} UpdateShardCount calls per rolling 24 hours for stream {name} \
                 under account {ACCOUNT_ID}."
            )));
        }
        self.check_shard_room(target.saturating_sub(open_u64))?;
        // Bounded above by STREAM_SHARDS_MAX.
        let target = u32::try_from(target).unwrap_or(STREAM_SHARDS_MAX);
        self.check_ordinals(name, target)?;
        let s = self.stream_mut(name)?;
        s.shard_count_updates.retain(|&t| {
            t.saturating_add(SimDuration::from_millis(SHARD_COUNT_UPDATE_WINDOW_MS)) > now
        });
        s.shard_count_updates.push_back(now);
        s.start_update(now, delay, Reshard::Uniform { target });
        Ok(ShardCountUpdate {
            stream_name: name.to_string(),
            stream_arn: stream_arn(name),
            current_shard_count: open,
            target_shard_count: target,
        })
    }

    /// Refuses a reshard that would create more shards over the stream's life than sequence numbers can name.
    fn check_ordinals(&self, name: &str, new_shards: u32) -> Result<(), KinesisError> {
        let s = self.stream(name)?;
        let used = u64::try_from(s.shards.len()).unwrap_or(u64::MAX);
        if used + u64::from(new_shards) > u64::from(SHARD_ORDINAL_MAX) + 1 {
            return Err(KinesisError::limit_exceeded(format!(
                "Stream {name} has created {used} shards over its life; kinesim names at most {} per stream. \
                 Create a new stream.",
                u64::from(SHARD_ORDINAL_MAX) + 1
            )));
        }
        Ok(())
    }

    /// Whether a stream is in the middle of a reshard (for views).
    pub fn is_updating(&self, name: &str, now: SimTime) -> bool {
        self.streams
            .get(name)
            .is_some_and(|s| s.status(now) == StreamStatus::Updating)
    }
}
