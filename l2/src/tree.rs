//! The account tree: a sparse Poseidon Merkle tree of depth 32 indexed by account
//! index. Empty subtrees are implicit (their digests are precomputed); only nodes on
//! paths to non-empty leaves are stored.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::hash::{hash_pair, Digest};

/// Depth of the tree: 2^32 leaves, one per `u32` account index.
pub const TREE_DEPTH: usize = 32;

/// Digests of empty subtrees by height: `[0]` is an empty leaf (the zero digest),
/// `[h + 1] = hash_pair([h], [h])`, `[32]` the root of the empty tree.
pub fn empty_digests() -> &'static [Digest; TREE_DEPTH + 1] {
    static EMPTY: OnceLock<[Digest; TREE_DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut digests = [Digest::ZERO; TREE_DEPTH + 1];
        for height in 0..TREE_DEPTH {
            digests[height + 1] = hash_pair(&digests[height], &digests[height]);
        }
        digests
    })
}

/// Where tree nodes live. `height` 0 is the leaves; a node at height `h` has index
/// `leaf_index >> h`. Absent nodes are empty subtrees.
pub trait TreeStore {
    /// The stored digest of a node, if it is not an empty subtree.
    fn node(&self, height: u8, index: u32) -> Option<Digest>;
    /// Stores a node; an empty-subtree digest may be removed instead.
    fn set_node(&mut self, height: u8, index: u32, digest: Option<Digest>);
}

/// Nodes in a hash map, remembering which changed since the last
/// [`MemoryTreeStore::take_changes`] so that they can be persisted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryTreeStore {
    nodes: HashMap<(u8, u32), Digest>,
    changed: std::collections::HashSet<(u8, u32)>,
}

/// A changed node: its position and its digest (`None`: now an empty subtree).
pub type NodeChange = ((u8, u32), Option<Digest>);

impl MemoryTreeStore {
    /// The nodes changed since the last call, and forgets them.
    pub fn take_changes(&mut self) -> Vec<NodeChange> {
        let changed = std::mem::take(&mut self.changed);
        let mut changes: Vec<NodeChange> =
            changed.into_iter().map(|key| (key, self.nodes.get(&key).copied())).collect();
        changes.sort_unstable_by_key(|(key, _)| *key);
        changes
    }

    /// Number of stored (non-empty) nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl TreeStore for MemoryTreeStore {
    fn node(&self, height: u8, index: u32) -> Option<Digest> {
        self.nodes.get(&(height, index)).copied()
    }

    fn set_node(&mut self, height: u8, index: u32, digest: Option<Digest>) {
        self.changed.insert((height, index));
        match digest {
            Some(digest) => self.nodes.insert((height, index), digest),
            None => self.nodes.remove(&(height, index)),
        };
    }
}

/// A membership (or non-membership, for an empty leaf) proof.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MerkleProof {
    /// The leaf's index.
    pub index: u32,
    /// Sibling digests from the leaf level up (32 of them).
    pub siblings: Vec<Digest>,
}

impl MerkleProof {
    /// The root this proof yields for `leaf` at its index; `None` if it does not have
    /// exactly 32 siblings.
    pub fn root_for(&self, leaf: &Digest) -> Option<Digest> {
        if self.siblings.len() != TREE_DEPTH {
            return None;
        }
        let mut digest = *leaf;
        for (height, sibling) in self.siblings.iter().enumerate() {
            digest = if (self.index >> height) & 1 == 0 {
                hash_pair(&digest, sibling)
            } else {
                hash_pair(sibling, &digest)
            };
        }
        Some(digest)
    }

    /// Whether `leaf` is at the proof's index in the tree with `root`.
    pub fn verify(&self, leaf: &Digest, root: &Digest) -> bool {
        self.root_for(leaf).as_ref() == Some(root)
    }
}

/// The sparse Merkle tree over a [`TreeStore`].
#[derive(Clone, Debug, Default)]
pub struct AccountTree<S> {
    store: S,
}

impl<S: TreeStore> AccountTree<S> {
    /// A tree over `store` (which may already hold nodes).
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably. Changing nodes directly must keep the tree consistent.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    fn digest(&self, height: usize, index: u32) -> Digest {
        // `height` ≤ 32 always fits a u8.
        let height_u8 = u8::try_from(height).unwrap_or(u8::MAX);
        self.store.node(height_u8, index).unwrap_or(empty_digests()[height])
    }

    /// The root.
    pub fn root(&self) -> Digest {
        self.digest(TREE_DEPTH, 0)
    }

    /// The leaf digest at `index` (the zero digest if empty).
    pub fn leaf(&self, index: u32) -> Digest {
        self.digest(0, index)
    }

    /// A proof for the leaf at `index`.
    pub fn proof(&self, index: u32) -> MerkleProof {
        let siblings = (0..TREE_DEPTH)
            .map(|height| {
                let node = node_index(index, height);
                self.digest(height, node ^ 1)
            })
            .collect();
        MerkleProof { index, siblings }
    }

    /// Sets the leaf at `index` (`Digest::ZERO` empties it) and returns the new root.
    pub fn set_leaf(&mut self, index: u32, leaf: Digest) -> Digest {
        self.set_leaves(&[(index, leaf)])
    }

