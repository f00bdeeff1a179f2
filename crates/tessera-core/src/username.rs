//! Usernames as Django makes them: NFKC-normalised when a user is created
//! (`AbstractBaseUser.normalize_username`) and checked by `UnicodeUsernameValidator`
//! (letters, digits and `@ . + - _`, at most 150 characters).
//!
//! Logins compare the name given with the stored one exactly, as Django's `ModelBackend`
//! does: normalising happens once, at creation, so two lookalike spellings that NFKC folds
//! together (`ｂｏｂ` and `bob`, `ﬁ` and `fi`) cannot become two accounts, while spellings
//! NFKC keeps apart (Latin `a` and Cyrillic `а`) stay two names, as in Django.

use unicode_normalization::UnicodeNormalization as _;

/// Django's `max_length` of `auth_user.username`, in characters.
pub const MAX_USERNAME_CHARS: usize = 150;

/// `UnicodeUsernameValidator`'s message.
pub const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";

/// The form a new username is stored in: NFKC, as Django's `normalize_username`.
pub fn normalize(username: &str) -> String {
    username.nfkc().collect()
}

/// What Django would refuse in a (normalised) new username, in its words; empty when
/// the name is acceptable.
pub fn problems(username: &str) -> Vec<String> {
    let mut out = Vec::new();
    if username.is_empty() {
        out.push("This field cannot be blank.".to_owned());
        return out;
    }
    let chars = username.chars().count();
    if chars > MAX_USERNAME_CHARS {
        out.push(format!(
            "Ensure this value has at most {MAX_USERNAME_CHARS} characters (it has {chars})."
        ));
    }
    // Python's `\w` in a str pattern: letters, digits (any script) and `_`.
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
    {
        out.push(INVALID_USERNAME.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_as_django_does() {
        assert_eq!(normalize("ｂｏｂ"), "bob");
        assert_eq!(normalize("ﬁona"), "fiona");
        assert_eq!(normalize("e\u{301}lodie"), "élodie");
        // Cyrillic а is not Latin a: NFKC keeps them apart, as Django does.
        assert_ne!(normalize("\u{430}lice"), "alice");
    }

    #[test]
    fn the_unicode_username_validator() {
        assert!(problems("alice.b+tag@x-y_z").is_empty());
        assert!(problems("élodie").is_empty());
        assert!(problems("用户").is_empty());
        assert_eq!(problems("a b"), [INVALID_USERNAME]);
        assert_eq!(problems("a\u{0}b"), [INVALID_USERNAME]);
        assert_eq!(problems("a\u{200b}b"), [INVALID_USERNAME]);
        assert_eq!(problems("\u{202e}alice"), [INVALID_USERNAME]);
        assert_eq!(problems(""), ["This field cannot be blank."]);
        assert!(problems(&"é".repeat(150)).is_empty());
        assert_eq!(
            problems(&"é".repeat(151)),
            ["Ensure this value has at most 150 characters (it has 151)."]
        );
    }
}
