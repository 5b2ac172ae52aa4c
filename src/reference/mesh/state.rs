//! The mesh model: agents with capabilities and capacity, a capability index, tasks assigned
//! to the least-loaded capable agent, and a versioned change log for delta state sync.
//! Pure data, no I/O: the routes in the parent module lock it briefly.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde::Serialize;

/// Changes kept for delta sync; a client further behind gets a full snapshot.
pub(super) const CHANGE_LOG: usize = 10_000;

/// A registered agent.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Agent {
    pub agent_id: String,
    pub name: String,
    pub capabilities: Vec<String>,
    pub capacity: u32,
    pub open_tasks: u32,
    /// The state version of the last change to this agent.
    pub version: u64,
}

impl Agent {
    fn load(&self) -> f64 {
        f64::from(self.open_tasks) / f64::from(self.capacity.max(1))
    }
}

/// Whether a task is still occupying its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum TaskStatus {
    Assigned,
    Completed,
}

/// A task assigned to an agent.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Task {
    pub task_id: String,
    pub agent_id: String,
    pub capability: String,
    pub payload: serde_json::Value,
    pub status: TaskStatus,
    pub version: u64,
}

/// Why a task could not be assigned.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum AssignError {
    /// No agent has the capability: 422.
    #[error("no agent has capability {0:?}")]
    NoAgent(String),
    /// Capable agents exist but all are at capacity: 409.
    #[error("every agent with capability {0:?} is at capacity")]
    Saturated(String),
}

#[derive(Debug, Clone)]
enum Changed {
    Agent(String),
    Task(String),
}

/// All mesh state behind one lock.
#[derive(Debug, Default)]
pub(super) struct Mesh {
    agents: HashMap<String, Agent>,
    by_capability: HashMap<String, BTreeSet<String>>,
    tasks: HashMap<String, Task>,
    version: u64,
    log: VecDeque<(u64, Changed)>,
    next_agent: u64,
    next_task: u64,
}

/// The answer to `GET /api/state?since=V`.
#[derive(Debug, Serialize)]
pub(super) struct Delta {
    pub version: u64,
    pub since: u64,
    /// True when `since` is older than the change log: everything is included.
    pub full: bool,
    pub agents: Vec<Agent>,
    pub tasks: Vec<Task>,
}

impl Mesh {
    fn bump(&mut self, changed: Changed) -> u64 {
        self.version += 1;
        self.log.push_back((self.version, changed));
        if self.log.len() > CHANGE_LOG {
            self.log.pop_front();
        }
        self.version
    }

    /// Registers an agent and indexes its capabilities.
    pub fn register(&mut self, name: String, capabilities: Vec<String>, capacity: u32) -> Agent {
        self.next_agent += 1;
        let agent_id = format!("agent-{}", self.next_agent);
        let version = self.bump(Changed::Agent(agent_id.clone()));
        for capability in &capabilities {
            self.by_capability
                .entry(capability.clone())
                .or_default()
                .insert(agent_id.clone());
        }
        let agent = Agent {
            agent_id: agent_id.clone(),
            name,
            capabilities,
            capacity,
            open_tasks: 0,
            version,
        };
        self.agents.insert(agent_id, agent.clone());
        agent
    }

    /// Agents with `capability` (via the index), or all agents.
    pub fn agents(&self, capability: Option<&str>) -> Vec<Agent> {
        match capability {
            Some(capability) => self
                .by_capability
                .get(capability)
                .into_iter()
                .flatten()
                .filter_map(|id| self.agents.get(id).cloned())
                .collect(),
            None => {
                let mut all: Vec<Agent> = self.agents.values().cloned().collect();
                all.sort_by_key(|a| a.version);
                all
            }
        }
    }

