//! Held WebSocket streams (`[[streams]]`): connections kept open beside the load model for
//! the whole run, each message received recorded as a sample.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use super::Worker;
use super::transport::{Failure, ws};
use super::user::User;
use crate::plan::{Action, RequestId};
use crate::recorder::{ErrorKind, Sample};

/// Holds one WebSocket for request `id` until the end of the run, reconnecting after a
/// disconnect. Each message received is a sample whose latency is the gap since the
/// previous message (or since the connection opened).
pub(crate) async fn hold(w: &Worker, id: RequestId, user_id: u64) {
    let shared = &w.ctx.shared;
    let Action::WsHold(spec) = &shared.plan.requests[id].action else {
        return;
    };
    let mut user = User::new(user_id, shared);
    let path = user.render_path(shared, &spec.path);
    let endpoint = shared.target.endpoint(shared.plan.target.connect_timeout);
    while w.open() {
        let opened = Instant::now();
        let mut ws = match ws::connect(&endpoint, &shared.target.authority, &path).await {
            Ok((ws, phases)) => {
                w.ctx.recorder.borrow_mut().opened(id, &phases);
                ws
            }
            Err(f) => {
                record(w, id, opened, Some(f));
                w.sleep_until(Instant::now() + Duration::from_millis(100))
                    .await;
                continue;
            }
        };
        let mut last = opened;
        // Created before the loop, so a close notified while a message is being handled is
        // not missed.
        let closing = w.ctx.closing.notified();
        tokio::pin!(closing);
        if !w.open() {
            let _ = ws.close(None).await;
            return;
        }
        loop {
            let next = tokio::select! {
                biased;
                () = &mut closing => None,
                next = ws.next() => Some(next),
            };
            let Some(next) = next.filter(|_| w.open()) else {
                let _ = ws.close(None).await;
                return;
            };
            match next {
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    record(w, id, last, None);
                    last = Instant::now();
                }
                Some(Ok(Message::Close(_))) | None => {
                    record(
                        w,
                        id,
                        last,
                        Some(Failure::new(
                            ErrorKind::Disconnected,
                            "the server closed the WebSocket",
                        )),
                    );
                    break;
                }
                Some(Err(e)) => {
                    let f = ws::classify(e);
                    record(
                        w,
                        id,
                        last,
                        Some(Failure {
                            kind: ErrorKind::Disconnected,
                            ..f
                        }),
                    );
                    break;
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

fn record(w: &Worker, id: RequestId, since: Instant, failure: Option<Failure>) {
    let end = Instant::now();
    let mut rec = w.ctx.recorder.borrow_mut();
    rec.record(Sample {
        request: id,
        latency: end - since,
        service: end - since,
        status: None,
        error: failure.as_ref().map(|f| f.kind),
        end,
    });
    if let Some(f) = failure {
        rec.sample_error(id, f.kind, || f.message);
    }
}
