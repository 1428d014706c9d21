//! The genesis file: chain id, fee account and initial accounts, validated whole and
//! hashed, so that nodes can refuse peers (and databases) of another chain.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::batch::BatchRules;
use crate::code_control::CodeControlGroup;
use crate::hash::{hash, Digest, Domain, F};
use crate::stf::{AccountStore, State, StfParams};
use crate::tree::TreeStore;
use crate::types::{Account, AccountIndex, PubKey, MAX_AMOUNT};
use plonky2::field::types::{Field, Field64};

/// Genesis as written in the JSON file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The chain id users sign over.
    pub chain_id: u64,
    /// The account that receives fees; must be one of `accounts`.
    pub fee_account: AccountIndex,
    /// Initial accounts (nonce 0).
    pub accounts: Vec<GenesisAccount>,
    /// The transaction capacities of the block circuits, increasing (defaults to
    /// 8, 32 and 128): a block is proven by the smallest that holds it, and each is
    /// one class of the CodeControlGroup, in this order.
    #[serde(default = "default_capacities")]
    pub block_capacities: Vec<u32>,
    /// How batches are cut (defaults when absent).
    #[serde(default)]
    pub batch: BatchRules,
    /// The CodeControlGroup: the block circuits allowed per block range. Absent on a
    /// development chain: the prover then registers the circuits of the running
    /// binary for every block and logs the registry's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_control: Option<CodeControlGroup>,
    /// The Bitcoin side: the bridge, where scanning starts, finality and the forced
    /// inclusion window (defaults to [`L1Rules::devnet`] when absent).
    #[serde(default = "L1Rules::devnet")]
    pub l1: L1Rules,
}

/// The consensus rules of the L1 messages (`docs/protocol.md` section 3): which Bitcoin
/// blocks are scanned, when a block is final, what a deposit must pay, and how far an
/// L2 block's anchor may lag the final Bitcoin tip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1Rules {
    /// The bridge's output script (hex in JSON): a deposit counts only if the
    /// transaction carrying it pays at least its amount to exactly this script.
    #[serde(with = "crate::hex::serde_bytes")]
    pub bridge_script: Vec<u8>,
    /// The first Bitcoin height scanned for L1 messages; earlier blocks are ignored.
    pub start_height: u32,
    /// A Bitcoin block is final once it has this many confirmations, counting
    /// itself: with tip height `t`, block `h` is final when `t - h + 1 >= finality_depth`.
    pub finality_depth: u32,
    /// An L2 block's `l1_anchor` is at most this many Bitcoin blocks below the final
    /// Bitcoin tip.
    pub forced_inclusion_window: u32,
}

/// The development bridge script: a P2TR output whose output key is BIP-341's
/// provably unspendable point `H` (untweaked), so nobody can spend it. Deposits on a
/// development chain are burned on Bitcoin until the bridge contract exists.
pub const DEVNET_BRIDGE_SCRIPT: [u8; 34] = [
    0x51, 0x20, 0x50, 0x92, 0x9b, 0x74, 0xc1, 0xa0, 0x49, 0x54, 0xb7, 0x8b, 0x4b, 0x60, 0x35, 0xe9, 0x7a,
    0x5e, 0x07, 0x8a, 0x5a, 0x0f, 0x28, 0xec, 0x96, 0xd5, 0x47, 0xbf, 0xee, 0x9a, 0xce, 0x80, 0x3a, 0xc0,
];

/// The longest bridge script: a witness program of 40 bytes with its version and push.
pub const MAX_BRIDGE_SCRIPT_LEN: usize = 42;
/// The deepest finality a genesis may ask for (about a week of Bitcoin blocks).
pub const MAX_FINALITY_DEPTH: u32 = 1008;
/// The widest forced inclusion window (about a week of Bitcoin blocks).
pub const MAX_FORCED_INCLUSION_WINDOW: u32 = 1008;

impl L1Rules {
    /// The development rules: the unspendable [`DEVNET_BRIDGE_SCRIPT`], scanning from
    /// height 0, final at 2 confirmations, anchors at most 6 blocks behind.
    pub fn devnet() -> Self {
        Self {
            bridge_script: DEVNET_BRIDGE_SCRIPT.to_vec(),
            start_height: 0,
            finality_depth: 2,
            forced_inclusion_window: 6,
        }
    }

