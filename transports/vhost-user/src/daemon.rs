//! Serving one vhost-user frontend: accept its connection on the listening
//! socket, handle its requests until it disconnects, then stop the queues.

use crate::backend::VhostUserFsBackend;
use arcbox_fs::FileSystem;
use std::sync::{Arc, Mutex};
use vhost::vhost_user::{BackendListener, Error, Listener};

/// Why serving stopped other than by a clean disconnect.
#[derive(Debug)]
pub struct ServeError(pub Error);

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "vhost-user connection failed: {}", self.0)
    }
}

impl std::error::Error for ServeError {}

/// Accepts one frontend on `listener` and serves it with `backend` until it
/// disconnects (`Ok`) or the connection breaks (`Err`). The queue workers are
/// stopped and joined before returning.
///
/// Errors: accepting failed, or the socket broke mid-message.
pub fn serve<F, const Q: usize>(
    listener: &mut Listener,
    backend: VhostUserFsBackend<F, Q>,
) -> Result<(), ServeError>
where
    F: FileSystem + Send + 'static,
{
    let backend = Arc::new(Mutex::new(backend));
    let result = serve_inner(listener, &backend);
    let mut b = match backend.lock() {
        Ok(b) => b,
        Err(p) => p.into_inner(),
    };
    b.stop_all();
    log::info!("requests per queue: {}", b.queue_counts());
    drop(b);
    result
}

fn serve_inner<F, const Q: usize>(
    listener: &mut Listener,
    backend: &Arc<Mutex<VhostUserFsBackend<F, Q>>>,
) -> Result<(), ServeError>
where
    F: FileSystem + Send + 'static,
{
    let mut bl = BackendListener::new(listener, backend.clone()).map_err(ServeError)?;
    let mut handler = loop {
        if let Some(h) = bl.accept().map_err(ServeError)? {
            break h;
        }
    };
    log::info!("frontend connected");
    loop {
        match handler.handle_request() {
            Ok(()) => {}
            Err(Error::Disconnected) | Err(Error::PartialMessage) => {
                log::info!("frontend disconnected");
                return Ok(());
            }
            Err(
                e @ (Error::SocketBroken(_) | Error::SocketError(_) | Error::InvalidSocketFd(_)),
            ) => {
                return Err(ServeError(e));
            }
            Err(e) => log::warn!("refused a vhost-user request: {e}"),
        }
    }
}
