//! Bearer secrets: session ids, API tokens and ingest tokens.
//!
//! A secret is 160 random bits, hex-encoded behind a prefix that says what it is (`sl_api_`,
//! `sl_ing_`, `sl_ses_`), so a leaked one is recognisable by secret scanners. Only its SHA-256
//! is stored: the secrets are high-entropy, so a fast hash is enough and lookups stay cheap on
//! every request.

use sha2::{Digest, Sha256};

/// What a secret grants, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Session,
    ApiToken,
    IngestToken,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::Session => "sl_ses_",
            SecretKind::ApiToken => "sl_api_",
            SecretKind::IngestToken => "sl_ing_",
        }
    }
}

/// A freshly minted secret: the text handed out once, and the hash that is stored.
#[derive(Debug)]
pub struct Minted {
    pub text: String,
    pub hash: [u8; 32],
}

/// Fills `buf` from the operating system's random source.
pub fn fill_random(buf: &mut [u8]) {
    // The OS random source failing is not something a server can carry on from.
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random source failed");
}

/// Mints a new secret of the given kind.
pub fn mint(kind: SecretKind) -> Minted {
    let mut raw = [0u8; 20];
    fill_random(&mut raw);
    let text = format!("{}{}", kind.prefix(), hex::encode(raw));
    let hash = hash(&text);
    Minted { text, hash }
}

/// The stored form of a secret.
pub fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// A short, non-secret reminder of which token this is, for listings: the prefix and 4 chars.
pub fn hint(text: &str) -> String {
    text.chars().take(11).collect::<String>() + "…"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_secrets_are_prefixed_unique_and_hashed() {
        let a = mint(SecretKind::ApiToken);
        let b = mint(SecretKind::ApiToken);
        assert!(a.text.starts_with("sl_api_"));
        assert_eq!(a.text.len(), 7 + 40);
        assert_ne!(a.text, b.text);
        assert_eq!(hash(&a.text), a.hash);
        assert_eq!(hint(&a.text), format!("{}…", &a.text[..11]));
    }
}
