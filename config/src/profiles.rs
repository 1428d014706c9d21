//! The profiles shipped in `config/profiles/`, embedded in the binary.

/// `(name, TOML text)` of every shipped profile, sorted by name.
const PROFILES: [(&str, &str); 5] = [
    ("all", include_str!("../profiles/all.toml")),
    ("backup", include_str!("../profiles/backup.toml")),
    ("operator", include_str!("../profiles/operator.toml")),
    ("signer", include_str!("../profiles/signer.toml")),
    ("vigilante", include_str!("../profiles/vigilante.toml")),
];

/// The TOML text of the profile `name`.
pub fn get(name: &str) -> Option<&'static str> {
    PROFILES.iter().find(|(candidate, _)| *candidate == name).map(|(_, text)| *text)
}

/// The names of the shipped profiles.
pub fn names() -> Vec<&'static str> {
    PROFILES.iter().map(|(name, _)| *name).collect()
}
