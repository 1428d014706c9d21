//! The node database: typed tables, transactions, open-time checks and crash safety.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rollup_storage::{
    Codec, DecodeError, OpenStoreError, StorageError, Store, Table, DATABASE_FILE, SCHEMA_VERSION,
};

struct Items;
impl Table for Items {
    const NAME: &'static str = "items";
    type Key = u64;
    type Value = Vec<u8>;
}

struct Counter;
impl Table for Counter {
    const NAME: &'static str = "counter";
    type Key = String;
    type Value = u64;
}

/// Same table name as [`Items`], read with a fixed-width value type.
struct ItemsAsU64;
impl Table for ItemsAsU64 {
    const NAME: &'static str = "items";
    type Key = u64;
    type Value = u64;
}

const CHAIN: u64 = 42;

#[test]
fn tables_read_write_and_iterate_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CHAIN).unwrap();
    assert_eq!(store.read(|tx| tx.get::<Items>(&1)).unwrap(), None);
    assert_eq!(store.read(|tx| tx.count::<Items>()).unwrap(), 0);

    store
        .write(|tx| {
            for key in [300u64, 2, 70_000, 1] {
                tx.put::<Items>(&key, &key.to_le_bytes().to_vec())?;
            }
            assert_eq!(tx.get::<Items>(&2)?, Some(2u64.to_le_bytes().to_vec()));
            Ok(())
        })
        .unwrap();

    let keys: Vec<u64> =
        store.read(|tx| tx.range::<Items>(.., 10)).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [1, 2, 300, 70_000]);
    let keys: Vec<u64> =
        store.read(|tx| tx.range::<Items>(2..=300, 10)).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [2, 300]);
    assert_eq!(store.read(|tx| tx.range::<Items>(2.., 1)).unwrap().len(), 1);
    assert_eq!(store.read(|tx| tx.keys::<Items>(2..=300, 10)).unwrap(), [2, 300]);
    assert_eq!(store.write(|tx| tx.keys::<Items>(3.., 10)).unwrap(), [300, 70_000]);
    assert_eq!(store.read(|tx| tx.last::<Items>()).unwrap().map(|(k, _)| k), Some(70_000));

    assert!(store.write(|tx| tx.delete::<Items>(&300)).unwrap());
    assert!(!store.write(|tx| tx.delete::<Items>(&300)).unwrap());
    assert_eq!(store.read(|tx| tx.count::<Items>()).unwrap(), 3);
}

#[test]
fn a_failed_write_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CHAIN).unwrap();
    store.write(|tx| tx.put::<Counter>(&"n".to_owned(), &1)).unwrap();
    let result: Result<(), StorageError> = store.write(|tx| {
        tx.put::<Counter>(&"n".to_owned(), &2)?;
        tx.put::<Items>(&9, &vec![9])?;
        Err(StorageError::Decode { table: "test", source: DecodeError::Invalid("abort".to_owned()) })
    });
    assert_eq!(result.unwrap_err().to_string(), "table test: stored entry does not decode: abort");
    assert_eq!(store.read(|tx| tx.get::<Counter>(&"n".to_owned())).unwrap(), Some(1));
    assert_eq!(store.read(|tx| tx.get::<Items>(&9)).unwrap(), None);
}

#[test]
fn committed_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), CHAIN).unwrap();
        store.write(|tx| tx.put::<Counter>(&"n".to_owned(), &77)).unwrap();
    }
    let store = Store::open(dir.path(), CHAIN).unwrap();
    assert_eq!(store.read(|tx| tx.get::<Counter>(&"n".to_owned())).unwrap(), Some(77));
    assert_eq!(store.path(), dir.path().join(DATABASE_FILE));
}

#[test]
fn entries_of_the_wrong_type_are_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CHAIN).unwrap();
    store.write(|tx| tx.put::<Items>(&1, &vec![1, 2, 3])).unwrap();
    let error = store.read(|tx| tx.get::<ItemsAsU64>(&1)).unwrap_err();
    assert_eq!(error.to_string(), "table items: stored entry does not decode: expected 8 bytes, found 3");
}

