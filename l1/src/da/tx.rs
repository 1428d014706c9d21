//! The commit and reveal transactions of a set of envelopes.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, Secp256k1, TapTweak};
use bitcoin::secp256k1::All;
use bitcoin::secp256k1::Message;
use bitcoin::sighash::{Prevouts, SighashCache};
use bitcoin::taproot::{LeafVersion, TapLeafHash, TaprootBuilder};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, FeeRate, OutPoint, ScriptBuf, Sequence, TapSighashType, Transaction, TxIn, TxOut, Weight,
    Witness, XOnlyPublicKey,
};

use super::envelope::{Envelope, MAX_STANDARD_TX_WEIGHT};
use crate::script::exec::UNSPENDABLE_INTERNAL_KEY;

/// The internal key of every envelope output: BIP-341's provably unspendable point
/// `H` (the x coordinate `0x50929b74...803ac0`, a point with no known discrete
/// logarithm).
///
/// With it the output has no key path: the only way to spend it is to reveal the
/// envelope, so a commit that confirms can only be followed by a reveal of exactly
/// that data (or stay unspent). A poster's key as internal key would let the poster
/// take the funds back without publishing, which the rollup has no use for, and a
/// fixed key keeps the output script a function of the envelope and the poster's
/// key alone, as idempotent reposting needs.
pub const ENVELOPE_INTERNAL_KEY: [u8; 32] = UNSPENDABLE_INTERNAL_KEY;

/// A coin funding the commit: a P2TR key-path output of the poster's key (BIP-86:
/// the key tweaked with no script tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingUtxo {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Its value and script.
    pub output: TxOut,
}

/// The commit transaction and one reveal per envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitReveal {
    /// Spends every funding coin (in the order given) to one envelope output per
    /// envelope (output `i` for envelope `i`), then change if it is not dust.
    pub commit: Transaction,
    /// The outputs the commit spends, in input order (for sighashes and
    /// verification).
    pub funding: Vec<TxOut>,
    /// Reveal `i` spends commit output `i` through envelope `i`'s leaf and pays the
    /// destination the dust limit.
    pub reveals: Vec<Transaction>,
    /// The commit's envelope outputs, `reveals[i]` spending `envelope_outputs[i]`.
    pub envelope_outputs: Vec<TxOut>,
    /// The commit's fee.
    pub commit_fee: Amount,
    /// Each reveal's fee.
    pub reveal_fees: Vec<Amount>,
}

/// Why the commit and reveal transactions cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildCommitRevealError {
    /// Nothing to post.
    #[error("no envelope to post")]
    NoEnvelopes,
    /// No coin to fund the commit.
    #[error("no funding coin")]
    NoFunding,
    /// A funding coin the poster's key cannot spend by its key path.
    #[error("funding coin {outpoint} pays script {script}, not the poster's key-path output")]
    ForeignFunding {
        /// The coin.
        outpoint: OutPoint,
        /// Its script, in hex.
        script: String,
    },
    /// The coins do not cover the envelope outputs and the fees.
    #[error("funding of {available} does not cover the {needed} that the envelope outputs and fees need")]
    InsufficientFunds {
        /// What the outputs and the commit fee need, change left out.
        needed: Amount,
        /// The funding coins' total.
        available: Amount,
    },
    /// A reveal over the standard weight (a destination script far longer than usual).
    #[error("reveal {index} weighs {weight} units, over the standard limit of {max}")]
    RevealTooHeavy {
        /// The envelope's position.
        index: usize,
        /// The reveal's weight.
        weight: u64,
        /// [`MAX_STANDARD_TX_WEIGHT`].
        max: u64,
    },
    /// An amount or fee overflowed.
    #[error("amount overflow computing {what}")]
    Overflow {
        /// Which amount.
        what: &'static str,
    },
    /// The taproot tree or a signature hash could not be computed.
    #[error("taproot: {0}")]
    Taproot(String),
}

