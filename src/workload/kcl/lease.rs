//! The lease table of one KCL application: one lease per shard, updated only by conditional writes.
//!
//! The KCL keeps this table in DynamoDB and guards every write with a condition on the lease counter (and owner)
//! the writer last saw; a worker whose view is stale gets a conditional-check failure and must re-read. Here the
//! table is core state with the same semantics: every update names the counter it expects and fails with
//! [`LeaseError::ConditionFailed`] when the table has moved on.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where a lease's shard has been processed to (the `checkpoint` attribute).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checkpoint {
    /// Not started: read from the oldest record kept (`TRIM_HORIZON`).
    TrimHorizon,
    /// Not started: read only records written after the first read (`LATEST`).
    Latest,
    /// Not started: read from the first record that arrived at or after this Unix time, in ms (`AT_TIMESTAMP`).
    AtTimestamp(u64),
    /// Every record up to and including this sequence number is processed.
    SequenceNumber(String),
    /// The shard is closed and was processed to its end (`SHARD_END`).
    ShardEnd,
}

impl Checkpoint {
    /// The text the KCL stores: the sequence number or the sentinel's name.
    pub fn as_text(&self) -> &str {
        match self {
            Checkpoint::TrimHorizon => "TRIM_HORIZON",
            Checkpoint::Latest => "LATEST",
            Checkpoint::AtTimestamp(_) => "AT_TIMESTAMP",
            Checkpoint::SequenceNumber(s) => s,
            Checkpoint::ShardEnd => "SHARD_END",
        }
    }

    /// Whether processing has begun (a sequence number or SHARD_END), as the lease cleanup checks of a child
    /// before it deletes the parent's lease.
    pub fn has_started(&self) -> bool {
        matches!(self, Checkpoint::SequenceNumber(_) | Checkpoint::ShardEnd)
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checkpoint::AtTimestamp(t) => write!(f, "AT_TIMESTAMP({t})"),
            other => f.write_str(other.as_text()),
        }
    }
}

/// One row of the lease table (the KCL's `Lease`, with the attribute names it stores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// `leaseKey`: the shard id.
    pub lease_key: String,
    /// `checkpoint`.
    pub checkpoint: Checkpoint,
    /// `leaseCounter`: incremented by every take, renewal, checkpoint and release.
    pub lease_counter: u64,
    /// `leaseOwner`: the worker id, or none for a new or released lease.
    pub lease_owner: Option<String>,
    /// `parentShardIds`.
    pub parent_shard_ids: Vec<String>,
    /// `childShardIds`: set when the shard is checkpointed at SHARD_END.
    pub child_shard_ids: Vec<String>,
    /// `ownerSwitchesSinceCheckpoint`.
    pub owner_switches_since_checkpoint: u64,
}

/// Why a lease-table write did not happen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaseError {
    /// No lease has this key.
    NotFound,
    /// The lease's counter or owner is not what the writer expected (DynamoDB's ConditionalCheckFailedException).
    ConditionFailed,
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaseError::NotFound => f.write_str("no such lease"),
            LeaseError::ConditionFailed => f.write_str("The conditional request failed"),
        }
    }
}

/// The lease table: leases by key, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseTable {
    leases: BTreeMap<String, Lease>,
}

impl LeaseTable {
    /// An empty table.
    pub fn new() -> Self {
        LeaseTable::default()
    }

    /// All leases in key order (a consistent scan).
    pub fn iter(&self) -> impl Iterator<Item = &Lease> {
        self.leases.values()
    }

    /// The lease of a shard.
    pub fn get(&self, key: &str) -> Option<&Lease> {
        self.leases.get(key)
    }

