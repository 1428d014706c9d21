//! Stage 1: the block circuit (docs/protocol.md sections 2 and 6).
//!
//! A [`BlockCircuit`] has a fixed number of transaction slots (one of
//! [`CAPACITIES`]); unused slots are provable no-ops. Each slot re-executes one
//! block transaction exactly as `rollup_l2::State::apply_tx` does: the sender's
//! EcGFp5 Schnorr signature over the Poseidon signing message, strict nonces, range-
//! checked balances, amounts and fees, the receiver's creation or key match, the fee
//! credit, and a withdrawal appended to the withdrawal chain. Deposits and forced
//! transactions (intrinsic, from L1 messages) come first, in cursor order, and are
//! recorded no-ops when invalid: the circuit computes each transaction's validity
//! rather than asserting it, and asserts it only for user transactions.
//!
//! Account updates are three sequential read-modify-writes of the depth-32 tree per
//! slot (sender, receiver, fee account), each proven with one Merkle path: a write
//! happens only when the whole transaction is valid, and every check reads the
//! account as the native STF's view would see it at that point.
//!
//! [`execute_block`] turns a sealed block and the pre-state into a [`BlockWitness`]
//! (the accounts each step reads and their Merkle proofs), advancing the state; the
//! validity of each transaction comes from the native STF, and the resulting root is
//! checked against the block header.

mod circuit;
mod witness;

pub use circuit::block_circuit_config;

pub use circuit::{BlockCircuit, BlockParameters, BlockProof, CircuitStats};
pub use witness::{execute_block, BlockWitness, Chains, SlotWitness, StepRead, WitnessError};

use rollup_l2::Digest;
use serde::{Deserialize, Serialize};

/// The transaction capacities block circuits are built for.
pub const CAPACITIES: [usize; 3] = [8, 32, 128];

/// The smallest capacity that holds `transactions`, if any does.
pub fn capacity_for(transactions: usize) -> Option<usize> {
    CAPACITIES.into_iter().find(|capacity| *capacity >= transactions)
}

/// What a block proof establishes (its public inputs, in this order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStatement {
    /// The block number.
    pub number: u64,
    /// The state root before the block.
    pub prev_state_root: Digest,
    /// The state root after the block.
    pub state_root: Digest,
    /// The block's transaction commitment (`rollup_l2::chain_tx` from zero).
    pub tx_commitment: Digest,
    /// The L1 message cursor before the block.
    pub l1_cursor_before: u64,
    /// The L1 message cursor after the block.
    pub l1_cursor_after: u64,
    /// The L1 message chain (`rollup_l2::chain_l1_message`) before the block.
    pub l1_chain_before: Digest,
    /// The L1 message chain after the block's intrinsic transactions.
    pub l1_chain_after: Digest,
    /// The withdrawal chain (`rollup_l2::chain_withdrawal`) before the block.
    pub withdrawal_chain_before: Digest,
    /// The withdrawal chain after the block's withdrawals.
    pub withdrawal_chain_after: Digest,
}

/// Number of public inputs of a block proof.
pub const STATEMENT_LEN: usize = 31;

impl BlockStatement {
    /// The public inputs, in circuit order.
    pub fn to_fields(&self) -> Vec<rollup_l2::F> {
        use plonky2::field::types::Field;
        let mut out = vec![rollup_l2::F::from_noncanonical_u64(self.number)];
        out.extend(self.prev_state_root.elements());
        out.extend(self.state_root.elements());
        out.extend(self.tx_commitment.elements());
        out.push(rollup_l2::F::from_noncanonical_u64(self.l1_cursor_before));
        out.push(rollup_l2::F::from_noncanonical_u64(self.l1_cursor_after));
        out.extend(self.l1_chain_before.elements());
        out.extend(self.l1_chain_after.elements());
        out.extend(self.withdrawal_chain_before.elements());
        out.extend(self.withdrawal_chain_after.elements());
        out
    }

    /// Reads public inputs; `None` unless there are exactly [`STATEMENT_LEN`].
    pub fn from_fields(fields: &[rollup_l2::F]) -> Option<Self> {
        use plonky2::field::types::PrimeField64;
        if fields.len() != STATEMENT_LEN {
            return None;
        }
        let digest =
            |at: usize| Digest::from_elements([fields[at], fields[at + 1], fields[at + 2], fields[at + 3]]);
        Some(Self {
            number: fields[0].to_canonical_u64(),
            prev_state_root: digest(1),
            state_root: digest(5),
            tx_commitment: digest(9),
            l1_cursor_before: fields[13].to_canonical_u64(),
            l1_cursor_after: fields[14].to_canonical_u64(),
            l1_chain_before: digest(15),
            l1_chain_after: digest(19),
            withdrawal_chain_before: digest(23),
            withdrawal_chain_after: digest(27),
        })
    }

    /// The first field that differs from `other`, with both values.
    pub fn first_difference(&self, other: &Self) -> Option<(&'static str, String, String)> {
        let fields: [(&'static str, String, String); 10] = [
            ("number", self.number.to_string(), other.number.to_string()),
            ("prev_state_root", self.prev_state_root.to_string(), other.prev_state_root.to_string()),
            ("state_root", self.state_root.to_string(), other.state_root.to_string()),
            ("tx_commitment", self.tx_commitment.to_string(), other.tx_commitment.to_string()),
            ("l1_cursor_before", self.l1_cursor_before.to_string(), other.l1_cursor_before.to_string()),
            ("l1_cursor_after", self.l1_cursor_after.to_string(), other.l1_cursor_after.to_string()),
            ("l1_chain_before", self.l1_chain_before.to_string(), other.l1_chain_before.to_string()),
            ("l1_chain_after", self.l1_chain_after.to_string(), other.l1_chain_after.to_string()),
            (
                "withdrawal_chain_before",
                self.withdrawal_chain_before.to_string(),
                other.withdrawal_chain_before.to_string(),
            ),
            (
                "withdrawal_chain_after",
                self.withdrawal_chain_after.to_string(),
                other.withdrawal_chain_after.to_string(),
            ),
        ];
        fields.into_iter().find(|(_, a, b)| a != b)
    }
}
