//! [`scan_block`]: the L1 messages of one final Bitcoin block.

use std::collections::BTreeSet;

use bitcoin::hashes::Hash;
use bitcoin::{Block, Transaction, Txid};
use rollup_l2::{decode_forced_payload, DepositPayload, L1Outpoint, L2Tx};

use super::client::BlockRef;
use crate::da::{decode_transaction, EnvelopeKind};

/// An L1 message found in a block, with where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedMessage {
    /// The block.
    pub block: BlockRef,
    /// The transaction's position in the block.
    pub position: u32,
    /// The input whose witness carries the envelope.
    pub input: u32,
    /// The carrying transaction.
    pub txid: Txid,
    /// The intrinsic transaction it becomes: a deposit or a forced transaction.
    pub tx: L2Tx,
}

/// The L1 messages of `block` for `chain_id`, in protocol order: transactions in
/// block order, inputs in input order.
///
/// Deposit and forced-transaction envelopes become messages; batch chunks are not
/// messages and are passed over. A malformed envelope of ours or an undecodable
/// payload is skipped with a warning, never an error: anyone can put anything on
/// Bitcoin, and the message list must not depend on more than the rules below.
///
/// **Deposit rule**: a deposit counts only if the transaction carrying it has an
/// output paying exactly `bridge_script` at least the stated amount; the deposit's
/// outpoint is the first such output not already taken by an earlier deposit of the
/// same transaction (one payment backs one deposit). A deposit without one is
/// skipped with a warning.
pub fn scan_block(block: &Block, at: BlockRef, chain_id: u64, bridge_script: &[u8]) -> Vec<ScannedMessage> {
    let mut messages = Vec::new();
    for (position, tx) in block.txdata.iter().enumerate() {
        let decoded = decode_transaction(tx, chain_id);
        if decoded.is_empty() {
            continue;
        }
        let txid = tx.compute_txid();
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        let mut taken = BTreeSet::new();
        for entry in decoded {
            let input = u32::try_from(entry.input).unwrap_or(u32::MAX);
            let skip = |reason: String| {
                tracing::warn!(
                    target: "rollup::l1::scan",
                    height = at.height,
                    %txid,
                    input,
                    reason,
                    "envelope skipped"
                );
            };
            let revealed = match entry.result {
                Ok(revealed) => revealed,
                Err(error) => {
                    skip(format!("malformed envelope: {error}"));
                    continue;
                }
            };
            let l2_tx = match revealed.envelope.kind() {
                EnvelopeKind::BatchChunk { .. } => continue,
                EnvelopeKind::Deposit => match DepositPayload::decode(revealed.envelope.data()) {
                    Err(error) => {
                        skip(error.to_string());
                        continue;
                    }
                    Ok(payload) => match bridge_output(tx, bridge_script, payload.amount, &taken) {
                        Some(vout) => {
                            taken.insert(vout);
                            L2Tx::Deposit(
                                payload.into_deposit(L1Outpoint { txid: txid.to_byte_array(), vout }),
                            )
                        }
                        None => {
                            skip(format!(
                                "deposit of {} sat to account {} without an output paying the bridge at least that",
                                payload.amount, payload.to
                            ));
                            continue;
                        }
                    },
                },
                EnvelopeKind::ForcedTransaction => match decode_forced_payload(revealed.envelope.data()) {
                    Ok(signed) => L2Tx::Forced(signed),
                    Err(error) => {
                        skip(error.to_string());
                        continue;
                    }
                },
            };
            messages.push(ScannedMessage { block: at, position, input, txid, tx: l2_tx });
        }
    }
    messages
}

