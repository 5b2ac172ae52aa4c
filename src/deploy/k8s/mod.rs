//! Kubernetes manifests for a distributed run: a ConfigMap holding the scenario bundle and one
//! Indexed Job whose N pods each run one instance (`run --instance auto`, which reads
//! `JOB_COMPLETION_INDEX`), all starting at one instant and printing their results to their
//! logs (`--emit-result`) for `nexus-bench merge --from-logs` to gate on.
//!
//! The Job is strict on purpose: a generator that is restarted or replaced would start late and
//! add load on top of the schedule, so no index is retried (`backoffLimitPerIndex: 0`), one
//! failed index fails the Job (`maxFailedIndexes: 0`), a replacement pod starts only once the
//! old one is fully gone (`podReplacementPolicy: Failed`), and the pod failure policy fails the
//! whole Job at once on exit code 3 ("too late to start") and on a disruption (eviction,
//! preemption, node drain). Pods prefer distinct nodes: more load than one machine is the
//! point. CPU is requested but not limited (CFS throttling would stall the generator and
//! inflate the latencies it measures); memory is requested and limited alike.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

mod check;

pub use check::{job_name, threads_for_cpu};

use super::bundle::Bundle;
use super::yaml::{self, Node, map};

/// Where the ConfigMap is mounted in the pods.
pub const SCENARIO_MOUNT: &str = "/etc/nexus-bench/scenario";
/// A writable folder for the instance's run folder (an `emptyDir`).
pub const REPORTS_MOUNT: &str = "/var/lib/nexus-bench";
/// The container's name (the pod failure policy names it).
pub const CONTAINER: &str = "nexus-bench";
/// Most completions Kubernetes accepts for a Job with `backoffLimitPerIndex`.
pub const MAX_INSTANCES: u32 = 100_000;
/// Largest ConfigMap payload (the API server refuses larger ones).
pub const MAX_CONFIGMAP_BYTES: usize = 1024 * 1024;

/// Why manifests could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RenderError {
    /// `--instances` out of range.
    #[error("--instances must be between 1 and {MAX_INSTANCES}, not {0}")]
    Instances(u32),
    /// Not a DNS-1123 label.
    #[error(
        "--namespace `{0}` is not a Kubernetes namespace name (lowercase letters, digits and `-`, at most 63, starting and ending with a letter or digit)"
    )]
    Namespace(String),
    /// An empty image or one with spaces.
    #[error("--image `{0}` is not an image reference")]
    Image(String),
    /// Not a Kubernetes quantity.
    #[error("{flag} `{value}` is not a Kubernetes quantity (e.g. {example})")]
    Quantity {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// A valid example.
        example: &'static str,
    },
    /// A run id with characters that would need quoting in shells and labels.
    #[error(
        "--run-id `{0}` may hold only letters, digits, `.`, `_` and `-` (at most 128, starting with a letter or digit)"
    )]
    RunId(String),
    /// The bundle is larger than a ConfigMap may be.
    #[error(
        "the scenario and its files need {size} bytes in the ConfigMap, more than its limit of {MAX_CONFIGMAP_BYTES} (largest: {largest}); ship large data in the image or a volume instead"
    )]
    TooLarge {
        /// Bytes needed.
        size: usize,
        /// The largest file.
        largest: String,
    },
}

/// What to render.
#[derive(Debug, Clone)]
pub struct JobSpec<'a> {
    /// The scenario and its files.
    pub bundle: &'a Bundle,
    /// The scenario's `name`.
    pub scenario_name: &'a str,
    /// How many instances (pods).
    pub instances: u32,
    /// The container image holding `nexus-bench` on its PATH.
    pub image: &'a str,
    /// Namespace of both objects; none: kubectl's current one.
    pub namespace: Option<&'a str>,
    /// The shared start, RFC 3339 (`run --start-at`).
    pub start_at: &'a str,
    /// The run id every instance records (`run --run-id`).
    pub run_id: &'a str,
    /// CPU request per pod (a Kubernetes quantity: `2`, `1500m`).
    pub cpu: &'a str,
    /// Memory request and limit per pod (`1Gi`).
    pub memory: &'a str,
    /// More `run` arguments (`--target URL`, `--set K=V`).
    pub extra_args: &'a [String],
    /// The Job's `activeDeadlineSeconds`: the run may not take longer than this in all.
    pub deadline: Duration,
}

