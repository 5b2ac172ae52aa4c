//! Command-line interface: clap derive types only, no domain logic. `app` turns these into
//! plans and calls the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::result::BASELINES_ENV;

/// Load testing and profiling for HTTP services, with SLO and regression gates.
#[derive(Debug, Parser)]
#[command(name = "nexus-bench", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit code table, as a literal for `concat!`.
macro_rules! exit_codes {
    () => {
        "Exit codes:\n  0    every SLO held, no baseline regression (an instance of a split run: it ran)\n  1    a gate failed: an SLO or a baseline regression (never an instance: `merge` gates)\n  2    the run could not be judged: invalid scenario or arguments, target unreachable, internal\n       error\n  3    too late to start: past `--start-at` by more than `--start-tolerance`; no load sent\n  130  interrupted (results measured so far are saved)"
    };
}

/// Exit codes, shown under `--help` (and `run --help`).
pub const EXIT_CODES: &str = exit_codes!();

/// The subcommands.
// Parsed once per process: the size of the largest variant (`run`'s options) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and check its SLOs.
    #[command(
        after_help = concat!(
            "Examples:\n  nexus-bench run scenarios/cache.toml\n  nexus-bench run --url http://127.0.0.1:8080/healthz -c 32 -d 10s --slo 'latency.p99<50ms'\n  nexus-bench run --url http://127.0.0.1:8080/api --rate 500 --print-scenario > scenarios/api.toml\n  nexus-bench run scenarios/mesh.toml --target http://127.0.0.1:8080 --duration 30s\n  nexus-bench run scenarios/cache.toml --set load.users=64 --summary json --quiet\n  nexus-bench run scenario.toml --instance auto --instances 3 --start-at 2026-11-30T12:00:00Z\n\n",
            exit_codes!()
        )
    )]
    Run(RunArgs),
    /// Write a commented starter scenario, or one request per operation of an OpenAPI 3
    /// document.
    #[command(
        after_help = "Examples:\n  nexus-bench init -o scenarios/api.toml\n  nexus-bench init --url http://127.0.0.1:8080 > scenarios/api.toml\n  nexus-bench init --openapi openapi.yaml -o scenarios/api.toml\n  nexus-bench serve --openapi | nexus-bench init --openapi - --url http://127.0.0.1:8080"
    )]
    Init(InitArgs),
    /// Parse and check scenario files without sending traffic; print the resolved plans.
    #[command(
        after_help = "Examples:\n  nexus-bench validate scenarios/*.toml\n  nexus-bench validate scenario.toml --instances 3"
    )]
    Validate(ValidateArgs),
    /// Serve the reference supervisor, mesh and cache APIs.
    #[command(
        after_help = "Examples:\n  nexus-bench serve --api cache --addr 127.0.0.1:8080\n  nexus-bench serve --api all --latency 2ms --error-rate 1%\n  nexus-bench serve --tls --tls-cert-out ca.pem\n  nexus-bench serve --tls-cert cert.pem --tls-key key.pem --tls-client-ca clients-ca.pem"
    )]
    Serve(ServeArgs),
    /// Write the reports (HTML, CSV, JUnit, Markdown, HdrHistogram log) of a run again.
    #[command(after_help = "Examples:\n  nexus-bench report reports/cache/20261125T120000Z")]
    Report(ReportArgs),
    /// Compare a run against a baseline and gate on significant regressions.
    #[command(
        after_help = "Examples:\n  nexus-bench compare reports/baselines/main/cache.json reports/cache/20261125T120000Z"
    )]
    Compare(CompareArgs),
    /// Merge results of one scenario run on several machines (instances) into one, and gate
    /// on it: SLOs judged on the merged histograms, exit codes as for `run`.
    #[command(
        after_help = "Examples:\n  nexus-bench merge -o merged/ host-a/result.json host-b/result.json\n  kubectl logs -l batch.kubernetes.io/job-name=load --tail=-1 --prefix | nexus-bench merge -o merged/ --from-logs -"
    )]
    Merge(MergeArgs),
    /// Run a scenario on Kubernetes as N instances: render the manifests.
    #[command(
        after_help = "Examples:\n  nexus-bench k8s render scenarios/cache.toml --instances 4 --image registry.example/nexus-bench:0.1 --target http://cache.svc:8080 | kubectl apply -f -"
    )]
    K8s(K8sArgs),
    /// Print a JSON Schema: `scenario` (scenario files) or `result` (result.json).
    #[command(
        after_help = "Examples:\n  nexus-bench schema scenario > scenario.schema.json\n  nexus-bench schema result"
    )]
    Schema {
        /// Which schema.
        #[arg(value_parser = ["scenario", "result"])]
        which: String,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  nexus-bench completions bash > ~/.local/share/bash-completion/completions/nexus-bench\n  nexus-bench completions zsh > ~/.zfunc/_nexus-bench\n  nexus-bench completions fish > ~/.config/fish/completions/nexus-bench.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of nexus-bench and its subcommands.
    #[command(
        after_help = "Examples:\n  nexus-bench man > ~/.local/share/man/man1/nexus-bench.1\n  nexus-bench man --out-dir ~/.local/share/man/man1"
    )]
    Man {
        /// Write one page per subcommand (`nexus-bench-run.1`, …) into this folder instead
        /// of printing the main page.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// `nexus-bench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML; `-` reads it from stdin). Not with `--url`.
    #[arg(required_unless_present = "url", conflicts_with = "url")]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub adhoc: AdHocArgs,
    /// Send the load here instead of the scenario's `target.base_url`.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Override the measured duration (e.g. `30s`, `2m`); a ramp is scaled to fit. With
    /// `--url`: the run's duration [default: 10s].
    #[arg(long, short = 'd', value_name = "D")]
    pub duration: Option<String>,
    /// Parent folder of the run folder [default: reports/<scenario>/<UTC time>/ under it].
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Override a scenario value, e.g. `--set load.users=64` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// No live progress and no summary table: one verdict line on stderr
    /// (`cache: FAIL (1 of 6 SLOs) → reports/cache/…`).
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip TLS certificate verification (like `target.tls.insecure = true`); every output
    /// of the run says so.
    #[arg(long)]
    pub insecure: bool,
    /// Generator worker threads, at least 1 [default: half the CPUs, at least 1, leaving a
    /// local target its share].
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub threads: Option<usize>,
    /// Print a machine-readable end-of-run summary (one JSON line) on stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub summary: Option<String>,
    /// Skip the HTML report.
    #[arg(long)]
    pub no_html: bool,
    /// Write only result.json and report.html: skip requests.csv, timeseries.csv,
    /// junit.xml, summary.md and latency.hlog.
    #[arg(long)]
    pub no_extra_outputs: bool,
    /// Store this run as the named baseline (or at this path).
    #[arg(long, value_name = "NAME|PATH")]
    pub save_baseline: Option<String>,
    /// Folder of named baselines [default: `<out>/baselines`].
    #[arg(long, value_name = "DIR", env = BASELINES_ENV)]
    pub baselines: Option<PathBuf>,
    /// Compare this run against a named baseline (or a result path) and gate on regressions.
    #[arg(long, value_name = "NAME|PATH")]
    pub baseline: Option<String>,
    /// With `--baseline`: largest tolerated regression (e.g. `10%`).
    #[arg(long, value_name = "PCT")]
    pub max_regression: Option<String>,
    /// With `--baseline`: changes smaller than this are never regressions (e.g. `2%`).
    #[arg(long, value_name = "PCT")]
    pub noise: Option<String>,
    /// With `--baseline`: significance level of the statistical test.
    #[arg(long, value_name = "ALPHA")]
    pub significance: Option<f64>,
    /// With `--baseline`: compare even when the scenario or load settings differ.
    #[arg(long)]
    pub force: bool,
    /// Sample nexus-bench itself and write its flamegraph.
    #[arg(long)]
    pub profile: bool,
    /// Run only share I (0 ≤ I < N) of the load of a run split over `--instances N`, or
    /// `auto`: from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_PROCID and
    /// SLURM_NTASKS (Slurm). An instance's exit code says only whether it ran; the gate is
    /// `nexus-bench merge`.
    #[arg(long, value_name = "I|auto", help_heading = "Split runs")]
    pub instance: Option<String>,
    /// How many instances share the load (with `--instance`).
    #[arg(long, value_name = "N", help_heading = "Split runs")]
    pub instances: Option<u32>,
    /// The id every instance of one run records [default: from the scenario's hash and
    /// the start].
    #[arg(long, value_name = "ID", help_heading = "Split runs")]
    pub run_id: Option<String>,
    /// Start the load at this time (RFC 3339, e.g. `2026-11-30T12:00:00Z`, or Unix
    /// milliseconds); the run's clock starts there, so instances' schedules align.
    #[arg(long, value_name = "TIME", help_heading = "Split runs")]
    pub start_at: Option<String>,
    /// With `--start-at`: arriving later than the start by more than this exits 3 (too late
    /// to start) without sending load.
    #[arg(
        long,
        value_name = "D",
        default_value = "1s",
        help_heading = "Split runs"
    )]
    pub start_tolerance: String,
    /// At the end, print result.json to stdout as framed lines (`NEXUS-BENCH-RESULT v1 …`)
    /// for `merge --from-logs` to collect from the logs of a cluster without shared storage.
    #[arg(long)]
    pub emit_result: bool,
    /// Export each finished second while the run runs (repeatable): `ndjson=PATH` (`-` for
    /// stdout) or `prometheus-rw=URL` (Prometheus remote-write).
    #[arg(long, value_name = "KIND=DEST")]
    pub export: Vec<crate::export::ExportSpec>,
}

