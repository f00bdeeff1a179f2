//! `createuser`, `createsuperuser`, `changepassword`, `revoke`: users and their sessions.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use tessera_core::{Clock as _, SystemClock};
use tessera_store::NewUser;

use super::UserArgs;
use crate::config::Config;
use crate::database::ready_store;
use crate::error::{Error, Result};
use crate::passwords::hash_blocking;

/// `changepassword USER`: a new password, and every session of the user ends.
pub(super) async fn change_password(
    config: &Config,
    data_dir: &Path,
    username: &str,
    password_stdin: bool,
    allow_weak_password: bool,
) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let user = store
        .user_by_username(username)
        .await?
        .ok_or_else(|| Error::Usage(format!("user {username:?} does not exist")))?;
    let password = read_password(password_stdin)?;
    check_password_strength(username, &password, allow_weak_password)?;
    let hash = hash_blocking(config, password).await?;
    store.set_password(user.id, &hash).await?;
    let revoked = store
        .revoke_user(
            &user.id.to_string(),
            user.id.as_int(),
            SystemClock.now_micros(),
        )
        .await?;
    println!(
        "Password changed successfully for user '{username}' ({} session(s) revoked)",
        revoked.len()
    );
    Ok(())
}

/// `revoke --user USER`: every session of the user ends (logout everywhere).
pub(super) async fn revoke(config: &Config, data_dir: &Path, user: &str) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let u = store
        .user_by_username(user)
        .await?
        .ok_or_else(|| Error::Usage(format!("user {user:?} does not exist")))?;
    let revoked = store
        .revoke_user(&u.id.to_string(), u.id.as_int(), SystemClock.now_micros())
        .await?;
    println!("Revoked {} session(s) of user '{user}'.", revoked.len());
    Ok(())
}

/// `createuser` / `createsuperuser`: a user with a validated, normalised name and a
/// hashed password.
pub(super) async fn create_user(
    config: &Config,
    data_dir: &Path,
    args: UserArgs,
    staff: bool,
    superuser: bool,
    inactive: bool,
) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let username = match args.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    // As Django's createsuperuser: NFKC, then its UnicodeUsernameValidator.
    let username = tessera_core::username::normalize(username.trim());
    if let Some(problem) = tessera_core::username::problems(&username)
        .into_iter()
        .next()
    {
        return Err(Error::Usage(format!("Error: {problem}")));
    }
    if store.user_by_username(&username).await?.is_some() {
        return Err(Error::Usage(format!(
            "Error: That username is already taken: {username:?}"
        )));
    }
    let password = read_password(args.password_stdin)?;
    check_password_strength(&username, &password, args.allow_weak_password)?;
    let hash = hash_blocking(config, password).await?;
    let mut nu = NewUser::new(&username, &hash, SystemClock.now_micros());
    nu.email = args.email.trim().to_owned();
    // Django's EmailField: at most 254 characters; text a database can store.
    if nu.email.chars().count() > 254 || nu.email.contains('\0') {
        return Err(Error::Usage(
            "Error: Enter a valid email address (at most 254 characters).".into(),
        ));
    }
    nu.is_staff = staff;
    nu.is_superuser = superuser;
    nu.is_active = !inactive;
    let user = store.create_user(&nu).await?;
    if superuser {
        println!("Superuser created successfully (id {}).", user.id);
    } else {
        println!("User created successfully (id {}).", user.id);
    }
    Ok(())
}

fn prompt(label: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{} required: pass it as an option (no terminal to ask on)",
            label.trim_end_matches(": ")
        )));
    }
    print!("{label}");
    std::io::stdout()
        .flush()
        .map_err(Error::io("writing the prompt"))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(Error::io("reading standard input"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The password from standard input's first line, `TESSERA_PASSWORD`, or a prompt.
fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(Error::io("reading the password from standard input"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if let Ok(p) = std::env::var("TESSERA_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no password given: use --password-stdin or TESSERA_PASSWORD".into(),
        ));
    }
    let first =
        rpassword::prompt_password("Password: ").map_err(Error::io("reading the password"))?;
    let again = rpassword::prompt_password("Password (again): ")
        .map_err(Error::io("reading the password"))?;
    if first != again {
        return Err(Error::Usage("Error: Your passwords didn't match.".into()));
    }
    Ok(first)
}

/// Refuses a weak password (Django's default validators) unless `allow_weak`.
pub fn check_password_strength(username: &str, password: &str, allow_weak: bool) -> Result<()> {
    if password.is_empty() {
        return Err(Error::Usage(
            "Error: Blank passwords aren't allowed.".into(),
        ));
    }
    if password.len() > tessera_core::password::MAX_PASSWORD_LEN {
        return Err(Error::Usage(
            "the password is longer than 4096 bytes".into(),
        ));
    }
    let problems = tessera_core::password::strength_problems(username, password);
    if problems.is_empty() || allow_weak {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} (use --allow-weak-password to accept it anyway)",
        problems.join(" ")
    )))
}
