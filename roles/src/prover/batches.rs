//! Stages 2 and 3 in the prover: the circuits it builds for its genesis, and the
//! shape of a batch's aggregation tree.

use std::sync::atomic::{AtomicBool, Ordering};

use rollup_circuits::batch::BatchCircuits;
use rollup_circuits::block::{BlockCircuit, BlockParameters};
use rollup_circuits::ProofSystem;
use rollup_l2::{
    AccountTree, CodeControlGroup, Digest, Genesis, MemoryAccounts, MemoryTreeStore, State, LAST_BLOCK_NUMBER,
};

/// Every circuit the prover uses, built once when its worker starts.
pub(super) struct Circuits {
    /// One block circuit per genesis capacity, in class order.
    pub(super) blocks: Vec<BlockCircuit>,
    /// The aggregation and recursion circuits over them.
    pub(super) family: BatchCircuits,
    /// The CodeControlGroup the chain proofs are checked against.
    pub(super) registry: CodeControlGroup,
    /// The genesis state root.
    pub(super) genesis_root: Digest,
}

impl Circuits {
    /// Builds the circuits for `genesis`. With a registry in genesis, every block
    /// circuit must be listed in it (for some range); without one (a development
    /// chain) the registry allows this binary's block circuits for every block.
    /// `None` when `stop` was raised between two circuits.
    pub(super) fn build(genesis: &Genesis, stop: &AtomicBool) -> Result<Option<Self>, String> {
        let mut blocks = Vec::with_capacity(genesis.block_capacities.len());
        for capacity in &genesis.block_capacities {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let started = std::time::Instant::now();
            let capacity = *capacity as usize;
            let circuit = BlockCircuit::setup(BlockParameters { capacity, stf: genesis.params() })
                .map_err(|error| format!("the block circuit of capacity {capacity}: {error}"))?;
            tracing::info!(
                target: "rollup::prover",
                capacity,
                seconds = started.elapsed().as_secs_f64(),
                "block circuit built"
            );
            blocks.push(circuit);
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        tracing::info!(
            target: "rollup::prover",
            classes = blocks.len(),
            "building the aggregation and recursion circuits (tens of seconds)"
        );
        let family = BatchCircuits::build(&blocks.iter().collect::<Vec<_>>())
            .map_err(|error| format!("the aggregation circuits: {error}"))?;
        let digests = family.digests();
        let registry = match &genesis.code_control {
            Some(registry) => {
                for (class, (capacity, digest)) in digests.blocks.iter().enumerate() {
                    let class = u32::try_from(class).unwrap_or(u32::MAX);
                    if !registry.entries().iter().any(|entry| entry.class == class && entry.digest == *digest)
                    {
                        return Err(format!(
                            "the block circuit of capacity {capacity} (class {class}) has digest {digest}, which \
                             the genesis code control group does not list: this binary cannot prove this chain \
                             (`rollup circuits registry --check` shows the difference)"
                        ));
                    }
                }
                registry.clone()
            }
            None => family.registry(1, LAST_BLOCK_NUMBER).map_err(|error| error.to_string())?,
        };
        tracing::info!(
            target: "rollup::prover",
            code_control_root = %registry.root(),
            node = %digests.node,
            recursion = %digests.recursion,
            degree_bits = digests.degree_bits,
            "aggregation and recursion circuits ready"
        );
        let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
        genesis.initialize(&mut state);
        Ok(Some(Self { blocks, family, registry, genesis_root: state.root() }))
    }

    /// The block circuit of `capacity`.
    pub(super) fn block(&self, capacity: usize) -> Result<&BlockCircuit, String> {
        self.blocks
            .iter()
            .find(|circuit| circuit.parameters().capacity == capacity)
            .ok_or_else(|| format!("no block circuit of capacity {capacity} in this genesis"))
    }
}

/// A position in a batch's aggregation tree: level 0 holds the leaves.
pub(super) type Position = (usize, usize);

/// The shape of the aggregation tree over `leaves` leaves, as
/// `BatchCircuits::aggregate` builds it: neighbours pair up level by level, and an
/// odd proof at the end of a level moves up unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TreePlan {
    counts: Vec<usize>,
}

impl TreePlan {
    pub(super) fn new(leaves: usize) -> Self {
        let mut counts = vec![leaves.max(1)];
        while let Some(&last) = counts.last().filter(|count| **count > 1) {
            counts.push(last.div_ceil(2));
        }
        Self { counts }
    }

    /// Whether `(level, index)` is proven by its own node (not moved up from below).
    fn is_node(&self, (level, index): Position) -> bool {
        level > 0 && 2 * index + 1 < self.counts[level - 1]
    }

    /// The position whose proof stands at `position`.
    pub(super) fn resolve(&self, (mut level, mut index): Position) -> Position {
        while level > 0 && !self.is_node((level, index)) {
            level -= 1;
            index *= 2;
        }
        (level, index)
    }

    /// Every proof to make, in an order where children come first.
    pub(super) fn jobs(&self) -> Vec<Position> {
        let mut jobs: Vec<Position> = (0..self.counts[0]).map(|index| (0, index)).collect();
        for level in 1..self.counts.len() {
            jobs.extend((0..self.counts[level]).map(|index| (level, index)).filter(|at| self.is_node(*at)));
        }
        jobs
    }

    /// The children of a node.
    pub(super) fn children(&self, (level, index): Position) -> [Position; 2] {
        [self.resolve((level - 1, 2 * index)), self.resolve((level - 1, 2 * index + 1))]
    }

    /// The root.
    pub(super) fn root(&self) -> Position {
        self.resolve((self.counts.len() - 1, 0))
    }
}

/// The `segment_proofs` key of a position in batch `batch`'s tree.
pub(super) fn segment_key(batch: u64, (level, index): Position) -> u64 {
    (batch << 20) | ((level as u64 & 0xf) << 16) | (index as u64 & 0xffff)
}

/// The keys of batch `batch`'s whole tree.
pub(super) fn batch_keys(batch: u64) -> std::ops::Range<u64> {
    (batch << 20)..((batch + 1) << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_pair_neighbours_and_move_odd_ends_up() {
        let plan = TreePlan::new(1);
        assert_eq!((plan.jobs(), plan.root()), (vec![(0, 0)], (0, 0)));
        let plan = TreePlan::new(2);
        assert_eq!((plan.jobs(), plan.root()), (vec![(0, 0), (0, 1), (1, 0)], (1, 0)));
        // 5 leaves: (0,4) moves up twice and meets the node over the first four.
        let plan = TreePlan::new(5);
        assert_eq!(plan.jobs(), vec![(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1), (2, 0), (3, 0)]);
        assert_eq!(plan.children((3, 0)), [(2, 0), (0, 4)]);
        assert_eq!(plan.children((2, 0)), [(1, 0), (1, 1)]);
        assert_eq!(plan.root(), (3, 0));
        // A batch of n blocks makes n leaves and n - 1 nodes.
        for leaves in 1..=64 {
            assert_eq!(TreePlan::new(leaves).jobs().len(), 2 * leaves - 1);
        }
        assert_eq!(segment_key(2, (1, 3)), (2 << 20) | (1 << 16) | 3);
        assert!(batch_keys(2).contains(&segment_key(2, (12, 4095))));
    }
}
