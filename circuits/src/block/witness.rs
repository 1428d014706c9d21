//! From a sealed block and the pre-state to the block circuit's witness.
//!
//! The native STF decides every transaction's validity ([`State::check_user`],
//! [`State::check_deposit`]); this module then replays the valid ones as the
//! circuit's three steps (debit the sender, credit the receiver, credit the fee
//! account), recording what each step reads and its Merkle proof at that moment,
//! and finally checks that the state root it reaches is the one the block header
//! claims. A disagreement with the STF is an error, never a silent witness.

use rollup_l2::{
    chain_l1_message, chain_tx, chain_withdrawal, Account, AccountIndex, AccountStore, Block, Digest, L2Tx,
    MerkleProof, State, StfParams, TreeStore, UserTx, WithdrawalRecord, MAX_AMOUNT,
};
use serde::{Deserialize, Serialize};

use super::BlockStatement;

/// Why a block cannot be turned into a witness.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The block does not start from the state's root.
    #[error("block {number} starts from state root {claimed}, but the state is at {actual}")]
    WrongPreState {
        /// The block.
        number: u64,
        /// Its `prev_state_root`.
        claimed: Digest,
        /// The state's root.
        actual: Digest,
    },
    /// A user transaction the STF refuses: the block is invalid.
    #[error("block {number} transaction {position} is an invalid user transaction: {reason}")]
    InvalidUserTransaction {
        /// The block.
        number: u64,
        /// The transaction's position.
        position: usize,
        /// The STF's reason.
        reason: rollup_l2::TxError,
    },
    /// Re-execution ends at another root than the header's.
    #[error("block {number} claims state root {claimed}, re-execution gives {actual}")]
    WrongPostState {
        /// The block.
        number: u64,
        /// Its `state_root`.
        claimed: Digest,
        /// The root re-execution reached.
        actual: Digest,
    },
    /// The header's L1 cursors do not count the block's intrinsic transactions.
    #[error("block {number} moves the l1 cursor from {before} to {after} but holds {intrinsic} l1 messages")]
    WrongCursor {
        /// The block.
        number: u64,
        /// `l1_cursor_before`.
        before: u64,
        /// `l1_cursor_after`.
        after: u64,
        /// Intrinsic transactions in the block.
        intrinsic: u64,
    },
    /// The header's transaction commitment is not the block's.
    #[error("block {number} has a wrong transaction commitment")]
    WrongTxCommitment {
        /// The block.
        number: u64,
    },
    /// An intrinsic transaction after a user transaction.
    #[error("block {number} has an l1 message at position {position}, after a user transaction")]
    IntrinsicAfterUser {
        /// The block.
        number: u64,
        /// The position.
        position: usize,
    },
    /// A signature that is not 80 bytes.
    #[error("block {number} transaction {position} has a {len}-byte signature")]
    SignatureLength {
        /// The block.
        number: u64,
        /// The position.
        position: usize,
        /// Its length.
        len: usize,
    },
    /// A balance computation overflowed where the STF said it would not: a bug.
    #[error("block {number} transaction {position}: arithmetic disagrees with the stf")]
    Arithmetic {
        /// The block.
        number: u64,
        /// The position.
        position: usize,
    },
}

/// The running chains a block continues: the L1 message chain and the withdrawal chain
/// (both start from the zero digest at genesis).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chains {
    /// The L1 message chain.
    pub l1_messages: Digest,
    /// The withdrawal chain.
    pub withdrawals: Digest,
}

/// What one step of a slot reads: the account at `index` (if any) and its proof
/// against the root at that moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRead {
    /// The account index.
    pub index: AccountIndex,
    /// The account, or `None` for an empty leaf.
    pub account: Option<Account>,
    /// The leaf's Merkle proof.
    pub proof: MerkleProof,
}

/// One transaction slot: the transaction (none for padding) and its three reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotWitness {
    /// The transaction, `None` in an unused slot.
    pub tx: Option<L2Tx>,
    /// Reads of the sender, the receiver and the fee account.
    pub steps: [StepRead; 3],
}

/// The witness of one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockWitness {
    /// What the proof will establish.
    pub statement: BlockStatement,
    /// One slot per transaction, in block order (padding is added by the circuit).
    pub slots: Vec<SlotWitness>,
    /// The fee account's read in an unused slot: its proof at the post-state root.
    pub padding: StepRead,
    /// The proof of leaf 0 (always empty) at the post-state root, for padding slots.
    pub padding_zero: StepRead,
}

fn read<A: AccountStore, T: TreeStore>(state: &State<A, T>, index: AccountIndex) -> StepRead {
    StepRead { index, account: state.account(index), proof: state.proof(index) }
}

