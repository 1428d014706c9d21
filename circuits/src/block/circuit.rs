//! The block circuit: slots, their constraints, and the proof system over them.

use std::time::Instant;

use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::proof::ProofWithPublicInputs;
use rollup_l2::{Digest, Domain, StfParams, TREE_DEPTH, TX_ELEMENTS};

use super::witness::{BlockWitness, StepRead};
use super::{BlockStatement, STATEMENT_LEN};
use crate::ecgfp5::{verify_schnorr, SignatureTarget};
use crate::gadgets::{
    constant_digest, greater_or_equal, hash_in_domain, less_than_power_of_two, merkle_root, select_digest,
    DigestTarget, MerklePathTarget,
};
use crate::system::{ProofSystem, ProofSystemError};
use crate::{C, D, F};

/// What a block circuit is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockParameters {
    /// Transaction slots.
    pub capacity: usize,
    /// The chain's id (signed over) and fee account (credited in every slot).
    pub stf: StfParams,
}

/// Sizes of a built circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitStats {
    /// Transaction slots.
    pub capacity: usize,
    /// Gates (rows) before padding to a power of two.
    pub gates: usize,
    /// log2 of the padded number of rows.
    pub degree_bits: usize,
}

/// A block proof: the plonky2 proof with its public inputs, for one capacity.
#[derive(Clone, Debug)]
pub struct BlockProof {
    /// The capacity of the circuit that made it.
    pub capacity: usize,
    /// The proof and its public inputs.
    pub proof: ProofWithPublicInputs<F, C, D>,
}

/// First byte of an encoded [`BlockProof`].
const PROOF_VERSION: u8 = 1;

impl BlockProof {
    /// The statement the proof's public inputs carry.
    pub fn statement(&self) -> Option<BlockStatement> {
        BlockStatement::from_fields(&self.proof.public_inputs)
    }

    /// Version, capacity (u32 LE), then plonky2's proof encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![PROOF_VERSION];
        out.extend_from_slice(&u32::try_from(self.capacity).unwrap_or(u32::MAX).to_le_bytes());
        out.extend(self.proof.to_bytes());
        out
    }

    /// The capacity an encoded proof claims, to pick the circuit that decodes it.
    pub fn capacity_of(bytes: &[u8]) -> Result<usize, ProofSystemError> {
        match bytes {
            [PROOF_VERSION, a, b, c, d, ..] => Ok(u32::from_le_bytes([*a, *b, *c, *d]) as usize),
            [version, ..] if *version != PROOF_VERSION => {
                Err(ProofSystemError::Decode(format!("unknown block proof version {version}")))
            }
            _ => {
                Err(ProofSystemError::Decode(format!("{} bytes is too short for a block proof", bytes.len())))
            }
        }
    }
}

#[derive(Clone, Debug)]
struct StepTargets {
    exists: BoolTarget,
    pubkey: [Target; 5],
    balance: Target,
    nonce: Target,
    path: MerklePathTarget,
}

#[derive(Clone, Debug)]
struct SlotTargets {
    active: BoolTarget,
    elements: [Target; TX_ELEMENTS],
    signature: SignatureTarget,
    steps: [StepTargets; 3],
}

/// An account as a step sees it.
#[derive(Clone, Copy, Debug)]
struct AccountTargets {
    exists: BoolTarget,
    pubkey: [Target; 5],
    balance: Target,
    nonce: Target,
}

struct Inputs {
    number: Target,
    prev_root: DigestTarget,
    cursor_before: Target,
    l1_before: DigestTarget,
    withdrawals_before: DigestTarget,
}

/// The stage-1 circuit for one capacity, built once, proving any block that fits.
pub struct BlockCircuit {
    parameters: BlockParameters,
    data: CircuitData<F, C, D>,
    inputs: Inputs,
    slots: Vec<SlotTargets>,
    stats: CircuitStats,
}

impl std::fmt::Debug for BlockCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCircuit")
            .field("parameters", &self.parameters)
            .field("stats", &self.stats)
            .finish()
    }
}

/// The plonky2 configuration of the block circuit: the standard recursion
/// configuration (135 wires, rate 1/8, 100 bits of conjectured security), whose
/// proofs stage 2 verifies recursively.
pub fn block_circuit_config() -> CircuitConfig {
    CircuitConfig::standard_recursion_config()
}