/// `nexus-bench run --url`: a scenario built from flags instead of a file.
#[derive(Debug, Args)]
#[command(next_help_heading = "Ad-hoc run (no scenario file)")]
pub struct AdHocArgs {
    /// Load this URL with a scenario built from these flags (same run, outputs and exit
    /// codes as a file).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Closed model: this many virtual users [default: 8].
    #[arg(short = 'c', long = "users", value_name = "USERS", requires = "url", conflicts_with = "rate",
          value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(1..))]
    pub users: Option<u32>,
    /// Open model: this many arrivals per second (`500` or `500/s`).
    #[arg(long, value_name = "R/s", requires = "url")]
    pub rate: Option<String>,
    /// HTTP method.
    #[arg(short = 'm', long, default_value = "GET", requires = "url")]
    pub method: String,
    /// A request header, `name: value` (repeatable).
    #[arg(
        short = 'H',
        long = "header",
        value_name = "NAME: VALUE",
        requires = "url"
    )]
    pub headers: Vec<String>,
    /// The request body, sent as is.
    #[arg(long, value_name = "TEXT", requires = "url")]
    pub body: Option<String>,
    /// An SLO to check, e.g. `latency.p99<50ms`, `error_rate<0.1%`, `throughput>100/s`
    /// (repeatable).
    #[arg(long, value_name = "METRIC<LIMIT", requires = "url")]
    pub slo: Vec<String>,
    /// Print the scenario file the flags stand for (on stdout) and exit without running.
    #[arg(long, requires = "url")]
    pub print_scenario: bool,
}