    /// How many leases the table holds.
    pub fn len(&self) -> u32 {
        u32::try_from(self.leases.len()).unwrap_or(u32::MAX)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    /// `createLeaseIfNotExists`: adds an unowned lease unless one with its key exists. Returns whether it was
    /// created.
    pub fn create_if_absent(
        &mut self,
        key: &str,
        checkpoint: Checkpoint,
        parents: Vec<String>,
    ) -> bool {
        if self.leases.contains_key(key) {
            return false;
        }
        self.leases.insert(
            key.to_string(),
            Lease {
                lease_key: key.to_string(),
                checkpoint,
                lease_counter: 0,
                lease_owner: None,
                parent_shard_ids: parents,
                child_shard_ids: Vec::new(),
                owner_switches_since_checkpoint: 0,
            },
        );
        true
    }

    fn expect(&mut self, key: &str, counter: u64) -> Result<&mut Lease, LeaseError> {
        let lease = self.leases.get_mut(key).ok_or(LeaseError::NotFound)?;
        if lease.lease_counter != counter {
            return Err(LeaseError::ConditionFailed);
        }
        Ok(lease)
    }

    fn expect_owned(
        &mut self,
        key: &str,
        counter: u64,
        owner: &str,
    ) -> Result<&mut Lease, LeaseError> {
        let lease = self.expect(key, counter)?;
        if lease.lease_owner.as_deref() != Some(owner) {
            return Err(LeaseError::ConditionFailed);
        }
        Ok(lease)
    }

    /// `takeLease`: owner becomes `owner`, counter + 1, if the counter is still `expected_counter`. Returns the
    /// new counter.
    pub fn take(
        &mut self,
        key: &str,
        expected_counter: u64,
        owner: &str,
    ) -> Result<u64, LeaseError> {
        let lease = self.expect(key, expected_counter)?;
        if lease.lease_owner.as_deref() != Some(owner) {
            lease.owner_switches_since_checkpoint += 1;
        }
        lease.lease_owner = Some(owner.to_string());
        lease.lease_counter += 1;
        Ok(lease.lease_counter)
    }

    /// `renewLease`: counter + 1 if the lease is still `owner`'s at `expected_counter`. Returns the new counter.
    pub fn renew(
        &mut self,
        key: &str,
        expected_counter: u64,
        owner: &str,
    ) -> Result<u64, LeaseError> {
        let lease = self.expect_owned(key, expected_counter, owner)?;
        lease.lease_counter += 1;
        Ok(lease.lease_counter)
    }

    /// `updateLease` with a new checkpoint (and, at SHARD_END, the child shard ids): counter + 1 if the lease is
    /// still `owner`'s at `expected_counter`. Returns the new counter.
    pub fn checkpoint(
        &mut self,
        key: &str,
        expected_counter: u64,
        owner: &str,
        checkpoint: Checkpoint,
        children: Option<Vec<String>>,
    ) -> Result<u64, LeaseError> {
        let lease = self.expect_owned(key, expected_counter, owner)?;
        lease.checkpoint = checkpoint;
        lease.owner_switches_since_checkpoint = 0;
        if let Some(children) = children {
            lease.child_shard_ids = children;
        }
        lease.lease_counter += 1;
        Ok(lease.lease_counter)
    }

    /// `evictLease` (graceful release): owner cleared, counter + 1, if still `owner`'s at `expected_counter`.
    pub fn release(
        &mut self,
        key: &str,
        expected_counter: u64,
        owner: &str,
    ) -> Result<(), LeaseError> {
        let lease = self.expect_owned(key, expected_counter, owner)?;
        lease.lease_owner = None;
        lease.lease_counter += 1;
        Ok(())
    }

    /// `deleteLease` of a finished shard, if still `owner`'s at `expected_counter`.
    pub fn delete(
        &mut self,
        key: &str,
        expected_counter: u64,
        owner: &str,
    ) -> Result<(), LeaseError> {
        self.expect_owned(key, expected_counter, owner)?;
        self.leases.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_conditional_on_the_counter_and_owner() {
        let mut t = LeaseTable::new();
        assert!(t.create_if_absent("s0", Checkpoint::TrimHorizon, Vec::new()));
        assert!(!t.create_if_absent("s0", Checkpoint::Latest, Vec::new()));
        assert_eq!(t.take("s0", 0, "a"), Ok(1));
        // b saw counter 0: stale.
        assert_eq!(t.take("s0", 0, "b"), Err(LeaseError::ConditionFailed));
        assert_eq!(t.renew("s0", 1, "a"), Ok(2));
        assert_eq!(t.take("s0", 2, "b"), Ok(3));
        assert_eq!(
            t.get("s0").map(|l| l.owner_switches_since_checkpoint),
            Some(2)
        );
        // a's renewal and checkpoint now fail.
        assert_eq!(t.renew("s0", 2, "a"), Err(LeaseError::ConditionFailed));
        let cp = Checkpoint::SequenceNumber("1".into());
        assert_eq!(
            t.checkpoint("s0", 2, "a", cp.clone(), None),
            Err(LeaseError::ConditionFailed)
        );
        assert_eq!(t.checkpoint("s0", 3, "b", cp.clone(), None), Ok(4));
        let lease = t.get("s0").cloned();
        assert_eq!(lease.as_ref().map(|l| l.checkpoint.clone()), Some(cp));
        assert_eq!(lease.map(|l| l.owner_switches_since_checkpoint), Some(0));
        assert_eq!(t.delete("s0", 4, "a"), Err(LeaseError::ConditionFailed));
        assert_eq!(t.delete("s0", 4, "b"), Ok(()));
        assert_eq!(t.renew("s0", 4, "b"), Err(LeaseError::NotFound));
    }
}
