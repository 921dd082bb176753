//! Ctrl-C during a long `append`: the first interrupt is noted instead of
//! killing the process, the append stops before its next amendment, undoes
//! what it staged, and says that nothing was recorded (exit 2, like every
//! refused command). An interrupt that arrives once the last amendment is
//! judged lets the commit finish: its report is then true.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static WATCH: Once = Once::new();

/// Starts watching for Ctrl-C (SIGINT), once per process.
pub(crate) fn watch() {
    WATCH.call_once(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let Ok(runtime) = runtime else {
            return;
        };
        let (ready, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let signal = tokio::signal::ctrl_c();
                tokio::pin!(signal);
                // Registered once polled: say so, then wait.
                let _ = futures_poll_once(&mut signal).await;
                let _ = ready.send(());
                if signal.await.is_ok() {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                }
            });
        });
        let _ = wait.recv_timeout(std::time::Duration::from_secs(1));
    });
}

/// Polls a future once (registering its waker), returning whether it finished.
async fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> bool {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(std::pin::Pin::new(&mut *f).poll(cx).is_ready())
    })
    .await
}

/// Whether Ctrl-C was pressed since [`watch`].
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
