//! The supervisor API: simulated services with a stopped → starting → running → stopping →
//! stopped state machine driven by tokio timers, a concurrent health check and a WebSocket
//! stream of state changes plus a status snapshot every second.

mod ws;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::future::join_all;
use serde::Serialize;
use serde_json::json;
use tokio::sync::{broadcast, watch};

use super::error::ApiError;

/// The lifecycle state of a simulated service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ServiceState {
    Stopped,
    Starting,
    Running,
    Stopping,
}

/// What an action asks of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Stop,
    Restart,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        match text {
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            "restart" => Some(Action::Restart),
            _ => None,
        }
    }

    /// The transitional state an action enters from `from`, or `None` if it is not allowed.
    /// Restart from `running` goes through `stopping`; from `stopped` it is a start.
    fn next(self, from: ServiceState) -> Option<ServiceState> {
        use ServiceState::*;
        match (self, from) {
            (Action::Start, Stopped) | (Action::Restart, Stopped) => Some(Starting),
            (Action::Stop, Running) | (Action::Restart, Running) => Some(Stopping),
            _ => None,
        }
    }
}

struct Service {
    name: String,
    slot: Mutex<Slot>,
}

struct Slot {
    state: ServiceState,
    /// Bumped on every transition so a stale timer never overwrites a newer state.
    generation: u64,
    /// Restart: start again once stopped.
    restart_pending: bool,
    since: Instant,
}

pub(crate) struct Supervisor {
    services: Vec<Service>,
    start_time: Duration,
    events: broadcast::Sender<axum::extract::ws::Utf8Bytes>,
    closing: watch::Receiver<bool>,
    ticker_started: std::sync::atomic::AtomicBool,
}

/// The supervisor routes with `count` services, all running.
pub(crate) fn routes(count: usize, start_time: Duration, closing: watch::Receiver<bool>) -> Router {
    let now = Instant::now();
    let services = (0..count)
        .map(|i| Service {
            name: format!("svc-{i:03}"),
            slot: Mutex::new(Slot {
                state: ServiceState::Running,
                generation: 0,
                restart_pending: false,
                since: now,
            }),
        })
        .collect();
    let supervisor = Arc::new(Supervisor {
        services,
        start_time,
        events: broadcast::channel(1024).0,
        closing,
        ticker_started: Default::default(),
    });
    Router::new()
        .route("/api/services", get(list))
        .route("/api/services/{name}", get(one))
        .route("/api/services/{name}/{action}", post(act))
        .route("/api/health", get(health))
        .route("/ws", get(ws::upgrade))
        .with_state(supervisor)
}

impl Supervisor {
    /// The index of the service called `name`: names are `svc-NNN`, so the index is in
    /// the name and no scan is needed.
    fn find(&self, name: &str) -> Result<usize, ApiError> {
        name.strip_prefix("svc-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| self.services.get(i).is_some_and(|s| s.name == name))
            .ok_or_else(|| ApiError::NotFound(format!("unknown service {name:?}")))
    }

    fn view(service: &Service) -> serde_json::Value {
        let slot = service.slot.lock().expect("service lock");
        json!({
            "name": service.name,
            "state": slot.state,
            "since_ms": slot.since.elapsed().as_millis() as u64,
        })
    }

    /// Moves `service` to `to`, publishes the change and returns the new generation.
    fn transition(&self, index: usize, slot: &mut Slot, to: ServiceState) -> u64 {
        let from = slot.state;
        slot.state = to;
        slot.generation += 1;
        slot.since = Instant::now();
        let event = json!({
            "type": "state",
            "service": self.services[index].name,
            "from": from,
            "to": to,
        });
        // No subscriber is fine: events are only for whoever is watching.
        let _ = self.events.send(event.to_string().into());
        slot.generation
    }

    /// After `start_time`, completes the transitional state entered at `generation`.
    fn schedule(self: &Arc<Self>, index: usize, generation: u64) {
        let supervisor = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(supervisor.start_time).await;
            let mut slot = supervisor.services[index]
                .slot
                .lock()
                .expect("service lock");
            if slot.generation != generation {
                return;
            }
            match slot.state {
                ServiceState::Starting => {
                    supervisor.transition(index, &mut slot, ServiceState::Running);
                }
                ServiceState::Stopping => {
                    supervisor.transition(index, &mut slot, ServiceState::Stopped);
                    if std::mem::take(&mut slot.restart_pending) {
                        let next = supervisor.transition(index, &mut slot, ServiceState::Starting);
                        drop(slot);
                        supervisor.schedule(index, next);
                    }
                }
                ServiceState::Running | ServiceState::Stopped => {}
            }
        });
    }

    /// Every service's current state.
    pub(crate) fn states(&self) -> Vec<ServiceState> {
        self.services
            .iter()
            .map(|s| s.slot.lock().expect("service lock").state)
            .collect()
    }
}

