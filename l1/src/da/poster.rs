//! The DA poster's decisions, without I/O: which coins fund a posting, at which fee
//! rate, whether a block still has room for it, when and how a stuck posting is
//! bumped.
//!
//! The controller's driver (in `rollup-roles`) reads the chain through Esplora and
//! keeps its postings in the node database; everything it decides goes through the
//! functions here, so that the decisions are unit-tested and deterministic:
//!
//! - [`fee_rate_from_estimates`]: the fee rate from Esplora's `/fee-estimates`
//!   answer, for a target in blocks, clamped to a floor and a ceiling ([`FeePolicy`]).
//! - [`plan_posting`]: the commit and reveals of a set of envelopes, funded from the
//!   poster's wallet. Coin selection is largest-first over the coins given (ties by
//!   outpoint), adding coins until the commit is funded, so that the same coins, blob
//!   and fee rate give byte-identical transactions. A replacement keeps the inputs of
//!   the commit it replaces first (BIP-125 needs the replacement to conflict with it)
//!   and pays [`replacement_min_fee`].
//! - [`fits_budget`]: the byte budget of envelope data per Bitcoin block.
//! - [`decide_bump`]: after how many blocks a posting is stuck and the fee rate of
//!   its bump.
//! - [`plan_cpfp`]: a child that spends the stuck package's outputs to the poster's
//!   wallet and pays for the whole package (child pays for parent), for when the
//!   commit cannot be replaced.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1, TapTweak};
use bitcoin::secp256k1::Message;
use bitcoin::sighash::{Prevouts, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{Amount, FeeRate, ScriptBuf, TapSighashType, Transaction, TxOut, Weight, Witness};

use super::envelope::Envelope;
use super::tx::{
    build_commit_reveal_paying, key_path_inputs, BuildCommitRevealError, CommitReveal, FundingUtxo,
};

/// The incremental relay fee the poster pays (`-incrementalrelayfee`: 1 sat/vB in
/// Bitcoin Core before 30, 0.1 sat/vB since, so this satisfies either): what a
/// replacement pays for its own size on top of what it evicts, and the least step
/// between a transaction's fee rate and its bump's.
pub const INCREMENTAL_RELAY_FEE: FeeRate = FeeRate::from_sat_per_vb_u32(1);

/// Most coins one commit (or one child) spends: the selection stops there.
pub const MAX_FUNDING_INPUTS: usize = 64;

/// How the fee rate of a posting is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeePolicy {
    /// Confirmation target, in blocks, looked up in `/fee-estimates`.
    pub target_blocks: u16,
    /// The lowest rate posted, whatever the estimate says.
    pub floor: FeeRate,
    /// The highest rate posted or bumped to.
    pub ceiling: FeeRate,
}

/// Why no fee rate comes out of an Esplora fee-estimates answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FeeEstimateError {
    /// No estimate for the target or any shorter one.
    #[error("no fee estimate for a target of {target} blocks or less (targets answered: {available:?})")]
    NoEstimate {
        /// The configured target.
        target: u16,
        /// The targets in the answer, ascending.
        available: Vec<u16>,
    },
    /// The estimate is not a fee rate (negative, not a number or infinite).
    #[error("fee estimate for {target} blocks is {value}, not a fee rate in sat/vB")]
    InvalidEstimate {
        /// The target it is for.
        target: u16,
        /// The value as received.
        value: f64,
    },
}

/// The fee rate to post at: Esplora's estimate for the longest target that is not
/// longer than `policy.target_blocks` (an estimate for fewer blocks is higher, so it
/// meets the target too), rounded up to a whole sat per 1,000 weight units and
/// clamped to `[policy.floor, policy.ceiling]`.
///
/// `estimates` maps a target in blocks to a rate in sat/vB, as `/fee-estimates`
/// answers. An empty answer (an Esplora whose node has no estimates yet, as on a
/// fresh regtest) gives the floor: a posting that then does not confirm is bumped.
pub fn fee_rate_from_estimates(
    estimates: &std::collections::HashMap<u16, f64>,
    policy: &FeePolicy,
) -> Result<FeeRate, FeeEstimateError> {
    if estimates.is_empty() {
        return Ok(policy.floor);
    }
    let chosen = estimates
        .iter()
        .filter(|(target, _)| **target <= policy.target_blocks)
        .max_by_key(|(target, _)| **target);
    let Some((&target, &value)) = chosen else {
        let mut available: Vec<u16> = estimates.keys().copied().collect();
        available.sort_unstable();
        return Err(FeeEstimateError::NoEstimate { target: policy.target_blocks, available });
    };
    if !value.is_finite() || value < 0.0 {
        return Err(FeeEstimateError::InvalidEstimate { target, value });
    }
    // 1 sat/vB is 250 sat per 1,000 weight units.
    let per_kwu = (value * 250.0).ceil();
    let ceiling = policy.ceiling.to_sat_per_kwu();
    // In range after the comparison: the cast neither truncates nor saturates.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rate = if per_kwu >= ceiling as f64 { ceiling } else { per_kwu as u64 };
    Ok(FeeRate::from_sat_per_kwu(rate).max(policy.floor).min(policy.ceiling))
}