/// The first output of `tx` not in `taken` paying exactly `bridge_script` at least
/// `amount` satoshis.
fn bridge_output(tx: &Transaction, bridge_script: &[u8], amount: u64, taken: &BTreeSet<u32>) -> Option<u32> {
    tx.output
        .iter()
        .zip(0u32..)
        .find(|(output, vout)| {
            output.script_pubkey.as_bytes() == bridge_script
                && output.value.to_sat() >= amount
                && !taken.contains(vout)
        })
        .map(|(_, vout)| vout)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

    use bitcoin::absolute::LockTime;
    use bitcoin::block::{Header, Version};
    use bitcoin::key::{Keypair, Secp256k1};
    use bitcoin::transaction::Version as TxVersion;
    use bitcoin::{
        Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, TxIn, TxMerkleNode, TxOut, Witness,
    };
    use rollup_l2::{
        encode_forced_payload, Deposit, PubKey, SignedTx, Transfer, UserTx, DEVNET_BRIDGE_SCRIPT,
        SIGNATURE_LEN,
    };

    use super::*;
    use crate::da::Envelope;

    const CHAIN: u64 = 42;

    fn bridge() -> ScriptBuf {
        ScriptBuf::from_bytes(DEVNET_BRIDGE_SCRIPT.to_vec())
    }

    fn other_script() -> ScriptBuf {
        ScriptBuf::from_bytes(vec![0x00, 0x14, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7])
    }

    /// A script-path witness revealing `envelope` (unsigned: the scanner reads the
    /// witness alone).
    fn reveal_witness(envelope: &Envelope) -> Witness {
        let secp = Secp256k1::new();
        let keypair = Keypair::from_seckey_slice(&secp, &[3; 32]).unwrap();
        let leaf = envelope.leaf(&keypair.x_only_public_key().0);
        let mut control = vec![0xc0];
        control.extend_from_slice(&[2; 32]);
        Witness::from_slice(&[vec![0u8; 64], leaf.to_bytes(), control])
    }

    fn input(witness: Witness) -> TxIn {
        TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness,
        }
    }

    fn tx(inputs: Vec<TxIn>, outputs: Vec<(ScriptBuf, u64)>) -> Transaction {
        Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::ZERO,
            input: inputs,
            output: outputs
                .into_iter()
                .map(|(script_pubkey, sat)| TxOut { value: Amount::from_sat(sat), script_pubkey })
                .collect(),
        }
    }

    fn deposit_envelope(to: u32, amount: u64) -> Envelope {
        let payload = DepositPayload { to, to_pubkey: PubKey([to.into(); 5]), amount };
        Envelope::deposit(CHAIN, payload.encode()).unwrap()
    }

    fn forced() -> SignedTx {
        SignedTx {
            tx: UserTx::Transfer(Transfer {
                from: 2,
                to: 3,
                to_pubkey: PubKey([1; 5]),
                amount: 5,
                fee: 1,
                nonce: 1,
            }),
            signature: vec![9; SIGNATURE_LEN],
        }
    }

    fn block(txdata: Vec<Transaction>) -> (Block, BlockRef) {
        let header = Header {
            version: Version::TWO,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: 0,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        };
        let block = Block { header, txdata };
        let at = BlockRef { height: 7, hash: block.block_hash() };
        (block, at)
    }

    fn scan(txs: Vec<Transaction>) -> Vec<ScannedMessage> {
        let (block, at) = block(txs);
        scan_block(&block, at, CHAIN, &DEVNET_BRIDGE_SCRIPT)
    }

    fn deposits(messages: &[ScannedMessage]) -> Vec<Deposit> {
        messages
            .iter()
            .filter_map(|message| match &message.tx {
                L2Tx::Deposit(deposit) => Some(deposit.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_deposit_rule_wants_the_bridge_paid_at_least_the_amount() {
        let envelope = deposit_envelope(5, 10_000);
        let carrying = |outputs: Vec<(ScriptBuf, u64)>| tx(vec![input(reveal_witness(&envelope))], outputs);

        // Paying less, paying another script, paying nothing: rejected.
        assert_eq!(scan(vec![carrying(vec![(bridge(), 9_999)])]), vec![]);
        assert_eq!(scan(vec![carrying(vec![(other_script(), 10_000)])]), vec![]);
        assert_eq!(scan(vec![carrying(vec![])]), vec![]);

        // Paying exactly or more: accepted, the outpoint is the first such output.
        let exact = carrying(vec![
            (other_script(), 50_000),
            (bridge(), 9_000),
            (bridge(), 10_000),
            (bridge(), 20_000),
        ]);
        let txid = exact.compute_txid();
        let found = scan(vec![exact]);
        assert_eq!(
            deposits(&found),
            vec![Deposit {
                l1_outpoint: L1Outpoint { txid: txid.to_byte_array(), vout: 2 },
                amount: 10_000,
                to: 5,
                to_pubkey: PubKey([5; 5]),
            }]
        );
        assert_eq!((found[0].position, found[0].input, found[0].txid), (0, 0, txid));
        let more = carrying(vec![(bridge(), 1_000_000)]);
        assert_eq!(deposits(&scan(vec![more]))[0].l1_outpoint.vout, 0);
    }

    #[test]
    fn one_payment_backs_one_deposit() {
        let first = deposit_envelope(5, 10_000);
        let second = deposit_envelope(6, 10_000);
        let both =
            tx(vec![input(reveal_witness(&first)), input(reveal_witness(&second))], vec![(bridge(), 10_000)]);
        let found = deposits(&scan(vec![both]));
        assert_eq!(found.iter().map(|deposit| deposit.to).collect::<Vec<_>>(), vec![5]);

        let paid_twice = tx(
            vec![input(reveal_witness(&first)), input(reveal_witness(&second))],
            vec![(bridge(), 10_000), (bridge(), 10_000)],
        );
        let found = deposits(&scan(vec![paid_twice]));
        let taken: Vec<(u32, u32)> =
            found.iter().map(|deposit| (deposit.to, deposit.l1_outpoint.vout)).collect();
        assert_eq!(taken, vec![(5, 0), (6, 1)]);
    }

    #[test]
    fn messages_come_in_block_then_input_order_and_junk_is_skipped() {
        let forced_envelope = Envelope::forced_transaction(CHAIN, encode_forced_payload(&forced())).unwrap();
        let foreign_chain =
            Envelope::forced_transaction(CHAIN + 1, encode_forced_payload(&forced())).unwrap();
        let bad_payload = Envelope::deposit(CHAIN, vec![1, 2, 3]).unwrap();
        let chunk = Envelope::batch_chunk(CHAIN, 0, 0, 1, vec![1]).unwrap();
        let mut malformed = reveal_witness(&deposit_envelope(5, 1)).to_vec();
        // Cut the leaf's final OP_CHECKSIG: our tag, but not an envelope.
        malformed[1].pop();
        let coinbase_like = tx(vec![input(Witness::from_slice(&[[0u8; 32]]))], vec![(other_script(), 1)]);
        let first = tx(
            vec![
                input(Witness::from_slice(&malformed)),
                input(reveal_witness(&bad_payload)),
                input(reveal_witness(&forced_envelope)),
            ],
            vec![],
        );
        let second = tx(
            vec![
                input(reveal_witness(&chunk)),
                input(reveal_witness(&foreign_chain)),
                input(reveal_witness(&deposit_envelope(9, 700))),
                input(reveal_witness(&forced_envelope)),
            ],
            vec![(bridge(), 700)],
        );
        let found = scan(vec![coinbase_like, first, second]);
        let order: Vec<(u32, u32, bool)> = found
            .iter()
            .map(|message| (message.position, message.input, matches!(message.tx, L2Tx::Deposit(_))))
            .collect();
        assert_eq!(order, vec![(1, 2, false), (2, 2, true), (2, 3, false)]);
        assert_eq!(found[0].tx, L2Tx::Forced(forced()));
        assert!(found.iter().all(|message| message.block.height == 7));
    }
}
