//! Stages 2 and 3 (docs/protocol.md sections 4 and 6): block proofs become one
//! constant-size proof of the chain's whole history.
//!
//! **Stage 2, aggregation.** A *leaf* verifies one block proof (of any block
//! circuit of its class, whose verifier data is a witness) and restates it as a
//! [`SegmentStatement`] of one block: state roots, L1 cursor and chains, withdrawal
//! chain, the batch transaction chain extended with the block's tx commitment, and
//! the block circuit's digest in its class's slot. A *node* verifies two segments
//! and joins them: the right one must start where the left one ends (block number,
//! state root, every chain), and a class's circuit must be the same on both sides.
//! The tree over a batch's leaves is built level by level, pairing neighbours; an
//! odd proof at the end of a level moves up unchanged (no padding proofs). The
//! root's statement covers the whole batch and lists the block circuits used.
//!
//! **Stage 3, recursion.** The recursion circuit verifies its own previous proof
//! (plonky2 cyclic recursion; for batch 0 a dummy proof, and the batch must start
//! at block 1 from the genesis state with empty chains) and the batch's root; it
//! checks the batch continues the chain (batch number + 1, first block = previous
//! last + 1, from root = previous to root, L1 cursor, chains) and that every block
//! circuit digest the root lists is registered in the CodeControlGroup
//! (`rollup_l2::CodeControlGroup`) for the batch's block range. Its
//! [`ChainStatement`] carries the genesis root and the registry root unchanged from
//! batch 0; a verifier checks both against its own.
//!
//! **Which circuits may appear.** Leaves, node and recursion circuit share one
//! padded shape (`shape`). Each verifies its inputs with verifier data given as a
//! witness, binds the witness digest to the cap the verification uses, and
//! requires it to be a known circuit: a node's children and the recursion's batch
//! root must be a leaf (digests fixed when the node is built) or the node itself
//! (its own verifier data, a public input that the recursion circuit fixes to the
//! node's). The block circuits are the only ones left open, and the registry
//! closes them.
//!
//! **Data availability.** The DA proof is verified here once it exists (the DA
//! issue). Until then [`ChainStatement::da_commitment`] is `None` in every proof: the
//! circuit fixes its flag and value to zero.

mod circuits;
mod shape;
mod statements;

use plonky2::plonk::circuit_data::{
    CircuitData, CommonCircuitData, VerifierCircuitData, VerifierOnlyCircuitData,
};
use plonky2::plonk::proof::ProofWithPublicInputs;
use plonky2::recursion::cyclic_recursion::check_cyclic_proof_verifier_data;
use plonky2::util::serialization::DefaultGateSerializer;
use rollup_l2::{CodeControlGroup, CodeEntry, Digest};

use self::circuits::{EntryWitness, LeafCircuit, NodeCircuit, RecursionCircuit};
pub use self::shape::family_config;
use self::shape::{circuit_digest, cover, PAYLOAD_LEN, PUBLIC_INPUTS};
pub use self::statements::{ChainStatement, SegmentStatement, CHAIN_LEN, MAX_CLASSES, SEGMENT_LEN};
use crate::block::{BlockCircuit, BlockProof};
use crate::system::ProofSystemError;
use crate::{C, D, F};

/// Which circuit of the family made a segment proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SegmentKind {
    /// The leaf of a block-circuit class.
    Leaf(usize),
    /// The node.
    Node,
}

/// A stage-2 proof: a leaf or a node of a batch's aggregation tree.
#[derive(Clone, Debug)]
pub struct SegmentProof {
    /// The circuit that made it.
    pub kind: SegmentKind,
    /// The proof and its public inputs.
    pub proof: ProofWithPublicInputs<F, C, D>,
}

/// A stage-3 proof: the chain from genesis through one batch.
#[derive(Clone, Debug)]
pub struct ChainProof {
    /// The proof and its public inputs.
    pub proof: ProofWithPublicInputs<F, C, D>,
}

/// First byte of an encoded stage-2 or stage-3 proof.
const PROOF_VERSION: u8 = 1;
const KIND_NODE: u8 = 0xff;

impl SegmentProof {
    /// What it establishes.
    pub fn statement(&self) -> Option<SegmentStatement> {
        SegmentStatement::from_fields(
            &self.proof.public_inputs[..PAYLOAD_LEN.min(self.proof.public_inputs.len())],
        )
    }

    /// Version, kind (a leaf's class, or 0xff for the node), plonky2's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let kind = match self.kind {
            SegmentKind::Leaf(class) => u8::try_from(class).unwrap_or(KIND_NODE),
            SegmentKind::Node => KIND_NODE,
        };
        let mut out = vec![PROOF_VERSION, kind];
        out.extend(self.proof.to_bytes());
        out
    }
}

