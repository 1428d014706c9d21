//! An embedded Bitcoin regtest chain, validated by Bitcoin Core's consensus engine.
//!
//! Every block goes through libbitcoinkernel ([`Kernel`]): the same code that
//! validates blocks in Bitcoin Core, with its chain kept on disk under the devnet's
//! data directory, so a restarted devnet continues its chain. Transactions are
//! accepted into the [`Mempool`] with Bitcoin Core 31's checks and reject reasons
//! (inputs, double spends, coinbase maturity, BIP-65/68/112/113 time locks, fees,
//! sizes) and every input script verified by the kernel's interpreter with all
//! consensus flags, taproot included. The miner assembles blocks (BIP-34 height,
//! BIP-141 witness commitment, regtest proof of work) from the mempool; a reorg
//! facility replaces the last blocks with a longer branch. With [`Policy::full_rbf`]
//! (Core 31 always), the mempool accepts replacements by fee. The [`ChainIndex`]
//! serves the queries of the Esplora API, in electrs's JSON shapes.

mod chain;
mod devnet;
mod kernel;
mod mempool;
mod miner;
mod server;
mod views;
mod wallet;

pub use chain::{script_hash, BlockMeta, ChainIndex, Coin, ConfirmedTx};
pub use devnet::{Devnet, DevnetConfig, FaucetError, MineError, OpenDevnetError, FUNDED_HEIGHT};
pub use kernel::{verify_scripts, BlockRejected, Kernel, KernelSetupError, ScriptFailure};
pub use mempool::{
    Mempool, MempoolEntry, Policy, RejectCode, TxRejected, COINBASE_MATURITY, MAX_BLOCK_WEIGHT,
    MAX_CLUSTER_COUNT, MAX_CLUSTER_VSIZE, MAX_REPLACEMENT_CANDIDATES, MAX_STANDARD_TX_WEIGHT,
};
pub use miner::{assemble, finalize, subsidy, BlockPlan, REGTEST_BITS, REGTEST_HALVING_INTERVAL};
pub use server::{serve, DevnetServer, SharedDevnet};
pub use wallet::{Wallet, WalletError, WALLET_FEE_RATE};