/// A prepared envelope output: its leaf, control block and script.
pub(crate) struct EnvelopeOutput {
    /// The envelope's tapscript leaf.
    pub(crate) leaf: ScriptBuf,
    /// The control block spending through it.
    pub(crate) control: Vec<u8>,
    /// The P2TR output script committing to it (internal key [`ENVELOPE_INTERNAL_KEY`]).
    pub(crate) script_pubkey: ScriptBuf,
}

/// The poster's x-only key, once every funding coin is checked to be its BIP-86
/// key-path output (the only coins the commit can sign for).
pub(crate) fn funded_poster_key(
    secp: &Secp256k1<All>,
    poster: &Keypair,
    funding: &[FundingUtxo],
) -> Result<XOnlyPublicKey, BuildCommitRevealError> {
    if funding.is_empty() {
        return Err(BuildCommitRevealError::NoFunding);
    }
    let (poster_key, _) = poster.x_only_public_key();
    let poster_script = ScriptBuf::new_p2tr(secp, poster_key, None);
    if let Some(foreign) = funding.iter().find(|coin| coin.output.script_pubkey != poster_script) {
        return Err(BuildCommitRevealError::ForeignFunding {
            outpoint: foreign.outpoint,
            script: foreign.output.script_pubkey.to_hex_string(),
        });
    }
    Ok(poster_key)
}

/// The output that commits to `envelope` signed by `poster_key`: its only leaf is the
/// envelope, its internal key [`ENVELOPE_INTERNAL_KEY`].
pub(crate) fn envelope_output(
    secp: &Secp256k1<All>,
    envelope: &Envelope,
    poster_key: &XOnlyPublicKey,
) -> Result<EnvelopeOutput, BuildCommitRevealError> {
    let taproot = |error: String| BuildCommitRevealError::Taproot(error);
    let internal =
        XOnlyPublicKey::from_slice(&ENVELOPE_INTERNAL_KEY).map_err(|error| taproot(error.to_string()))?;
    let leaf = envelope.leaf(poster_key);
    let tree = TaprootBuilder::new()
        .add_leaf(0, leaf.clone())
        .map_err(|error| taproot(error.to_string()))?
        .finalize(secp, internal)
        .map_err(|_| taproot("incomplete tree".to_owned()))?;
    let control = tree
        .control_block(&(leaf.clone(), LeafVersion::TapScript))
        .ok_or_else(|| taproot("no control block for the envelope leaf".to_owned()))?
        .serialize();
    Ok(EnvelopeOutput {
        leaf,
        control,
        script_pubkey: ScriptBuf::new_p2tr(secp, internal, tree.merkle_root()),
    })
}

/// Unsigned inputs spending `coins` by key path, RBF-signalling, each holding a
/// 64-byte stand-in witness (a `SIGHASH_DEFAULT` BIP-340 signature's size) so that
/// the transaction weighs what it will once signed.
pub(crate) fn key_path_inputs(coins: &[FundingUtxo]) -> Vec<TxIn> {
    coins
        .iter()
        .map(|coin| TxIn {
            previous_output: coin.outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::from_slice(&[[0u8; 64].as_slice()]),
        })
        .collect()
}

/// The commit and reveal transactions posting `envelopes`, signed by `poster`.
///
/// Deterministic: the same arguments give byte-identical transactions (BIP-340
/// signatures without auxiliary randomness, inputs and outputs in the given order),
/// so a poster that reposts a batch rebuilds exactly what it posted.
///
/// Every funding coin is spent (the caller chooses them); each must be the poster's
/// key-path P2TR output. Fees are `fee_rate` times each transaction's real virtual
/// size (rounded up, as Bitcoin Core counts them). Each envelope output holds its
/// reveal's fee plus the dust limit of `destination`, which the reveal pays to
/// `destination`. The commit's change goes to `change` unless it would be dust; it is
/// then left to the fee.
pub fn build_commit_reveal(
    poster: &Keypair,
    envelopes: &[Envelope],
    funding: &[FundingUtxo],
    fee_rate: FeeRate,
    change: &ScriptBuf,
    destination: &ScriptBuf,
) -> Result<CommitReveal, BuildCommitRevealError> {
    build_commit_reveal_paying(poster, envelopes, funding, fee_rate, Amount::ZERO, change, destination)
}

