//! The inputs of a run kept for sharing it ([`crate::scenarios::ShareFile`]): what a page, the HTTP endpoint
//! shell and the transform shell gave the world since the run started. They are kept with the session (in its
//! snapshot and journal), so a share after a reload reproduces the run exactly; when that can no longer be
//! promised (too many inputs, or a session saved before they were kept) the list says why instead.

use crate::scenarios::ScenarioInput;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most inputs a run keeps for sharing; past it the run cannot be shared exactly.
pub const SHARE_INPUTS_MAX: u32 = 100_000;
/// Most bytes (inputs as JSON) a run keeps for sharing; past it the run cannot be shared exactly. Keeps the
/// snapshot that carries them well under [`super::session::SNAPSHOT_BYTES_MAX`].
pub const SHARE_INPUTS_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Why a run's inputs are not all kept, so a share would not reproduce it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareGap {
    /// The session was saved before its share inputs were kept with it.
    SavedBeforeKept,
    /// More than [`SHARE_INPUTS_MAX`] inputs.
    TooManyInputs,
    /// More than [`SHARE_INPUTS_BYTES_MAX`] bytes of inputs.
    TooManyBytes,
    /// A page script (`kinesim.pageSession()`) made a Lambda event-source mapping: its invocations are run by the
    /// page's own code, which a share file cannot carry.
    PageScriptLambda,
    /// A page script replaced the run with a snapshot (`restoreInPlace`), whose earlier inputs are unknown.
    RestoredSnapshot,
}

impl fmt::Display for ShareGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareGap::SavedBeforeKept => write!(
                f,
                "this run was restored from a session saved before kinesim kept a run's inputs with it, so its \
                 earlier inputs are unknown; restart the scenario to share a run"
            ),
            ShareGap::TooManyInputs => write!(
                f,
                "this run took more than {SHARE_INPUTS_MAX} inputs, the most kept for sharing; restart the \
                 scenario to share a run"
            ),
            ShareGap::TooManyBytes => write!(
                f,
                "this run's inputs take more than {} MiB, the most kept for sharing; restart the scenario to \
                 share a run",
                SHARE_INPUTS_BYTES_MAX / (1024 * 1024)
            ),
            ShareGap::PageScriptLambda => write!(
                f,
                "a page script made a Lambda event-source mapping through kinesim.pageSession(), and a share \
                 file cannot carry the code that answered its invocations; restart the scenario to share a run"
            ),
            ShareGap::RestoredSnapshot => write!(
                f,
                "a page script replaced this run with a snapshot (restoreInPlace), and the inputs that led to \
                 it are unknown; restart the scenario to share a run"
            ),
        }
    }
}

/// The inputs kept for sharing, or why they are incomplete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareInputs {
    inputs: Vec<ScenarioInput>,
    gap: Option<ShareGap>,
    /// Bytes of `inputs` as JSON (counted again on load).
    #[serde(skip)]
    size_bytes: u64,
}

/// Bytes of one input as JSON.
fn input_bytes(input: &ScenarioInput) -> u64 {
    // A scenario input is plain data: serializing it cannot fail.
    serde_json::to_vec(input).map_or(0, |v| v.len() as u64)
}

impl ShareInputs {
    /// No inputs yet: a share is exact.
    pub fn new() -> Self {
        ShareInputs::default()
    }

    /// A run that cannot be shared exactly, because of `gap`.
    pub fn unavailable(gap: ShareGap) -> Self {
        ShareInputs {
            inputs: Vec::new(),
            gap: Some(gap),
            size_bytes: 0,
        }
    }

    /// A run that starts with `inputs` (a loaded share file); past the bounds it cannot be shared again.
    pub fn from_inputs(inputs: Vec<ScenarioInput>) -> Self {
        let mut share = ShareInputs::new();
        for input in inputs {
            if share.push(input).is_err() {
                break;
            }
        }
        share
    }

    /// Keeps one more `input` if it fits; if not, the list is marked incomplete (and emptied) and the gap returned.
    pub fn push(&mut self, input: ScenarioInput) -> Result<(), ShareGap> {
        if let Some(gap) = self.gap {
            return Err(gap);
        }
        let bytes = input_bytes(&input);
        let gap = if self.inputs.len() as u64 >= u64::from(SHARE_INPUTS_MAX) {
            Some(ShareGap::TooManyInputs)
        } else if self.size_bytes.saturating_add(bytes) > SHARE_INPUTS_BYTES_MAX {
            Some(ShareGap::TooManyBytes)
        } else {
            None
        };
        if let Some(gap) = gap {
            self.stop(gap);
            return Err(gap);
        }
        self.size_bytes += bytes;
        self.inputs.push(input);
        Ok(())
    }

    /// Marks the list incomplete; what it held is dropped (a share could not use it).
    pub fn stop(&mut self, gap: ShareGap) {
        self.gap = Some(gap);
        self.inputs = Vec::new();
        self.size_bytes = 0;
    }

    /// The inputs since the run started, or why they are not all known.
    pub fn inputs(&self) -> Result<&[ScenarioInput], ShareGap> {
        match self.gap {
            Some(gap) => Err(gap),
            None => Ok(&self.inputs),
        }
    }

    /// Inputs kept.
    pub fn len(&self) -> u32 {
        u32::try_from(self.inputs.len()).unwrap_or(u32::MAX)
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The stored form (JSON: inputs hold internally tagged enums), or why it cannot be written.
    pub(crate) fn to_json(&self) -> Result<Vec<u8>, String> {
        serde_json::to_vec(self).map_err(|e| format!("cannot serialize the share inputs: {e}"))
    }

    /// Reads the stored form back, counting its bytes again.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<ShareInputs, String> {
        let mut share: ShareInputs =
            serde_json::from_slice(bytes).map_err(|e| format!("unreadable share inputs: {e}"))?;
        share.size_bytes = share.inputs.iter().map(input_bytes).sum();
        Ok(share)
    }
}