/// Why a posting or a child cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanPostingError {
    /// The wallet has no coin to spend.
    #[error("the poster's wallet has no spendable coin")]
    NoFunding,
    /// The wallet's coins (up to [`MAX_FUNDING_INPUTS`]) do not cover the posting.
    #[error(
        "the poster's wallet cannot pay: {needed} needed, {available} in the {coins} coins it can spend"
    )]
    InsufficientFunds {
        /// What the last attempt needed.
        needed: Amount,
        /// What the coins tried hold.
        available: Amount,
        /// How many coins were tried.
        coins: usize,
    },
    /// The transactions could not be built.
    #[error(transparent)]
    Build(#[from] BuildCommitRevealError),
    /// An amount overflowed.
    #[error("amount overflow computing {what}")]
    Overflow {
        /// Which amount.
        what: &'static str,
    },
}

/// `coins` largest first, equal values by outpoint: the order coin selection takes
/// them in.
pub fn order_coins(coins: &[FundingUtxo]) -> Vec<FundingUtxo> {
    let mut ordered = coins.to_vec();
    ordered.sort_by(|a, b| b.output.value.cmp(&a.output.value).then(a.outpoint.cmp(&b.outpoint)));
    ordered
}

/// The commit and reveals posting `envelopes`, funded from the poster's wallet.
///
/// The commit spends `keep` (the inputs of the commit this one replaces; empty for a
/// first posting), then the coins of `wallet` not in `keep`, largest first, as many
/// as it takes (at most [`MAX_FUNDING_INPUTS`] in all). The reveals pay `fee_rate`,
/// the commit the larger of `fee_rate` and `min_commit_fee`; the commit's change and
/// every reveal's output go back to `wallet_script`, the poster's key-path output.
///
/// Deterministic: the same envelopes, coins and fees give byte-identical
/// transactions.
pub fn plan_posting(
    poster: &Keypair,
    envelopes: &[Envelope],
    keep: &[FundingUtxo],
    wallet: &[FundingUtxo],
    fee_rate: FeeRate,
    min_commit_fee: Amount,
    wallet_script: &ScriptBuf,
) -> Result<CommitReveal, PlanPostingError> {
    let mut inputs: Vec<FundingUtxo> = keep.to_vec();
    let mut candidates = order_coins(wallet)
        .into_iter()
        .filter(|coin| !keep.iter().any(|kept| kept.outpoint == coin.outpoint));
    let mut shortfall = None;
    loop {
        if !inputs.is_empty() {
            match build_commit_reveal_paying(
                poster,
                envelopes,
                &inputs,
                fee_rate,
                min_commit_fee,
                wallet_script,
                wallet_script,
            ) {
                Ok(posting) => return Ok(posting),
                Err(BuildCommitRevealError::InsufficientFunds { needed, available }) => {
                    shortfall = Some((needed, available));
                }
                Err(error) => return Err(error.into()),
            }
        }
        match candidates.next() {
            Some(coin) if inputs.len() < MAX_FUNDING_INPUTS => inputs.push(coin),
            _ => break,
        }
    }
    match shortfall {
        Some((needed, available)) => {
            Err(PlanPostingError::InsufficientFunds { needed, available, coins: inputs.len() })
        }
        None => Err(PlanPostingError::NoFunding),
    }
}

