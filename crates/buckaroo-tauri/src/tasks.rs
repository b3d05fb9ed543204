//! Every task the plugin starts goes through [`spawn`]: it is named in the log, and a
//! panic in it is caught, logged and handed to the task's own clean-up instead of
//! vanishing with the task.
//!
//! One runtime, Tauri's: the plugin's `setup` runs outside any runtime, so its tasks go
//! to `tauri::async_runtime`; every later task is started from one of those or from a
//! command, which Tauri also runs there, and is spawned on the runtime it is started
//! from, i.e. the same one. The crate's tests drive the core from `#[tokio::test]`, and
//! the same rule keeps each test's sockets and processes on that test's runtime.

use futures_util::FutureExt;
use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use tauri::async_runtime::JoinHandle;

/// Spawn `task` as `name`; a panic is logged and then `on_panic` runs with its message.
pub(crate) fn spawn<F, P>(name: &'static str, task: F, on_panic: P) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
    P: FnOnce(&str) + Send + 'static,
{
    let supervised = async move {
        if let Err(panic) = AssertUnwindSafe(task).catch_unwind().await {
            let message = panic_message(panic.as_ref());
            log::error!("[buckaroo-tauri] task {name} panicked: {message}");
            on_panic(&message);
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => JoinHandle::Tokio(handle.spawn(supervised)),
        Err(_) => tauri::async_runtime::spawn(supervised),
    }
}

/// [`spawn`] for a task whose panic needs no clean-up beyond the log line.
pub(crate) fn spawn_logged<F>(name: &'static str, task: F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    spawn(name, task, |_| {})
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_reaches_the_tasks_clean_up() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = spawn("test", async { panic!("boom {}", 7) }, move |message| {
            let _ = tx.send(message.to_string());
        });
        assert!(handle.await.is_ok(), "the panic is caught, the task ends normally");
        assert_eq!(rx.await.unwrap(), "boom 7");
    }
}