impl ChainProof {
    /// What it establishes.
    pub fn statement(&self) -> Option<ChainStatement> {
        ChainStatement::from_fields(
            &self.proof.public_inputs[..PAYLOAD_LEN.min(self.proof.public_inputs.len())],
        )
    }

    /// Version, then plonky2's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![PROOF_VERSION];
        out.extend(self.proof.to_bytes());
        out
    }
}

/// The circuits' digests, to print and to register.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FamilyDigests {
    /// Per class: the block circuit's capacity and digest.
    pub blocks: Vec<(usize, Digest)>,
    /// Per class: the leaf's digest.
    pub leaves: Vec<Digest>,
    /// The node's digest.
    pub node: Digest,
    /// The recursion circuit's digest.
    pub recursion: Digest,
    /// log2 of the rows of every circuit of the family.
    pub degree_bits: usize,
}

/// One block circuit class: its shape and the verifier data of the circuit built
/// for it here.
struct Class {
    capacity: usize,
    common: CommonCircuitData<F, D>,
    block: VerifierOnlyCircuitData<C, D>,
}

/// Every stage-2 and stage-3 circuit for a set of block circuits (one per class),
/// built to one shape.
pub struct BatchCircuits {
    classes: Vec<Class>,
    leaves: Vec<LeafCircuit>,
    node: NodeCircuit,
    recursion: RecursionCircuit,
}

impl std::fmt::Debug for BatchCircuits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchCircuits").field("digests", &self.digests()).finish()
    }
}

/// How many times the family is rebuilt, at most, before its shape settles.
const SHAPE_ROUNDS: usize = 4;

impl BatchCircuits {
    /// Builds the family for `blocks`, one block circuit per class, in class order
    /// (classes are the positions in this list). Each round builds every circuit
    /// padded to the current shape and takes the shape that covers them all; it
    /// stops when every circuit has exactly that shape (two rounds in practice).
    pub fn build(blocks: &[&BlockCircuit]) -> Result<Self, ProofSystemError> {
        if blocks.is_empty() || blocks.len() > MAX_CLASSES {
            return Err(ProofSystemError::Witness(format!(
                "{} block circuit classes, the family takes 1 to {MAX_CLASSES}",
                blocks.len()
            )));
        }
        let classes: Vec<Class> = blocks
            .iter()
            .map(|circuit| Class {
                capacity: circuit.parameters().capacity,
                common: circuit.data().common.clone(),
                block: circuit.data().verifier_only.clone(),
            })
            .collect();
        let started = std::time::Instant::now();
        let mut shape: Option<CommonCircuitData<F, D>> = None;
        for round in 0..SHAPE_ROUNDS {
            let leaves = classes
                .iter()
                .enumerate()
                .map(|(class, c)| LeafCircuit::build(class, &c.common, shape.as_ref()))
                .collect::<Result<Vec<_>, _>>()?;
            let target = match &shape {
                Some(shape) => shape.clone(),
                None => cover(&leaves.iter().map(|leaf| &leaf.data.common).collect::<Vec<_>>())?,
            };
            let leaf_digests: Vec<_> =
                leaves.iter().map(|leaf| leaf.data.verifier_only.circuit_digest).collect();
            let node = NodeCircuit::build(&target, &leaf_digests, Some(&target))?;
            let recursion = RecursionCircuit::build(
                &target,
                classes.len(),
                &leaf_digests,
                &node.data.verifier_only,
                Some(&target),
            )?;
            let mut commons: Vec<&CommonCircuitData<F, D>> =
                leaves.iter().map(|leaf| &leaf.data.common).collect();
            commons.push(&node.data.common);
            commons.push(&recursion.data.common);
            if commons.iter().all(|common| **common == target) {
                tracing::info!(
                    target: "rollup::circuits",
                    classes = classes.len(),
                    degree_bits = target.degree_bits(),
                    rounds = round + 1,
                    seconds = started.elapsed().as_secs_f64(),
                    "aggregation and recursion circuits built"
                );
                return Ok(Self { classes, leaves, node, recursion });
            }
            shape = Some(cover(&commons)?);
        }
        Err(ProofSystemError::Prove(format!("the circuit shape did not settle in {SHAPE_ROUNDS} rounds")))
    }

