//! The scenario file as written: serde types mirroring the TOML, with the span of every value
//! that is checked later so errors can point at it. The JSON Schema is generated from these.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

/// A value with its byte span in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Sp<T>(pub toml::Spanned<T>);

impl<T> Sp<T> {
    /// The value.
    pub fn get(&self) -> &T {
        self.0.get_ref()
    }

    /// Where the value is.
    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A TOML table kept as (key, value) pairs with the key's span.
#[derive(Debug, Clone)]
pub struct SpMap<V>(pub Vec<(Sp<String>, V)>);

impl<V> Default for SpMap<V> {
    fn default() -> Self {
        SpMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpMap<V> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = SpMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(SpMap(out))
            }
        }
        de.deserialize_map(V2(PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for SpMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<V>(),
        })
    }
}

/// A scenario file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "nexus-bench scenario")]
pub struct RawScenario {
    /// Scenario name, `[A-Za-z0-9_-]+`: the result folder's name and the baseline key.
    pub name: Sp<String>,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the load goes.
    pub target: RawTarget,
    /// How much load, and its shape over time.
    pub load: RawLoad,
    /// CSV data sets templates read rows from (`{{ set.column }}`).
    #[serde(default)]
    pub data: Vec<RawData>,
    /// Standalone requests, each its own entry in the weighted mix.
    #[serde(default)]
    pub requests: Vec<RawRequest>,
    /// Flows: sequences of steps run in order as one mix entry.
    #[serde(default)]
    pub flows: Vec<RawFlow>,
    /// WebSocket connections held open for the whole run beside the load model, each
    /// recording every message it receives.
    #[serde(default)]
    pub streams: Vec<RawStream>,
    /// Service-level objectives: `"[request.]metric" = "op limit"`, e.g.
    /// `"get.latency.p99" = "< 5ms"`. `default = false` says that a scenario without SLOs
    /// is meant to gate nothing (silences the "nothing is gated" warning).
    #[serde(default)]
    pub slo: SpMap<Sp<RawSloValue>>,
    /// Server-side values read by HTTP GET before, during and after the run (SLO key
    /// `probe.<name>`).
    #[serde(default)]
    pub probes: Vec<RawProbe>,
    /// CPU profiling of the target during the run.
    #[serde(default)]
    pub profile: Option<RawProfile>,
    /// How `run --baseline` judges regressions (command-line flags override these).
    #[serde(default)]
    pub baseline: Option<RawBaseline>,
}

/// A value in `[slo]`: a condition, or the `default` switch.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawSloValue {
    /// `"< 100ms"`: an operator and a limit.
    Limit(String),
    /// `default = false`: no SLO is intended.
    Switch(bool),
}

/// `[baseline]`: the regression gate's parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    /// Metrics gated per request name: any of "p50", "p90", "p99", "throughput",
    /// "error_rate". Default ["p50", "p99", "throughput", "error_rate"].
    #[serde(default)]
    pub metrics: Option<Vec<Sp<String>>>,
    /// Largest tolerated regression. Default "10%".
    #[serde(default)]
    pub max_regression: Option<Sp<String>>,
    /// Changes smaller than this are never regressions. Default "2%".
    #[serde(default)]
    pub noise: Option<Sp<String>>,
    /// Significance level of the statistical test. Default 0.05.
    #[serde(default)]
    pub significance: Option<Sp<f64>>,
}

/// `[[probes]]`: one number read from the target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProbe {
    /// Name, `[A-Za-z0-9_-]+`: the SLO key is `probe.<name>`.
    pub name: Sp<String>,
    /// Path joined to the base URL, or an absolute `http://` URL.
    pub url: Sp<String>,
    /// JSON pointer to a number (or boolean) in the body, e.g. "/hit_ratio".
    #[serde(default)]
    pub json: Option<Sp<String>>,
    /// Name of a Prometheus text-format metric whose sample is read.
    #[serde(default)]
    pub prometheus: Option<Sp<String>>,
    /// With `prometheus`: labels the sample must carry exactly.
    #[serde(default)]
    pub labels: Option<Sp<SpMap<String>>>,
    /// Time between readings during the run. Default "1s".
    #[serde(default)]
    pub interval: Option<Sp<String>>,
}