/// The least fee a replacement of `replacement_weight` must pay to evict
/// transactions paying `evicted_fees` in all (BIP-125 rules 3 and 4 as Bitcoin Core
/// applies them): their fees plus [`INCREMENTAL_RELAY_FEE`] for its own size.
pub fn replacement_min_fee(evicted_fees: Amount, replacement_weight: Weight) -> Option<Amount> {
    INCREMENTAL_RELAY_FEE
        .fee_vb(replacement_weight.to_vbytes_ceil())
        .and_then(|own| evicted_fees.checked_add(own))
}

/// Whether a posting of `posting_bytes` of envelope data may go out for the next
/// block, when postings of `used_bytes` already did and the budget is
/// `budget_bytes` per block.
///
/// A posting larger than the whole budget goes out alone (in a block nothing else
/// of ours is posted for); otherwise it would never be posted.
pub fn fits_budget(used_bytes: u64, posting_bytes: u64, budget_bytes: u64) -> bool {
    used_bytes == 0 || used_bytes.checked_add(posting_bytes).is_some_and(|total| total <= budget_bytes)
}

/// What to do about a posting that is not confirmed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bump {
    /// Not stuck yet: wait.
    Wait,
    /// Stuck: bump it to this fee rate.
    To(FeeRate),
    /// Stuck, but its fee rate is already at the ceiling: wait.
    AtCeiling,
}

/// Whether a posting broadcast at tip height `broadcast_height` at `rate` is stuck at
/// tip height `tip` (`after_blocks` blocks or more mined since without confirming
/// it), and the rate of its bump: the current `estimate`, but at least `rate` plus
/// [`INCREMENTAL_RELAY_FEE`], and at most `ceiling`.
pub fn decide_bump(
    tip: u32,
    broadcast_height: u32,
    after_blocks: u32,
    rate: FeeRate,
    estimate: FeeRate,
    ceiling: FeeRate,
) -> Bump {
    if tip.saturating_sub(broadcast_height) < after_blocks {
        return Bump::Wait;
    }
    let stepped = FeeRate::from_sat_per_kwu(
        rate.to_sat_per_kwu().saturating_add(INCREMENTAL_RELAY_FEE.to_sat_per_kwu()),
    );
    let bumped = estimate.max(stepped).min(ceiling);
    if bumped <= rate {
        Bump::AtCeiling
    } else {
        Bump::To(bumped)
    }
}

/// An unconfirmed transaction a child pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ancestor {
    /// Its weight.
    pub weight: Weight,
    /// Its fee.
    pub fee: Amount,
}

/// A child paying for `ancestors` (child pays for parent): it spends `parent_outputs`
/// (outputs of the ancestors paying the poster's key-path output), then wallet coins
/// largest first as needed, to one output to `wallet_script`, with the fee that
/// brings the whole package (ancestors and child) to `fee_rate`.
///
/// Deterministic like [`plan_posting`]. The child signals replaceability, so a
/// later, higher bump replaces it.
pub fn plan_cpfp(
    poster: &Keypair,
    parent_outputs: &[FundingUtxo],
    wallet: &[FundingUtxo],
    ancestors: &[Ancestor],
    fee_rate: FeeRate,
    wallet_script: &ScriptBuf,
) -> Result<Transaction, PlanPostingError> {
    let overflow = |what| PlanPostingError::Overflow { what };
    let package_vbytes = ancestors
        .iter()
        .try_fold(0u64, |total, ancestor| total.checked_add(ancestor.weight.to_vbytes_ceil()))
        .ok_or(overflow("the package size"))?;
    let package_fees = ancestors
        .iter()
        .try_fold(Amount::ZERO, |total, ancestor| total.checked_add(ancestor.fee))
        .ok_or(overflow("the package fees"))?;
    let mut inputs: Vec<FundingUtxo> = parent_outputs.to_vec();
    let mut candidates = order_coins(wallet).into_iter();
    let dust = wallet_script.minimal_non_dust();
    loop {
        if !inputs.is_empty() {
            let mut child = unsigned_child(&inputs, wallet_script);
            let vbytes = child.weight().to_vbytes_ceil();
            let total_vbytes = vbytes.checked_add(package_vbytes).ok_or(overflow("the package size"))?;
            let package_fee = fee_rate.fee_vb(total_vbytes).ok_or(overflow("the package fee"))?;
            // The child pays at least its own size at the rate, whatever the parents paid.
            let own_fee = fee_rate.fee_vb(vbytes).ok_or(overflow("the child fee"))?;
            let fee = package_fee.checked_sub(package_fees).unwrap_or(Amount::ZERO).max(own_fee);
            let available = inputs
                .iter()
                .try_fold(Amount::ZERO, |total, coin| total.checked_add(coin.output.value))
                .ok_or(overflow("the child's inputs"))?;
            let needed = fee.checked_add(dust).ok_or(overflow("the child's needs"))?;
            if available >= needed {
                let value = available.checked_sub(fee).ok_or(overflow("the child's output"))?;
                if let Some(output) = child.output.first_mut() {
                    output.value = value;
                }
                sign_key_path(poster, &mut child, &inputs)?;
                return Ok(child);
            }
            match candidates.next() {
                Some(coin) if inputs.len() < MAX_FUNDING_INPUTS => inputs.push(coin),
                _ => {
                    return Err(PlanPostingError::InsufficientFunds {
                        needed,
                        available,
                        coins: inputs.len(),
                    })
                }
            }
        } else {
            match candidates.next() {
                Some(coin) => inputs.push(coin),
                None => return Err(PlanPostingError::NoFunding),
            }
        }
    }
}

