//! `Genesis::from_json` on arbitrary text: never panics, and an accepted genesis survives a
//! round trip through serde_json (compact and pretty) unchanged, passes validation again and
//! hashes to the same digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollup_l2::Genesis;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(genesis) = Genesis::from_json(text) else { return };
    let hash = genesis.hash();
    for json in [serde_json::to_string(&genesis), serde_json::to_string_pretty(&genesis)] {
        let json = json.unwrap_or_else(|error| panic!("{genesis:?} does not serialize: {error}"));
        match Genesis::from_json(&json) {
            Ok(again) => {
                assert_eq!(again, genesis, "{json} parses to another genesis");
                assert_eq!(again.hash(), hash);
            }
            Err(error) => panic!("re-serialized genesis {json} is refused: {error}"),
        }
    }
});
