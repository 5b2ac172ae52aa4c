//! `nexus-bench serve`: turns the command line into a [`ServeConfig`] (and, with `--tls`, a
//! [`ServerTls`]), binds, prints the base URL (`http://…` or `https://…`) as the first line of
//! stdout and serves until SIGINT or SIGTERM.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use super::Outcome;
use crate::cli::ServeArgs;
use crate::reference::{Apis, Faults, Identity, ServeConfig, ServerTls, TlsOptions};
use crate::units;

/// The OpenAPI 3 document of the reference APIs (`serve --openapi`).
const REFERENCE_OPENAPI: &str = include_str!("../../docs/openapi/reference.yaml");

/// Runs `nexus-bench serve`.
pub fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    if args.openapi {
        std::io::stdout().write_all(REFERENCE_OPENAPI.as_bytes())?;
        return Ok(Outcome::Pass);
    }
    if args.heap_profiling {
        reexec_with_profiling()?;
    }
    let config = config(&args)?;
    let tls = match tls_options(&args) {
        None => None,
        Some(options) => Some(ServerTls::new(&options).context("cannot set up TLS")?),
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        if args.heap_profiling {
            // Before the address is printed: the first profile loads the symbol tables, and
            // that step of resident memory belongs to the start-up, not to a run.
            crate::reference::activate_heap_profiling().await?;
        }
        let listener = crate::reference::bind(args.addr.as_str())
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        if let (Some(tls), Some(path)) = (&tls, &args.tls_cert_out) {
            // Written before the URL is printed: a client that has read the URL finds the file.
            write_atomically(path, tls.cert_pem())
                .with_context(|| format!("cannot write --tls-cert-out {}", path.display()))?;
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        // The signal handlers are installed before the URL is printed: whoever reads it may
        // send SIGTERM at once, and that must stop the server gracefully, not kill it.
        let shutdown = shutdown_signal();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{scheme}://{addr}")?;
        stdout.flush()?;
        drop(stdout);
        match &tls {
            None => crate::reference::serve(listener, config, shutdown).await,
            Some(tls) => crate::reference::serve_tls(listener, config, tls, shutdown).await,
        }
        .context("the server failed")
    })?;
    Ok(Outcome::Pass)
}

