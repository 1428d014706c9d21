//! The node database and its transactions.

use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::codec::{Codec, DecodeError};

/// File name of the node database inside the data directory.
pub const DATABASE_FILE: &str = "node.redb";

/// Layout version of the database; a node refuses a database from a newer layout.
pub const SCHEMA_VERSION: u32 = 1;

/// A typed table: its name and the types of its keys and values.
///
/// Each domain crate declares its own tables as unit structs implementing this trait.
pub trait Table {
    /// The table's name in the database file; unique across the node.
    const NAME: &'static str;
    /// Key type; its encoding's byte order is the table's iteration order.
    type Key: Codec;
    /// Value type.
    type Value: Codec;
}

/// A key and its value, decoded.
pub type Entry<T> = (<T as Table>::Key, <T as Table>::Value);

type RawTable = TableDefinition<'static, &'static [u8], &'static [u8]>;
type RawReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

fn raw<T: Table>() -> RawTable {
    TableDefinition::new(T::NAME)
}

/// Node-wide facts about the database itself.
struct Meta;

impl Table for Meta {
    const NAME: &'static str = "meta";
    type Key = String;
    type Value = Vec<u8>;
}

const META_SCHEMA_VERSION: &str = "schema_version";
const META_CHAIN_ID: &str = "chain_id";

/// A failed read or write.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database engine failed (I/O, corruption, ...).
    #[error("database error: {0}")]
    Database(#[from] redb::Error),
    /// A stored entry does not decode as its table's type.
    #[error("table {table}: stored entry does not decode: {source}")]
    Decode {
        /// The table.
        table: &'static str,
        /// Why it does not decode.
        source: DecodeError,
    },
}

fn database_error(error: impl Into<redb::Error>) -> StorageError {
    StorageError::Database(error.into())
}

/// Why the node database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    /// The data directory could not be created.
    #[error("cannot create data directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another process has the database open.
    #[error("database {} is in use by another process (is another node running with this data_dir?)", path.display())]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The file is not a database this node can read (foreign file, corruption, old format).
    #[error("cannot open database {}: {source}", path.display())]
    Unreadable {
        /// The database file.
        path: PathBuf,
        /// The engine's reason.
        source: redb::DatabaseError,
    },
    /// The database was written by a newer version of the node.
    #[error("database {} has schema version {found}; this node supports up to {supported}", path.display())]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
        found: u32,
        /// Highest version this build reads.
        supported: u32,
    },
    /// The database belongs to another chain.
    #[error("database {} belongs to chain id {found}, but the node is configured for chain id {expected}", path.display())]
    ChainMismatch {
        /// The database file.
        path: PathBuf,
        /// Chain id recorded in the file.
        found: u64,
        /// Chain id of the configuration.
        expected: u64,
    },
    /// Reading or writing the database's own metadata failed.
    #[error("database {}: {source}", path.display())]
    Meta {
        /// The database file.
        path: PathBuf,
        /// The failure.
        source: StorageError,
    },
}