    /// The digests of every circuit.
    pub fn digests(&self) -> FamilyDigests {
        FamilyDigests {
            blocks: self.classes.iter().map(|class| (class.capacity, circuit_digest(&class.block))).collect(),
            leaves: self.leaves.iter().map(|leaf| circuit_digest(&leaf.data.verifier_only)).collect(),
            node: circuit_digest(&self.node.data.verifier_only),
            recursion: circuit_digest(&self.recursion.data.verifier_only),
            degree_bits: self.recursion.data.common.degree_bits(),
        }
    }

    /// The registry that allows this family's block circuits for blocks
    /// `first_block..=last_block`.
    pub fn registry(&self, first_block: u64, last_block: u64) -> Result<CodeControlGroup, ProofSystemError> {
        let entries = self
            .classes
            .iter()
            .enumerate()
            .map(|(class, c)| CodeEntry {
                class: u32::try_from(class).unwrap_or(u32::MAX),
                digest: circuit_digest(&c.block),
                first_block,
                last_block,
            })
            .collect();
        CodeControlGroup::new(entries).map_err(|error| ProofSystemError::Witness(error.to_string()))
    }

    /// The class of a block circuit: the class with its shape.
    pub fn class_of(&self, block: &BlockCircuit) -> Option<usize> {
        self.classes.iter().position(|class| class.common == block.data().common)
    }

    fn verifier_of(&self, kind: SegmentKind) -> Result<&CircuitData<F, C, D>, ProofSystemError> {
        match kind {
            SegmentKind::Leaf(class) => self
                .leaves
                .get(class)
                .map(|leaf| &leaf.data)
                .ok_or_else(|| ProofSystemError::Witness(format!("no leaf of class {class}"))),
            SegmentKind::Node => Ok(&self.node.data),
        }
    }

    /// Stage 2, leaf: restates `proof` (made by `block`, a circuit of one of the
    /// classes) as a one-block segment whose batch transaction chain starts at
    /// `tx_chain_before`.
    pub fn prove_leaf(
        &self,
        block: &BlockCircuit,
        proof: &BlockProof,
        tx_chain_before: &Digest,
    ) -> Result<SegmentProof, ProofSystemError> {
        let class = self.class_of(block).ok_or_else(|| {
            ProofSystemError::Witness(format!(
                "no leaf for a block circuit of capacity {} with this shape",
                block.parameters().capacity
            ))
        })?;
        let proof = self.leaves[class].prove(&proof.proof, &block.data().verifier_only, tx_chain_before)?;
        Ok(SegmentProof { kind: SegmentKind::Leaf(class), proof })
    }

    /// Stage 2, node: joins two consecutive segments.
    pub fn prove_node(
        &self,
        left: &SegmentProof,
        right: &SegmentProof,
    ) -> Result<SegmentProof, ProofSystemError> {
        let left_data = self.verifier_of(left.kind)?;
        let right_data = self.verifier_of(right.kind)?;
        let proof = self
            .node
            .prove((&left.proof, &left_data.verifier_only), (&right.proof, &right_data.verifier_only))?;
        Ok(SegmentProof { kind: SegmentKind::Node, proof })
    }

    /// Stage 2: the whole tree over a batch's leaves (in block order), level by
    /// level; `progress` sees each node as it is made (level, index, proof).
    pub fn aggregate(
        &self,
        leaves: Vec<SegmentProof>,
        mut progress: impl FnMut(usize, usize, &SegmentProof),
    ) -> Result<SegmentProof, ProofSystemError> {
        let mut level = leaves;
        let mut height = 0;
        while level.len() > 1 {
            height += 1;
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut pairs = level.chunks_exact(2);
            for (index, pair) in pairs.by_ref().enumerate() {
                let joined = self.prove_node(&pair[0], &pair[1])?;
                progress(height, index, &joined);
                next.push(joined);
            }
            next.extend(pairs.remainder().iter().cloned());
            level = next;
        }
        level.pop().ok_or_else(|| ProofSystemError::Witness("a batch of no blocks".to_owned()))
    }

