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