fn bool_and(builder: &mut CircuitBuilder<F, D>, bits: &[BoolTarget]) -> BoolTarget {
    let mut acc = builder._true();
    for bit in bits {
        acc = builder.and(acc, *bit);
    }
    acc
}

fn is_nonzero(builder: &mut CircuitBuilder<F, D>, x: Target) -> BoolTarget {
    let zero = builder.zero();
    let is_zero = builder.is_equal(x, zero);
    builder.not(is_zero)
}

fn implies(builder: &mut CircuitBuilder<F, D>, a: BoolTarget, b: BoolTarget) -> BoolTarget {
    let not_a = builder.not(a);
    builder.or(not_a, b)
}

fn select_account(
    builder: &mut CircuitBuilder<F, D>,
    condition: BoolTarget,
    a: &AccountTargets,
    b: &AccountTargets,
) -> AccountTargets {
    let exists = builder.select(condition, a.exists.target, b.exists.target);
    AccountTargets {
        exists: BoolTarget::new_unsafe(exists),
        pubkey: core::array::from_fn(|i| builder.select(condition, a.pubkey[i], b.pubkey[i])),
        balance: builder.select(condition, a.balance, b.balance),
        nonce: builder.select(condition, a.nonce, b.nonce),
    }
}

/// The leaf digest of an account: Poseidon of its fields, or zero when empty.
fn leaf_of(builder: &mut CircuitBuilder<F, D>, account: &AccountTargets) -> DigestTarget {
    let mut input = account.pubkey.to_vec();
    input.push(account.balance);
    input.push(account.nonce);
    let hashed = hash_in_domain(builder, Domain::AccountLeaf, &input);
    DigestTarget { elements: hashed.elements.map(|element| builder.mul(account.exists.target, element)) }
}

impl StepTargets {
    fn new(builder: &mut CircuitBuilder<F, D>) -> Self {
        let exists = builder.add_virtual_bool_target_safe();
        let pubkey: [Target; 5] = core::array::from_fn(|_| builder.add_virtual_target());
        let balance = builder.add_virtual_target();
        let nonce = builder.add_virtual_target();
        // An empty leaf reads as all zeros.
        for value in pubkey.iter().chain([&balance, &nonce]) {
            let kept = builder.mul_sub(exists.target, *value, *value);
            builder.assert_zero(kept);
        }
        Self { exists, pubkey, balance, nonce, path: MerklePathTarget::new(builder) }
    }

    fn account(&self) -> AccountTargets {
        AccountTargets { exists: self.exists, pubkey: self.pubkey, balance: self.balance, nonce: self.nonce }
    }

    fn set(&self, witness: &mut PartialWitness<F>, read: &StepRead) -> anyhow::Result<()> {
        let account = read.account.unwrap_or_default();
        witness.set_bool_target(self.exists, read.account.is_some())?;
        for (target, value) in self.pubkey.iter().zip(account.pubkey.elements()) {
            witness.set_target(*target, value)?;
        }
        witness.set_target(self.balance, F::from_canonical_u64(account.balance))?;
        witness.set_target(self.nonce, F::from_canonical_u32(account.nonce))?;
        self.path.set(witness, &read.proof)
    }

    /// Checks the read against `root` and returns the root after writing `new`.
    fn update(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        root: &DigestTarget,
        index_bits: &[BoolTarget],
        new: &AccountTargets,
    ) -> DigestTarget {
        let old_leaf = leaf_of(builder, &self.account());
        let old_root = merkle_root(builder, &old_leaf, index_bits, &self.path);
        builder.connect_hashes(old_root, *root);
        let new_leaf = leaf_of(builder, new);
        merkle_root(builder, &new_leaf, index_bits, &self.path)
    }
}

struct Running {
    root: DigestTarget,
    tx_chain: DigestTarget,
    l1_chain: DigestTarget,
    withdrawals: DigestTarget,
    l1_count: Target,
    seen_user: BoolTarget,
    previous_active: BoolTarget,
}