/// Executes `block` on `state` (which must be at the block's pre-state) and returns
/// the block circuit's witness; `chains` advance past the block. On error the state
/// may be partly advanced and must be reloaded.
pub fn execute_block<A: AccountStore, T: TreeStore>(
    state: &mut State<A, T>,
    params: &StfParams,
    block: &Block,
    chains: &mut Chains,
) -> Result<BlockWitness, WitnessError> {
    let header = &block.header;
    let number = header.number;
    if header.prev_state_root != state.root() {
        return Err(WitnessError::WrongPreState {
            number,
            claimed: header.prev_state_root,
            actual: state.root(),
        });
    }
    let chains_before = *chains;
    let mut slots = Vec::with_capacity(block.txs.len());
    let mut tx_commitment = Digest::ZERO;
    let mut intrinsic = 0u64;
    let mut seen_user = false;
    for (position, tx) in block.txs.iter().enumerate() {
        if let Some(packed) = state.pack(tx) {
            tx_commitment = chain_tx(&tx_commitment, &packed);
        }
        if tx.is_intrinsic() {
            if seen_user {
                return Err(WitnessError::IntrinsicAfterUser { number, position });
            }
            intrinsic += 1;
            chains.l1_messages = chain_l1_message(&chains.l1_messages, tx);
        } else {
            seen_user = true;
        }
        let (from, to) = match tx {
            L2Tx::User(signed) | L2Tx::Forced(signed) => {
                if signed.signature.len() != rollup_l2::SIGNATURE_LEN {
                    return Err(WitnessError::SignatureLength {
                        number,
                        position,
                        len: signed.signature.len(),
                    });
                }
                match &signed.tx {
                    UserTx::Transfer(transfer) => (transfer.from, transfer.to),
                    UserTx::Withdraw(withdraw) => (withdraw.from, 0),
                }
            }
            L2Tx::Deposit(deposit) => (0, deposit.to),
        };
        let valid =
            match tx {
                L2Tx::User(signed) => {
                    state.check_user(params, signed).map_err(|reason| {
                        WitnessError::InvalidUserTransaction { number, position, reason }
                    })?;
                    true
                }
                L2Tx::Forced(signed) => state.check_user(params, signed).is_ok(),
                L2Tx::Deposit(deposit) => state.check_deposit(deposit).is_ok(),
            };
        let arithmetic = || WitnessError::Arithmetic { number, position };
        let sender = read(state, from);
        if valid {
            if let (L2Tx::User(signed) | L2Tx::Forced(signed), Some(account)) = (tx, sender.account) {
                let (amount, fee) = amounts(&signed.tx);
                let needed = amount.checked_add(fee).ok_or_else(arithmetic)?;
                let balance = account.balance.checked_sub(needed).ok_or_else(arithmetic)?;
                let nonce = account.nonce.checked_add(1).ok_or_else(arithmetic)?;
                state.put_account(from, Account { balance, nonce, ..account });
            }
        }
        let receiver = read(state, to);
        if valid {
            let credit = match tx {
                L2Tx::User(signed) | L2Tx::Forced(signed) => match &signed.tx {
                    UserTx::Transfer(transfer) => Some((transfer.to_pubkey, transfer.amount)),
                    UserTx::Withdraw(_) => None,
                },
                L2Tx::Deposit(deposit) => Some((deposit.to_pubkey, deposit.amount)),
            };
            if let Some((pubkey, amount)) = credit {
                let account = receiver.account.unwrap_or(Account { pubkey, balance: 0, nonce: 0 });
                let balance = account
                    .balance
                    .checked_add(amount)
                    .filter(|b| *b <= MAX_AMOUNT)
                    .ok_or_else(arithmetic)?;
                state.put_account(to, Account { balance, ..account });
            }
        }
        let fee_account = read(state, params.fee_account);
        if valid {
            if let L2Tx::User(signed) | L2Tx::Forced(signed) = tx {
                let (_, fee) = amounts(&signed.tx);
                if fee > 0 {
                    let account = fee_account.account.ok_or_else(arithmetic)?;
                    let balance = account
                        .balance
                        .checked_add(fee)
                        .filter(|b| *b <= MAX_AMOUNT)
                        .ok_or_else(arithmetic)?;
                    state.put_account(params.fee_account, Account { balance, ..account });
                }
                if let UserTx::Withdraw(withdraw) = &signed.tx {
                    let record =
                        WithdrawalRecord { l1_script: withdraw.l1_script.clone(), amount: withdraw.amount };
                    chains.withdrawals = chain_withdrawal(&chains.withdrawals, &record);
                }
            }
        }
        slots.push(SlotWitness { tx: Some(tx.clone()), steps: [sender, receiver, fee_account] });
    }
    if state.root() != header.state_root {
        return Err(WitnessError::WrongPostState {
            number,
            claimed: header.state_root,
            actual: state.root(),
        });
    }
    if tx_commitment != header.tx_commitment {
        return Err(WitnessError::WrongTxCommitment { number });
    }
    if header.l1_cursor_before.checked_add(intrinsic) != Some(header.l1_cursor_after) {
        return Err(WitnessError::WrongCursor {
            number,
            before: header.l1_cursor_before,
            after: header.l1_cursor_after,
            intrinsic,
        });
    }
    Ok(BlockWitness {
        statement: BlockStatement {
            number,
            prev_state_root: header.prev_state_root,
            state_root: header.state_root,
            tx_commitment,
            l1_cursor_before: header.l1_cursor_before,
            l1_cursor_after: header.l1_cursor_after,
            l1_chain_before: chains_before.l1_messages,
            l1_chain_after: chains.l1_messages,
            withdrawal_chain_before: chains_before.withdrawals,
            withdrawal_chain_after: chains.withdrawals,
        },
        slots,
        padding: read(state, params.fee_account),
        padding_zero: read(state, 0),
    })
}

fn amounts(tx: &UserTx) -> (u64, u64) {
    match tx {
        UserTx::Transfer(transfer) => (transfer.amount, transfer.fee),
        UserTx::Withdraw(withdraw) => (withdraw.amount, withdraw.fee),
    }
}
