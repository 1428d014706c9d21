//! Merkle paths: of the depth-32 account tree (`rollup_l2::AccountTree`) and of
//! smaller trees over the same node hash (the CodeControlGroup).

use plonky2::iop::target::BoolTarget;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use rollup_l2::{Digest, MerkleProof, TREE_DEPTH};

use super::hash::{hash_node, DigestTarget};
use crate::{D, F};

/// The sibling digests of a leaf, from the leaf level up.
#[derive(Clone, Debug)]
pub struct MerklePathTarget {
    /// The siblings.
    pub siblings: Vec<DigestTarget>,
}

impl MerklePathTarget {
    /// Allocates the 32 siblings of an account-tree path.
    pub fn new(builder: &mut CircuitBuilder<F, D>) -> Self {
        Self::with_depth(builder, TREE_DEPTH)
    }

    /// Allocates the siblings of a path in a tree of `depth` levels.
    pub fn with_depth(builder: &mut CircuitBuilder<F, D>, depth: usize) -> Self {
        Self { siblings: builder.add_virtual_hashes(depth) }
    }

    /// Sets the siblings, which must be as many as the path has.
    pub fn set_siblings(&self, witness: &mut PartialWitness<F>, siblings: &[Digest]) -> anyhow::Result<()> {
        anyhow::ensure!(
            siblings.len() == self.siblings.len(),
            "a merkle proof has {} siblings, not {}",
            siblings.len(),
            self.siblings.len()
        );
        for (target, sibling) in self.siblings.iter().zip(siblings) {
            witness.set_hash_target(
                *target,
                plonky2::hash::hash_types::HashOut { elements: sibling.elements() },
            )?;
        }
        Ok(())
    }

    /// Sets the siblings from a native proof (which must have 32 of them).
    pub fn set(&self, witness: &mut PartialWitness<F>, proof: &MerkleProof) -> anyhow::Result<()> {
        anyhow::ensure!(
            proof.siblings.len() == TREE_DEPTH,
            "a merkle proof has {} siblings, not {TREE_DEPTH}",
            proof.siblings.len()
        );
        for (target, sibling) in self.siblings.iter().zip(&proof.siblings) {
            witness.set_hash_target(
                *target,
                plonky2::hash::hash_types::HashOut { elements: sibling.elements() },
            )?;
        }
        Ok(())
    }
}

/// The root a leaf yields at the index whose little-endian bits are `index_bits`
/// (one per level): one Poseidon row per level.
pub fn merkle_root(
    builder: &mut CircuitBuilder<F, D>,
    leaf: &DigestTarget,
    index_bits: &[BoolTarget],
    path: &MerklePathTarget,
) -> DigestTarget {
    let mut digest = *leaf;
    for (bit, sibling) in index_bits.iter().zip(&path.siblings) {
        digest = hash_node(builder, &digest, sibling, *bit);
    }
    digest
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Field;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rollup_l2::{hash, AccountTree, Digest, Domain, MemoryTreeStore};

    use super::*;
    use crate::C;

    /// Paths of random leaves in a random tree yield the native root; a wrong
    /// sibling, leaf or index yields another root.
    #[test]
    fn paths_match_the_native_tree() -> anyhow::Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut tree = AccountTree::new(MemoryTreeStore::default());
        let mut indices = Vec::new();
        for _ in 0..12 {
            let index: u32 = rng.gen();
            let leaf = hash(Domain::AccountLeaf, &[F::from_canonical_u32(index)]);
            tree.set_leaf(index, leaf);
            indices.push((index, leaf));
        }
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let leaf = builder.add_virtual_hash();
        let index = builder.add_virtual_target();
        let bits = builder.split_le(index, TREE_DEPTH);
        let path = MerklePathTarget::new(&mut builder);
        let root = merkle_root(&mut builder, &leaf, &bits, &path);
        builder.register_public_inputs(&root.elements);
        let data = builder.build::<C>();
        for (index_value, leaf_value) in indices.iter().take(4) {
            let index_value = *index_value;
            let proof = tree.proof(index_value);
            let mut witness = PartialWitness::new();
            witness.set_hash_target(
                leaf,
                plonky2::hash::hash_types::HashOut { elements: leaf_value.elements() },
            )?;
            witness.set_target(index, F::from_canonical_u32(index_value))?;
            path.set(&mut witness, &proof)?;
            let proof_out = data.prove(witness)?;
            assert_eq!(proof_out.public_inputs, tree.root().elements().to_vec());
            data.verify(proof_out)?;
            // A wrong sibling gives another root.
            let mut wrong = proof.clone();
            wrong.siblings[5] = Digest([1, 2, 3, 4]);
            let mut witness = PartialWitness::new();
            witness.set_hash_target(
                leaf,
                plonky2::hash::hash_types::HashOut { elements: leaf_value.elements() },
            )?;
            witness.set_target(index, F::from_canonical_u32(index_value))?;
            path.set(&mut witness, &wrong)?;
            let out = data.prove(witness)?;
            assert_eq!(
                out.public_inputs,
                wrong.root_for(leaf_value).map(|d| d.elements().to_vec()).unwrap_or_default()
            );
            assert_ne!(out.public_inputs, tree.root().elements().to_vec());
            // Another index gives another root.
            let mut witness = PartialWitness::new();
            witness.set_hash_target(
                leaf,
                plonky2::hash::hash_types::HashOut { elements: leaf_value.elements() },
            )?;
            witness.set_target(index, F::from_canonical_u32(index_value ^ 1))?;
            path.set(&mut witness, &proof)?;
            assert_ne!(data.prove(witness)?.public_inputs, tree.root().elements().to_vec());
        }
        Ok(())
    }
}