/// [`build_commit_reveal`] with a commit that pays at least `min_commit_fee`.
///
/// A replacement commit (BIP-125) must pay more, in absolute fee, than everything it
/// evicts (the commit it replaces and that commit's reveals) plus the incremental
/// relay fee of its own size: more than its fee rate alone gives. The commit's fee is
/// the larger of `fee_rate` times its size and `min_commit_fee`; the reveals still pay
/// `fee_rate`.
pub fn build_commit_reveal_paying(
    poster: &Keypair,
    envelopes: &[Envelope],
    funding: &[FundingUtxo],
    fee_rate: FeeRate,
    min_commit_fee: Amount,
    change: &ScriptBuf,
    destination: &ScriptBuf,
) -> Result<CommitReveal, BuildCommitRevealError> {
    let secp = Secp256k1::new();
    let taproot = |error: String| BuildCommitRevealError::Taproot(error);
    if envelopes.is_empty() {
        return Err(BuildCommitRevealError::NoEnvelopes);
    }
    let poster_key = funded_poster_key(&secp, poster, funding)?;

    // Each reveal's weight, fee and so its envelope output's value.
    let postage = destination.minimal_non_dust();
    let mut prepared = Vec::with_capacity(envelopes.len());
    let mut envelope_outputs = Vec::with_capacity(envelopes.len());
    let mut reveal_fees = Vec::with_capacity(envelopes.len());
    for (index, envelope) in envelopes.iter().enumerate() {
        let output = envelope_output(&secp, envelope, &poster_key)?;
        // A BIP-340 signature with SIGHASH_DEFAULT is always 64 bytes: the weight of
        // this stand-in is the signed reveal's.
        let sized = reveal(&output, OutPoint::null(), [0u8; 64].as_slice(), postage, destination);
        let weight = sized.weight().to_wu();
        if weight > MAX_STANDARD_TX_WEIGHT {
            return Err(BuildCommitRevealError::RevealTooHeavy {
                index,
                weight,
                max: MAX_STANDARD_TX_WEIGHT,
            });
        }
        let fee = fee_for(fee_rate, sized.weight(), "a reveal fee")?;
        let value = fee
            .checked_add(postage)
            .ok_or(BuildCommitRevealError::Overflow { what: "an envelope output" })?;
        envelope_outputs.push(TxOut { value, script_pubkey: output.script_pubkey.clone() });
        reveal_fees.push(fee);
        prepared.push(output);
    }

    // The commit, with change if it is not dust.
    let available = sum(funding.iter().map(|coin| coin.output.value), "the funding total")?;
    let outputs_total = sum(envelope_outputs.iter().map(|output| output.value), "the envelope outputs")?;
    let change_output = TxOut { value: Amount::ZERO, script_pubkey: change.clone() };
    let mut commit = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: key_path_inputs(funding),
        output: envelope_outputs.iter().cloned().chain([change_output]).collect(),
    };
    let fee_with_change = fee_for(fee_rate, commit.weight(), "the commit fee")?.max(min_commit_fee);
    let change_dust = change.minimal_non_dust();
    let with_change = outputs_total
        .checked_add(fee_with_change)
        .and_then(|needed| needed.checked_add(change_dust))
        .ok_or(BuildCommitRevealError::Overflow { what: "the commit's needs" })?;
    let commit_fee = if available >= with_change {
        let change_value = available
            .checked_sub(outputs_total)
            .and_then(|left| left.checked_sub(fee_with_change))
            .ok_or(BuildCommitRevealError::Overflow { what: "the change" })?;
        if let Some(last) = commit.output.last_mut() {
            last.value = change_value;
        }
        fee_with_change
    } else {
        commit.output.pop();
        let fee = fee_for(fee_rate, commit.weight(), "the commit fee")?.max(min_commit_fee);
        let needed = outputs_total
            .checked_add(fee)
            .ok_or(BuildCommitRevealError::Overflow { what: "the commit's needs" })?;
        if available < needed {
            return Err(BuildCommitRevealError::InsufficientFunds { needed, available });
        }
        // The dust that would have been change goes to the fee.
        available
            .checked_sub(outputs_total)
            .ok_or(BuildCommitRevealError::Overflow { what: "the commit fee" })?
    };

    // Sign the commit's key-path inputs.
    let spent: Vec<TxOut> = funding.iter().map(|coin| coin.output.clone()).collect();
    let tweaked = poster.tap_tweak(&secp, None).to_keypair();
    let mut signatures = Vec::with_capacity(commit.input.len());
    {
        let mut cache = SighashCache::new(&commit);
        for index in 0..commit.input.len() {
            let sighash = cache
                .taproot_key_spend_signature_hash(index, &Prevouts::All(&spent), TapSighashType::Default)
                .map_err(|error| taproot(error.to_string()))?;
            let message = Message::from_digest(sighash.to_byte_array());
            signatures.push(secp.sign_schnorr_no_aux_rand(&message, &tweaked));
        }
    }
    for (input, signature) in commit.input.iter_mut().zip(signatures) {
        input.witness = Witness::from_slice(&[signature.as_ref().as_slice()]);
    }

    // Sign each reveal through its leaf.
    let commit_txid = commit.compute_txid();
    let mut reveals = Vec::with_capacity(prepared.len());
    for ((output, spent_output), vout) in prepared.iter().zip(&envelope_outputs).zip(0u32..) {
        let outpoint = OutPoint::new(commit_txid, vout);
        let unsigned = reveal(output, outpoint, &[], postage, destination);
        let leaf_hash = TapLeafHash::from_script(&output.leaf, LeafVersion::TapScript);
        let sighash = SighashCache::new(&unsigned)
            .taproot_script_spend_signature_hash(
                0,
                &Prevouts::All(std::slice::from_ref(spent_output)),
                leaf_hash,
                TapSighashType::Default,
            )
            .map_err(|error| taproot(error.to_string()))?;
        let signature = secp.sign_schnorr_no_aux_rand(&Message::from_digest(sighash.to_byte_array()), poster);
        reveals.push(reveal(output, outpoint, signature.as_ref().as_slice(), postage, destination));
    }
    Ok(CommitReveal { commit, funding: spent, reveals, envelope_outputs, commit_fee, reveal_fees })
}

/// A reveal spending `outpoint` through the envelope's leaf with `signature` (none
/// for the transaction being signed).
fn reveal(
    output: &EnvelopeOutput,
    outpoint: OutPoint,
    signature: &[u8],
    postage: Amount,
    destination: &ScriptBuf,
) -> Transaction {
    let witness = if signature.is_empty() {
        Witness::new()
    } else {
        Witness::from_slice(&[signature, output.leaf.as_bytes(), output.control.as_slice()])
    };
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness,
        }],
        output: vec![TxOut { value: postage, script_pubkey: destination.clone() }],
    }
}

/// `rate` times `weight` in virtual bytes, rounded up.
fn fee_for(rate: FeeRate, weight: Weight, what: &'static str) -> Result<Amount, BuildCommitRevealError> {
    rate.fee_vb(weight.to_vbytes_ceil()).ok_or(BuildCommitRevealError::Overflow { what })
}

fn sum(
    mut amounts: impl Iterator<Item = Amount>,
    what: &'static str,
) -> Result<Amount, BuildCommitRevealError> {
    amounts
        .try_fold(Amount::ZERO, |total, amount| total.checked_add(amount))
        .ok_or(BuildCommitRevealError::Overflow { what })
}