    /// An agent by id.
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.get(id)
    }

    /// Whether an agent with this id exists.
    pub fn has_agent(&self, id: &str) -> bool {
        self.agents.contains_key(id)
    }

    /// Assigns a task to the least-loaded agent with `capability` that has room.
    pub fn assign(
        &mut self,
        capability: &str,
        payload: serde_json::Value,
    ) -> Result<Task, AssignError> {
        let candidates = self
            .by_capability
            .get(capability)
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| AssignError::NoAgent(capability.to_owned()))?;
        let agent_id = candidates
            .iter()
            .filter_map(|id| self.agents.get(id))
            .filter(|a| a.open_tasks < a.capacity)
            .min_by(|a, b| a.load().total_cmp(&b.load()))
            .map(|a| a.agent_id.clone())
            .ok_or_else(|| AssignError::Saturated(capability.to_owned()))?;
        self.next_task += 1;
        let task_id = format!("task-{}", self.next_task);
        let agent_version = self.bump(Changed::Agent(agent_id.clone()));
        let agent = self
            .agents
            .get_mut(&agent_id)
            .expect("indexed agent exists");
        agent.open_tasks += 1;
        agent.version = agent_version;
        let version = self.bump(Changed::Task(task_id.clone()));
        let task = Task {
            task_id: task_id.clone(),
            agent_id,
            capability: capability.to_owned(),
            payload,
            status: TaskStatus::Assigned,
            version,
        };
        self.tasks.insert(task_id, task.clone());
        Ok(task)
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.get(id)
    }

    /// Completes a task and frees its agent's slot. `Ok(false)` if it was already completed.
    pub fn complete(&mut self, id: &str) -> Option<(Task, bool)> {
        let task = self.tasks.get(id)?;
        if task.status == TaskStatus::Completed {
            return Some((task.clone(), false));
        }
        let agent_id = task.agent_id.clone();
        let version = self.bump(Changed::Task(id.to_owned()));
        let task = self.tasks.get_mut(id).expect("checked above");
        task.status = TaskStatus::Completed;
        task.version = version;
        let task = task.clone();
        let agent_version = self.bump(Changed::Agent(agent_id.clone()));
        if let Some(agent) = self.agents.get_mut(&agent_id) {
            agent.open_tasks = agent.open_tasks.saturating_sub(1);
            agent.version = agent_version;
        }
        Some((task, true))
    }

    /// The current version.
    #[cfg(test)]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Agents and tasks changed after `since`, or everything when the log no longer reaches
    /// back that far.
    pub fn delta(&self, since: u64) -> Delta {
        let oldest_kept = self.log.front().map_or(self.version + 1, |(v, _)| *v);
        let full = since + 1 < oldest_kept && since < self.version;
        let (mut agents, mut tasks): (Vec<Agent>, Vec<Task>) = if full {
            (
                self.agents.values().cloned().collect(),
                self.tasks.values().cloned().collect(),
            )
        } else {
            let mut agent_ids = BTreeSet::new();
            let mut task_ids = BTreeSet::new();
            for (_, changed) in self.log.iter().rev().take_while(|(v, _)| *v > since) {
                match changed {
                    Changed::Agent(id) => agent_ids.insert(id),
                    Changed::Task(id) => task_ids.insert(id),
                };
            }
            (
                agent_ids
                    .into_iter()
                    .filter_map(|id| self.agents.get(id).cloned())
                    .collect(),
                task_ids
                    .into_iter()
                    .filter_map(|id| self.tasks.get(id).cloned())
                    .collect(),
            )
        };
        agents.sort_by_key(|a| a.version);
        tasks.sort_by_key(|t| t.version);
        Delta {
            version: self.version,
            since,
            full,
            agents,
            tasks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn least_loaded_agent_gets_the_task() {
        let mut mesh = Mesh::default();
        let small = mesh.register("small".into(), caps(&["gpu"]), 1);
        let big = mesh.register("big".into(), caps(&["gpu"]), 4);
        // big: 0/4, small: 0/1 → tie broken by order; then loads diverge.
        let mut counts = HashMap::new();
        for _ in 0..5 {
            let task = mesh.assign("gpu", serde_json::Value::Null).unwrap();
            *counts.entry(task.agent_id).or_insert(0) += 1;
        }
        assert_eq!(counts[&small.agent_id], 1);
        assert_eq!(counts[&big.agent_id], 4);
        assert_eq!(
            mesh.assign("gpu", serde_json::Value::Null).unwrap_err(),
            AssignError::Saturated("gpu".into())
        );
        assert_eq!(
            mesh.assign("tpu", serde_json::Value::Null).unwrap_err(),
            AssignError::NoAgent("tpu".into())
        );
    }

    #[test]
    fn completing_frees_capacity_once() {
        let mut mesh = Mesh::default();
        mesh.register("a".into(), caps(&["x"]), 1);
        let task = mesh.assign("x", serde_json::Value::Null).unwrap();
        assert!(mesh.assign("x", serde_json::Value::Null).is_err());
        assert!(mesh.complete(&task.task_id).unwrap().1);
        assert!(!mesh.complete(&task.task_id).unwrap().1);
        assert!(mesh.assign("x", serde_json::Value::Null).is_ok());
    }

    #[test]
    fn delta_returns_only_later_changes() {
        let mut mesh = Mesh::default();
        mesh.register("a".into(), caps(&["x"]), 2);
        let v = mesh.version();
        let b = mesh.register("b".into(), caps(&["y"]), 2);
        let delta = mesh.delta(v);
        assert!(!delta.full);
        assert_eq!(delta.agents.len(), 1);
        assert_eq!(delta.agents[0].agent_id, b.agent_id);
        assert!(mesh.delta(mesh.version()).agents.is_empty());
    }

    #[test]
    fn delta_beyond_the_log_is_full() {
        let mut mesh = Mesh::default();
        for i in 0..CHANGE_LOG + 5 {
            mesh.register(format!("a{i}"), caps(&["x"]), 1);
        }
        let delta = mesh.delta(1);
        assert!(delta.full);
        assert_eq!(delta.agents.len(), CHANGE_LOG + 5);
        assert!(!mesh.delta(10).full);
    }
}