fn constrain_slot(
    builder: &mut CircuitBuilder<F, D>,
    stf: &StfParams,
    slot: &SlotTargets,
    running: Running,
) -> Running {
    let el = &slot.elements;
    let one = builder.one();
    let active = slot.active;

    // Kinds: el[0] is 0 (user), 1 (deposit) or 2 (forced); el[1] is 0 (transfer) or 1 (withdraw).
    let kind_bits = builder.split_le(el[0], 2);
    let (is_deposit, is_forced) = (kind_bits[0], kind_bits[1]);
    let both = builder.mul(is_deposit.target, is_forced.target);
    builder.assert_zero(both);
    let not_user = builder.add(is_deposit.target, is_forced.target);
    let is_user = BoolTarget::new_unsafe(builder.sub(one, not_user));
    let intrinsic = BoolTarget::new_unsafe(not_user);
    let signed = builder.not(is_deposit);
    let is_withdraw = BoolTarget::new_unsafe(el[1]);
    builder.assert_bool(is_withdraw);
    for position in [1, 2, 10, 11] {
        let must_be_zero = builder.mul(is_deposit.target, el[position]);
        builder.assert_zero(must_be_zero);
    }
    let not_withdraw = builder.not(is_withdraw);
    let is_transfer = builder.and(signed, not_withdraw);
    let credits = builder.or(is_transfer, is_deposit);

    // Ranges every decodable transaction satisfies.
    let (from, to, amount, fee, nonce, script_len) = (el[2], el[3], el[9], el[10], el[11], el[12]);
    builder.range_check(amount, 56);
    builder.range_check(fee, 56);
    builder.range_check(nonce, 32);
    builder.range_check(script_len, 32);
    let max_script = builder.constant(F::from_canonical_usize(rollup_l2::MAX_L1_SCRIPT_LEN));
    let script_room = builder.sub(max_script, script_len);
    let script_room = builder.mul(is_withdraw.target, script_room);
    builder.range_check(script_room, 6);
    for element in &el[13..19] {
        builder.range_check(*element, 56);
    }
    let from_bits = builder.split_le(from, TREE_DEPTH);
    let to_bits = builder.split_le(to, TREE_DEPTH);
    let fee_index = builder.constant(F::from_canonical_u32(stf.fee_account));
    let fee_bits: Vec<BoolTarget> =
        (0..TREE_DEPTH).map(|bit| builder.constant_bool((stf.fee_account >> bit) & 1 == 1)).collect();

    // Step 1: the sender.
    let mut message_input = vec![builder.constant(F::from_noncanonical_u64(stf.chain_id))];
    message_input.extend_from_slice(&el[1..=rollup_l2::SIGNED_ELEMENTS]);
    let message = hash_in_domain(builder, Domain::TxSignature, &message_input);
    for (packed, element) in slot.signature.packed.iter().zip(&el[19..31]) {
        builder.connect(*packed, *element);
    }
    let sender = slot.steps[0].account();
    let signature_ok = verify_schnorr(builder, sender.pubkey, message.elements, &slot.signature);
    let from_nonzero = is_nonzero(builder, from);
    let next_nonce = builder.add(sender.nonce, one);
    let nonce_ok = builder.is_equal(nonce, next_nonce);
    let amount_nonzero = is_nonzero(builder, amount);
    let needed = builder.add(amount, fee);
    let balance_ok = greater_or_equal(builder, sender.balance, needed, 57);
    let script_nonempty = is_nonzero(builder, script_len);
    let script_ok = implies(builder, is_withdraw, script_nonempty);
    let to_nonzero = is_nonzero(builder, to);
    let to_ok = implies(builder, is_transfer, to_nonzero);
    let sender_ok = bool_and(
        builder,
        &[from_nonzero, sender.exists, signature_ok, nonce_ok, amount_nonzero, balance_ok, script_ok, to_ok],
    );
    let debit = builder.mul(sender_ok.target, needed);
    let sender_after = AccountTargets {
        exists: sender.exists,
        pubkey: sender.pubkey,
        balance: builder.sub(sender.balance, debit),
        nonce: builder.add(sender.nonce, sender_ok.target),
    };

    // Step 2: the receiver, as the STF sees it after the debit.
    let from_is_to = builder.is_equal(from, to);
    let receiver_read = slot.steps[1].account();
    let receiver = select_account(builder, from_is_to, &sender_after, &receiver_read);
    let key_matches: Vec<BoolTarget> =
        (0..5).map(|i| builder.is_equal(receiver.pubkey[i], el[4 + i])).collect();
    let key_matches = bool_and(builder, &key_matches);
    let key_ok = implies(builder, receiver.exists, key_matches);
    let credited = builder.add(receiver.balance, amount);
    let receiver_fits = less_than_power_of_two(builder, credited, 56);
    let receiver_ok = bool_and(builder, &[to_nonzero, key_ok, receiver_fits]);
    let receiver_after = AccountTargets {
        exists: builder._true(),
        pubkey: core::array::from_fn(|i| el[4 + i]),
        balance: credited,
        nonce: receiver.nonce,
    };
    let receiver_after = select_account(builder, receiver_ok, &receiver_after, &receiver);

    // Step 3: the fee account, after both.
    let fee_is_to = builder.is_equal(to, fee_index);
    let fee_is_to = builder.and(fee_is_to, credits);
    let fee_is_from = builder.is_equal(from, fee_index);
    let fee_is_from = builder.and(fee_is_from, signed);
    let fee_read = slot.steps[2].account();
    let fee_view = select_account(builder, fee_is_from, &sender_after, &fee_read);
    let fee_view = select_account(builder, fee_is_to, &receiver_after, &fee_view);
    let fee_nonzero = is_nonzero(builder, fee);
    let fee_credited = builder.add(fee_view.balance, fee);
    let fee_fits = less_than_power_of_two(builder, fee_credited, 56);
    let fee_payable = builder.and(fee_view.exists, fee_fits);
    let fee_ok = implies(builder, fee_nonzero, fee_payable);
    let fee_after = AccountTargets { balance: fee_credited, ..fee_view };

    // Validity: computed for every kind, asserted for user transactions.
    let receiver_needed = implies(builder, is_transfer, receiver_ok);
    let signed_valid = bool_and(builder, &[sender_ok, receiver_needed, fee_ok]);
    let valid = BoolTarget::new_unsafe(builder.select(signed, signed_valid.target, receiver_ok.target));
    let apply = builder.and(active, valid);
    let must_hold = builder.and(active, is_user);
    let broken = builder.mul_sub(must_hold.target, valid.target, must_hold.target);
    builder.assert_zero(broken);

    // Writes, each read checked against the root of the moment.
    let write_sender = builder.and(apply, signed);
    let new_sender = select_account(builder, write_sender, &sender_after, &sender);
    let root = slot.steps[0].update(builder, &running.root, &from_bits, &new_sender);
    let write_receiver = builder.and(apply, credits);
    let new_receiver = select_account(builder, write_receiver, &receiver_after, &receiver_read);
    let root = slot.steps[1].update(builder, &root, &to_bits, &new_receiver);
    let write_fee = builder.and(apply, fee_nonzero);
    let new_fee = select_account(builder, write_fee, &fee_after, &fee_read);
    let root = slot.steps[2].update(builder, &root, &fee_bits, &new_fee);
    let root = select_digest(builder, apply, &root, &running.root);

    // Chains and order. The tx commitment chains the user transactions' packed form
    // (`rollup_l2::PackedTx::elements`): kind, from, to, amount, fee, whether the
    // transfer creates its receiver and then its key, the withdrawal script.
    let not_exists = builder.not(receiver.exists);
    let creates = builder.and(is_transfer, not_exists);
    let mut packed = vec![el[1], el[2], el[3], amount, fee, creates.target];
    for element in &el[4..9] {
        packed.push(builder.mul(creates.target, *element));
    }
    packed.push(script_len);
    packed.extend_from_slice(&el[13..19]);
    debug_assert_eq!(packed.len(), rollup_l2::PACKED_TX_ELEMENTS);
    let mut chain_input = running.tx_chain.elements.to_vec();
    chain_input.extend_from_slice(&packed);
    let linked = hash_in_domain(builder, Domain::TxChain, &chain_input);
    let user_step = builder.and(active, is_user);
    let tx_chain = select_digest(builder, user_step, &linked, &running.tx_chain);
    let l1_step = builder.and(active, intrinsic);
    let mut l1_input = running.l1_chain.elements.to_vec();
    l1_input.extend_from_slice(el);
    let l1_linked = hash_in_domain(builder, Domain::L1MessageChain, &l1_input);
    let l1_chain = select_digest(builder, l1_step, &l1_linked, &running.l1_chain);
    let l1_count = builder.add(running.l1_count, l1_step.target);
    let late_message = builder.mul(l1_step.target, running.seen_user.target);
    builder.assert_zero(late_message);
    let user_seen_here = builder.and(active, is_user);
    let seen_user = builder.or(running.seen_user, user_seen_here);
    let gap = builder.mul_sub(running.previous_active.target, active.target, active.target);
    builder.assert_zero(gap);
    let withdraws = builder.and(apply, is_withdraw);
    let withdraws = builder.and(withdraws, signed);
    let mut withdrawal_input = running.withdrawals.elements.to_vec();
    withdrawal_input.extend_from_slice(&[amount, script_len]);
    withdrawal_input.extend_from_slice(&el[13..19]);
    let withdrawal_linked = hash_in_domain(builder, Domain::WithdrawalChain, &withdrawal_input);
    let withdrawals = select_digest(builder, withdraws, &withdrawal_linked, &running.withdrawals);

    Running { root, tx_chain, l1_chain, withdrawals, l1_count, seen_user, previous_active: active }
}

