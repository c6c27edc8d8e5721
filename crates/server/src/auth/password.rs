//! Password hashing (argon2id, the crate's default parameters) and generated passwords.
//!
//! Hashes are PHC strings, so parameters can be raised later without breaking stored hashes.
//! Both hashing and verifying cost tens of milliseconds by design: call them from the blocking
//! pool, never from async code directly.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::{Error, Result};

/// The shortest password we accept for a user.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Letters and digits that cannot be mistaken for one another when read off a terminal.
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String> {
    let hashed = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| Error::Auth(format!("cannot hash password: {e}")))?;
    Ok(hashed.to_string())
}

/// Whether `password` matches the PHC string `stored`. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a password nobody knows, to verify against when the user does not exist, so that
/// an unknown username takes as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&generate()).unwrap_or_default())
}

/// A new random password of 20 characters (about 116 bits).
pub fn generate() -> String {
    let mut bytes = [0u8; 20];
    super::secrets::fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| PASSWORD_ALPHABET[*b as usize % PASSWORD_ALPHABET.len()] as char)
        .collect()
}

/// Checks a password a user chose; the error says what is wrong with it.
pub fn check_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse", &stored));
        assert!(!verify("wrong horse", &stored));
        assert!(!verify("correct horse", "not a phc string"));
    }

    #[test]
    fn generated_passwords_differ_and_are_strong_enough() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        check_strength(&a).unwrap();
        assert!(check_strength("short").is_err());
    }
}
