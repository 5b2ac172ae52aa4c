//! Scaling out on engines the user already runs: the scenario and the files it names packed
//! for another machine ([`bundle`]), and the Kubernetes manifests of an N-instance run
//! ([`k8s`]), written by a small order-keeping YAML emitter ([`yaml`]). Pure apart from
//! reading the bundled files; `app::k8s` picks the start time and prints.
//!
//! Slurm needs no rendering: `deploy/slurm/` in the repository holds the batch scripts.

pub mod bundle;
pub mod k8s;
pub mod yaml;