/// The node database: one redb file, `<data_dir>/node.redb`.
///
/// Every [`Store::write`] is one ACID transaction, durable when it returns: a crash at
/// any point leaves either all or none of it.
pub struct Store {
    db: redb::Database,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database of `data_dir` for `chain_id`.
    ///
    /// A new database records the chain id and schema version; an existing one must
    /// match them. After an unclean shutdown the engine repairs the file first.
    pub fn open(data_dir: &Path, chain_id: u64) -> Result<Self, OpenStoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| OpenStoreError::CreateDir { path: data_dir.to_owned(), source })?;
        let path = data_dir.join(DATABASE_FILE);
        let mut builder = redb::Database::builder();
        let repair_path = path.clone();
        builder.set_repair_callback(move |session| {
            tracing::warn!(
                target: "rollup::storage",
                path = %repair_path.display(),
                progress = session.progress(),
                "repairing database after an unclean shutdown"
            );
        });
        let db = builder.create(&path).map_err(|source| match source {
            redb::DatabaseError::DatabaseAlreadyOpen => OpenStoreError::InUse { path: path.clone() },
            source => OpenStoreError::Unreadable { path: path.clone(), source },
        })?;
        let store = Self { db, path };
        store.check_meta(chain_id)?;
        Ok(store)
    }

    fn check_meta(&self, chain_id: u64) -> Result<(), OpenStoreError> {
        let path = &self.path;
        let meta_error = |source| OpenStoreError::Meta { path: path.clone(), source };
        let decode_error = |source| meta_error(StorageError::Decode { table: Meta::NAME, source });
        let (version, chain) = self
            .read(|tx| {
                Ok((
                    tx.get::<Meta>(&META_SCHEMA_VERSION.to_owned())?,
                    tx.get::<Meta>(&META_CHAIN_ID.to_owned())?,
                ))
            })
            .map_err(meta_error)?;
        match (version, chain) {
            (Some(version), Some(chain)) => {
                let found = u32::decode(&version).map_err(decode_error)?;
                if found > SCHEMA_VERSION {
                    return Err(OpenStoreError::SchemaTooNew {
                        path: path.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                let found = u64::decode(&chain).map_err(decode_error)?;
                if found != chain_id {
                    return Err(OpenStoreError::ChainMismatch {
                        path: path.clone(),
                        found,
                        expected: chain_id,
                    });
                }
                Ok(())
            }
            _ => self
                .write(|tx| {
                    tx.put::<Meta>(&META_SCHEMA_VERSION.to_owned(), &SCHEMA_VERSION.encode())?;
                    tx.put::<Meta>(&META_CHAIN_ID.to_owned(), &chain_id.encode())
                })
                .map_err(meta_error),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a consistent snapshot of the database.
    pub fn read<R>(&self, f: impl FnOnce(&ReadTx) -> Result<R, StorageError>) -> Result<R, StorageError> {
        let tx = self.db.begin_read().map_err(database_error)?;
        f(&ReadTx { tx })
    }

    /// Runs `f` in a write transaction and commits it durably if `f` succeeds; if `f`
    /// fails nothing it wrote is kept.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut WriteTx) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        let mut tx = WriteTx { tx: self.db.begin_write().map_err(database_error)? };
        let result = f(&mut tx)?;
        tx.tx.commit().map_err(database_error)?;
        Ok(result)
    }
}

/// A read-only snapshot.
pub struct ReadTx {
    tx: redb::ReadTransaction,
}

impl ReadTx {
    fn table<T: Table>(&self) -> Result<Option<RawReadTable>, StorageError> {
        match self.tx.open_table(raw::<T>()) {
            Ok(table) => Ok(Some(table)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(error) => Err(database_error(error)),
        }
    }

    /// The value under `key`.
    pub fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, StorageError> {
        match self.table::<T>()? {
            Some(table) => get::<T>(&table, key),
            None => Ok(None),
        }
    }

    /// Entries with keys in `range`, in key order, at most `limit` of them.
    pub fn range<T: Table>(
        &self,
        range: impl RangeBounds<T::Key>,
        limit: usize,
    ) -> Result<Vec<Entry<T>>, StorageError> {
        match self.table::<T>()? {
            Some(table) => range_of::<T>(&table, range, limit),
            None => Ok(Vec::new()),
        }
    }

    /// Keys in `range`, in order, at most `limit` of them (values are not read).
    pub fn keys<T: Table>(
        &self,
        range: impl RangeBounds<T::Key>,
        limit: usize,
    ) -> Result<Vec<T::Key>, StorageError> {
        match self.table::<T>()? {
            Some(table) => keys_of::<T>(&table, range, limit),
            None => Ok(Vec::new()),
        }
    }

    /// The entry with the greatest key.
    pub fn last<T: Table>(&self) -> Result<Option<Entry<T>>, StorageError> {
        match self.table::<T>()? {
            Some(table) => last::<T>(&table),
            None => Ok(None),
        }
    }

    /// Number of entries.
    pub fn count<T: Table>(&self) -> Result<u64, StorageError> {
        match self.table::<T>()? {
            Some(table) => table.len().map_err(database_error),
            None => Ok(0),
        }
    }
}

/// A write transaction; see [`Store::write`].
pub struct WriteTx {
    tx: redb::WriteTransaction,
}

impl WriteTx {
    fn table<T: Table>(&mut self) -> Result<redb::Table<'_, &'static [u8], &'static [u8]>, StorageError> {
        self.tx.open_table(raw::<T>()).map_err(database_error)
    }

    /// The value under `key`, including this transaction's writes.
    pub fn get<T: Table>(&mut self, key: &T::Key) -> Result<Option<T::Value>, StorageError> {
        get::<T>(&self.table::<T>()?, key)
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn put<T: Table>(&mut self, key: &T::Key, value: &T::Value) -> Result<(), StorageError> {
        let (key, value) = (key.encode(), value.encode());
        self.table::<T>()?.insert(key.as_slice(), value.as_slice()).map_err(database_error)?;
        Ok(())
    }

    /// Removes `key`; returns whether it was there.
    pub fn delete<T: Table>(&mut self, key: &T::Key) -> Result<bool, StorageError> {
        let key = key.encode();
        let mut table = self.table::<T>()?;
        let removed = table.remove(key.as_slice()).map_err(database_error)?.is_some();
        Ok(removed)
    }

    /// Entries with keys in `range`, in key order, at most `limit` of them.
    pub fn range<T: Table>(
        &mut self,
        range: impl RangeBounds<T::Key>,
        limit: usize,
    ) -> Result<Vec<Entry<T>>, StorageError> {
        range_of::<T>(&self.table::<T>()?, range, limit)
    }

    /// Keys in `range`, in order, at most `limit` of them (values are not read).
    pub fn keys<T: Table>(
        &mut self,
        range: impl RangeBounds<T::Key>,
        limit: usize,
    ) -> Result<Vec<T::Key>, StorageError> {
        keys_of::<T>(&self.table::<T>()?, range, limit)
    }

    /// The entry with the greatest key.
    pub fn last<T: Table>(&mut self) -> Result<Option<Entry<T>>, StorageError> {
        last::<T>(&self.table::<T>()?)
    }

    /// Number of entries.
    pub fn count<T: Table>(&mut self) -> Result<u64, StorageError> {
        self.table::<T>()?.len().map_err(database_error)
    }
}

fn decode<T: Table, V: Codec>(bytes: &[u8]) -> Result<V, StorageError> {
    V::decode(bytes).map_err(|source| StorageError::Decode { table: T::NAME, source })
}

fn get<T: Table>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &T::Key,
) -> Result<Option<T::Value>, StorageError> {
    let key = key.encode();
    match table.get(key.as_slice()).map_err(database_error)? {
        Some(value) => decode::<T, T::Value>(value.value()).map(Some),
        None => Ok(None),
    }
}

fn last<T: Table>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
) -> Result<Option<Entry<T>>, StorageError> {
    match table.last().map_err(database_error)? {
        Some((key, value)) => {
            Ok(Some((decode::<T, T::Key>(key.value())?, decode::<T, T::Value>(value.value())?)))
        }
        None => Ok(None),
    }
}

fn range_of<T: Table>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    range: impl RangeBounds<T::Key>,
    limit: usize,
) -> Result<Vec<Entry<T>>, StorageError> {
    walk::<T, _>(table, range, limit, |key, value| {
        Ok((decode::<T, T::Key>(key)?, decode::<T, T::Value>(value)?))
    })
}

fn keys_of<T: Table>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    range: impl RangeBounds<T::Key>,
    limit: usize,
) -> Result<Vec<T::Key>, StorageError> {
    walk::<T, _>(table, range, limit, |key, _| decode::<T, T::Key>(key))
}

/// Reads up to `limit` entries with keys in `range`, in key order, through `read`.
fn walk<T: Table, R>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    range: impl RangeBounds<T::Key>,
    limit: usize,
    read: impl Fn(&[u8], &[u8]) -> Result<R, StorageError>,
) -> Result<Vec<R>, StorageError> {
    let encode = |bound: Bound<&T::Key>| match bound {
        Bound::Included(key) => Bound::Included(key.encode()),
        Bound::Excluded(key) => Bound::Excluded(key.encode()),
        Bound::Unbounded => Bound::Unbounded,
    };
    let (start, end) = (encode(range.start_bound()), encode(range.end_bound()));
    fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
        match bound {
            Bound::Included(key) => Bound::Included(key.as_slice()),
            Bound::Excluded(key) => Bound::Excluded(key.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        }
    }
    let mut out = Vec::new();
    for entry in table.range::<&[u8]>((as_slice(&start), as_slice(&end))).map_err(database_error)?.take(limit)
    {
        let (key, value) = entry.map_err(database_error)?;
        out.push(read(key.value(), value.value())?);
    }
    Ok(out)
}
