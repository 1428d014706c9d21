//! Batches (PROTOCOL.md section 4): runs of consecutive blocks, cut by rules fixed in
//! genesis so that every operator node cuts the same batches.

use serde::{Deserialize, Serialize};

/// The batch cutting rules (genesis parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRules {
    /// Most blocks in a batch.
    pub max_blocks: u32,
    /// Most bytes of encoded blocks in a batch (the blob before compression).
    pub max_blob_bytes: u32,
    /// A batch closes with the first block at least this many milliseconds younger
    /// than its first block (by header timestamps).
    pub max_age_ms: u64,
}

impl Default for BatchRules {
    /// 16 blocks, 390,000 bytes (one DA chunk), 10 minutes.
    fn default() -> Self {
        Self { max_blocks: 16, max_blob_bytes: 390_000, max_age_ms: 600_000 }
    }
}

impl BatchRules {
    /// Every broken rule, in words.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_blocks == 0 || self.max_blocks > 4096 {
            problems.push(format!("batch.max_blocks is {}, it must be in 1..=4096", self.max_blocks));
        }
        if self.max_blob_bytes < 1024 {
            problems
                .push(format!("batch.max_blob_bytes is {}, it must be at least 1024", self.max_blob_bytes));
        }
        if self.max_age_ms == 0 {
            problems.push("batch.max_age_ms must be at least 1".to_owned());
        }
        problems
    }
}