/// The ConfigMap and Job as one YAML stream (`---` between them), with a comment header.
pub fn render(spec: &JobSpec<'_>) -> Result<String, RenderError> {
    check::spec(spec)?;
    let name = job_name(spec.run_id);
    let threads = threads_for_cpu(spec.cpu)?;
    let (configmap, items) = configmap(spec, &name)?;
    let job = job(spec, &name, threads, items);
    Ok(format!(
        "# nexus-bench k8s render: scenario {scenario}, {n} instance{s} of Job {name}, start at {start}, run id {id}.\n\
         # Apply at once (the pods must start before the start time); collect and merge as\n\
         # deploy/kubernetes/README.md shows.\n---\n{cm}---\n{job}",
        scenario = spec.scenario_name,
        n = spec.instances,
        s = if spec.instances == 1 { "" } else { "s" },
        start = spec.start_at,
        id = spec.run_id,
        cm = yaml::to_string(&configmap),
        job = yaml::to_string(&job),
    ))
}

fn metadata(spec: &JobSpec<'_>, name: &str, job: &str) -> Node {
    let mut entries = vec![("name".to_owned(), Node::from(name))];
    if let Some(ns) = spec.namespace {
        entries.push(("namespace".to_owned(), ns.into()));
    }
    entries.push(("labels".to_owned(), labels(job)));
    entries.push((
        "annotations".to_owned(),
        map([
            ("nexus-bench/scenario", spec.scenario_name.into()),
            ("nexus-bench/run-id", spec.run_id.into()),
            ("nexus-bench/start-at", spec.start_at.into()),
        ]),
    ));
    Node::Map(entries)
}

fn labels(job: &str) -> Node {
    map([
        ("app.kubernetes.io/name", "nexus-bench".into()),
        ("app.kubernetes.io/instance", job.into()),
    ])
}

/// The ConfigMap, and the volume items that lay its keys out as the bundle's paths.
fn configmap(spec: &JobSpec<'_>, job: &str) -> Result<(Node, Vec<Node>), RenderError> {
    let mut data = Vec::new();
    let mut binary = Vec::new();
    let mut items = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut size = 0;
    let mut largest = (0, String::new());
    for file in &spec.bundle.files {
        let key = unique_key(&file.path, &keys);
        keys.push(key.clone());
        let value = match std::str::from_utf8(&file.bytes) {
            Ok(text) => {
                data.push((key.clone(), Node::from(text)));
                text.len()
            }
            Err(_) => {
                let encoded = STANDARD.encode(&file.bytes);
                let len = encoded.len();
                binary.push((key.clone(), Node::from(encoded)));
                len
            }
        };
        size += key.len() + value;
        if value > largest.0 {
            largest = (value, file.path.clone());
        }
        items.push(map([
            ("key", key.into()),
            ("path", file.path.as_str().into()),
        ]));
    }
    if size > MAX_CONFIGMAP_BYTES {
        return Err(RenderError::TooLarge {
            size,
            largest: largest.1,
        });
    }
    let mut cm = vec![
        ("apiVersion".to_owned(), Node::from("v1")),
        ("kind".to_owned(), "ConfigMap".into()),
        (
            "metadata".to_owned(),
            metadata(spec, &format!("{job}-scenario"), job),
        ),
    ];
    if !data.is_empty() {
        cm.push(("data".to_owned(), Node::Map(data)));
    }
    if !binary.is_empty() {
        cm.push(("binaryData".to_owned(), Node::Map(binary)));
    }
    Ok((Node::Map(cm), items))
}

/// A ConfigMap key (`[-._a-zA-Z0-9]+`) for a bundle path, distinct from `taken`.
fn unique_key(path: &str, taken: &[String]) -> String {
    let base: String = path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.chars().all(|c| c == '.') {
        format!("file{base}")
    } else {
        base
    };
    let mut key = base.clone();
    let mut n = 2;
    while taken.contains(&key) {
        key = format!("{base}-{n}");
        n += 1;
    }
    key
}