    /// Stage 3: the chain proof of the batch whose aggregation root is `batch`,
    /// after `previous` (`None` for batch 0, which starts from `genesis_root`).
    /// Every block circuit the batch used must be in `registry` for the batch's
    /// blocks; the proof's registry root is `registry`'s at batch 0 and the
    /// previous proof's afterwards (the circuit refuses any other).
    pub fn prove_recursion(
        &self,
        previous: Option<&ChainProof>,
        batch: &SegmentProof,
        genesis_root: &Digest,
        registry: &CodeControlGroup,
    ) -> Result<ChainProof, ProofSystemError> {
        let segment = batch
            .statement()
            .ok_or_else(|| ProofSystemError::Witness("a batch proof without a statement".to_owned()))?;
        let mut entries = Vec::with_capacity(self.classes.len());
        for (class, code) in segment.codes.iter().enumerate().take(self.classes.len()) {
            if *code == Digest::ZERO {
                entries.push(EntryWitness::default());
                continue;
            }
            let class_id = u32::try_from(class).unwrap_or(u32::MAX);
            let index = registry.find(class_id, code, segment.first_block, segment.last_block).ok_or_else(|| {
                ProofSystemError::Witness(format!(
                    "block circuit {code} (class {class}) is not in the code control group for blocks {}..={}",
                    segment.first_block, segment.last_block
                ))
            })?;
            let entry = registry.entries()[index];
            entries.push(EntryWitness {
                first: entry.first_block,
                last: entry.last_block,
                index,
                siblings: registry.proof(index).unwrap_or_default(),
            });
        }
        let batch_data = self.verifier_of(batch.kind)?;
        let proof = self.recursion.prove(
            previous.map(|previous| &previous.proof),
            (&batch.proof, &batch_data.verifier_only),
            genesis_root,
            &registry.root(),
            &entries,
        )?;
        Ok(ChainProof { proof })
    }

    /// Checks a segment proof and that it establishes `statement`.
    pub fn verify_segment(
        &self,
        statement: &SegmentStatement,
        proof: &SegmentProof,
    ) -> Result<(), ProofSystemError> {
        let data = self.verifier_of(proof.kind)?;
        data.verify(proof.proof.clone()).map_err(|error| ProofSystemError::Verify(error.to_string()))?;
        let proven = proof.statement().ok_or_else(|| ProofSystemError::Verify("no statement".to_owned()))?;
        if proven != *statement {
            return Err(ProofSystemError::StatementMismatch {
                field: "segment",
                found: format!("{proven:?}"),
                expected: format!("{statement:?}"),
            });
        }
        Ok(())
    }

    /// Checks a chain proof: the proof, that it was made by this recursion circuit
    /// all the way down, and that it establishes exactly `statement`.
    pub fn verify_chain(
        &self,
        statement: &ChainStatement,
        proof: &ChainProof,
    ) -> Result<(), ProofSystemError> {
        verify_chain(&self.recursion.data.common, &self.recursion.data.verifier_only, statement, proof)
    }

    /// What checks this family's chain proofs, on its own (for stage 4).
    pub fn chain_verifier(&self) -> ChainVerifier {
        ChainVerifier { data: self.recursion.data.verifier_data() }
    }

    /// Decodes a segment proof.
    pub fn decode_segment(&self, bytes: &[u8]) -> Result<SegmentProof, ProofSystemError> {
        let (kind, body) = match bytes {
            [PROOF_VERSION, KIND_NODE, body @ ..] => (SegmentKind::Node, body),
            [PROOF_VERSION, class, body @ ..] if usize::from(*class) < self.leaves.len() => {
                (SegmentKind::Leaf(usize::from(*class)), body)
            }
            [PROOF_VERSION, class, ..] => {
                return Err(ProofSystemError::Decode(format!("a segment proof of unknown class {class}")))
            }
            [version, ..] => {
                return Err(ProofSystemError::Decode(format!("unknown proof version {version}")))
            }
            [] => return Err(ProofSystemError::Decode("an empty proof".to_owned())),
        };
        let proof = ProofWithPublicInputs::from_bytes(body.to_vec(), &self.node.data.common)
            .map_err(|error| ProofSystemError::Decode(error.to_string()))?;
        check_public_inputs(&proof)?;
        Ok(SegmentProof { kind, proof })
    }

    /// Decodes a chain proof.
    pub fn decode_chain(&self, bytes: &[u8]) -> Result<ChainProof, ProofSystemError> {
        decode_chain(&self.recursion.data.common, bytes)
    }
}

/// Checks a chain proof against the recursion circuit's verifier data.
fn verify_chain(
    common: &CommonCircuitData<F, D>,
    verifier_only: &VerifierOnlyCircuitData<C, D>,
    statement: &ChainStatement,
    proof: &ChainProof,
) -> Result<(), ProofSystemError> {
    let data = VerifierCircuitData { verifier_only: verifier_only.clone(), common: common.clone() };
    data.verify(proof.proof.clone()).map_err(|error| ProofSystemError::Verify(error.to_string()))?;
    check_cyclic_proof_verifier_data(&proof.proof, verifier_only, common)
        .map_err(|error| ProofSystemError::Verify(format!("made by another recursion circuit: {error}")))?;
    let proven = proof.statement().ok_or_else(|| ProofSystemError::Verify("no statement".to_owned()))?;
    if let Some((field, found, expected)) = proven.first_difference(statement) {
        return Err(ProofSystemError::StatementMismatch { field, found, expected });
    }
    Ok(())
}

