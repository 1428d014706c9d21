//! Poseidon in a domain, as `rollup_l2::hash`: the tag and the input length in the
//! capacity, the input absorbed eight elements at a time in overwrite mode.

use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::hash::poseidon::{PoseidonHash, PoseidonPermutation, SPONGE_RATE};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::config::AlgebraicHasher;
use rollup_l2::{Digest, Domain};

use crate::{D, F};

/// A digest in a circuit: four targets.
pub type DigestTarget = HashOutTarget;

/// The digest of `input` in `domain`, as [`rollup_l2::hash`] computes it: one
/// Poseidon row per eight input elements (one for an empty input).
pub fn hash_in_domain(builder: &mut CircuitBuilder<F, D>, domain: Domain, input: &[Target]) -> DigestTarget {
    let zero = builder.zero();
    let tag = builder.constant(F::from_canonical_u64(domain as u64));
    let length = builder.constant(F::from_canonical_usize(input.len()));
    let mut state = PoseidonPermutation::new(core::iter::repeat(zero));
    state.set_elt(tag, SPONGE_RATE);
    state.set_elt(length, SPONGE_RATE + 1);
    if input.is_empty() {
        state = builder.permute::<PoseidonHash>(state);
    }
    for chunk in input.chunks(SPONGE_RATE) {
        state.set_from_slice(chunk, 0);
        state = builder.permute::<PoseidonHash>(state);
    }
    let out = state.squeeze();
    HashOutTarget { elements: [out[0], out[1], out[2], out[3]] }
}

/// One inner node of the account tree from `child` and its `sibling`: the child is
/// the right one when `child_is_right` (one Poseidon row, the swap is in the gate).
pub(crate) fn hash_node(
    builder: &mut CircuitBuilder<F, D>,
    child: &DigestTarget,
    sibling: &DigestTarget,
    child_is_right: BoolTarget,
) -> DigestTarget {
    let zero = builder.zero();
    let tag = builder.constant(F::from_canonical_u64(Domain::TreeNode as u64));
    let length = builder.constant(F::from_canonical_usize(8));
    let mut state = PoseidonPermutation::new(core::iter::repeat(zero));
    state.set_from_slice(&child.elements, 0);
    state.set_from_slice(&sibling.elements, 4);
    state.set_elt(tag, SPONGE_RATE);
    state.set_elt(length, SPONGE_RATE + 1);
    let out = PoseidonHash::permute_swapped(state, child_is_right, builder);
    let out = out.squeeze();
    HashOutTarget { elements: [out[0], out[1], out[2], out[3]] }
}

/// A digest as circuit constants.
pub fn constant_digest(builder: &mut CircuitBuilder<F, D>, digest: &Digest) -> DigestTarget {
    HashOutTarget { elements: digest.elements().map(|element| builder.constant(element)) }
}

/// A digest from four targets.
pub fn digest_target(elements: [Target; 4]) -> DigestTarget {
    HashOutTarget { elements }
}

/// `if condition { a } else { b }`, element-wise.
pub fn select_digest(
    builder: &mut CircuitBuilder<F, D>,
    condition: BoolTarget,
    a: &DigestTarget,
    b: &DigestTarget,
) -> DigestTarget {
    HashOutTarget {
        elements: core::array::from_fn(|i| builder.select(condition, a.elements[i], b.elements[i])),
    }
}

#[cfg(test)]
mod tests {
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::C;

    /// Native and circuit hashing agree on random inputs of every length from 0 to
    /// 20 and on every domain; a changed output is refused.
    #[test]
    fn domain_hash_matches_native() -> anyhow::Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let mut cases = Vec::new();
        for len in 0..=20usize {
            let domain = [Domain::TxChain, Domain::AccountLeaf, Domain::WithdrawalChain][len % 3];
            let input = builder.add_virtual_targets(len);
            let out = hash_in_domain(&mut builder, domain, &input);
            builder.register_public_inputs(&out.elements);
            cases.push((domain, input));
        }
        let data = builder.build::<C>();
        let mut witness = PartialWitness::new();
        let mut expected = Vec::new();
        for (domain, targets) in &cases {
            let values: Vec<F> =
                targets.iter().map(|_| F::from_canonical_u64(rng.gen::<u64>() >> 1)).collect();
            for (target, value) in targets.iter().zip(&values) {
                witness.set_target(*target, *value)?;
            }
            expected.extend(rollup_l2::hash(*domain, &values).elements());
        }
        let proof = data.prove(witness)?;
        assert_eq!(proof.public_inputs, expected);
        data.verify(proof.clone())?;
        let mut tampered = proof;
        tampered.public_inputs[0] += F::ONE;
        assert!(data.verify(tampered).is_err());
        Ok(())
    }
}
