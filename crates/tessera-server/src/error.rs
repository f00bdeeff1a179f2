//! The one error type of `tessera-server`: start-up and command failures, each printed
//! as one clear line by `main`.

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad or missing configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A setting or key the core refused.
    #[error("{0}")]
    Core(#[from] tessera_core::Error),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] tessera_store::Error),
    /// An engine flow failed (e.g. a key-set change it refused).
    #[error("{0}")]
    Engine(#[from] tessera_engine::Error),
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The command was used wrongly (missing user, bad password, …).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An I/O error with context.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
