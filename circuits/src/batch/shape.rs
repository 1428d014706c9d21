//! The uniform shape of the stage-2 and stage-3 circuits, and the plumbing every
//! circuit of the family shares: public-input layout, verifier data and padding.
//!
//! plonky2 verifies a proof in-circuit against a fixed `CommonCircuitData`: gates,
//! degree, number of public inputs. A node of the aggregation tree must accept a
//! leaf or another node as either child, and the recursion circuit must accept its
//! own previous proof and any root of the tree. So every circuit of the family
//! (leaves, node, recursion) is padded to one common shape: the union of their gate
//! sets, the largest degree, and [`PUBLIC_INPUTS`] public inputs laid out as
//! [`PAYLOAD_LEN`] payload elements (a statement, zero-padded) followed by the
//! circuit's own verifier data (circuit digest, then the constants-and-sigmas cap),
//! as plonky2's cyclic recursion expects it.

use plonky2::field::types::Field;
use plonky2::gates::noop::NoopGate;
use plonky2::hash::hash_types::{HashOut, HashOutTarget};
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{
    CircuitConfig, CircuitData, CommonCircuitData, VerifierCircuitTarget, VerifierOnlyCircuitData,
};
use plonky2::plonk::config::Hasher;
use rollup_l2::Digest;

use crate::system::ProofSystemError;
use crate::{C, D, F};

/// Payload elements of every proof of the family (a statement, zero-padded).
pub(crate) const PAYLOAD_LEN: usize = 48;
/// Elements of a verifier-data suffix: the circuit digest and a cap of 16 digests.
pub(crate) const VERIFIER_DATA_LEN: usize = 4 + 4 * 16;
/// Public inputs of every proof of the family.
pub(crate) const PUBLIC_INPUTS: usize = PAYLOAD_LEN + VERIFIER_DATA_LEN;

/// The configuration of every circuit of the family (as the block circuits').
pub fn family_config() -> CircuitConfig {
    CircuitConfig::standard_recursion_config()
}

/// A digest's field elements as plonky2 sees them.
pub(crate) fn hash_out(digest: &Digest) -> HashOut<F> {
    HashOut { elements: digest.elements() }
}

/// A plonky2 digest as ours.
pub(crate) fn digest_of(hash: &HashOut<F>) -> Digest {
    Digest::from_elements(hash.elements)
}

/// Registers `payload` (zero-padded to [`PAYLOAD_LEN`]) as the first public inputs.
pub(crate) fn register_payload(builder: &mut CircuitBuilder<F, D>, payload: &[Target]) {
    debug_assert!(payload.len() <= PAYLOAD_LEN);
    builder.register_public_inputs(payload);
    let zero = builder.zero();
    for _ in payload.len()..PAYLOAD_LEN {
        builder.register_public_input(zero);
    }
}

/// Allocates the circuit's own verifier data and registers it after the payload
/// (digest, then cap: the layout of `add_verifier_data_public_inputs`). The prover
/// sets it to the circuit's real verifier data; whoever verifies the proof checks it.
pub(crate) fn register_own_verifier_data(builder: &mut CircuitBuilder<F, D>) -> VerifierCircuitTarget {
    let own = builder.add_virtual_verifier_data(family_config().fri_config.cap_height);
    builder.register_public_inputs(&own.circuit_digest.elements);
    for hash in &own.constants_sigmas_cap.0 {
        builder.register_public_inputs(&hash.elements);
    }
    own
}

/// The verifier data a proof of the family claims as its own (its last public inputs).
pub(crate) fn claimed_verifier_data(public_inputs: &[Target]) -> (HashOutTarget, Vec<Target>) {
    let digest = HashOutTarget { elements: core::array::from_fn(|i| public_inputs[PAYLOAD_LEN + i]) };
    (digest, public_inputs[PAYLOAD_LEN + 4..PUBLIC_INPUTS].to_vec())
}

/// Constrains `vd.circuit_digest` to be plonky2's digest of `vd`'s cap for a circuit
/// of `degree_bits` (`hash(cap ‖ hash_pad([]) ‖ degree_bits)`, the formula of
/// `CircuitBuilder::build` with no domain separator). The recursive verifier only
/// observes the digest in its transcript; this binds it to the cap that the FRI
/// checks use, so that a digest names exactly one circuit.
pub(crate) fn bind_digest(
    builder: &mut CircuitBuilder<F, D>,
    vd: &VerifierCircuitTarget,
    degree_bits: usize,
) {
    let mut input: Vec<Target> = vd.constants_sigmas_cap.0.iter().flat_map(|hash| hash.elements).collect();
    let separator = <PoseidonHash as Hasher<F>>::hash_pad(&[]);
    for element in separator.elements {
        input.push(builder.constant(element));
    }
    input.push(builder.constant(F::from_canonical_usize(degree_bits)));
    let computed = builder.hash_n_to_hash_no_pad::<PoseidonHash>(input);
    builder.connect_hashes(computed, vd.circuit_digest);
}

