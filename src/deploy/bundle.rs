//! The files a scenario needs on another machine: the scenario itself and every file it names
//! (`[[data]] file`, `body_file` of requests and flow steps, `[target.tls]` `ca`,
//! `client_cert` and `client_key`), laid out with the same relative geometry so the paths in
//! the scenario resolve unchanged where the bundle is unpacked (a ConfigMap volume).

use std::path::{Component, Path, PathBuf};

use crate::scenario::raw::RawScenario;

/// Why a scenario could not be bundled.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The scenario could not be read as TOML (it should have been validated first).
    #[error("{path}: {message}")]
    Parse {
        /// The scenario.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A referenced path is absolute: it would name a file of the other machine.
    #[error(
        "{scenario}: `{field}` names the absolute path {path}, which does not exist where the scenario is shipped to; give it relative to the scenario's folder"
    )]
    Absolute {
        /// The scenario.
        scenario: PathBuf,
        /// The scenario field, e.g. `data.file`.
        field: &'static str,
        /// The path as written.
        path: String,
    },
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundledFile {
    /// Path inside the bundle (`/`-separated, relative, no `..`).
    pub path: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// A scenario and the files it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The scenario's path inside the bundle.
    pub scenario: String,
    /// Every file, the scenario first, each once.
    pub files: Vec<BundledFile>,
}

/// Reads the scenario at `path` and every file it names into a bundle. Call it on a scenario
/// that validated: a missing file is reported, but with less context than validation gives.
pub fn bundle(path: &Path) -> Result<Bundle, BundleError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| BundleError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let text = read(path)?;
    let raw: RawScenario =
        toml::from_str(&String::from_utf8_lossy(&text)).map_err(|e| BundleError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })?;
    let dir = std::path::absolute(path.parent().unwrap_or(Path::new("."))).map_err(|source| {
        BundleError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let scenario_abs = normalize(&dir.join(path.file_name().unwrap_or_default()));

    let mut wanted = vec![(scenario_abs.clone(), text)];
    for (field, rel) in referenced(&raw) {
        if Path::new(rel).is_absolute() {
            return Err(BundleError::Absolute {
                scenario: path.to_path_buf(),
                field,
                path: rel.to_owned(),
            });
        }
        let abs = normalize(&dir.join(rel));
        if wanted.iter().all(|(p, _)| *p != abs) {
            let bytes = read(&dir.join(rel))?;
            wanted.push((abs, bytes));
        }
    }
    let root = common_folder(wanted.iter().map(|(p, _)| p.as_path()));
    let inside = |p: &Path| -> String {
        let rel = p
            .strip_prefix(&root)
            .expect("every file is under the common folder");
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.join("/")
    };
    Ok(Bundle {
        scenario: inside(&scenario_abs),
        files: wanted
            .iter()
            .map(|(p, bytes)| BundledFile {
                path: inside(p),
                bytes: bytes.clone(),
            })
            .collect(),
    })
}

/// The relative paths a scenario names, with the field each is in.
fn referenced(raw: &RawScenario) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    for d in &raw.data {
        out.push(("data.file", d.file.get().as_str()));
    }
    let steps = raw.flows.iter().flat_map(|f| f.steps.iter());
    for r in raw.requests.iter().chain(steps) {
        if let Some(f) = &r.body_file {
            out.push(("body_file", f.get().as_str()));
        }
    }
    if let Some(tls) = &raw.target.tls {
        for (field, value) in [
            ("target.tls.ca", &tls.ca),
            ("target.tls.client_cert", &tls.client_cert),
            ("target.tls.client_key", &tls.client_key),
        ] {
            if let Some(v) = value {
                out.push((field, v.get().as_str()));
            }
        }
    }
    out
}

/// `path` with `.` and `..` resolved lexically (as the unpacked bundle, which has no symbolic
/// links of its own, resolves them).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The deepest folder holding every one of `files`.
fn common_folder<'a>(mut files: impl Iterator<Item = &'a Path>) -> PathBuf {
    let first = files
        .next()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    let mut root = first.to_path_buf();
    for f in files {
        while !f.starts_with(&root) {
            if !root.pop() {
                break;
            }
        }
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_common_folder() {
        assert_eq!(
            normalize(Path::new("/a/b/./../c/d.csv")),
            PathBuf::from("/a/c/d.csv")
        );
        let files = [Path::new("/a/b/s.toml"), Path::new("/a/c/d.csv")];
        assert_eq!(common_folder(files.into_iter()), PathBuf::from("/a"));
        let files = [Path::new("/a/b/s.toml"), Path::new("/a/b/x/d.csv")];
        assert_eq!(common_folder(files.into_iter()), PathBuf::from("/a/b"));
    }
}