/// Counts of services per state, as JSON.
pub(crate) fn tally(states: &[ServiceState]) -> serde_json::Value {
    let count = |wanted| states.iter().filter(|&&s| s == wanted).count();
    json!({
        "stopped": count(ServiceState::Stopped),
        "starting": count(ServiceState::Starting),
        "running": count(ServiceState::Running),
        "stopping": count(ServiceState::Stopping),
    })
}

async fn list(State(sup): State<Arc<Supervisor>>) -> Json<serde_json::Value> {
    let services: Vec<_> = sup.services.iter().map(Supervisor::view).collect();
    Json(json!({ "services": services, "count": services.len() }))
}

async fn one(
    State(sup): State<Arc<Supervisor>>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(Supervisor::view(&sup.services[sup.find(&name)?])))
}

async fn act(
    State(sup): State<Arc<Supervisor>>,
    Path((name, action)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let action = Action::parse(&action)
        .ok_or_else(|| ApiError::NotFound(format!("unknown action {action:?}")))?;
    let index = sup.find(&name)?;
    let mut slot = sup.services[index].slot.lock().expect("service lock");
    let Some(to) = action.next(slot.state) else {
        return Err(ApiError::Conflict(
            format!("cannot {action:?} {name} while {:?}", slot.state).to_lowercase(),
        ));
    };
    slot.restart_pending = action == Action::Restart && to == ServiceState::Stopping;
    let generation = sup.transition(index, &mut slot, to);
    drop(slot);
    sup.schedule(index, generation);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "name": name, "state": to })),
    ))
}

/// Checks every service concurrently (one small future each) and aggregates the result.
async fn health(State(sup): State<Arc<Supervisor>>) -> Json<serde_json::Value> {
    let started = Instant::now();
    let checks = sup.services.iter().map(|service| async move {
        // A real check would do I/O; yielding keeps each check a genuine async step.
        tokio::task::yield_now().await;
        service.slot.lock().expect("service lock").state
    });
    let states = join_all(checks).await;
    let healthy = states.iter().all(|&s| s == ServiceState::Running);
    Json(json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "services": tally(&states),
        "checked": states.len(),
        "took_ms": started.elapsed().as_secs_f64() * 1000.0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceState::*;

    #[test]
    fn allowed_transitions() {
        assert_eq!(Action::Start.next(Stopped), Some(Starting));
        assert_eq!(Action::Stop.next(Running), Some(Stopping));
        assert_eq!(Action::Restart.next(Running), Some(Stopping));
        assert_eq!(Action::Restart.next(Stopped), Some(Starting));
    }

    #[test]
    fn refused_transitions() {
        for action in [Action::Start, Action::Stop, Action::Restart] {
            assert_eq!(action.next(Starting), None);
            assert_eq!(action.next(Stopping), None);
        }
        assert_eq!(Action::Start.next(Running), None);
        assert_eq!(Action::Stop.next(Stopped), None);
    }
}