/// The TLS settings the flags ask for; `None` for plain HTTP. Each `--tls-*` file flag implies
/// `--tls`.
fn tls_options(args: &ServeArgs) -> Option<TlsOptions> {
    let wanted = args.tls
        || args.tls_cert_out.is_some()
        || args.tls_cert.is_some()
        || args.tls_client_ca.is_some();
    if !wanted {
        return None;
    }
    let identity = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Identity::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        // clap makes --tls-cert and --tls-key require each other.
        _ => Identity::SelfSigned,
    };
    Some(TlsOptions {
        identity,
        client_ca: args.tls_client_ca.clone(),
    })
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`, so a reader
/// never sees half a certificate.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called
/// (inside the runtime), not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Maps the command line to a validated [`ServeConfig`].
fn config(args: &ServeArgs) -> anyhow::Result<ServeConfig> {
    let apis = match args.api.as_str() {
        "all" => Apis::ALL,
        one => Apis {
            supervisor: one == "supervisor",
            mesh: one == "mesh",
            cache: one == "cache",
        },
    };
    let duration = |flag: &str, text: &str| -> anyhow::Result<Duration> {
        units::parse_duration(text).map_err(|e| anyhow::anyhow!("--{flag} {text:?}: {e}"))
    };
    let latency = match &args.latency {
        None => None,
        Some(text) => Some(match text.split_once("..") {
            Some((low, high)) => {
                let (low, high) = (
                    duration("latency", low.trim())?,
                    duration("latency", high.trim())?,
                );
                if low > high {
                    bail!("--latency {text:?}: the range must go from low to high");
                }
                (low, high)
            }
            None => {
                let fixed = duration("latency", text)?;
                (fixed, fixed)
            }
        }),
    };
    let error_rate = match &args.error_rate {
        None => 0.0,
        Some(text) => {
            let rate = units::parse_percent(text)
                .map_err(|e| anyhow::anyhow!("--error-rate {text:?}: {e}"))?;
            if !(0.0..=1.0).contains(&rate) {
                bail!("--error-rate {text:?}: must be between 0% and 100%");
            }
            rate
        }
    };
    let stall = match (&args.stall_every, &args.stall_for) {
        (None, None) => None,
        (Some(every), Some(length)) => {
            let (every, length) = (
                duration("stall-every", every)?,
                duration("stall-for", length)?,
            );
            if length >= every {
                bail!("--stall-for must be shorter than --stall-every");
            }
            Some((every, length))
        }
        _ => bail!("--stall-every and --stall-for go together"),
    };
    let slowdown = args.slowdown.unwrap_or(1.0);
    if !slowdown.is_finite() || slowdown < 1.0 {
        bail!("--slowdown {slowdown}: must be at least 1.0 (1.2 = 20% slower)");
    }
    Ok(ServeConfig {
        apis,
        services: args.services,
        service_start_time: duration("service-start-time", &args.service_start_time)?,
        cache_entries: args.cache_entries,
        cache_bytes: units::parse_bytes(&args.cache_bytes)
            .map_err(|e| anyhow::anyhow!("--cache-bytes {:?}: {e}", args.cache_bytes))?,
        faults: Faults {
            latency,
            error_rate,
            stall,
            slowdown,
            burn_cpu: args
                .burn_cpu
                .as_deref()
                .map(crate::reference::BurnCpu::parse)
                .transpose()?,
            leak: args
                .leak
                .as_deref()
                .map(crate::reference::Leak::parse)
                .transpose()?,
        },
    })
}

/// jemalloc's configuration for `--heap-profiling`, given through its environment variable.
const HEAP_MALLOC_CONF: &str = "prof:true,prof_active:false,lg_prof_sample:16";
/// Set in the re-executed process, so it never re-executes again.
const REEXEC_GUARD: &str = "NEXUS_BENCH_HEAP_REEXEC";

/// `--heap-profiling` needs jemalloc started with `prof:true`. The binary's built-in
/// `malloc_conf` says so, but a release build (LTO) may drop that symbol; then the server
/// runs itself again with jemalloc's environment variable set (`_RJEM_MALLOC_CONF`), which
/// only this process reads: the load generator never runs with profiling compiled in.
fn reexec_with_profiling() -> anyhow::Result<()> {
    if crate::reference::heap_profiling_possible() || std::env::var_os(REEXEC_GUARD).is_some() {
        return Ok(());
    }
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe().context("locating the nexus-bench executable")?;
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("_RJEM_MALLOC_CONF", HEAP_MALLOC_CONF)
        .env(REEXEC_GUARD, "1")
        .exec();
    Err(err).context("re-running the server with jemalloc's heap profiler")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        use clap::Parser;
        let mut argv = vec!["nexus-bench", "serve"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Serve(args) => args,
            _ => unreachable!("parsed a serve command"),
        }
    }

    #[test]
    fn defaults_have_no_faults() {
        let config = config(&args(&[])).unwrap();
        assert_eq!(config.apis, Apis::ALL);
        assert_eq!(config.faults, Faults::default());
        assert_eq!(config.service_start_time, Duration::from_millis(200));
        assert_eq!(config.cache_bytes, 64_000_000);
    }

    #[test]
    fn faults_are_parsed() {
        let config = config(&args(&[
            "--api",
            "cache",
            "--latency",
            "1ms..5ms",
            "--error-rate",
            "1%",
            "--stall-every",
            "10s",
            "--stall-for",
            "1s",
            "--slowdown",
            "1.5",
        ]))
        .unwrap();
        assert!(config.apis.cache && !config.apis.mesh && !config.apis.supervisor);
        let f = config.faults;
        assert_eq!(
            f.latency,
            Some((Duration::from_millis(1), Duration::from_millis(5)))
        );
        assert!((f.error_rate - 0.01).abs() < 1e-12);
        assert_eq!(
            f.stall,
            Some((Duration::from_secs(10), Duration::from_secs(1)))
        );
        assert_eq!(f.slowdown, 1.5);
        let fixed = config_of(&["--latency", "2ms"]).faults.latency;
        assert_eq!(
            fixed,
            Some((Duration::from_millis(2), Duration::from_millis(2)))
        );
    }

    fn config_of(extra: &[&str]) -> ServeConfig {
        config(&args(extra)).unwrap()
    }

    #[test]
    fn tls_flags_map_to_options() {
        assert_eq!(tls_options(&args(&[])), None);
        assert_eq!(
            tls_options(&args(&["--tls"])),
            Some(TlsOptions {
                identity: Identity::SelfSigned,
                client_ca: None
            })
        );
        assert_eq!(
            tls_options(&args(&["--tls-cert", "c.pem", "--tls-key", "k.pem"])),
            Some(TlsOptions {
                identity: Identity::Files {
                    cert: "c.pem".into(),
                    key: "k.pem".into()
                },
                client_ca: None
            })
        );
        let mtls = tls_options(&args(&["--tls-client-ca", "ca.pem"])).unwrap();
        assert_eq!(mtls.client_ca, Some(PathBuf::from("ca.pem")));
        assert!(tls_options(&args(&["--tls-cert-out", "out.pem"])).is_some());
        use clap::Parser;
        let lone = crate::cli::Cli::try_parse_from(["nexus-bench", "serve", "--tls-cert", "c.pem"]);
        assert!(lone.unwrap_err().to_string().contains("--tls-key"));
    }

    #[test]
    fn bad_values_are_clear_errors() {
        for (extra, needle) in [
            (&["--latency", "5ms..1ms"][..], "low to high"),
            (&["--latency", "fast"][..], "--latency"),
            (&["--error-rate", "150%"][..], "between"),
            (&["--stall-every", "1s"][..], "go together"),
            (&["--slowdown", "0.5"][..], "at least"),
            (&["--cache-bytes", "lots"][..], "--cache-bytes"),
        ] {
            let err = config(&args(extra)).unwrap_err().to_string();
            assert!(err.contains(needle), "{extra:?}: {err}");
        }
    }
}