/// `nexus-bench init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The service's base URL (`http://127.0.0.1:8080`, an optional path prefix): the
    /// starter's target, or with `--openapi` instead of the document's `servers`
    /// [default: the embedded reference target, or the document's first server].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// An OpenAPI 3 document (JSON or YAML; `-` reads it from stdin): one request per
    /// operation, with the document's examples or typed placeholders.
    #[arg(long, value_name = "FILE")]
    pub openapi: Option<PathBuf>,
    /// Write the scenario to this file instead of stdout (never over an existing file
    /// without `--force`).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the `-o` file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// The scenario's name [default: the `-o` file's name, else `starter` or the
    /// document's title].
    #[arg(long)]
    pub name: Option<String>,
}

/// `nexus-bench validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Overrides, as for `run`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Also print each instance's share of the load when split over N instances.
    #[arg(long, value_name = "N")]
    pub instances: Option<u32>,
}

/// `nexus-bench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Which API to serve.
    #[arg(long, default_value = "all", value_parser = ["supervisor", "mesh", "cache", "all"])]
    pub api: String,
    /// Address to listen on (port 0 picks a free port; the bound address is printed first).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: String,
    /// Simulated services managed by the supervisor.
    #[arg(long, default_value_t = 50)]
    pub services: usize,
    /// Time a simulated service takes to start or stop.
    #[arg(long, default_value = "200ms")]
    pub service_start_time: String,
    /// Cache capacity in entries.
    #[arg(long, default_value_t = 100_000)]
    pub cache_entries: u64,
    /// Cache capacity in bytes of values.
    #[arg(long, default_value = "64MB")]
    pub cache_bytes: String,
    /// Fault: added latency per request, fixed (`2ms`) or uniform range (`1ms..5ms`).
    #[arg(long)]
    pub latency: Option<String>,
    /// Fault: fraction of requests answered 500 (`1%`).
    #[arg(long)]
    pub error_rate: Option<String>,
    /// Fault: every this often, stall all requests…
    #[arg(long, value_name = "D")]
    pub stall_every: Option<String>,
    /// …for this long.
    #[arg(long, value_name = "D")]
    pub stall_for: Option<String>,
    /// Fault: multiply the handling time by this factor (`1.2` = 20 % slower).
    #[arg(long)]
    pub slowdown: Option<f64>,
    /// Fault: every request to ROUTE first burns DURATION of CPU in a function named
    /// `nexus_fault_burn_cpu` (`/api/services:2ms`), for profile-diff tests.
    #[arg(long, value_name = "ROUTE:DURATION")]
    pub burn_cpu: Option<String>,
    /// Fault: every API request (or those whose path starts with ROUTE) leaks SIZE bytes
    /// that are never freed (`64KB/request`, `/api/services:64KB/request`), for leak SLOs.
    #[arg(long, value_name = "[ROUTE:]SIZE/request")]
    pub leak: Option<String>,
    /// Turn jemalloc's heap profiler on and serve `/debug/pprof/heap` (pprof, `inuse_space`);
    /// scenarios with `[profile] heap = true` pass it to the embedded target.
    #[arg(long)]
    pub heap_profiling: bool,
    /// Serve HTTPS (ALPN h2 and http/1.1) with a certificate generated at start for
    /// 127.0.0.1, ::1 and localhost; the first stdout line is then `https://…`.
    #[arg(long, help_heading = "TLS")]
    pub tls: bool,
    /// Write the served certificate (PEM) here before printing the URL, for a client to trust
    /// as its CA. Implies `--tls`.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_cert_out: Option<PathBuf>,
    /// Serve this PEM certificate chain instead of a generated one (with `--tls-key`). Implies
    /// `--tls`.
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by a CA in this PEM file (mTLS): a client without
    /// one fails the handshake. Implies `--tls`.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_client_ca: Option<PathBuf>,
    /// Print the OpenAPI 3 document (YAML) of the supervisor, mesh and cache APIs and exit.
    #[arg(long)]
    pub openapi: bool,
}