impl BlockCircuit {
    /// The circuit's parameters.
    pub fn parameters(&self) -> BlockParameters {
        self.parameters
    }

    /// Its sizes.
    pub fn stats(&self) -> CircuitStats {
        self.stats
    }

    /// The plonky2 circuit data (for recursion in stage 2).
    pub fn data(&self) -> &CircuitData<F, C, D> {
        &self.data
    }

    /// The circuit's digest (plonky2's, of its verifier data): how the
    /// CodeControlGroup names it.
    pub fn digest(&self) -> Digest {
        Digest::from_elements(self.data.verifier_only.circuit_digest.elements)
    }

    /// Decodes a proof of this circuit.
    pub fn decode_proof(&self, bytes: &[u8]) -> Result<BlockProof, ProofSystemError> {
        let capacity = BlockProof::capacity_of(bytes)?;
        if capacity != self.parameters.capacity {
            return Err(ProofSystemError::Decode(format!(
                "a proof of capacity {capacity} given to the circuit of capacity {}",
                self.parameters.capacity
            )));
        }
        let proof = ProofWithPublicInputs::from_bytes(bytes[5..].to_vec(), &self.data.common)
            .map_err(|error| ProofSystemError::Decode(error.to_string()))?;
        Ok(BlockProof { capacity, proof })
    }

