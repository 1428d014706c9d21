//! The circuits of the family: the leaf (one block proof), the node (two proofs of
//! the family) and the recursion step (the previous chain proof and a batch's
//! aggregation root).

use plonky2::field::types::Field;
use plonky2::hash::hash_types::{HashOut, HashOutTarget};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{
    CircuitData, CommonCircuitData, VerifierCircuitTarget, VerifierOnlyCircuitData,
};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};
use plonky2::recursion::dummy_circuit::cyclic_base_proof;
use rollup_l2::{Digest, Domain, BLOCK_NUMBER_BITS, CODE_CONTROL_DEPTH};

use super::shape::{
    bind_digest, build_padded, claimed_verifier_data, connect_if, digest_among, digest_is_zero,
    digests_equal, family_config, guarded, hash_out, register_own_verifier_data, register_payload,
    PAYLOAD_LEN,
};
use super::statements::{ChainTargets, SegmentTargets, Targets, MAX_CLASSES};
use crate::block::STATEMENT_LEN;
use crate::gadgets::{greater_or_equal, hash_in_domain, merkle_root, MerklePathTarget};
use crate::system::ProofSystemError;
use crate::{C, D, F};

fn prove_error(error: impl std::fmt::Display) -> ProofSystemError {
    ProofSystemError::Prove(error.to_string())
}

fn witness_error(error: impl std::fmt::Display) -> ProofSystemError {
    ProofSystemError::Witness(error.to_string())
}

/// Proves `pw`, turning plonky2's panics on an unsatisfiable witness into errors.
fn prove_with(
    data: &CircuitData<F, C, D>,
    pw: PartialWitness<F>,
) -> Result<ProofWithPublicInputs<F, C, D>, ProofSystemError> {
    guarded(|| data.prove(pw))?.map_err(prove_error)
}

/// Stage 2, leaf: verifies one block proof of a class and restates it as a segment
/// of one block, extending the batch transaction chain and naming the block
/// circuit by its digest.
pub(crate) struct LeafCircuit {
    pub(crate) data: CircuitData<F, C, D>,
    block_proof: ProofWithPublicInputsTarget<D>,
    block_vd: VerifierCircuitTarget,
    tx_chain_before: HashOutTarget,
    own: VerifierCircuitTarget,
}

impl LeafCircuit {
    pub(crate) fn build(
        class: usize,
        block_common: &CommonCircuitData<F, D>,
        shape: Option<&CommonCircuitData<F, D>>,
    ) -> Result<Self, ProofSystemError> {
        let mut builder = CircuitBuilder::<F, D>::new(family_config());
        let block_proof = builder.add_virtual_proof_with_pis(block_common);
        let block_vd = builder.add_virtual_verifier_data(block_common.config.fri_config.cap_height);
        builder.verify_proof::<C>(&block_proof, &block_vd, block_common);
        bind_digest(&mut builder, &block_vd, block_common.degree_bits());

        let pis = &block_proof.public_inputs;
        if pis.len() != STATEMENT_LEN {
            return Err(ProofSystemError::Witness(format!(
                "a block circuit with {} public inputs, not {STATEMENT_LEN}",
                pis.len()
            )));
        }
        let mut block = Targets(pis);
        let number = block.number();
        let prev_root = block.digest();
        let state_root = block.digest();
        let tx_commitment = block.digest();
        let (cursor_before, cursor_after) = (block.number(), block.number());
        let (l1_before, l1_after) = (block.digest(), block.digest());
        let (withdrawals_before, withdrawals_after) = (block.digest(), block.digest());
        builder.range_check(number, BLOCK_NUMBER_BITS);

        let tx_chain_before = builder.add_virtual_hash();
        let mut chain_input = tx_chain_before.elements.to_vec();
        chain_input.push(number);
        chain_input.extend(tx_commitment);
        let tx_chain_after = hash_in_domain(&mut builder, Domain::BatchTxChain, &chain_input);

        let zero = builder.zero();
        let codes =
            core::array::from_fn(|i| if i == class { block_vd.circuit_digest.elements } else { [zero; 4] });
        let segment = SegmentTargets {
            first_block: number,
            last_block: number,
            from_root: prev_root,
            to_root: state_root,
            tx_chain_before: tx_chain_before.elements,
            tx_chain_after: tx_chain_after.elements,
            l1_cursor_before: cursor_before,
            l1_cursor_after: cursor_after,
            l1_chain_before: l1_before,
            l1_chain_after: l1_after,
            withdrawal_chain_before: withdrawals_before,
            withdrawal_chain_after: withdrawals_after,
            codes,
        };
        register_payload(&mut builder, &segment.to_targets());
        let own = register_own_verifier_data(&mut builder);
        let data = build_padded(builder, shape)?;
        Ok(Self { data, block_proof, block_vd, tx_chain_before, own })
    }