    /// Every broken rule, in words.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.bridge_script.is_empty() || self.bridge_script.len() > MAX_BRIDGE_SCRIPT_LEN {
            problems.push(format!(
                "l1.bridge_script is {} bytes, it must be 1 to {MAX_BRIDGE_SCRIPT_LEN} bytes",
                self.bridge_script.len()
            ));
        }
        if self.finality_depth == 0 || self.finality_depth > MAX_FINALITY_DEPTH {
            problems.push(format!(
                "l1.finality_depth is {}, it must be in 1..={MAX_FINALITY_DEPTH}",
                self.finality_depth
            ));
        }
        if self.forced_inclusion_window == 0 || self.forced_inclusion_window > MAX_FORCED_INCLUSION_WINDOW {
            problems.push(format!(
                "l1.forced_inclusion_window is {}, it must be in 1..={MAX_FORCED_INCLUSION_WINDOW}",
                self.forced_inclusion_window
            ));
        }
        problems
    }

    /// The height of the final Bitcoin tip when the best tip is at `tip`, `None` while
    /// no block is final yet.
    pub fn final_height(&self, tip: u32) -> Option<u32> {
        tip.checked_sub(self.finality_depth.saturating_sub(1))
    }
}

impl Default for L1Rules {
    fn default() -> Self {
        Self::devnet()
    }
}

/// The default block circuit capacities.
pub const DEFAULT_BLOCK_CAPACITIES: [u32; 3] = [8, 32, 128];

/// The most block circuit classes a chain may have.
pub const MAX_BLOCK_CLASSES: usize = 3;

/// The largest block capacity.
pub const MAX_BLOCK_CAPACITY: u32 = 1024;

fn default_capacities() -> Vec<u32> {
    DEFAULT_BLOCK_CAPACITIES.to_vec()
}

/// An initial account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Its index (not 0).
    pub index: AccountIndex,
    /// Its key: the five canonical elements of the EcGFp5 encoding.
    pub pubkey: PubKey,
    /// Its balance.
    pub balance: u64,
}

/// Why a genesis file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file is not valid JSON of the genesis shape.
    #[error("genesis is not valid: {0}")]
    Parse(String),
    /// The content breaks rules; every problem is listed.
    #[error("invalid genesis: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Seed of the development genesis' fee account key.
pub const DEVNET_FEE_SEED: &[u8] = b"rollup/devnet/fee";
/// Seed of the development genesis' funded user key (account 2).
pub const DEVNET_USER_SEED: &[u8] = b"rollup/devnet/user";
/// Balance of the development user account: 1,000,000 BTC in satoshis.
pub const DEVNET_USER_BALANCE: u64 = 100_000_000_000_000;

impl Genesis {
    /// The built-in development genesis for `chain_id`: fee account 1 and a funded user
    /// account 2, both with publicly known keys (seeds [`DEVNET_FEE_SEED`] and
    /// [`DEVNET_USER_SEED`]). For development networks only.
    pub fn devnet(chain_id: u64) -> Self {
        let key = |seed: &[u8]| crate::sig::pubkey_of(&crate::ecgfp5::SecretKey::from_seed(seed));
        Genesis {
            chain_id,
            fee_account: 1,
            accounts: vec![
                GenesisAccount { index: 1, pubkey: key(DEVNET_FEE_SEED), balance: 0 },
                GenesisAccount { index: 2, pubkey: key(DEVNET_USER_SEED), balance: DEVNET_USER_BALANCE },
            ],
            block_capacities: default_capacities(),
            batch: BatchRules::default(),
            code_control: None,
            l1: L1Rules::devnet(),
        }
    }

