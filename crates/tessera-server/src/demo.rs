//! `tessera seed-demo`: the reference deployment's users and reviews, so the demo API,
//! the curl walk-through and the benchmarks have data. Idempotent.

use std::sync::Arc;

use tessera_core::{Clock as _, SystemClock};
use tessera_store::{Database, NewUser};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::passwords::hash_blocking;
use crate::reviews::{NewReview, Reviews};

/// (username, password, email, active), as in the reference's `seed_reference`.
pub const USERS: [(&str, &str, &str, bool); 5] = [
    ("alice", "alice-pass", "alice@example.com", true),
    ("bob", "bob-pass", "bob@example.com", true),
    ("carol", "carol-pass", "carol@example.com", true),
    ("dave", "dave-pass", "dave@example.com", true),
    ("inactive", "inactive-pass", "inactive@example.com", false),
];

const REVIEWS: [(&str, i64, &str, &str); 5] = [
    (
        "Espresso grinder",
        5,
        "Consistent grind, quiet motor.",
        "alice",
    ),
    (
        "Espresso grinder",
        3,
        "Good burrs, hopper too small.",
        "bob",
    ),
    (
        "Trail running shoes",
        4,
        "Light and grippy; runs a half size small.",
        "alice",
    ),
    (
        "Noise-cancelling headphones",
        2,
        "Great sound, the headband cracked in a month.",
        "carol",
    ),
    (
        "Cast iron skillet",
        5,
        "Came well seasoned. Will outlive me.",
        "dave",
    ),
];

/// Creates (or restores) the demo users and reviews.
pub async fn seed(config: &Config, db: &Database) -> Result<()> {
    let store = db.store();
    let reviews = Reviews::new(db.clone());
    let hasher =
        tessera_core::PasswordHasher::new(&config.settings, Arc::new(tessera_core::OsRandom));
    let now = SystemClock.now_micros();
    for (name, password, email, active) in USERS {
        let action = match store.user_by_username(name).await? {
            None => {
                let mut nu = NewUser::new(
                    name,
                    &hash_blocking(config, password.to_owned()).await?,
                    now,
                );
                nu.email = email.to_owned();
                nu.is_active = active;
                store.create_user(&nu).await?;
                "created"
            }
            Some(u) => {
                let h = hasher.clone();
                let (pw, stored) = (password.to_owned(), u.password.clone());
                let ok = tokio::task::spawn_blocking(move || h.verify(&pw, &stored))
                    .await
                    .unwrap_or(false);
                if !ok {
                    store
                        .set_password(u.id, &hash_blocking(config, password.to_owned()).await?)
                        .await?;
                }
                store.set_active(u.id, active).await?;
                if ok { "kept" } else { "reset" }
            }
        };
        println!("user {name:<9} {action}");
    }
    let existing = reviews.list().await?;
    let mut created = 0;
    for (product, rating, comment, author) in REVIEWS {
        if existing
            .iter()
            .any(|r| r.product == product && r.author == author)
        {
            continue;
        }
        let Some(user) = store.user_by_username(author).await? else {
            continue;
        };
        reviews
            .create(&NewReview {
                product: product.to_owned(),
                rating,
                comment: comment.to_owned(),
                author_id: user.id.as_int().ok_or_else(|| {
                    Error::Config("the demo reviews need integer user ids (auth_user)".into())
                })?,
                created_at: now,
            })
            .await?;
        created += 1;
    }
    println!("reviews: {created} created");
    Ok(())
}
