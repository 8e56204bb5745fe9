//! Which long-running tasks are up, for `/readyz`: the dispatcher's pipeline and the connectors'
//! loops register here. A panic while handling one input is caught where the task handles it
//! (`Health::guard`), counted and logged, and the task carries on with the next input; a task
//! that ends shows as stopped and the node reports itself not ready. When the node is shutting
//! down (SIGTERM, Ctrl-C), tasks ending is expected and said at info level, not as errors.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskHealth {
    pub running: bool,
    /// Inputs whose handling panicked (and was abandoned) since start.
    pub panics: u64,
}

#[derive(Clone, Default)]
pub struct Health(Arc<Tasks>);

#[derive(Default)]
struct Tasks {
    tasks: Mutex<BTreeMap<&'static str, TaskHealth>>,
    stopping: AtomicBool,
}

/// Marks its task running until dropped, however the task ends.
pub struct Running {
    health: Health,
    name: &'static str,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.health.lock().entry(self.name).or_default().running = false;
        if self.health.stopping() {
            tracing::info!(task = self.name, "a task stopped for the shutdown");
        } else {
            tracing::error!(task = self.name, "a task stopped");
        }
    }
}

impl Health {
    /// Registers a task as running; keep the answer for as long as the task runs.
    pub fn running(&self, name: &'static str) -> Running {
        self.lock().entry(name).or_default().running = true;
        Running {
            health: self.clone(),
            name,
        }
    }

    /// Runs one input's handling; a panic in it is counted and answers `None`.
    pub async fn guard<T>(&self, name: &'static str, work: impl Future<Output = T>) -> Option<T> {
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(done) => Some(done),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(task = name, panic = %what, "a task panicked on one input and carries on");
                metrics::counter!("plugboard_task_panics_total", "task" => name).increment(1);
                self.lock().entry(name).or_default().panics += 1;
                None
            }
        }
    }

    pub fn report(&self) -> BTreeMap<&'static str, TaskHealth> {
        self.lock().clone()
    }

    /// The node is shutting down: tasks that end now are not failures.
    pub fn stop(&self) {
        self.0.stopping.store(true, Ordering::Relaxed);
    }

    pub fn stopping(&self) -> bool {
        self.0.stopping.load(Ordering::Relaxed)
    }

    /// Whether every registered task is running.
    pub fn ready(&self) -> bool {
        self.lock().values().all(|t| t.running)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, TaskHealth>> {
        self.0.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_counted_and_a_stopped_task_is_not_ready() {
        let health = Health::default();
        let running = health.running("telephony");
        assert!(health.ready());
        assert_eq!(health.guard("telephony", async { 7 }).await, Some(7));
        let panicked = health
            .guard("telephony", async { panic!("a malformed frame") })
            .await;
        assert_eq!(panicked, None::<()>);
        assert_eq!(
            health.report()["telephony"],
            TaskHealth {
                running: true,
                panics: 1
            }
        );
        assert!(health.ready(), "one bad input does not stop the task");
        drop(running);
        assert!(!health.ready());
        assert!(!health.stopping());
        health.stop();
        assert!(health.stopping(), "a clone sees the shutdown too");
    }
}