/// A child spending `inputs` to one output to `script`, with stand-in signatures
/// of the final size (a BIP-340 signature with the default sighash is 64 bytes).
fn unsigned_child(inputs: &[FundingUtxo], script: &ScriptBuf) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: key_path_inputs(inputs),
        output: vec![TxOut { value: Amount::ZERO, script_pubkey: script.clone() }],
    }
}

/// Signs every input of `tx`, each a key-path spend of the poster's BIP-86 output.
fn sign_key_path(
    poster: &Keypair,
    tx: &mut Transaction,
    inputs: &[FundingUtxo],
) -> Result<(), PlanPostingError> {
    let secp = Secp256k1::new();
    let spent: Vec<TxOut> = inputs.iter().map(|coin| coin.output.clone()).collect();
    let tweaked = poster.tap_tweak(&secp, None).to_keypair();
    let mut signatures = Vec::with_capacity(tx.input.len());
    {
        let mut cache = SighashCache::new(&*tx);
        for index in 0..spent.len() {
            let sighash = cache
                .taproot_key_spend_signature_hash(index, &Prevouts::All(&spent), TapSighashType::Default)
                .map_err(|error| BuildCommitRevealError::Taproot(error.to_string()))?;
            let message = Message::from_digest(sighash.to_byte_array());
            signatures.push(secp.sign_schnorr_no_aux_rand(&message, &tweaked));
        }
    }
    for (input, signature) in tx.input.iter_mut().zip(signatures) {
        input.witness = Witness::from_slice(&[signature.as_ref().as_slice()]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::panic
    )]

    use std::collections::HashMap;

    use bitcoin::consensus::serialize;
    use bitcoin::secp256k1::SecretKey;
    use bitcoin::{OutPoint, Txid};

    use super::*;
    use crate::da::split_batch;
    use crate::script::exec::kernel_verify_inputs;

    const RATE: FeeRate = FeeRate::from_sat_per_vb_u32(2);

    fn poster() -> Keypair {
        Keypair::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[0x21; 32]).unwrap())
    }

    fn script() -> ScriptBuf {
        ScriptBuf::new_p2tr(&Secp256k1::new(), poster().x_only_public_key().0, None)
    }

    fn coin(n: u8, sats: u64) -> FundingUtxo {
        FundingUtxo {
            outpoint: OutPoint::new(Txid::from_byte_array([n; 32]), 0),
            output: TxOut { value: Amount::from_sat(sats), script_pubkey: script() },
        }
    }

    fn envelopes(len: usize) -> Vec<Envelope> {
        let blob: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        split_batch(7, 3, &blob).unwrap()
    }

    fn inputs(tx: &Transaction) -> Vec<OutPoint> {
        tx.input.iter().map(|input| input.previous_output).collect()
    }

    fn vbytes(tx: &Transaction) -> u64 {
        tx.weight().to_vbytes_ceil()
    }

    fn policy() -> FeePolicy {
        FeePolicy {
            target_blocks: 6,
            floor: FeeRate::from_sat_per_vb_u32(1),
            ceiling: FeeRate::from_sat_per_vb_u32(100),
        }
    }

    #[test]
    fn the_estimate_of_the_longest_target_within_the_configured_one_is_used_and_clamped() {
        let estimates = HashMap::from([(1, 20.5), (3, 10.01), (6, 4.0), (12, 2.0)]);
        assert_eq!(fee_rate_from_estimates(&estimates, &policy()), Ok(FeeRate::from_sat_per_kwu(1_000)));
        let within = FeePolicy { target_blocks: 5, ..policy() };
        // 10.01 sat/vB is 2,502.5 sat/kwu, rounded up.
        assert_eq!(fee_rate_from_estimates(&estimates, &within), Ok(FeeRate::from_sat_per_kwu(2_503)));
        let capped = FeePolicy { target_blocks: 1, ceiling: FeeRate::from_sat_per_vb_u32(15), ..policy() };
        assert_eq!(fee_rate_from_estimates(&estimates, &capped), Ok(FeeRate::from_sat_per_vb_u32(15)));
        let floored = FeePolicy { target_blocks: 20, floor: FeeRate::from_sat_per_vb_u32(3), ..policy() };
        assert_eq!(fee_rate_from_estimates(&estimates, &floored), Ok(FeeRate::from_sat_per_vb_u32(3)));
        let huge = HashMap::from([(6, 1e300)]);
        assert_eq!(fee_rate_from_estimates(&huge, &policy()), Ok(FeeRate::from_sat_per_vb_u32(100)));
    }

    #[test]
    fn missing_and_malformed_estimates_are_errors_that_say_so() {
        let late = HashMap::from([(144, 1.0), (12, 2.0)]);
        assert_eq!(
            fee_rate_from_estimates(&late, &policy()),
            Err(FeeEstimateError::NoEstimate { target: 6, available: vec![12, 144] })
        );
        assert_eq!(
            fee_rate_from_estimates(&late, &policy()).unwrap_err().to_string(),
            "no fee estimate for a target of 6 blocks or less (targets answered: [12, 144])"
        );
        // No estimates at all (a fresh regtest): the floor.
        assert_eq!(fee_rate_from_estimates(&HashMap::new(), &policy()), Ok(policy().floor));
        assert_eq!(
            fee_rate_from_estimates(&HashMap::from([(2, -1.0)]), &policy()),
            Err(FeeEstimateError::InvalidEstimate { target: 2, value: -1.0 })
        );
        let nan = fee_rate_from_estimates(&HashMap::from([(2, f64::NAN)]), &policy()).unwrap_err();
        assert_eq!(nan.to_string(), "fee estimate for 2 blocks is NaN, not a fee rate in sat/vB");
        assert_eq!(
            fee_rate_from_estimates(&HashMap::from([(2, f64::INFINITY)]), &policy()),
            Err(FeeEstimateError::InvalidEstimate { target: 2, value: f64::INFINITY })
        );
    }

    #[test]
    fn coins_are_taken_largest_first_until_the_posting_is_funded() {
        let wallet = [coin(1, 40_000), coin(2, 150_000), coin(3, 150_000), coin(4, 200_000)];
        let ordered: Vec<u8> =
            order_coins(&wallet).iter().map(|coin| coin.outpoint.txid.to_byte_array()[0]).collect();
        assert_eq!(ordered, [4, 2, 3, 1], "largest first, equal values by outpoint");
        // About 2,000 sats of reveal fee: the largest coin alone pays.
        let small =
            plan_posting(&poster(), &envelopes(1_000), &[], &wallet, RATE, Amount::ZERO, &script()).unwrap();
        assert_eq!(inputs(&small.commit), [wallet[3].outpoint]);
        // 390,000 + 100,000 bytes: about 245,000 sats of reveal fees, so two coins.
        let large = plan_posting(&poster(), &envelopes(490_000), &[], &wallet, RATE, Amount::ZERO, &script())
            .unwrap();
        assert_eq!(inputs(&large.commit), [wallet[3].outpoint, wallet[1].outpoint]);
        assert_eq!(large.reveals.len(), 2);
        // The change and the reveals' outputs come back to the wallet.
        assert_eq!(large.commit.output.last().unwrap().script_pubkey, script());
        assert!(large.reveals.iter().all(|reveal| reveal.output[0].script_pubkey == script()));
        let change = large.commit.output.last().unwrap().value;
        let out: Amount = large.commit.output.iter().map(|output| output.value).sum();
        assert_eq!(Amount::from_sat(350_000) - out, large.commit_fee);
        assert_eq!(large.commit_fee, RATE.fee_vb(vbytes(&large.commit)).unwrap());
        assert!(change > Amount::ZERO);
    }

    #[test]
    fn an_unfunded_posting_says_how_much_is_missing() {
        let wallet = [coin(1, 1_000), coin(2, 2_000)];
        let error = plan_posting(&poster(), &envelopes(100_000), &[], &wallet, RATE, Amount::ZERO, &script())
            .unwrap_err();
        let PlanPostingError::InsufficientFunds { needed, available, coins } = error else {
            panic!("{error:?}")
        };
        assert_eq!((available, coins), (Amount::from_sat(3_000), 2));
        // 100,000 bytes of envelope: about 25,000 vB of reveal at 2 sat/vB.
        assert!(needed > Amount::from_sat(50_000), "{needed}");
        assert_eq!(
            plan_posting(&poster(), &envelopes(10), &[], &[], RATE, Amount::ZERO, &script()),
            Err(PlanPostingError::NoFunding)
        );
    }

    #[test]
    fn the_same_batch_coins_and_rate_give_byte_identical_transactions() {
        let wallet = [coin(5, 2_000_000), coin(6, 500_000)];
        let plan = |wallet: &[FundingUtxo], rate| {
            plan_posting(&poster(), &envelopes(400_000), &[], wallet, rate, Amount::ZERO, &script()).unwrap()
        };
        let first = plan(&wallet, RATE);
        let reversed = [wallet[1].clone(), wallet[0].clone()];
        let again = plan(&reversed, RATE);
        assert_eq!(serialize(&first.commit), serialize(&again.commit));
        for (a, b) in first.reveals.iter().zip(&again.reveals) {
            assert_eq!(serialize(a), serialize(b));
        }
        let dearer = plan(&wallet, FeeRate::from_sat_per_vb_u32(3));
        assert_eq!(inputs(&dearer.commit), inputs(&first.commit));
        assert_ne!(dearer.commit.compute_txid(), first.commit.compute_txid());
    }

    #[test]
    fn a_replacement_keeps_the_inputs_and_pays_for_what_it_evicts() {
        let wallet = [coin(1, 250_000), coin(2, 200_000), coin(3, 5_000)];
        let envelopes = envelopes(300_000);
        let first = plan_posting(&poster(), &envelopes, &[], &wallet, RATE, Amount::ZERO, &script()).unwrap();
        assert_eq!(inputs(&first.commit), [wallet[0].outpoint]);
        let evicted = first.reveal_fees.iter().fold(first.commit_fee, |total, fee| total + *fee);
        let min_fee = replacement_min_fee(evicted, first.commit.weight()).unwrap();
        assert_eq!(min_fee, evicted + Amount::from_sat(vbytes(&first.commit)));
        let rate = FeeRate::from_sat_per_vb_u32(3);
        let keep = [wallet[0].clone()];
        let bumped = plan_posting(&poster(), &envelopes, &keep, &wallet, rate, min_fee, &script()).unwrap();
        // Same first input (so it conflicts), a second coin for the larger fees.
        assert_eq!(inputs(&bumped.commit), [wallet[0].outpoint, wallet[1].outpoint]);
        assert_eq!(bumped.commit_fee, min_fee);
        assert!(bumped.commit_fee > first.commit_fee + first.reveal_fees[0]);
        assert_eq!(bumped.reveal_fees[0], rate.fee_vb(vbytes(&bumped.reveals[0])).unwrap());
        assert_eq!(bumped.reveals[0].input[0].previous_output.txid, bumped.commit.compute_txid());
    }

    #[test]
    fn the_byte_budget_lets_a_posting_through_only_when_it_fits_or_goes_alone() {
        assert!(fits_budget(0, 10, 100));
        assert!(fits_budget(0, 1_000, 100), "a posting over the budget goes alone");
        assert!(fits_budget(60, 40, 100));
        assert!(!fits_budget(60, 41, 100));
        assert!(!fits_budget(1, u64::MAX, u64::MAX));
    }

    #[test]
    fn a_posting_is_bumped_after_the_configured_blocks_by_at_least_the_increment() {
        let sat_vb = FeeRate::from_sat_per_vb_u32;
        let ceiling = sat_vb(10);
        assert_eq!(decide_bump(102, 100, 3, sat_vb(2), sat_vb(2), ceiling), Bump::Wait);
        assert_eq!(decide_bump(103, 100, 3, sat_vb(2), sat_vb(2), ceiling), Bump::To(sat_vb(3)));
        assert_eq!(decide_bump(110, 100, 3, sat_vb(2), sat_vb(7), ceiling), Bump::To(sat_vb(7)));
        assert_eq!(decide_bump(110, 100, 3, sat_vb(2), sat_vb(70), ceiling), Bump::To(ceiling));
        assert_eq!(decide_bump(110, 100, 3, ceiling, sat_vb(70), ceiling), Bump::AtCeiling);
        // A tip below the broadcast height (a reorg) is not stuck.
        assert_eq!(decide_bump(98, 100, 1, sat_vb(2), sat_vb(2), ceiling), Bump::Wait);
    }

    #[test]
    fn a_child_brings_its_package_to_the_rate_and_verifies() {
        let wallet = [coin(1, 3_000_000)];
        let posting =
            plan_posting(&poster(), &envelopes(50_000), &[], &wallet, RATE, Amount::ZERO, &script()).unwrap();
        let commit_txid = posting.commit.compute_txid();
        let change_vout = posting.commit.output.len() - 1;
        let mut parents = vec![FundingUtxo {
            outpoint: OutPoint::new(commit_txid, change_vout as u32),
            output: posting.commit.output[change_vout].clone(),
        }];
        parents.push(FundingUtxo {
            outpoint: OutPoint::new(posting.reveals[0].compute_txid(), 0),
            output: posting.reveals[0].output[0].clone(),
        });
        let ancestors = [
            Ancestor { weight: posting.commit.weight(), fee: posting.commit_fee },
            Ancestor { weight: posting.reveals[0].weight(), fee: posting.reveal_fees[0] },
        ];
        let rate = FeeRate::from_sat_per_vb_u32(5);
        let child = plan_cpfp(&poster(), &parents, &[], &ancestors, rate, &script()).unwrap();
        assert_eq!(inputs(&child), parents.iter().map(|parent| parent.outpoint).collect::<Vec<_>>());
        let spent: Vec<TxOut> = parents.iter().map(|parent| parent.output.clone()).collect();
        let fee = spent.iter().map(|output| output.value).sum::<Amount>() - child.output[0].value;
        let package = vbytes(&posting.commit) + vbytes(&posting.reveals[0]) + vbytes(&child);
        assert_eq!(fee + posting.commit_fee + posting.reveal_fees[0], rate.fee_vb(package).unwrap());
        assert_eq!(kernel_verify_inputs(&child, &spent, 0..child.input.len()).unwrap(), Ok(()));
        // Same parents and rate: the same child.
        let again = plan_cpfp(&poster(), &parents, &[], &ancestors, rate, &script()).unwrap();
        assert_eq!(serialize(&again), serialize(&child));
    }

    #[test]
    fn a_child_adds_wallet_coins_when_the_parents_outputs_are_too_small() {
        let parent = FundingUtxo {
            outpoint: OutPoint::new(Txid::from_byte_array([9; 32]), 1),
            output: TxOut { value: Amount::from_sat(330), script_pubkey: script() },
        };
        let heavy = [Ancestor { weight: Weight::from_wu(400_000), fee: Amount::from_sat(100_000) }];
        let rate = FeeRate::from_sat_per_vb_u32(3);
        let wallet = [coin(1, 1_000), coin(2, 500_000)];
        let child =
            plan_cpfp(&poster(), std::slice::from_ref(&parent), &wallet, &heavy, rate, &script()).unwrap();
        assert_eq!(inputs(&child), [parent.outpoint, wallet[1].outpoint]);
        let fee = Amount::from_sat(500_330) - child.output[0].value;
        assert_eq!(fee, rate.fee_vb(100_000 + vbytes(&child)).unwrap() - Amount::from_sat(100_000));
        let error = plan_cpfp(&poster(), &[parent], &wallet[..1], &heavy, rate, &script()).unwrap_err();
        let PlanPostingError::InsufficientFunds { available, coins, .. } = error else { panic!("{error:?}") };
        assert_eq!((available, coins), (Amount::from_sat(1_330), 2));
    }
}