/// `nexus-bench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder or a result.json.
    pub result: PathBuf,
    /// Write the reports here [default: next to the result].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the HTML report.
    #[arg(long)]
    pub no_html: bool,
}

/// `nexus-bench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline: a named baseline, a run folder or a result.json.
    pub baseline: String,
    /// The current run: a run folder or a result.json.
    pub current: PathBuf,
    /// Largest tolerated regression (e.g. `10%`).
    #[arg(long)]
    pub max_regression: Option<String>,
    /// Changes smaller than this are never called regressions (e.g. `2%`).
    #[arg(long)]
    pub noise: Option<String>,
    /// Significance level of the statistical test.
    #[arg(long)]
    pub significance: Option<f64>,
    /// Compare even when the scenarios or load settings differ.
    #[arg(long)]
    pub force: bool,
    /// Folder of named baselines [default: `reports/baselines`].
    #[arg(long, value_name = "DIR", env = BASELINES_ENV)]
    pub baselines: Option<PathBuf>,
}

/// `nexus-bench merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Result files or run folders, all of the same scenario (with `run --instance`: every
    /// instance of one run, each once).
    #[arg(required_unless_present = "from_logs")]
    pub results: Vec<PathBuf>,
    /// Output run folder.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Also read results that `run --emit-result` printed, from this log (`-`: stdin), e.g.
    /// `kubectl logs -l batch.kubernetes.io/job-name=J --tail=-1 --prefix` output; other
    /// lines are ignored.
    #[arg(long, value_name = "FILE|-")]
    pub from_logs: Option<PathBuf>,
    /// Merge a run whose instances are not all there (or did not all complete): the verdict
    /// is then `fail`, naming what is missing.
    #[arg(long)]
    pub allow_partial: bool,
    /// Judge the SLOs (and `[baseline]` settings) of this scenario file instead of those
    /// recorded in the results; it must be the file the instances ran.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Compare the merged run against a named baseline (or a result path) and gate on
    /// regressions.
    #[arg(long, value_name = "NAME|PATH")]
    pub baseline: Option<String>,
    /// Folder of named baselines [default: `reports/baselines`].
    #[arg(long, value_name = "DIR", env = BASELINES_ENV)]
    pub baselines: Option<PathBuf>,
    /// With `--baseline`: largest tolerated regression (e.g. `10%`).
    #[arg(long, value_name = "PCT")]
    pub max_regression: Option<String>,
    /// With `--baseline`: changes smaller than this are never regressions (e.g. `2%`).
    #[arg(long, value_name = "PCT")]
    pub noise: Option<String>,
    /// With `--baseline`: significance level of the statistical test.
    #[arg(long, value_name = "ALPHA")]
    pub significance: Option<f64>,
    /// With `--baseline`: compare even when the scenario or load settings differ.
    #[arg(long)]
    pub force: bool,
    /// No summary table.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `nexus-bench k8s`.
