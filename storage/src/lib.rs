//! The node database.
//!
//! Each node keeps one redb file, `<data_dir>/node.redb` ([`Store`]). Domain crates
//! declare their tables as types implementing [`Table`] (a name plus key and value
//! types with a [`Codec`]) and read and write them inside transactions:
//! [`Store::read`] sees a consistent snapshot, [`Store::write`] commits all of its
//! changes durably or none of them. A crash at any point, `kill -9` included, leaves a
//! database that opens (redb repairs it) and holds exactly the committed
//! transactions. The database records its schema version and chain id, and refuses
//! to open for another chain or from a newer schema.
//!
//! ```
//! use rollup_storage::{Store, Table};
//!
//! struct Heights;
//! impl Table for Heights {
//!     const NAME: &'static str = "heights";
//!     type Key = u64;
//!     type Value = [u8; 32];
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), 1)?;
//! store.write(|tx| tx.put::<Heights>(&7, &[1; 32]))?;
//! assert_eq!(store.read(|tx| tx.get::<Heights>(&7))?, Some([1; 32]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
mod store;

pub use codec::{Codec, DecodeError};
pub use store::{
    Entry, OpenStoreError, ReadTx, StorageError, Store, Table, WriteTx, DATABASE_FILE, SCHEMA_VERSION,
};
