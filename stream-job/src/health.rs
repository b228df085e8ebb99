//! What the stream job's `/health` reports beyond "the store answers": the conditions under which
//! the job is up but cannot count, each with the reason a supervisor or a person reads.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// A condition that keeps the job from counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// The store refuses writes because it is full; the open batch waits.
    StoreFull,
    /// This instance holds no partitions while partitions of its topic go unread.
    NoPartitions,
}

/// The current problems, set and cleared by the job loop, read by `/health`.
#[derive(Debug, Default)]
pub struct JobHealth {
    problems: Mutex<BTreeMap<Problem, String>>,
}

impl JobHealth {
    pub fn set(&self, problem: Problem, reason: impl Into<String>) {
        self.lock().insert(problem, reason.into());
    }

    pub fn clear(&self, problem: Problem) {
        self.lock().remove(&problem);
    }

    pub fn has(&self, problem: Problem) -> bool {
        self.lock().contains_key(&problem)
    }

    /// The reasons of every current problem; empty when the job can count.
    pub fn reasons(&self) -> Vec<String> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Problem, String>> {
        self.problems.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