#[derive(Debug, Args)]
pub struct K8sArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: K8sCommand,
}

/// The `k8s` subcommands.
#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Print a ConfigMap (the scenario and the files it names) and an Indexed Job of N pods
    /// that each run one instance from one shared start time, printing their results to their
    /// logs (`--emit-result`), as YAML for `kubectl apply -f -`. See deploy/kubernetes/.
    Render(K8sRenderArgs),
}

/// `nexus-bench k8s render`.
#[derive(Debug, Args)]
pub struct K8sRenderArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// How many instances (pods) share the load.
    #[arg(long, value_name = "N")]
    pub instances: u32,
    /// Container image with `nexus-bench` on its PATH (see the repository's Dockerfile).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Namespace of the ConfigMap and the Job [default: kubectl's current one].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// The instances start this long after rendering; apply the manifests at once.
    #[arg(long, value_name = "D", default_value = "30s")]
    pub start_in: String,
    /// Start at this instant instead (RFC 3339 or Unix milliseconds): the output is then the
    /// same on every call.
    #[arg(long, value_name = "TIME", conflicts_with = "start_in")]
    pub start_at: Option<String>,
    /// Run id every instance records [default: the scenario name and the start time].
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Send the load here instead of the scenario's `target.base_url` (passed to `run`).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Override a scenario value (repeatable; checked now, passed to `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// CPU requested per pod (a Kubernetes quantity); its whole CPUs are the worker threads.
    /// No CPU limit is set: throttling would distort the latencies measured.
    #[arg(long, value_name = "QTY", default_value = "2")]
    pub cpu: String,
    /// Memory requested and limited per pod.
    #[arg(long, value_name = "QTY", default_value = "1Gi")]
    pub memory: String,
}