fn job(spec: &JobSpec<'_>, name: &str, threads: usize, items: Vec<Node>) -> Node {
    let n = spec.instances;
    let mut args: Vec<Node> = [
        "run".to_owned(),
        format!("{SCENARIO_MOUNT}/{}", spec.bundle.scenario),
        "--instance".into(),
        "auto".into(),
        "--instances".into(),
        n.to_string(),
        "--start-at".into(),
        spec.start_at.into(),
        "--run-id".into(),
        spec.run_id.into(),
        "--emit-result".into(),
        "--quiet".into(),
        "--no-html".into(),
        "--no-extra-outputs".into(),
        "--threads".into(),
        threads.to_string(),
        "--out".into(),
        format!("{REPORTS_MOUNT}/reports"),
    ]
    .into_iter()
    .map(Node::from)
    .collect();
    args.extend(spec.extra_args.iter().map(|a| Node::from(a.as_str())));

    let container = map([
        ("name", CONTAINER.into()),
        ("image", spec.image.into()),
        ("command", vec![Node::from("nexus-bench")].into()),
        ("args", args.into()),
        (
            "resources",
            map([
                (
                    "requests",
                    map([("cpu", spec.cpu.into()), ("memory", spec.memory.into())]),
                ),
                ("limits", map([("memory", spec.memory.into())])),
            ]),
        ),
        (
            "securityContext",
            map([
                ("allowPrivilegeEscalation", false.into()),
                ("readOnlyRootFilesystem", true.into()),
                (
                    "capabilities",
                    map([("drop", vec![Node::from("ALL")].into())]),
                ),
            ]),
        ),
        (
            "volumeMounts",
            vec![
                map([
                    ("name", "scenario".into()),
                    ("mountPath", SCENARIO_MOUNT.into()),
                    ("readOnly", true.into()),
                ]),
                map([
                    ("name", "reports".into()),
                    ("mountPath", REPORTS_MOUNT.into()),
                ]),
            ]
            .into(),
        ),
    ]);
    let pod = map([
        ("restartPolicy", "Never".into()),
        ("automountServiceAccountToken", false.into()),
        ("enableServiceLinks", false.into()),
        (
            "securityContext",
            map([
                ("runAsNonRoot", true.into()),
                ("runAsUser", 10001i64.into()),
                ("runAsGroup", 10001i64.into()),
                ("seccompProfile", map([("type", "RuntimeDefault".into())])),
            ]),
        ),
        ("affinity", spread(name)),
        ("containers", vec![container].into()),
        (
            "volumes",
            vec![
                map([
                    ("name", "scenario".into()),
                    (
                        "configMap",
                        map([
                            ("name", format!("{name}-scenario").into()),
                            ("items", items.into()),
                        ]),
                    ),
                ]),
                map([("name", "reports".into()), ("emptyDir", Node::Map(vec![]))]),
            ]
            .into(),
        ),
    ]);
    let fail_job = |rule: (&str, Node)| map([("action", "FailJob".into()), rule]);
    map([
        ("apiVersion", "batch/v1".into()),
        ("kind", "Job".into()),
        ("metadata", metadata(spec, name, name)),
        (
            "spec",
            map([
                ("completionMode", "Indexed".into()),
                ("completions", n.into()),
                ("parallelism", n.into()),
                ("backoffLimitPerIndex", 0i64.into()),
                ("maxFailedIndexes", 0i64.into()),
                ("podReplacementPolicy", "Failed".into()),
                (
                    "activeDeadlineSeconds",
                    (spec.deadline.as_secs().max(1) as i64).into(),
                ),
                (
                    "podFailurePolicy",
                    map([(
                        "rules",
                        vec![
                            fail_job((
                                "onExitCodes",
                                map([
                                    ("containerName", CONTAINER.into()),
                                    ("operator", "In".into()),
                                    ("values", vec![Node::Int(3)].into()),
                                ]),
                            )),
                            fail_job((
                                "onPodConditions",
                                vec![map([
                                    ("type", "DisruptionTarget".into()),
                                    ("status", "True".into()),
                                ])]
                                .into(),
                            )),
                        ]
                        .into(),
                    )]),
                ),
                (
                    "template",
                    map([("metadata", map([("labels", labels(name))])), ("spec", pod)]),
                ),
            ]),
        ),
    ])
}

/// Prefer one generator per node.
fn spread(job: &str) -> Node {
    map([(
        "podAntiAffinity",
        map([(
            "preferredDuringSchedulingIgnoredDuringExecution",
            vec![map([
                ("weight", 100i64.into()),
                (
                    "podAffinityTerm",
                    map([
                        ("topologyKey", "kubernetes.io/hostname".into()),
                        (
                            "labelSelector",
                            map([(
                                "matchLabels",
                                map([("batch.kubernetes.io/job-name", job.into())]),
                            )]),
                        ),
                    ]),
                ),
            ])]
            .into(),
        )]),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_keys_are_valid_and_distinct() {
        let taken = vec!["data_users.csv".to_owned()];
        assert_eq!(unique_key("data/users.csv", &taken), "data_users.csv-2");
        assert_eq!(unique_key("a b/ü.csv", &[]), "a_b__.csv");
        assert_eq!(unique_key("..", &[]), "file..");
    }
}
