//! One WebSocket round trip of a user on its kept-open WebSocket (`ws://` or `wss://`,
//! following the target's scheme), opening it when needed.

use tokio_tungstenite::tungstenite::Message;

use super::transport::{Failure, ws};
use super::user::{User, WorkerCtx};
use crate::plan::WsMessage;

impl User {
    /// One WebSocket round trip on the user's WebSocket, opening it if needed.
    pub(super) async fn ws_round_trip(
        &mut self,
        ctx: &WorkerCtx,
        m: &WsMessage,
    ) -> Result<(), Failure> {
        let shared = &ctx.shared;
        let path = self.render_path(shared, &m.path);
        if self.ws.as_ref().is_none_or(|(p, _)| *p != path) {
            let endpoint = shared.target.endpoint(shared.plan.target.connect_timeout);
            let (ws, opened) = ws::connect(&endpoint, &shared.target.authority, &path).await?;
            self.opened = Some(opened);
            self.ws = Some((path, ws));
        }
        let text = self.render(shared, &m.message);
        let msg = if m.binary {
            Message::binary(text.into_bytes())
        } else {
            Message::text(text)
        };
        let (_, socket) = self.ws.as_mut().expect("opened above");
        let result = ws::round_trip(socket, msg, m.reply_contains.as_deref()).await;
        if result.is_err() {
            self.ws = None;
        }
        result
    }
}