#[test]
fn a_database_of_another_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), CHAIN).unwrap());
    match Store::open(dir.path(), CHAIN + 1) {
        Err(OpenStoreError::ChainMismatch { found, expected, .. }) => {
            assert_eq!((found, expected), (CHAIN, CHAIN + 1))
        }
        other => panic!("expected ChainMismatch, got {other:?}"),
    }
    // Refusing did not damage it.
    assert!(Store::open(dir.path(), CHAIN).is_ok());
}

#[test]
fn a_database_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), CHAIN).unwrap());
    {
        let db = redb::Database::create(dir.path().join(DATABASE_FILE)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut meta = tx.open_table(redb::TableDefinition::<&[u8], &[u8]>::new("meta")).unwrap();
            meta.insert(b"schema_version".as_slice(), (SCHEMA_VERSION + 1).encode().as_slice()).unwrap();
        }
        tx.commit().unwrap();
    }
    match Store::open(dir.path(), CHAIN) {
        Err(OpenStoreError::SchemaTooNew { found, supported, .. }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_database_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path(), CHAIN).unwrap();
    match Store::open(dir.path(), CHAIN) {
        Err(error @ OpenStoreError::InUse { .. }) => assert_eq!(
            error.to_string(),
            format!(
                "database {} is in use by another process (is another node running with this data_dir?)",
                dir.path().join(DATABASE_FILE).display()
            )
        ),
        other => panic!("expected InUse, got {other:?}"),
    }
}

#[test]
fn a_foreign_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    assert!(matches!(Store::open(dir.path(), CHAIN), Err(OpenStoreError::Unreadable { .. })));
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn an_uncreatable_data_dir_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let data_dir = file.join("sub");
    match Store::open(&data_dir, CHAIN) {
        Err(OpenStoreError::CreateDir { path, .. }) => assert_eq!(path, data_dir),
        other => panic!("expected CreateDir, got {other:?}"),
    }
}

// Crash safety: a child process writes transactions as fast as it can and is killed
// with SIGKILL at a random moment; the database must reopen with exactly the
// transactions that committed. Each transaction appends `k` items and moves the
// counter to the new item count, so "counter == number of items, items 1..=counter
// with their expected contents" holds after every commit and at no point inside one.

const CHILD_ENV: &str = "ROLLUP_STORAGE_CRASH_CHILD";

fn item_bytes(key: u64) -> Vec<u8> {
    let len = 64 + (key % 4096) as usize;
    (0..len).map(|i| (key as usize * 31 + i) as u8).collect()
}

/// Not a test of its own: the body of the child process of the crash test.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let store = Store::open(std::path::Path::new(&dir), CHAIN).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(std::process::id().into());
    loop {
        let count = store
            .write(|tx| {
                let count = tx.get::<Counter>(&"n".to_owned())?.unwrap_or(0);
                let new_count = count + rng.gen_range(1..=40);
                for key in count + 1..=new_count {
                    tx.put::<Items>(&key, &item_bytes(key))?;
                }
                tx.put::<Counter>(&"n".to_owned(), &new_count)?;
                Ok(new_count)
            })
            .unwrap();
        println!("committed {count}");
    }
}

#[test]
fn sigkill_during_writes_leaves_a_consistent_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut last_seen = 0;
    for round in 0..20 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child_writer", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it commit a random number of transactions, then kill it mid-stream.
        let target = rng.gen_range(5..60);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut committed = 0;
        let mut seen = 0;
        while seen < target {
            let line = lines.next().expect("child ended early").unwrap();
            if let Some(count) = line.strip_prefix("committed ") {
                committed = count.parse::<u64>().unwrap();
                seen += 1;
            }
        }
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..3_000)));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        child.wait().unwrap();

        let store = Store::open(dir.path(), CHAIN).unwrap();
        let count = store.read(|tx| tx.get::<Counter>(&"n".to_owned())).unwrap().unwrap();
        assert!(count >= committed, "round {round}: lost an acknowledged commit ({count} < {committed})");
        assert!(count > last_seen, "round {round}: no progress");
        last_seen = count;
        let items = store.read(|tx| tx.range::<Items>(.., usize::MAX)).unwrap();
        assert_eq!(items.len() as u64, count, "round {round}: counter and items disagree");
        for (index, (key, value)) in items.into_iter().enumerate() {
            assert_eq!(key, index as u64 + 1, "round {round}: gap in keys");
            assert_eq!(value, item_bytes(key), "round {round}: item {key} corrupted");
        }
    }
}