    fn fill(&self, witness: &BlockWitness) -> anyhow::Result<PartialWitness<F>> {
        let statement = &witness.statement;
        let mut pw = PartialWitness::new();
        pw.set_target(self.inputs.number, F::from_noncanonical_u64(statement.number))?;
        set_digest(&mut pw, &self.inputs.prev_root, &statement.prev_state_root)?;
        pw.set_target(self.inputs.cursor_before, F::from_noncanonical_u64(statement.l1_cursor_before))?;
        set_digest(&mut pw, &self.inputs.l1_before, &statement.l1_chain_before)?;
        set_digest(&mut pw, &self.inputs.withdrawals_before, &statement.withdrawal_chain_before)?;
        let padding = [&witness.padding_zero, &witness.padding_zero, &witness.padding];
        for (position, targets) in self.slots.iter().enumerate() {
            match witness.slots.get(position) {
                Some(slot) => {
                    let tx = slot
                        .tx
                        .as_ref()
                        .ok_or_else(|| anyhow::anyhow!("slot {position} has no transaction"))?;
                    pw.set_bool_target(targets.active, true)?;
                    for (target, value) in targets.elements.iter().zip(tx.to_elements()) {
                        pw.set_target(*target, value)?;
                    }
                    let mut signature = [0u8; rollup_l2::SIGNATURE_LEN];
                    if let rollup_l2::L2Tx::User(signed) | rollup_l2::L2Tx::Forced(signed) = tx {
                        anyhow::ensure!(
                            signed.signature.len() == signature.len(),
                            "slot {position}: bad signature length"
                        );
                        signature.copy_from_slice(&signed.signature);
                    }
                    targets.signature.set(&mut pw, &signature)?;
                    for (step, read) in targets.steps.iter().zip(&slot.steps) {
                        step.set(&mut pw, read)?;
                    }
                }
                None => {
                    pw.set_bool_target(targets.active, false)?;
                    for target in &targets.elements[..19] {
                        pw.set_target(*target, F::ZERO)?;
                    }
                    targets.signature.set(&mut pw, &[0u8; rollup_l2::SIGNATURE_LEN])?;
                    for (step, read) in targets.steps.iter().zip(padding) {
                        step.set(&mut pw, read)?;
                    }
                }
            }
        }
        Ok(pw)
    }
}