    /// Reads, parses and validates a genesis JSON file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, GenesisError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| GenesisError::Parse(format!("cannot read {}: {error}", path.display())))?;
        Self::from_json(&text)
    }

    /// Parses and validates a genesis JSON document.
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis =
            serde_json::from_str(text).map_err(|error| GenesisError::Parse(error.to_string()))?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Checks every rule, reporting all problems at once.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for account in &self.accounts {
            if account.index == 0 {
                problems.push("account index 0 is reserved".to_owned());
            }
            if !seen.insert(account.index) {
                problems.push(format!("account {} is listed twice", account.index));
            }
            if account.balance > MAX_AMOUNT {
                problems.push(format!(
                    "account {} balance {} exceeds {MAX_AMOUNT}",
                    account.index, account.balance
                ));
            }
            if account.pubkey.0.iter().any(|element| *element >= F::ORDER) {
                problems.push(format!("account {} public key is not canonical", account.index));
            }
        }
        problems.extend(self.batch.problems());
        problems.extend(self.l1.problems());
        let capacities = &self.block_capacities;
        if capacities.is_empty()
            || capacities.len() > MAX_BLOCK_CLASSES
            || capacities.windows(2).any(|pair| pair[0] >= pair[1])
            || capacities.iter().any(|capacity| *capacity == 0 || *capacity > MAX_BLOCK_CAPACITY)
        {
            problems.push(format!(
                "block_capacities {capacities:?} must be 1 to {MAX_BLOCK_CLASSES} increasing capacities in 1..={MAX_BLOCK_CAPACITY}"
            ));
        }
        if let Some(Err(error)) = self.code_control.as_ref().map(CodeControlGroup::check) {
            problems.push(error.to_string());
        }
        if !seen.contains(&self.fee_account) {
            problems.push(format!("fee account {} is not among the accounts", self.fee_account));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(GenesisError::Invalid(problems))
        }
    }

    /// The smallest block capacity that holds `transactions`, if any does.
    pub fn capacity_for(&self, transactions: usize) -> Option<usize> {
        self.block_capacities
            .iter()
            .map(|capacity| *capacity as usize)
            .find(|capacity| *capacity >= transactions)
    }

    /// The STF parameters.
    pub fn params(&self) -> StfParams {
        StfParams { chain_id: self.chain_id, fee_account: self.fee_account }
    }

    /// The genesis hash: Poseidon over every field, accounts in index order.
    pub fn hash(&self) -> Digest {
        let mut accounts: Vec<&GenesisAccount> = self.accounts.iter().collect();
        accounts.sort_by_key(|account| account.index);
        let mut input = vec![
            F::from_noncanonical_u64(self.chain_id),
            F::from_canonical_u32(self.fee_account),
            F::from_canonical_u64(accounts.len() as u64),
        ];
        for account in accounts {
            input.push(F::from_canonical_u32(account.index));
            input.extend(account.pubkey.elements());
            input.push(F::from_noncanonical_u64(account.balance));
        }
        input.push(F::from_canonical_usize(self.block_capacities.len()));
        input.extend(self.block_capacities.iter().map(|capacity| F::from_canonical_u32(*capacity)));
        input.push(F::from_canonical_u32(self.batch.max_blocks));
        input.push(F::from_canonical_u32(self.batch.max_blob_bytes));
        input.push(F::from_noncanonical_u64(self.batch.max_age_ms));
        match &self.code_control {
            Some(group) => {
                input.push(F::ONE);
                input.extend(group.root().elements());
            }
            None => input.push(F::ZERO),
        }
        input.push(F::from_canonical_usize(self.l1.bridge_script.len()));
        input.extend(crate::types::pack_bytes(&self.l1.bridge_script));
        input.push(F::from_canonical_u32(self.l1.start_height));
        input.push(F::from_canonical_u32(self.l1.finality_depth));
        input.push(F::from_canonical_u32(self.l1.forced_inclusion_window));
        hash(Domain::Genesis, &input)
    }

    /// Writes the initial accounts into `state`.
    pub fn initialize<A: AccountStore, T: TreeStore>(&self, state: &mut State<A, T>) {
        for account in &self.accounts {
            state.put_account(
                account.index,
                Account { pubkey: account.pubkey, balance: account.balance, nonce: 0 },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn l1_rules_default_to_the_devnet_and_are_read_from_json() {
        let genesis = Genesis::devnet(3);
        let json = serde_json::to_value(&genesis).unwrap();
        assert_eq!(
            json["l1"],
            serde_json::json!({
                "bridge_script": "512050929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0",
                "start_height": 0,
                "finality_depth": 2,
                "forced_inclusion_window": 6,
            })
        );
        // A file without `l1` gets the development rules.
        let mut without = json.clone();
        without.as_object_mut().unwrap().remove("l1");
        assert_eq!(Genesis::from_json(&without.to_string()).unwrap(), genesis);

        let mut custom = json.clone();
        custom["l1"] = serde_json::json!({
            "bridge_script": "0014aabbccddeeff00112233445566778899aabbccdd",
            "start_height": 800_000,
            "finality_depth": 6,
            "forced_inclusion_window": 144,
        });
        let read = Genesis::from_json(&custom.to_string()).unwrap();
        assert_eq!(
            read.l1,
            L1Rules {
                bridge_script: crate::hex::decode("0014aabbccddeeff00112233445566778899aabbccdd").unwrap(),
                start_height: 800_000,
                finality_depth: 6,
                forced_inclusion_window: 144,
            }
        );

        let mut unknown = json.clone();
        unknown["l1"]["confirmations"] = serde_json::json!(3);
        assert!(Genesis::from_json(&unknown.to_string())
            .unwrap_err()
            .to_string()
            .starts_with("genesis is not valid: unknown field `confirmations`"));
        let mut not_hex = json;
        not_hex["l1"]["bridge_script"] = serde_json::json!("51z0");
        assert!(Genesis::from_json(&not_hex.to_string())
            .unwrap_err()
            .to_string()
            .starts_with("genesis is not valid: not a hex string of whole bytes"));
    }

    #[test]
    fn l1_rules_are_validated_in_words() {
        let genesis = Genesis {
            l1: L1Rules {
                bridge_script: Vec::new(),
                start_height: 5,
                finality_depth: 0,
                forced_inclusion_window: MAX_FORCED_INCLUSION_WINDOW + 1,
            },
            ..Genesis::devnet(3)
        };
        assert_eq!(
            genesis.validate().unwrap_err().to_string(),
            "invalid genesis: l1.bridge_script is 0 bytes, it must be 1 to 42 bytes; \
             l1.finality_depth is 0, it must be in 1..=1008; \
             l1.forced_inclusion_window is 1009, it must be in 1..=1008"
        );
        let long = Genesis {
            l1: L1Rules { bridge_script: vec![0x51; 43], finality_depth: 1009, ..L1Rules::devnet() },
            ..Genesis::devnet(3)
        };
        assert_eq!(
            long.validate().unwrap_err().to_string(),
            "invalid genesis: l1.bridge_script is 43 bytes, it must be 1 to 42 bytes; \
             l1.finality_depth is 1009, it must be in 1..=1008"
        );
        assert!(Genesis::devnet(3).validate().is_ok());
    }

    #[test]
    fn the_hash_covers_every_l1_rule() {
        let base = Genesis::devnet(3);
        let changed = [
            L1Rules { bridge_script: vec![0x51], ..L1Rules::devnet() },
            L1Rules { start_height: 1, ..L1Rules::devnet() },
            L1Rules { finality_depth: 3, ..L1Rules::devnet() },
            L1Rules { forced_inclusion_window: 7, ..L1Rules::devnet() },
        ];
        for l1 in changed {
            let other = Genesis { l1: l1.clone(), ..base.clone() };
            assert_ne!(other.hash(), base.hash(), "{l1:?}");
        }
    }

    #[test]
    fn final_height_counts_the_block_itself() {
        let rules = L1Rules { finality_depth: 2, ..L1Rules::devnet() };
        assert_eq!(rules.final_height(0), None);
        assert_eq!(rules.final_height(1), Some(0));
        assert_eq!(rules.final_height(10), Some(9));
        let one = L1Rules { finality_depth: 1, ..L1Rules::devnet() };
        assert_eq!(one.final_height(10), Some(10));
        assert_eq!(one.final_height(u32::MAX), Some(u32::MAX));
    }
}