/// `[profile]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    /// Fetch the target's CPU profile (pprof) during the steady state after the warm-up.
    #[serde(default)]
    pub target: Option<Sp<bool>>,
    /// Path of the target's profile endpoint. Default "/debug/pprof/profile".
    #[serde(default)]
    pub path: Option<Sp<String>>,
    /// Profile length in seconds. Default: the shorter of 10 and the measured duration
    /// minus 1 s.
    #[serde(default)]
    pub seconds: Option<Sp<i64>>,
    /// Fetch the target's heap profile (pprof, `inuse_space`) at the start and at the end of
    /// the steady state: an in-use flamegraph and what grew in between. An embedded target
    /// is started with `--heap-profiling`.
    #[serde(default)]
    pub heap: Option<Sp<bool>>,
    /// Path of the target's heap profile endpoint. Default "/debug/pprof/heap".
    #[serde(default)]
    pub heap_path: Option<Sp<String>>,
}

/// `[target]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// `http://host:port` or `embedded:<api>` (api: supervisor, mesh, cache, all).
    pub base_url: Sp<String>,
    /// Extra `nexus-bench serve` arguments; only with `embedded:` targets.
    #[serde(default)]
    pub embedded_args: Option<Sp<Vec<String>>>,
    /// Headers sent with every request (templates without variables; `${ENV}` allowed).
    #[serde(default)]
    pub headers: SpMap<Sp<String>>,
    /// HTTP/2: true (h2c with prior knowledge on http://, h2 by ALPN on https://), false
    /// (default), or "auto" (h2 by ALPN on https://, falling back to HTTP/1.1).
    #[serde(default)]
    pub http2: Option<Sp<super::tls::RawHttp2>>,
    /// TLS client settings for https:// and wss://.
    #[serde(default)]
    pub tls: Option<super::tls::RawTls>,
    /// Time allowed to connect. Default "2s".
    #[serde(default)]
    pub connect_timeout: Option<Sp<String>>,
    /// Largest response body kept. Default "16MB".
    #[serde(default)]
    pub max_body: Option<Sp<String>>,
    /// Launch the target: program and arguments, e.g. ["./my-service", "--port", "8080"].
    /// Needs an `http://` base_url; nexus-bench starts it, waits until `ready` answers 2xx,
    /// measures its memory and CPU, and stops it after the run.
    #[serde(default)]
    pub command: Option<Sp<Vec<String>>>,
    /// With `command`: extra environment variables.
    #[serde(default)]
    pub env: Option<Sp<SpMap<String>>>,
    /// With `command`: working directory, relative to the scenario's folder. Default: the
    /// current directory.
    #[serde(default)]
    pub cwd: Option<Sp<String>>,
    /// With `command`: path (joined to base_url) or absolute URL polled until it answers
    /// 2xx. Default "/".
    #[serde(default)]
    pub ready: Option<Sp<String>>,
    /// With `command`: how long the target may take to become ready. Default "10s".
    #[serde(default)]
    pub startup_timeout: Option<Sp<String>>,
}

/// The load models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawModel {
    /// Virtual users running back to back.
    Closed,
    /// Arrivals at a scheduled rate.
    Open,
}

/// A level: a number of users, or a rate (`"100/s"` or a number per second).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a number, or a rate such as \"100/s\"")]
pub enum RawLevel {
    /// Users, or requests per second.
    Number(f64),
    /// A rate such as `"100/s"`.
    Text(String),
}

/// `[load]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    /// "closed" (virtual users) or "open" (arrival rate).
    pub model: Sp<RawModel>,
    /// Closed model: constant number of users (with `duration`).
    #[serde(default)]
    pub users: Option<Sp<i64>>,
    /// Closed model: pause between a user's iterations. Default "0ms".
    #[serde(default)]
    pub think_time: Option<Sp<String>>,
    /// Open model: constant arrival rate such as "2000/s" (with `duration`).
    #[serde(default)]
    pub rate: Option<Sp<RawLevel>>,
    /// Open model: most requests in flight; arrivals beyond are dropped. Default 1000.
    #[serde(default)]
    pub max_in_flight: Option<Sp<i64>>,
    /// Length of a constant load (not with `stages`).
    #[serde(default)]
    pub duration: Option<Sp<String>>,
    /// With `stages`: the level at time zero. Default 0.
    #[serde(default)]
    pub start: Option<Sp<RawLevel>>,
    /// Ramps: each stage moves linearly to its target over its duration.
    #[serde(default)]
    pub stages: Option<Sp<Vec<RawStage>>>,
    /// Measured but excluded from summaries and SLOs. Default "0s".
    #[serde(default)]
    pub warmup: Option<Sp<String>>,
    /// Time in-flight requests get to finish at the end. Default "2s".
    #[serde(default)]
    pub drain: Option<Sp<String>>,
}