    /// Sets several leaves, hashing each affected inner node once, and returns the new root.
    pub fn set_leaves(&mut self, leaves: &[(u32, Digest)]) -> Digest {
        let mut dirty: Vec<u32> = Vec::with_capacity(leaves.len());
        for (index, leaf) in leaves {
            self.store.set_node(0, *index, (*leaf != Digest::ZERO).then_some(*leaf));
            dirty.push(*index);
        }
        for height in 1..=TREE_DEPTH {
            for index in dirty.iter_mut() {
                *index >>= 1;
            }
            dirty.sort_unstable();
            dirty.dedup();
            for &index in &dirty {
                let left = self.digest(height - 1, index << 1);
                let right = self.digest(height - 1, (index << 1) | 1);
                let digest = hash_pair(&left, &right);
                let empty = digest == empty_digests()[height];
                let height_u8 = u8::try_from(height).unwrap_or(u8::MAX);
                self.store.set_node(height_u8, index, (!empty).then_some(digest));
            }
        }
        self.root()
    }
}

/// Index of the node at `height` on the path of leaf `index`.
fn node_index(index: u32, height: usize) -> u32 {
    u32::try_from(u64::from(index) >> height).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::hash::{hash, Domain, F};
    use plonky2::field::types::Field;

    /// The naive model: the root computed recursively from the set of leaves.
    fn naive_root(leaves: &BTreeMap<u32, Digest>) -> Digest {
        fn subtree(leaves: &BTreeMap<u32, Digest>, height: usize, index: u64) -> Digest {
            let first = index << height;
            let last = ((index + 1) << height) - 1;
            let mut inside = leaves.range(first as u32..=last as u32);
            if inside.next().is_none() {
                return empty_digests()[height];
            }
            if height == 0 {
                return leaves[&(index as u32)];
            }
            hash_pair(&subtree(leaves, height - 1, index * 2), &subtree(leaves, height - 1, index * 2 + 1))
        }
        let nonzero: BTreeMap<u32, Digest> =
            leaves.iter().filter(|(_, d)| **d != Digest::ZERO).map(|(i, d)| (*i, *d)).collect();
        subtree(&nonzero, TREE_DEPTH, 0)
    }

    fn leaf(value: u64) -> Digest {
        hash(Domain::AccountLeaf, &[F::from_canonical_u64(value)])
    }

    #[test]
    fn the_empty_tree_has_the_precomputed_root() {
        let tree = AccountTree::new(MemoryTreeStore::default());
        assert_eq!(tree.root(), empty_digests()[TREE_DEPTH]);
        assert_ne!(tree.root(), Digest::ZERO);
        assert!(tree.proof(12345).verify(&Digest::ZERO, &tree.root()));
    }

    #[test]
    fn updates_agree_with_the_naive_model_on_random_sequences() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut tree = AccountTree::new(MemoryTreeStore::default());
        let mut model = BTreeMap::new();
        for step in 0..300 {
            // Mostly a small index range so that leaves collide, sometimes anywhere.
            let index: u32 = if rng.gen_bool(0.8) { rng.gen_range(1..40) } else { rng.gen() };
            let value = if rng.gen_bool(0.2) { Digest::ZERO } else { leaf(rng.gen()) };
            model.insert(index, value);
            let root = tree.set_leaf(index, value);
            if step % 25 == 0 || step == 299 {
                assert_eq!(root, naive_root(&model), "step {step}");
            }
            assert!(tree.proof(index).verify(&value, &root));
        }
        // Empty leaves are not stored, and neither are empty subtrees.
        let leaves_stored = model.values().filter(|d| **d != Digest::ZERO).count();
        assert!(tree.store().len() >= leaves_stored);
    }

    #[test]
    fn batched_updates_equal_one_by_one_updates() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let updates: Vec<(u32, Digest)> = (0..64).map(|_| (rng.gen_range(1..200), leaf(rng.gen()))).collect();
        let mut batched = AccountTree::new(MemoryTreeStore::default());
        let mut single = AccountTree::new(MemoryTreeStore::default());
        let root = batched.set_leaves(&updates);
        for (index, digest) in &updates {
            single.set_leaf(*index, *digest);
        }
        assert_eq!(root, single.root());
        assert_eq!(batched.store(), single.store());
    }

    #[test]
    fn emptying_every_leaf_restores_the_empty_tree() {
        let mut tree = AccountTree::new(MemoryTreeStore::default());
        for index in [1u32, 2, 77, u32::MAX] {
            tree.set_leaf(index, leaf(u64::from(index)));
        }
        for index in [1u32, 2, 77, u32::MAX] {
            tree.set_leaf(index, Digest::ZERO);
        }
        assert_eq!(tree.root(), empty_digests()[TREE_DEPTH]);
        assert!(tree.store().is_empty());
    }

    #[test]
    fn tampered_proofs_fail() {
        let mut tree = AccountTree::new(MemoryTreeStore::default());
        tree.set_leaf(5, leaf(5));
        tree.set_leaf(6, leaf(6));
        let root = tree.root();
        let proof = tree.proof(5);
        assert!(proof.verify(&leaf(5), &root));
        assert!(!proof.verify(&leaf(6), &root));
        let mut wrong_index = proof.clone();
        wrong_index.index = 4;
        assert!(!wrong_index.verify(&leaf(5), &root));
        let mut wrong_sibling = proof.clone();
        wrong_sibling.siblings[0] = leaf(7);
        assert!(!wrong_sibling.verify(&leaf(5), &root));
        let mut short = proof;
        short.siblings.pop();
        assert_eq!(short.root_for(&leaf(5)), None);
    }
}
