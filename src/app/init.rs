//! `nexus-bench init`: a starter scenario, or one from an OpenAPI document, checked by the
//! scenario loader before it is written to stdout (data) or to `-o FILE` (never over an
//! existing file without `--force`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::Outcome;
use crate::cli::InitArgs;
use crate::scenario::{self, OpenApiSource, Overrides};

/// Runs `nexus-bench init`.
pub fn init(args: InitArgs) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.output
        && !args.force
        && path.exists()
    {
        bail!(
            "{} exists; choose another -o file, or add --force to overwrite it",
            path.display()
        );
    }
    let name = args.name.clone().or_else(|| {
        args.output
            .as_deref()
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
    });
    let text = match &args.openapi {
        None => scenario::starter(name.as_deref().unwrap_or("starter"), args.url.as_deref())?,
        Some(path) => {
            let text = if path == Path::new("-") {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(path)
            }
            .with_context(|| format!("cannot read the OpenAPI document {}", path.display()))?;
            let label = path
                .file_name()
                .map_or("-".into(), |n| n.to_string_lossy().into_owned());
            scenario::scenario_from_openapi(
                &OpenApiSource {
                    text: &text,
                    label: &label,
                },
                name.as_deref(),
                args.url.as_deref(),
            )
            .with_context(|| format!("{}", path.display()))?
        }
    };
    // What init writes must load as written; a failure here is nexus-bench's bug, said so.
    let as_if = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("init.toml"));
    if let Err(e) = scenario::load_str(&text, &as_if, &Overrides::default(), &|_| None) {
        bail!(
            "internal error: the scenario init generated does not validate (please report it):\n{e}\n---\n{text}"
        );
    }
    match &args.output {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
        Some(path) => {
            write(path, &text, args.force)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote {0}; check it with `nexus-bench validate {0}`, run it with `nexus-bench run {0}`",
                path.display()
            );
        }
    }
    Ok(Outcome::Pass)
}

/// Writes `text` to `path`, creating its folder; without `force` the file must not exist
/// (checked by the create itself, so a file appearing meanwhile is not overwritten either).
fn write(path: &Path, text: &str, force: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