/// Whether two digests are equal.
pub(crate) fn digests_equal(
    builder: &mut CircuitBuilder<F, D>,
    a: &HashOutTarget,
    b: &HashOutTarget,
) -> BoolTarget {
    let mut all = builder._true();
    for (x, y) in a.elements.iter().zip(&b.elements) {
        let equal = builder.is_equal(*x, *y);
        all = builder.and(all, equal);
    }
    all
}

/// Whether a digest is all zeros.
pub(crate) fn digest_is_zero(builder: &mut CircuitBuilder<F, D>, digest: &[Target; 4]) -> BoolTarget {
    let zero = builder.zero();
    let mut all = builder._true();
    for element in digest {
        let is_zero = builder.is_equal(*element, zero);
        all = builder.and(all, is_zero);
    }
    all
}

/// Whether `digest` is one of `constants`.
pub(crate) fn digest_among(
    builder: &mut CircuitBuilder<F, D>,
    digest: &HashOutTarget,
    constants: &[HashOut<F>],
) -> BoolTarget {
    let mut any = builder._false();
    for constant in constants {
        let constant = builder.constant_hash(*constant);
        let equal = digests_equal(builder, digest, &constant);
        any = builder.or(any, equal);
    }
    any
}

/// Asserts `a == b` element-wise when `condition` holds.
pub(crate) fn connect_if(
    builder: &mut CircuitBuilder<F, D>,
    condition: BoolTarget,
    a: &[Target],
    b: &[Target],
) {
    debug_assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let difference = builder.sub(*x, *y);
        let gated = builder.mul(condition.target, difference);
        builder.assert_zero(gated);
    }
}

/// Pads `builder` to `shape` (its gates, its degree) and builds. The caller checks
/// that the result has the shape; before the shape is known (`None`) the circuit is
/// built as it is, to learn its size.
pub(crate) fn build_padded(
    mut builder: CircuitBuilder<F, D>,
    shape: Option<&CommonCircuitData<F, D>>,
) -> Result<CircuitData<F, C, D>, ProofSystemError> {
    if let Some(shape) = shape {
        for gate in &shape.gates {
            builder.add_gate_to_gate_set(gate.clone());
        }
        let rows = (1usize << (shape.degree_bits() - 1)) + 1;
        while builder.num_gates() < rows {
            builder.add_gate(NoopGate, vec![]);
        }
    }
    // A circuit that verifies itself (the recursion step) is built against its
    // expected shape; until the shape settles the two differ and plonky2 reports it
    // as a failure, which the caller's shape comparison handles.
    guarded(move || builder.try_build_with_options::<C>(true).0)
}

/// The smallest shape that covers `commons`: every gate of any of them, the largest
/// degree, [`PUBLIC_INPUTS`] public inputs. It is built as plonky2's
/// `dummy_circuit` builds a circuit for a shape, so that the dummy circuit of the
/// cyclic base case has exactly this shape too.
pub(crate) fn cover(
    commons: &[&CommonCircuitData<F, D>],
) -> Result<CommonCircuitData<F, D>, ProofSystemError> {
    let degree_bits = commons.iter().map(|common| common.degree_bits()).max().unwrap_or(12);
    let mut builder = CircuitBuilder::<F, D>::new(family_config());
    let rows = (1usize << degree_bits) - PUBLIC_INPUTS.div_ceil(8) - 2;
    for _ in 0..rows {
        builder.add_gate(NoopGate, vec![]);
    }
    for common in commons {
        for gate in &common.gates {
            builder.add_gate_to_gate_set(gate.clone());
        }
    }
    for _ in 0..PUBLIC_INPUTS {
        builder.add_virtual_public_input();
    }
    Ok(guarded(move || builder.build::<C>())?.common)
}

/// Runs a plonky2 build step, turning its panics (it asserts rather than returns
/// errors) into [`ProofSystemError::Prove`].
pub(crate) fn guarded<T>(step: impl FnOnce() -> T) -> Result<T, ProofSystemError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
        .map_err(|panic| ProofSystemError::Prove(crate::system::panic_message(&panic)))
}

/// A circuit's verifier data as the digest the family names it by.
pub(crate) fn circuit_digest(verifier: &VerifierOnlyCircuitData<C, D>) -> Digest {
    digest_of(&verifier.circuit_digest)
}
