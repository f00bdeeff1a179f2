//! `import-django --from URL`: copies a Django project's users (password hashes
//! untouched, ids kept so that the tokens Django issued still name them) and its token
//! ledger (outstanding and blacklisted) into Tessera's database. For teams that move to a
//! database of Tessera's own instead of sharing Django's. Idempotent: what is already
//! there is skipped, so a second run changes nothing.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use tessera_store::{DjangoSource, Store};

use crate::config::Config;
use crate::database::{migrate, open_database, redact_url};
use crate::error::{Error, Result};

/// Tokens read and written per transaction.
const BATCH: i64 = 2_000;

/// What an import did (or, dry, would do).
#[derive(Debug, Default)]
struct Tally {
    users_new: u64,
    users_present: u64,
    users_conflicting: Vec<String>,
    tokens_new: u64,
    tokens_present: u64,
    blacklisted_new: u64,
}

/// Runs the command.
pub(super) async fn import_django(
    config: &Config,
    data_dir: &Path,
    from: &str,
    dry_run: bool,
) -> Result<()> {
    let users = config.user_table()?;
    let mut source = DjangoSource::open(from, &users)
        .await
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", redact_url(from))))?;
    let target_url = crate::database::database_url(config, data_dir);
    if same_database(from, &target_url) {
        return Err(Error::Usage(
            "--from names Tessera's own database: to share a Django database, point \
             DATABASE_URL at it instead (nothing to copy)"
                .into(),
        ));
    }
    if dry_run {
        // A dry run writes nothing, not even the schema (or a new SQLite file): a target
        // that is missing or not migrated yet is empty.
        let ready = tessera_store::inspect(&target_url, &users)
            .await?
            .is_some_and(|i| i.plan.is_empty());
        if !ready {
            println!("(Tessera's database is new or not migrated: everything counts as new)");
            return report(&count_source(&mut source).await?, dry_run, from);
        }
    }
    let db = open_database(config, data_dir).await?;
    if !dry_run {
        migrate(&db).await?;
    }
    let store = db.store();
    let mut tally = Tally::default();
    copy_users(&mut source, store.as_ref(), dry_run, &mut tally).await?;
    copy_tokens(&mut source, store.as_ref(), dry_run, &mut tally).await?;
    report(&tally, dry_run, from)
}

/// Whether two database URLs name the same database (the same file, or the same URL).
fn same_database(a: &str, b: &str) -> bool {
    let path = |u: &str| {
        u.strip_prefix("sqlite://")
            .or_else(|| u.strip_prefix("sqlite:"))
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.into()))
    };
    match (path(a), path(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A dry run against an empty target: everything in the source is new.
async fn count_source(source: &mut DjangoSource) -> Result<Tally> {
    let users = source.users().await?;
    let (outstanding, blacklisted) = source.token_counts().await?;
    Ok(Tally {
        users_new: users.len() as u64,
        tokens_new: u64::try_from(outstanding).unwrap_or(0),
        blacklisted_new: u64::try_from(blacklisted).unwrap_or(0),
        ..Tally::default()
    })
}

async fn copy_users(
    source: &mut DjangoSource,
    store: &dyn Store,
    dry_run: bool,
    tally: &mut Tally,
) -> Result<()> {
    let users = source.users().await?;
    let mut bar = Progress::new("users", users.len() as u64);
    for u in &users {
        let copied = !dry_run && store.copy_user(u).await?;
        if copied || (dry_run && store.user_by_id(u.id).await?.is_none()) {
            tally.users_new += 1;
        } else {
            match store.user_by_id(u.id).await? {
                Some(there) if there.username == u.username => tally.users_present += 1,
                _ => tally.users_conflicting.push(u.username.clone()),
            }
        }
        bar.step(1);
    }
    bar.done();
    Ok(())
}

async fn copy_tokens(
    source: &mut DjangoSource,
    store: &dyn Store,
    dry_run: bool,
    tally: &mut Tally,
) -> Result<()> {
    let (total, _) = source.token_counts().await?;
    let mut bar = Progress::new("tokens", u64::try_from(total).unwrap_or(0));
    let mut after = 0;
    loop {
        let page = source.tokens_after(after, BATCH).await?;
        let Some((last, _, _)) = page.last() else {
            break;
        };
        after = *last;
        let jtis: Vec<String> = page.iter().map(|(_, t, _)| t.jti.clone()).collect();
        let (known, known_blacklisted) = store.known_tokens(&jtis).await?;
        let blacklisted = page.iter().filter(|(_, _, b)| b.is_some()).count() as u64;
        tally.tokens_present += known;
        tally.tokens_new += page.len() as u64 - known.min(page.len() as u64);
        tally.blacklisted_new += blacklisted.saturating_sub(known_blacklisted);
        if !dry_run {
            let rows: Vec<_> = page.into_iter().map(|(_, t, b)| (t, b)).collect();
            store.copy_tokens(&rows).await?;
        }
        bar.step(jtis.len() as u64);
    }
    bar.done();
    Ok(())
}

fn report(t: &Tally, dry_run: bool, from: &str) -> Result<()> {
    let verb = if dry_run { "would copy" } else { "copied" };
    println!("From {}:", redact_url(from));
    println!(
        "  users:              {verb} {}, {} already here",
        t.users_new, t.users_present
    );
    println!(
        "  outstanding tokens: {verb} {}, {} already here",
        t.tokens_new, t.tokens_present
    );
    println!("  blacklisted tokens: {verb} {}", t.blacklisted_new);
    if dry_run {
        println!("Dry run: nothing was written.");
    }
    if !t.users_conflicting.is_empty() {
        return Err(Error::Usage(format!(
            "{} user(s) not copied: their id or username belongs to another user here: {}",
            t.users_conflicting.len(),
            t.users_conflicting.join(", ")
        )));
    }
    Ok(())
}

/// A progress bar on standard error: redrawn in place on a terminal, a line per tenth
/// otherwise (logs).
struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    shown: u64,
    tty: bool,
}

impl Progress {
    fn new(what: &'static str, total: u64) -> Self {
        Progress {
            what,
            total,
            done: 0,
            shown: u64::MAX,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn step(&mut self, n: u64) {
        self.done += n;
        let tenth = (self.done * 10).checked_div(self.total).unwrap_or(10);
        let percent = (self.done * 100).checked_div(self.total).unwrap_or(100);
        if self.tty {
            let filled = usize::try_from(percent / 5).unwrap_or(20).min(20);
            eprint!(
                "\r{:<7}[{}{}] {percent:>3}% {}/{}",
                self.what,
                "#".repeat(filled),
                ".".repeat(20 - filled),
                self.done,
                self.total
            );
            let _ = std::io::stderr().flush();
        } else if tenth != self.shown {
            self.shown = tenth;
            eprintln!("{}: {}/{} ({percent}%)", self.what, self.done, self.total);
        }
    }

    fn done(&mut self) {
        if self.tty && self.total > 0 {
            eprintln!();
        }
    }
}
