//! Regtest block assembly: coinbase with BIP-34 height and BIP-141 witness
//! commitment, transactions, merkle root and proof of work.

use bitcoin::block::{Header, Version};
use bitcoin::blockdata::opcodes::all::OP_RETURN;
use bitcoin::hashes::Hash;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::{
    absolute, transaction, Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence,
    Transaction, TxIn, TxOut, Witness,
};

/// Regtest's proof-of-work limit, which is also every regtest block's target, in compact form.
pub const REGTEST_BITS: u32 = 0x207f_ffff;
/// Regtest halves the block subsidy every 150 blocks.
pub const REGTEST_HALVING_INTERVAL: u32 = 150;
/// The BIP-141 witness commitment header.
const WITNESS_COMMITMENT_HEADER: [u8; 4] = [0xaa, 0x21, 0xa9, 0xed];

/// The block subsidy at `height` on regtest.
pub fn subsidy(height: u32) -> Amount {
    let halvings = height / REGTEST_HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat((50 * 100_000_000u64) >> halvings)
}

/// What goes into a block.
#[derive(Clone, Debug)]
pub struct BlockPlan {
    /// The parent block.
    pub prev: BlockHash,
    /// The block's height.
    pub height: u32,
    /// Its timestamp; must exceed the median time past of its ancestors.
    pub time: u32,
    /// Transactions after the coinbase, parents before children.
    pub txs: Vec<Transaction>,
    /// Sum of their fees.
    pub fees: Amount,
    /// Script the coinbase pays.
    pub payout: ScriptBuf,
    /// Distinguishes otherwise identical blocks (competing branches).
    pub extra_nonce: u64,
}

/// Builds and grinds a valid regtest block.
pub fn assemble(plan: BlockPlan) -> Block {
    let mut script_sig = Builder::new().push_int(i64::from(plan.height));
    let nonce_bytes = PushBytesBuf::try_from(plan.extra_nonce.to_le_bytes().to_vec()).unwrap_or_default();
    script_sig = script_sig.push_slice(nonce_bytes);
    let coinbase = Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: script_sig.into_script(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[[0u8; 32]]),
        }],
        output: vec![TxOut { value: subsidy(plan.height) + plan.fees, script_pubkey: plan.payout }],
    };
    let mut txdata = Vec::with_capacity(plan.txs.len() + 1);
    txdata.push(coinbase);
    txdata.extend(plan.txs);
    let mut block = Block {
        header: Header {
            version: Version::from_consensus(0x2000_0000),
            prev_blockhash: plan.prev,
            merkle_root: bitcoin::TxMerkleNode::all_zeros(),
            time: plan.time,
            bits: CompactTarget::from_consensus(REGTEST_BITS),
            nonce: 0,
        },
        txdata,
    };
    add_witness_commitment(&mut block);
    finalize(&mut block);
    block
}

/// Recomputes the merkle root and grinds the proof of work again, after a change to
/// the block's transactions (tests tamper with blocks this way).
pub fn finalize(block: &mut Block) {
    if let Some(root) = block.compute_merkle_root() {
        block.header.merkle_root = root;
    }
    grind(&mut block.header);
}

/// Adds the BIP-141 commitment output to the coinbase (the witness root counts the
/// coinbase as zero, so adding it does not change the root).
pub(crate) fn add_witness_commitment(block: &mut Block) {
    let Some(witness_root) = block.witness_root() else { return };
    let commitment = Block::compute_witness_commitment(&witness_root, &[0u8; 32]);
    let mut payload = WITNESS_COMMITMENT_HEADER.to_vec();
    payload.extend_from_slice(commitment.as_byte_array());
    let push = PushBytesBuf::try_from(payload).unwrap_or_default();
    let script = Builder::new().push_opcode(OP_RETURN).push_slice(push).into_script();
    if let Some(coinbase) = block.txdata.first_mut() {
        coinbase.output.push(TxOut { value: Amount::ZERO, script_pubkey: script });
    }
}

/// Finds a nonce that meets the header's target (about two tries on regtest).
fn grind(header: &mut Header) {
    let target = header.target();
    while header.validate_pow(target).is_err() {
        header.nonce = header.nonce.wrapping_add(1);
        if header.nonce == 0 {
            header.time = header.time.wrapping_add(1);
        }
    }
}

/// The earliest valid timestamp after blocks with times `recent` (up to the last 11,
/// any order), not before `now`.
pub(crate) fn next_time(recent: &[u32], now: u32) -> u32 {
    let mut times: Vec<u32> = recent.to_vec();
    times.sort_unstable();
    let median = times.get(times.len() / 2).copied().unwrap_or(0);
    now.max(median.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_halves_every_150_blocks() {
        assert_eq!(subsidy(0), Amount::from_sat(5_000_000_000));
        assert_eq!(subsidy(149), Amount::from_sat(5_000_000_000));
        assert_eq!(subsidy(150), Amount::from_sat(2_500_000_000));
        assert_eq!(subsidy(300), Amount::from_sat(1_250_000_000));
        assert_eq!(subsidy(150 * 64), Amount::ZERO);
    }

    #[test]
    fn next_time_exceeds_the_median_time_past() {
        assert_eq!(next_time(&[10, 30, 20], 5), 21);
        assert_eq!(next_time(&[10, 30, 20], 100), 100);
        assert_eq!(next_time(&[], 7), 7);
    }

    #[test]
    fn assembled_blocks_meet_their_target_and_commit_to_their_contents() {
        let block = assemble(BlockPlan {
            prev: BlockHash::all_zeros(),
            height: 5,
            time: 1_700_000_000,
            txs: Vec::new(),
            fees: Amount::ZERO,
            payout: ScriptBuf::new_op_return([1u8; 4]),
            extra_nonce: 9,
        });
        assert!(block.header.validate_pow(block.header.target()).is_ok());
        assert!(block.check_merkle_root());
        assert!(block.check_witness_commitment());
        // BIP-34 as Core checks it: the script starts with `CScript() << height` (OP_5 here).
        assert_eq!(
            block.txdata[0].input[0].script_sig.as_bytes()[0],
            bitcoin::opcodes::all::OP_PUSHNUM_5.to_u8()
        );
    }
}