/// Decodes a chain proof of the recursion circuit whose common data is `common`.
fn decode_chain(common: &CommonCircuitData<F, D>, bytes: &[u8]) -> Result<ChainProof, ProofSystemError> {
    let body = match bytes {
        [PROOF_VERSION, body @ ..] => body,
        [version, ..] => return Err(ProofSystemError::Decode(format!("unknown proof version {version}"))),
        [] => return Err(ProofSystemError::Decode("an empty proof".to_owned())),
    };
    let proof = ProofWithPublicInputs::from_bytes(body.to_vec(), common)
        .map_err(|error| ProofSystemError::Decode(error.to_string()))?;
    check_public_inputs(&proof)?;
    Ok(ChainProof { proof })
}

/// First bytes of an encoded [`ChainVerifier`]: a tag and a version.
const CHAIN_VERIFIER_MAGIC: &[u8; 8] = b"RLCHAIN\x01";

/// What checks the chain proofs of one circuit family: the recursion circuit's
/// verifier data (its common data and its constants-and-sigmas cap), without the
/// family's provers.
///
/// Stage 4 needs only this, and it costs nothing to keep, while building the family
/// takes a minute: the prover role builds the family once, writes this beside the
/// chain proofs it hands to `rollup prove-batch` ([`ChainVerifier::to_bytes`]), and
/// the stage-4 process reads it back instead of building every circuit again.
#[derive(Debug)]
pub struct ChainVerifier {
    data: VerifierCircuitData<F, C, D>,
}

impl ChainVerifier {
    /// The recursion circuit's plonky2 verifier data (what the wrapper verifies).
    pub fn data(&self) -> &VerifierCircuitData<F, C, D> {
        &self.data
    }

    /// The recursion circuit's digest, as in [`FamilyDigests::recursion`].
    pub fn digest(&self) -> Digest {
        circuit_digest(&self.data.verifier_only)
    }

    /// Checks a chain proof, as [`BatchCircuits::verify_chain`] does.
    pub fn verify_chain(
        &self,
        statement: &ChainStatement,
        proof: &ChainProof,
    ) -> Result<(), ProofSystemError> {
        verify_chain(&self.data.common, &self.data.verifier_only, statement, proof)
    }

    /// Decodes a chain proof, as [`BatchCircuits::decode_chain`] does.
    pub fn decode_chain(&self, bytes: &[u8]) -> Result<ChainProof, ProofSystemError> {
        decode_chain(&self.data.common, bytes)
    }

    /// `RLCHAIN` and version 1, then plonky2's encoding of the verifier data (its
    /// gates by plonky2's default gate serializer). The same binary reads it back;
    /// it is a hand-over format, not a protocol one.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProofSystemError> {
        let body = self.data.to_bytes(&DefaultGateSerializer).map_err(|error| {
            ProofSystemError::Decode(format!("cannot encode the chain verifier: {error:?}"))
        })?;
        Ok([CHAIN_VERIFIER_MAGIC.as_slice(), &body].concat())
    }

    /// Reads what [`ChainVerifier::to_bytes`] wrote; anything else is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofSystemError> {
        let body = bytes.strip_prefix(CHAIN_VERIFIER_MAGIC.as_slice()).ok_or_else(|| {
            ProofSystemError::Decode("not a chain verifier (no RLCHAIN version 1 header)".to_owned())
        })?;
        let data = VerifierCircuitData::from_bytes(body.to_vec(), &DefaultGateSerializer)
            .map_err(|error| ProofSystemError::Decode(format!("a malformed chain verifier: {error:?}")))?;
        if data.common.num_public_inputs != PUBLIC_INPUTS {
            return Err(ProofSystemError::Decode(format!(
                "a chain verifier for {} public inputs, not {PUBLIC_INPUTS}",
                data.common.num_public_inputs
            )));
        }
        Ok(Self { data })
    }
}

fn check_public_inputs(proof: &ProofWithPublicInputs<F, C, D>) -> Result<(), ProofSystemError> {
    if proof.public_inputs.len() != PUBLIC_INPUTS {
        return Err(ProofSystemError::Decode(format!(
            "{} public inputs, not {PUBLIC_INPUTS}",
            proof.public_inputs.len()
        )));
    }
    Ok(())
}