    pub(crate) fn prove(
        &self,
        block_proof: &ProofWithPublicInputs<F, C, D>,
        block_vd: &VerifierOnlyCircuitData<C, D>,
        tx_chain_before: &Digest,
    ) -> Result<ProofWithPublicInputs<F, C, D>, ProofSystemError> {
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&self.block_proof, block_proof).map_err(witness_error)?;
        pw.set_verifier_data_target(&self.block_vd, block_vd).map_err(witness_error)?;
        pw.set_hash_target(self.tx_chain_before, hash_out(tx_chain_before)).map_err(witness_error)?;
        pw.set_verifier_data_target(&self.own, &self.data.verifier_only).map_err(witness_error)?;
        prove_with(&self.data, pw)
    }
}

/// One child of a node or the batch input of a recursion step: a proof of the
/// family and the verifier data of the circuit that made it, checked to be one of
/// the allowed circuits.
struct ChildTargets {
    proof: ProofWithPublicInputsTarget<D>,
    vd: VerifierCircuitTarget,
}

impl ChildTargets {
    fn verify(builder: &mut CircuitBuilder<F, D>, shape: &CommonCircuitData<F, D>) -> Self {
        let proof = builder.add_virtual_proof_with_pis(shape);
        let vd = builder.add_virtual_verifier_data(shape.config.fri_config.cap_height);
        builder.verify_proof::<C>(&proof, &vd, shape);
        bind_digest(builder, &vd, shape.degree_bits());
        Self { proof, vd }
    }

    fn set(
        &self,
        pw: &mut PartialWitness<F>,
        proof: &ProofWithPublicInputs<F, C, D>,
        vd: &VerifierOnlyCircuitData<C, D>,
    ) -> Result<(), ProofSystemError> {
        pw.set_proof_with_pis_target(&self.proof, proof).map_err(witness_error)?;
        pw.set_verifier_data_target(&self.vd, vd).map_err(witness_error)
    }

    /// Requires the child's circuit to be a leaf, or the node whose verifier data
    /// is `node` (for a node child, the verifier data it claims must be `node` too,
    /// which carries the check down the tree).
    fn require_leaf_or_node(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        leaves: &[HashOut<F>],
        node_digest: &HashOutTarget,
        node_claim: &[Target],
    ) {
        let is_leaf = digest_among(builder, &self.vd.circuit_digest, leaves);
        let is_node = digests_equal(builder, &self.vd.circuit_digest, node_digest);
        let allowed = builder.or(is_leaf, is_node);
        builder.assert_one(allowed.target);
        let (claimed_digest, claimed_cap) = claimed_verifier_data(&self.proof.public_inputs);
        let mut claimed = claimed_digest.elements.to_vec();
        claimed.extend(claimed_cap);
        connect_if(builder, is_node, &claimed, node_claim);
    }

    fn segment(&self) -> SegmentTargets {
        SegmentTargets::read(&self.proof.public_inputs[..PAYLOAD_LEN])
    }
}

fn select4(
    builder: &mut CircuitBuilder<F, D>,
    condition: BoolTarget,
    a: [Target; 4],
    b: [Target; 4],
) -> [Target; 4] {
    core::array::from_fn(|i| builder.select(condition, a[i], b[i]))
}

fn connect4(builder: &mut CircuitBuilder<F, D>, a: [Target; 4], b: [Target; 4]) {
    for (x, y) in a.into_iter().zip(b) {
        builder.connect(x, y);
    }
}

