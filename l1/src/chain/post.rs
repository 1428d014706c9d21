//! A user's side of a deposit: the commit and reveal whose reveal carries the deposit
//! envelope and pays the bridge the deposited amount, as the deposit rule wants.
//!
//! A forced transaction needs no payment: [`crate::da::build_commit_reveal`] posts it.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1, TapTweak};
use bitcoin::secp256k1::Message;
use bitcoin::sighash::{Prevouts, SighashCache};
use bitcoin::taproot::{LeafVersion, TapLeafHash};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, FeeRate, OutPoint, ScriptBuf, Sequence, TapSighashType, Transaction, TxIn, TxOut, Witness,
};

use crate::da::{
    envelope_output, funded_poster_key, key_path_inputs, BuildCommitRevealError, CommitReveal, Envelope,
    EnvelopeOutput, FundingUtxo,
};

/// The commit and reveal of a deposit of `amount` carried in `envelope`, signed by
/// `poster` and funded by `funding` (the poster's BIP-86 key-path outputs, all
/// spent).
///
/// The commit pays one P2TR output whose only leaf is the envelope (internal key
/// [`ENVELOPE_INTERNAL_KEY`], as every envelope output) holding `amount` plus the
/// reveal's fee, then change to `change` unless it is dust. The reveal spends it
/// through the leaf and pays exactly `amount` to `bridge` as its only output (output
/// 0: the deposit's outpoint). Fees are `fee_rate` times each transaction's virtual
/// size, rounded up. Deterministic, like [`crate::da::build_commit_reveal`].
pub fn build_deposit(
    poster: &Keypair,
    envelope: &Envelope,
    bridge: &ScriptBuf,
    amount: Amount,
    funding: &[FundingUtxo],
    fee_rate: FeeRate,
    change: &ScriptBuf,
) -> Result<CommitReveal, BuildCommitRevealError> {
    let secp = Secp256k1::new();
    let taproot = |error: String| BuildCommitRevealError::Taproot(error);
    let overflow = |what| BuildCommitRevealError::Overflow { what };
    let poster_key = funded_poster_key(&secp, poster, funding)?;
    let EnvelopeOutput { leaf, control, script_pubkey: envelope_script } =
        envelope_output(&secp, envelope, &poster_key)?;

    let reveal = |outpoint: OutPoint, signature: &[u8]| Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: if signature.is_empty() {
                Witness::new()
            } else {
                Witness::from_slice(&[signature, leaf.as_bytes(), control.as_slice()])
            },
        }],
        output: vec![TxOut { value: amount, script_pubkey: bridge.clone() }],
    };
    // A BIP-340 signature with SIGHASH_DEFAULT is 64 bytes: this stand-in weighs what
    // the signed reveal weighs.
    let sized = reveal(OutPoint::null(), [0u8; 64].as_slice());
    let reveal_fee = fee_rate.fee_vb(sized.weight().to_vbytes_ceil()).ok_or(overflow("the reveal fee"))?;
    let envelope_value = amount.checked_add(reveal_fee).ok_or(overflow("the envelope output"))?;
    let envelope_output = TxOut { value: envelope_value, script_pubkey: envelope_script };

    let available = funding
        .iter()
        .try_fold(Amount::ZERO, |total, coin| total.checked_add(coin.output.value))
        .ok_or(overflow("the funding total"))?;
    let mut commit = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: key_path_inputs(funding),
        output: vec![envelope_output.clone(), TxOut { value: Amount::ZERO, script_pubkey: change.clone() }],
    };
    let fee_with_change =
        fee_rate.fee_vb(commit.weight().to_vbytes_ceil()).ok_or(overflow("the commit fee"))?;
    let with_change = envelope_value
        .checked_add(fee_with_change)
        .and_then(|needed| needed.checked_add(change.minimal_non_dust()))
        .ok_or(overflow("the commit's needs"))?;
    let commit_fee = if available >= with_change {
        let change_value = available
            .checked_sub(envelope_value)
            .and_then(|left| left.checked_sub(fee_with_change))
            .ok_or(overflow("the change"))?;
        if let Some(last) = commit.output.last_mut() {
            last.value = change_value;
        }
        fee_with_change
    } else {
        commit.output.pop();
        let fee = fee_rate.fee_vb(commit.weight().to_vbytes_ceil()).ok_or(overflow("the commit fee"))?;
        let needed = envelope_value.checked_add(fee).ok_or(overflow("the commit's needs"))?;
        if available < needed {
            return Err(BuildCommitRevealError::InsufficientFunds { needed, available });
        }
        available.checked_sub(envelope_value).ok_or(overflow("the commit fee"))?
    };

    let spent: Vec<TxOut> = funding.iter().map(|coin| coin.output.clone()).collect();
    let tweaked = poster.tap_tweak(&secp, None).to_keypair();
    let mut signatures = Vec::with_capacity(commit.input.len());
    {
        let mut cache = SighashCache::new(&commit);
        for index in 0..commit.input.len() {
            let sighash = cache
                .taproot_key_spend_signature_hash(index, &Prevouts::All(&spent), TapSighashType::Default)
                .map_err(|error| taproot(error.to_string()))?;
            signatures.push(
                secp.sign_schnorr_no_aux_rand(&Message::from_digest(sighash.to_byte_array()), &tweaked),
            );
        }
    }
    for (input, signature) in commit.input.iter_mut().zip(signatures) {
        input.witness = Witness::from_slice(&[signature.as_ref().as_slice()]);
    }

    let outpoint = OutPoint::new(commit.compute_txid(), 0);
    let unsigned = reveal(outpoint, &[]);
    let sighash = SighashCache::new(&unsigned)
        .taproot_script_spend_signature_hash(
            0,
            &Prevouts::All(std::slice::from_ref(&envelope_output)),
            TapLeafHash::from_script(&leaf, LeafVersion::TapScript),
            TapSighashType::Default,
        )
        .map_err(|error| taproot(error.to_string()))?;
    let signature = secp.sign_schnorr_no_aux_rand(&Message::from_digest(sighash.to_byte_array()), poster);
    let signed_reveal = reveal(outpoint, signature.as_ref().as_slice());
    Ok(CommitReveal {
        commit,
        funding: spent,
        reveals: vec![signed_reveal],
        envelope_outputs: vec![envelope_output],
        commit_fee,
        reveal_fees: vec![reveal_fee],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use bitcoin::block::{Header, Version as BlockVersion};
    use bitcoin::{Block, BlockHash, CompactTarget, TxMerkleNode};
    use rollup_l2::{Deposit, DepositPayload, L1Outpoint, L2Tx, PubKey, DEVNET_BRIDGE_SCRIPT};

    use super::*;
    use crate::chain::{scan_block, BlockRef};

    #[test]
    fn the_reveal_pays_the_bridge_the_amount_and_the_scanner_credits_it() {
        let secp = Secp256k1::new();
        let poster = Keypair::from_seckey_slice(&secp, &[5; 32]).unwrap();
        let own = ScriptBuf::new_p2tr(&secp, poster.x_only_public_key().0, None);
        let bridge = ScriptBuf::from_bytes(DEVNET_BRIDGE_SCRIPT.to_vec());
        let payload = DepositPayload { to: 4, to_pubkey: PubKey([4; 5]), amount: 250_000 };
        let envelope = Envelope::deposit(3, payload.encode()).unwrap();
        let funding = [FundingUtxo {
            outpoint: OutPoint::new(bitcoin::Txid::all_zeros(), 1),
            output: TxOut { value: Amount::from_sat(1_000_000), script_pubkey: own.clone() },
        }];
        let rate = FeeRate::from_sat_per_vb_u32(2);
        let built =
            build_deposit(&poster, &envelope, &bridge, Amount::from_sat(250_000), &funding, rate, &own)
                .unwrap();
        let reveal = &built.reveals[0];
        assert_eq!(reveal.output, vec![TxOut { value: Amount::from_sat(250_000), script_pubkey: bridge }]);
        assert_eq!(reveal.input[0].previous_output, OutPoint::new(built.commit.compute_txid(), 0));
        // Value is conserved: funding = envelope output + change + commit fee, and the
        // envelope output = amount + reveal fee.
        let change = built.commit.output[1].value;
        assert_eq!(built.commit.output[0].value, Amount::from_sat(250_000) + built.reveal_fees[0]);
        assert_eq!(Amount::from_sat(1_000_000), built.commit.output[0].value + change + built.commit_fee);
        assert_eq!(
            built.reveal_fees[0],
            rate.fee_vb(reveal.weight().to_vbytes_ceil()).unwrap(),
            "the fee is for the signed reveal's real size"
        );
        // Same arguments, same transactions.
        let again = build_deposit(
            &poster,
            &envelope,
            &ScriptBuf::from_bytes(DEVNET_BRIDGE_SCRIPT.to_vec()),
            Amount::from_sat(250_000),
            &funding,
            rate,
            &own,
        )
        .unwrap();
        assert_eq!(again, built);

        let header = Header {
            version: BlockVersion::TWO,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: 0,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        };
        let block = Block { header, txdata: vec![built.commit.clone(), reveal.clone()] };
        let at = BlockRef { height: 1, hash: block.block_hash() };
        let found = scan_block(&block, at, 3, &DEVNET_BRIDGE_SCRIPT);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].tx,
            L2Tx::Deposit(Deposit {
                l1_outpoint: L1Outpoint { txid: reveal.compute_txid().to_byte_array(), vout: 0 },
                amount: 250_000,
                to: 4,
                to_pubkey: PubKey([4; 5]),
            })
        );
    }

    #[test]
    fn a_deposit_the_funding_cannot_cover_is_refused() {
        let secp = Secp256k1::new();
        let poster = Keypair::from_seckey_slice(&secp, &[5; 32]).unwrap();
        let own = ScriptBuf::new_p2tr(&secp, poster.x_only_public_key().0, None);
        let envelope = Envelope::deposit(3, vec![1]).unwrap();
        let funding = [FundingUtxo {
            outpoint: OutPoint::new(bitcoin::Txid::all_zeros(), 0),
            output: TxOut { value: Amount::from_sat(10_000), script_pubkey: own.clone() },
        }];
        let rate = FeeRate::from_sat_per_vb_u32(1);
        let result = build_deposit(&poster, &envelope, &own, Amount::from_sat(10_000), &funding, rate, &own);
        assert!(
            matches!(result, Err(BuildCommitRevealError::InsufficientFunds { available, .. }) if available == Amount::from_sat(10_000)),
            "{result:?}"
        );
        assert_eq!(
            build_deposit(&poster, &envelope, &own, Amount::from_sat(1), &[], rate, &own),
            Err(BuildCommitRevealError::NoFunding)
        );
    }
}