fn set_digest(pw: &mut PartialWitness<F>, target: &DigestTarget, digest: &Digest) -> anyhow::Result<()> {
    for (target, value) in target.elements.iter().zip(digest.elements()) {
        pw.set_target(*target, value)?;
    }
    Ok(())
}

impl ProofSystem for BlockCircuit {
    type Parameters = BlockParameters;
    type Statement = BlockStatement;
    type Witness = BlockWitness;
    type Proof = BlockProof;

    fn setup(parameters: BlockParameters) -> Result<Self, ProofSystemError> {
        let started = Instant::now();
        let mut builder = CircuitBuilder::<F, D>::new(block_circuit_config());
        let inputs = Inputs {
            number: builder.add_virtual_target(),
            prev_root: builder.add_virtual_hash(),
            cursor_before: builder.add_virtual_target(),
            l1_before: builder.add_virtual_hash(),
            withdrawals_before: builder.add_virtual_hash(),
        };
        let zero_digest = constant_digest(&mut builder, &Digest::ZERO);
        let mut running = Running {
            root: inputs.prev_root,
            tx_chain: zero_digest,
            l1_chain: inputs.l1_before,
            withdrawals: inputs.withdrawals_before,
            l1_count: builder.zero(),
            seen_user: builder._false(),
            previous_active: builder._true(),
        };
        let mut slots = Vec::with_capacity(parameters.capacity);
        for _ in 0..parameters.capacity {
            let slot = SlotTargets {
                active: builder.add_virtual_bool_target_safe(),
                elements: core::array::from_fn(|_| builder.add_virtual_target()),
                signature: SignatureTarget::new(&mut builder),
                steps: core::array::from_fn(|_| StepTargets::new(&mut builder)),
            };
            running = constrain_slot(&mut builder, &parameters.stf, &slot, running);
            slots.push(slot);
        }
        let cursor_after = builder.add(inputs.cursor_before, running.l1_count);
        let mut public = vec![inputs.number];
        public.extend(inputs.prev_root.elements);
        public.extend(running.root.elements);
        public.extend(running.tx_chain.elements);
        public.push(inputs.cursor_before);
        public.push(cursor_after);
        public.extend(inputs.l1_before.elements);
        public.extend(running.l1_chain.elements);
        public.extend(inputs.withdrawals_before.elements);
        public.extend(running.withdrawals.elements);
        debug_assert_eq!(public.len(), STATEMENT_LEN);
        builder.register_public_inputs(&public);
        let gates = builder.num_gates();
        let data = builder.build::<C>();
        let stats =
            CircuitStats { capacity: parameters.capacity, gates, degree_bits: data.common.degree_bits() };
        tracing::info!(
            target: "rollup::circuits",
            capacity = parameters.capacity,
            gates,
            degree_bits = stats.degree_bits,
            seconds = started.elapsed().as_secs_f64(),
            "block circuit built"
        );
        Ok(Self { parameters, data, inputs, slots, stats })
    }

    fn prove(&self, witness: &BlockWitness) -> Result<BlockProof, ProofSystemError> {
        if witness.slots.len() > self.parameters.capacity {
            return Err(ProofSystemError::Witness(format!(
                "{} transactions do not fit a circuit of capacity {}",
                witness.slots.len(),
                self.parameters.capacity
            )));
        }
        let pw = self.fill(witness).map_err(|error| ProofSystemError::Witness(error.to_string()))?;
        let proof = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.data.prove(pw)))
            .map_err(|panic| ProofSystemError::Prove(crate::system::panic_message(&panic)))?
            .map_err(|error| ProofSystemError::Prove(error.to_string()))?;
        Ok(BlockProof { capacity: self.parameters.capacity, proof })
    }

    fn verify(&self, statement: &BlockStatement, proof: &BlockProof) -> Result<(), ProofSystemError> {
        if proof.capacity != self.parameters.capacity {
            return Err(ProofSystemError::Verify(format!(
                "a proof of capacity {} given to the circuit of capacity {}",
                proof.capacity, self.parameters.capacity
            )));
        }
        self.data.verify(proof.proof.clone()).map_err(|error| ProofSystemError::Verify(error.to_string()))?;
        let proven = proof
            .statement()
            .ok_or_else(|| ProofSystemError::Verify("wrong number of public inputs".to_string()))?;
        if let Some((field, found, expected)) = proven.first_difference(statement) {
            return Err(ProofSystemError::StatementMismatch { field, found, expected });
        }
        Ok(())
    }
}
