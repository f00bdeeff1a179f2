//! What README and the guides promise about themselves and the CLI: every link to a file
//! of the repository leads to one, and the CLI's error messages are one clean line each
//! (one `error:`, no doubled prefixes or stray spaces).

use std::path::{Path, PathBuf};

use crate::cli::{tessera, text};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The targets of the Markdown links in `text` (`[x](target)`), anchors cut off.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            out.push(target.to_owned());
        }
        rest = &rest[end..];
    }
    out
}

#[test]
fn links_to_files_of_the_repository_lead_to_them() {
    let root = repo();
    let mut docs = vec![root.join("README.md")];
    for dir in ["docs", "bench"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "md") {
                docs.push(p);
            }
        }
    }
    let mut checked = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for target in link_targets(&text) {
            let file = doc.parent().unwrap().join(&target);
            assert!(
                file.exists(),
                "{} links to {target}, which is not in the repository",
                doc.display()
            );
            let inside = file
                .canonicalize()
                .unwrap()
                .starts_with(root.canonicalize().unwrap());
            assert!(
                inside,
                "{} links outside the repository: {target}",
                doc.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} links found");
}

/// A failing command: its arguments, its standard input, its extra environment.
type Case<'a> = (&'a [&'a str], Option<&'a str>, &'a [(&'a str, &'a str)]);

#[test]
fn cli_errors_are_one_clean_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [("TESSERA_LOG", "off")];
    let cases: &[Case] = &[
        (
            &["changepassword", "nobody", "--password-stdin"],
            Some("x\n"),
            &[],
        ),
        (&["revoke", "--user", "nobody"], None, &[]),
        (&["keys", "retire", "nope"], None, &[]),
        (&["keys", "generate", "--alg", "none"], None, &[]),
        (&["decode", "not-a-token"], None, &[]),
        (&["import-django", "--from", "nowhere://x"], None, &[]),
        (
            &["createuser", "--username", "a", "--password-stdin"],
            Some("pw\n"),
            &[],
        ),
        (&["check"], None, &[("TESSERA_ACCESS_TOKEN_LIFETIME", "-5")]),
        (&["check"], None, &[("TESSERA_BOGUS", "1")]),
        (&["check"], None, &[("TESSERA_KEY_STORE", "database")]),
        (&["check"], None, &[("TESSERA_METRICS_BIND", "nope")]),
        (
            &["check"],
            None,
            &[("TESSERA_KEY_ROTATION_INTERVAL", "abc")],
        ),
        (&["check"], None, &[("TESSERA_ADMIN_IDLE_TIMEOUT", "1s")]),
        (&["check"], None, &[("TESSERA_DATABASE_URL", "mysql://x")]),
    ];
    for (args, stdin, extra) in cases {
        let all: Vec<(&str, &str)> = env.iter().chain(extra.iter()).copied().collect();
        let o = tessera(d, args, *stdin, &all);
        assert!(!o.status.success(), "{args:?} succeeded: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let line = err.trim_end();
        assert!(line.starts_with("error: "), "{args:?}: {line:?}");
        assert!(
            !line.contains('\n'),
            "{args:?}: more than one line: {line:?}"
        );
        // A bad setting is named in its message.
        for (name, _) in extra.iter() {
            let setting = name.trim_start_matches("TESSERA_");
            assert!(
                line.contains(setting),
                "{args:?}: {line:?} does not name {setting}"
            );
        }
        let lower = line.to_lowercase();
        assert_eq!(lower.matches("error:").count(), 1, "{args:?}: {line:?}");
        assert!(!line.contains("  "), "{args:?}: a stray space: {line:?}");
        assert!(!line.ends_with(' '), "{args:?}: {line:?}");
    }
}