/// One stage of a ramp.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// How long the stage lasts, e.g. "30s".
    pub duration: Sp<String>,
    /// Level at the end: users (closed) or a rate (open).
    pub target: Sp<RawLevel>,
}

/// `[[data]]`: a CSV file with a header row.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// Name templates use: `{{ name.column }}`.
    pub name: Sp<String>,
    /// Path, relative to the scenario file's folder.
    pub file: Sp<String>,
}

/// `[[requests]]`, and `[[flows.steps]]` (which take no `weight`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// Unique among requests and steps, `[A-Za-z0-9_-]+`: the metrics key.
    pub name: Sp<String>,
    /// Relative weight in the mix (requests only). Default 1.
    #[serde(default)]
    pub weight: Option<Sp<i64>>,
    /// HTTP method. Default "GET".
    #[serde(default)]
    pub method: Option<Sp<String>>,
    /// Path joined to the target's base URL (template). Exactly one of `path` / `url`.
    #[serde(default)]
    pub path: Option<Sp<String>>,
    /// Absolute `http://` URL (template).
    #[serde(default)]
    pub url: Option<Sp<String>>,
    /// Extra headers (templates).
    #[serde(default)]
    pub headers: SpMap<Sp<String>>,
    /// Text body (template). At most one of `body` / `json` / `body_file`.
    #[serde(default)]
    pub body: Option<Sp<String>>,
    /// JSON body: a table or array, templates allowed inside strings.
    #[serde(default)]
    pub json: Option<Sp<serde_json::Value>>,
    /// File whose bytes are the body, relative to the scenario's folder.
    #[serde(default)]
    pub body_file: Option<Sp<String>>,
    /// `Content-Type` of the body.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Time allowed for the whole exchange. Default "10s".
    #[serde(default)]
    pub timeout: Option<Sp<String>>,
    /// What a good response looks like. Default: status 200-399.
    #[serde(default)]
    pub expect: Option<RawExpect>,
    /// Variables taken from the response for later steps of the same flow.
    #[serde(default)]
    pub extract: SpMap<Sp<RawExtract>>,
    /// A WebSocket round trip instead of HTTP: the endpoint's path (template). The user's
    /// socket stays open across iterations; each request sends `send` and waits for a reply.
    #[serde(default)]
    pub ws: Option<Sp<String>>,
    /// With `ws`: the message sent (template). Default "".
    #[serde(default)]
    pub send: Option<Sp<String>>,
    /// With `ws`: send a binary message instead of text. Default false.
    #[serde(default)]
    pub binary: bool,
    /// With `ws`: the reply is the first message containing this text (default: any message).
    #[serde(default)]
    pub reply_contains: Option<String>,
}

/// `[[streams]]`: held WebSocket connections.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStream {
    /// Metrics key, unique among requests, steps and streams.
    pub name: Sp<String>,
    /// Path of the WebSocket endpoint (template without variables).
    pub ws: Sp<String>,
    /// How many connections to hold open. Default 1.
    #[serde(default)]
    pub connections: Option<Sp<i64>>,
}

/// `expect = { … }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// Accepted statuses: codes (200), classes ("2xx") or ranges ("200-299").
    #[serde(default)]
    pub status: Option<Vec<Sp<RawStatus>>>,
    /// Substrings the body must contain.
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// JSON pointers and the values they must equal.
    #[serde(default)]
    pub json: SpMap<serde_json::Value>,
}

/// One accepted status item.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a status code such as 200, a class \"2xx\" or a range \"200-299\""
)]
pub enum RawStatus {
    /// A status code.
    Code(i64),
    /// A class or range.
    Text(String),
}

/// One `extract` entry: exactly one source.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExtract {
    /// JSON pointer into the body, e.g. "/id".
    #[serde(default)]
    pub json: Option<String>,
    /// Response header name.
    #[serde(default)]
    pub header: Option<String>,
    /// Regex over the body; the first capture group (or whole match) is taken.
    #[serde(default)]
    pub regex: Option<String>,
}

/// `[[flows]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    /// Flow name (shown in reports).
    pub name: Sp<String>,
    /// Relative weight in the mix. Default 1.
    #[serde(default)]
    pub weight: Option<Sp<i64>>,
    /// Steps, run in order; a failed step ends the iteration.
    #[serde(default)]
    pub steps: Vec<RawRequest>,
}