/// Stage 2, node: verifies two consecutive segments and joins them.
pub(crate) struct NodeCircuit {
    pub(crate) data: CircuitData<F, C, D>,
    children: [ChildTargets; 2],
    own: VerifierCircuitTarget,
}

impl NodeCircuit {
    pub(crate) fn build(
        shape: &CommonCircuitData<F, D>,
        leaves: &[HashOut<F>],
        pad: Option<&CommonCircuitData<F, D>>,
    ) -> Result<Self, ProofSystemError> {
        let mut builder = CircuitBuilder::<F, D>::new(family_config());
        let children = [ChildTargets::verify(&mut builder, shape), ChildTargets::verify(&mut builder, shape)];
        let own = builder.add_virtual_verifier_data(shape.config.fri_config.cap_height);
        let mut own_claim = own.circuit_digest.elements.to_vec();
        own_claim.extend(own.constants_sigmas_cap.0.iter().flat_map(|hash| hash.elements));
        for child in &children {
            child.require_leaf_or_node(&mut builder, leaves, &own.circuit_digest, &own_claim);
        }
        let (left, right) = (children[0].segment(), children[1].segment());

        // Continuity: the right run starts where the left one ends.
        let one = builder.one();
        let next = builder.add(left.last_block, one);
        builder.connect(next, right.first_block);
        connect4(&mut builder, left.to_root, right.from_root);
        connect4(&mut builder, left.tx_chain_after, right.tx_chain_before);
        builder.connect(left.l1_cursor_after, right.l1_cursor_before);
        connect4(&mut builder, left.l1_chain_after, right.l1_chain_before);
        connect4(&mut builder, left.withdrawal_chain_after, right.withdrawal_chain_before);

        // Codes: one circuit per class in a run; a class absent on one side takes
        // the other side's.
        let codes = core::array::from_fn(|class| {
            let (a, b) = (left.codes[class], right.codes[class]);
            let a_zero = digest_is_zero(&mut builder, &a);
            let b_zero = digest_is_zero(&mut builder, &b);
            let both = {
                let a_used = builder.not(a_zero);
                let b_used = builder.not(b_zero);
                builder.and(a_used, b_used)
            };
            connect_if(&mut builder, both, &a, &b);
            select4(&mut builder, a_zero, b, a)
        });
        let joined = SegmentTargets {
            first_block: left.first_block,
            last_block: right.last_block,
            from_root: left.from_root,
            to_root: right.to_root,
            tx_chain_before: left.tx_chain_before,
            tx_chain_after: right.tx_chain_after,
            l1_cursor_before: left.l1_cursor_before,
            l1_cursor_after: right.l1_cursor_after,
            l1_chain_before: left.l1_chain_before,
            l1_chain_after: right.l1_chain_after,
            withdrawal_chain_before: left.withdrawal_chain_before,
            withdrawal_chain_after: right.withdrawal_chain_after,
            codes,
        };
        register_payload(&mut builder, &joined.to_targets());
        builder.register_public_inputs(&own_claim);
        let data = build_padded(builder, pad)?;
        Ok(Self { data, children, own })
    }

    pub(crate) fn prove(
        &self,
        left: (&ProofWithPublicInputs<F, C, D>, &VerifierOnlyCircuitData<C, D>),
        right: (&ProofWithPublicInputs<F, C, D>, &VerifierOnlyCircuitData<C, D>),
    ) -> Result<ProofWithPublicInputs<F, C, D>, ProofSystemError> {
        let mut pw = PartialWitness::new();
        self.children[0].set(&mut pw, left.0, left.1)?;
        self.children[1].set(&mut pw, right.0, right.1)?;
        pw.set_verifier_data_target(&self.own, &self.data.verifier_only).map_err(witness_error)?;
        prove_with(&self.data, pw)
    }
}

/// The registry witness of one class: the entry's range, its index and path.
struct EntryTargets {
    first: Target,
    last: Target,
    index: Target,
    path: MerklePathTarget,
}

/// What the recursion step needs to check one class's circuit against the registry.
#[derive(Clone, Debug, Default)]
pub(crate) struct EntryWitness {
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) index: usize,
    pub(crate) siblings: Vec<Digest>,
}

