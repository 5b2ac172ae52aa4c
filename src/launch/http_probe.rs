//! One-shot HTTP/1.1 `GET` used to poll a target's readiness: status only, body discarded.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Sends `GET url` and returns the status code, or a short description of why none came.
pub(crate) async fn get_status(url: &str, timeout: Duration) -> Result<u16, String> {
    match tokio::time::timeout(timeout, get_status_inner(url)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer within {}",
            crate::units::format_duration(timeout)
        )),
    }
}

async fn get_status_inner(url: &str) -> Result<u16, String> {
    let uri: Uri = url.parse().map_err(|e| format!("bad URL `{url}`: {e}"))?;
    if uri.scheme_str() == Some("https") {
        // TLS with the run's trust settings (installed by the caller) through the shared GET.
        return match crate::fetch::get(url, 64 * 1024).await {
            Ok(_) => Ok(200),
            Err(crate::fetch::GetError::Status(status, _)) => Ok(status),
            Err(crate::fetch::GetError::BadUrl(e) | crate::fetch::GetError::Fetch(e)) => Err(e),
        };
    }
    if uri.scheme_str() != Some("http") {
        return Err(format!("`{url}` is not an http:// URL"));
    }
    let host = uri.host().ok_or_else(|| format!("`{url}` has no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let host_for_connect = host.trim_start_matches('[').trim_end_matches(']');
    let stream = TcpStream::connect((host_for_connect, port))
        .await
        .map_err(|e| format!("connect to {authority}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {authority}: {e}"))?;
    let conn_task = tokio::spawn(conn);
    let request = Request::get(path)
        .header(header::HOST, authority)
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad request for `{url}`: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status().as_u16();
    // Drain the body so the connection closes cleanly; its content does not matter.
    let _ = response.into_body().collect().await;
    conn_task.abort();
    Ok(status)
}