/// Stage 3: verifies the previous chain proof (cyclically; a dummy for batch 0)
/// and a batch's aggregation root, checks that the batch continues the chain and
/// that its block circuits are in the CodeControlGroup.
pub(crate) struct RecursionCircuit {
    pub(crate) data: CircuitData<F, C, D>,
    previous: ProofWithPublicInputsTarget<D>,
    has_previous: BoolTarget,
    batch: ChildTargets,
    genesis_root: HashOutTarget,
    code_control_root: HashOutTarget,
    entries: Vec<EntryTargets>,
    own: VerifierCircuitTarget,
}

impl RecursionCircuit {
    pub(crate) fn build(
        shape: &CommonCircuitData<F, D>,
        classes: usize,
        leaves: &[HashOut<F>],
        node: &VerifierOnlyCircuitData<C, D>,
        pad: Option<&CommonCircuitData<F, D>>,
    ) -> Result<Self, ProofSystemError> {
        let mut builder = CircuitBuilder::<F, D>::new(family_config());
        let previous = builder.add_virtual_proof_with_pis(shape);
        let has_previous = builder.add_virtual_bool_target_safe();
        let batch = ChildTargets::verify(&mut builder, shape);
        let node_digest = builder.constant_hash(node.circuit_digest);
        let mut node_claim = node_digest.elements.to_vec();
        for hash in &node.constants_sigmas_cap.0 {
            node_claim.extend(builder.constant_hash(*hash).elements);
        }
        batch.require_leaf_or_node(&mut builder, leaves, &node_digest, &node_claim);
        let segment = batch.segment();
        let prior = ChainTargets::read(&previous.public_inputs[..PAYLOAD_LEN]);

        // Genesis and registry: chosen at batch 0 (and checked by the verifier
        // against its own), carried unchanged afterwards.
        let genesis_root = builder.add_virtual_hash();
        let code_control_root = builder.add_virtual_hash();
        let genesis = select4(&mut builder, has_previous, prior.genesis_root, genesis_root.elements);
        let registry =
            select4(&mut builder, has_previous, prior.code_control_root, code_control_root.elements);

        // The batch continues the chain: from genesis at batch 0, else from the
        // previous batch's end.
        let zero = builder.zero();
        let one = builder.one();
        let zeros = [zero; 4];
        let next_number = builder.add(prior.batch_number, one);
        let batch_number = builder.select(has_previous, next_number, zero);
        let next_block = builder.add(prior.last_block, one);
        let first_block = builder.select(has_previous, next_block, one);
        builder.connect(segment.first_block, first_block);
        let from_root = select4(&mut builder, has_previous, prior.to_root, genesis);
        connect4(&mut builder, segment.from_root, from_root);
        let cursor = builder.select(has_previous, prior.l1_cursor_after, zero);
        builder.connect(segment.l1_cursor_before, cursor);
        let l1_chain = select4(&mut builder, has_previous, prior.l1_chain_after, zeros);
        connect4(&mut builder, segment.l1_chain_before, l1_chain);
        let withdrawals = select4(&mut builder, has_previous, prior.withdrawal_chain_after, zeros);
        connect4(&mut builder, segment.withdrawal_chain_before, withdrawals);
        connect4(&mut builder, segment.tx_chain_before, zeros);

        // Every block circuit the batch used is registered for its blocks.
        let mut entries = Vec::with_capacity(classes);
        for (class, code) in segment.codes.iter().enumerate() {
            let unused = digest_is_zero(&mut builder, code);
            if class >= classes {
                // No leaf of this class exists; its code is always zero.
                builder.assert_one(unused.target);
                continue;
            }
            let used = builder.not(unused);
            let entry = EntryTargets {
                first: builder.add_virtual_target(),
                last: builder.add_virtual_target(),
                index: builder.add_virtual_target(),
                path: MerklePathTarget::with_depth(&mut builder, CODE_CONTROL_DEPTH),
            };
            builder.range_check(entry.first, BLOCK_NUMBER_BITS);
            builder.range_check(entry.last, BLOCK_NUMBER_BITS);
            let mut leaf_input = code.to_vec();
            leaf_input.push(builder.constant(F::from_canonical_usize(class)));
            leaf_input.extend([entry.first, entry.last]);
            let leaf = hash_in_domain(&mut builder, Domain::CodeControlEntry, &leaf_input);
            let index_bits = builder.split_le(entry.index, CODE_CONTROL_DEPTH);
            let root = merkle_root(&mut builder, &leaf, &index_bits, &entry.path);
            connect_if(&mut builder, used, &root.elements, &registry);
            let starts_before =
                greater_or_equal(&mut builder, segment.first_block, entry.first, BLOCK_NUMBER_BITS);
            let ends_after =
                greater_or_equal(&mut builder, entry.last, segment.last_block, BLOCK_NUMBER_BITS);
            let covers = builder.and(starts_before, ends_after);
            connect_if(&mut builder, used, &[covers.target], &[one]);
            entries.push(entry);
        }

        let statement = ChainTargets {
            genesis_root: genesis,
            code_control_root: registry,
            batch_number,
            first_block: segment.first_block,
            last_block: segment.last_block,
            from_root: segment.from_root,
            to_root: segment.to_root,
            tx_chain: segment.tx_chain_after,
            l1_cursor_before: segment.l1_cursor_before,
            l1_cursor_after: segment.l1_cursor_after,
            l1_chain_before: segment.l1_chain_before,
            l1_chain_after: segment.l1_chain_after,
            withdrawal_chain_before: segment.withdrawal_chain_before,
            withdrawal_chain_after: segment.withdrawal_chain_after,
        };
        register_payload(&mut builder, &statement.to_targets(zero));
        let own = builder.add_verifier_data_public_inputs();
        builder
            .conditionally_verify_cyclic_proof_or_dummy::<C>(has_previous, &previous, shape)
            .map_err(prove_error)?;
        let data = build_padded(builder, pad)?;
        Ok(Self { data, previous, has_previous, batch, genesis_root, code_control_root, entries, own })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn prove(
        &self,
        previous: Option<&ProofWithPublicInputs<F, C, D>>,
        batch: (&ProofWithPublicInputs<F, C, D>, &VerifierOnlyCircuitData<C, D>),
        genesis_root: &Digest,
        code_control_root: &Digest,
        entries: &[EntryWitness],
    ) -> Result<ProofWithPublicInputs<F, C, D>, ProofSystemError> {
        let mut pw = PartialWitness::new();
        match previous {
            Some(proof) => {
                pw.set_bool_target(self.has_previous, true).map_err(witness_error)?;
                pw.set_proof_with_pis_target(&self.previous, proof).map_err(witness_error)?;
            }
            None => {
                let base = guarded(|| {
                    cyclic_base_proof(&self.data.common, &self.data.verifier_only, hashbrown::HashMap::new())
                })?;
                pw.set_bool_target(self.has_previous, false).map_err(witness_error)?;
                pw.set_proof_with_pis_target(&self.previous, &base).map_err(witness_error)?;
            }
        }
        self.batch.set(&mut pw, batch.0, batch.1)?;
        pw.set_hash_target(self.genesis_root, hash_out(genesis_root)).map_err(witness_error)?;
        pw.set_hash_target(self.code_control_root, hash_out(code_control_root)).map_err(witness_error)?;
        if entries.len() != self.entries.len() {
            return Err(ProofSystemError::Witness(format!(
                "{} registry entries for {} classes",
                entries.len(),
                self.entries.len()
            )));
        }
        for (targets, entry) in self.entries.iter().zip(entries) {
            pw.set_target(targets.first, F::from_noncanonical_u64(entry.first)).map_err(witness_error)?;
            pw.set_target(targets.last, F::from_noncanonical_u64(entry.last)).map_err(witness_error)?;
            pw.set_target(targets.index, F::from_canonical_usize(entry.index)).map_err(witness_error)?;
            let siblings = if entry.siblings.is_empty() {
                vec![Digest::ZERO; CODE_CONTROL_DEPTH]
            } else {
                entry.siblings.clone()
            };
            targets.path.set_siblings(&mut pw, &siblings).map_err(witness_error)?;
        }
        pw.set_verifier_data_target(&self.own, &self.data.verifier_only).map_err(witness_error)?;
        prove_with(&self.data, pw)
    }
}

/// Ensures `MAX_CLASSES` leaves always fit the statement.
const _: () = assert!(MAX_CLASSES >= 1);
