//! Group commit: concurrent writers share one transaction and one fsync.
//!
//! Each writer enqueues its operation and waits. Whichever waiter finds no commit in progress becomes the leader:
//! it takes the queued operations (its own among them), applies them in one transaction, commits once, hands every
//! writer its own result, and steps down; the next leader takes what queued up meanwhile. With fsync at ~3 ms and
//! 64 writers, one commit carries ~64 operations instead of one. No writer returns before the commit that contains
//! its operation has returned, so an acknowledged write is a durable one.
//!
//! Left alone, batches alternate in size: the writers of batch k queue again while batch k+1 (everyone else) commits,
//! so 64 writers split into two halves and each commit carries ~32. A leader therefore waits, for at most
//! `max_wait`, until as many operations have queued as there were writers active at the last step-down (that
//! batch plus those queued behind it). Under light load the estimate is what is queued already and nobody waits.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::store::StoreError;

/// One writer's result, filled in by the leader that committed its operation.
type Slot = Mutex<Option<Result<(), StoreError>>>;

struct Queue<Op> {
    waiting: VecDeque<(Op, Arc<Slot>)>,
    /// A leader is applying a batch now.
    leading: bool,
    /// A leader is waiting for more operations before it takes its batch.
    gathering: bool,
    /// Writers active when the last leader stepped down: its batch and those queued behind it.
    active_estimate: usize,
}

/// Counters of a [`GroupCommit`], for tuning and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: u64,
    /// Operations they carried.
    pub operations: u64,
}

/// The queue of operations waiting for a commit.
pub(super) struct GroupCommit<Op> {
    queue: Mutex<Queue<Op>>,
    /// Signalled when a leader steps down: results are ready, and someone may have to lead next.
    stepped_down: Condvar,
    /// Signalled on each arrival while a leader is gathering.
    arrived: Condvar,
    max_batch: usize,
    max_wait: Duration,
    commits: AtomicU64,
    operations: AtomicU64,
}

impl<Op> GroupCommit<Op> {
    /// A queue whose leaders take at most `max_batch` operations per transaction and wait at most `max_wait`
    /// for expected writers.
    pub(super) fn new(max_batch: usize, max_wait: Duration) -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                leading: false,
                gathering: false,
                active_estimate: 0,
            }),
            stepped_down: Condvar::new(),
            arrived: Condvar::new(),
            max_batch: max_batch.max(1),
            max_wait,
            commits: AtomicU64::new(0),
            operations: AtomicU64::new(0),
        }
    }

    /// Commits and operations so far.
    pub(super) fn stats(&self) -> CommitStats {
        CommitStats {
            commits: self.commits.load(Ordering::Relaxed),
            operations: self.operations.load(Ordering::Relaxed),
        }
    }

    /// Enqueues `op` and returns its result once a commit containing it has returned.
    ///
    /// `commit` applies a batch in one transaction and returns one result per operation, in order; it runs on
    /// whichever caller leads, outside the queue's lock, so writers keep enqueueing while it waits for the disk.
    pub(super) fn submit(
        &self,
        op: Op,
        commit: impl Fn(Vec<Op>) -> Vec<Result<(), StoreError>>,
    ) -> Result<(), StoreError> {
        let slot = Arc::new(Slot::new(None));
        let mut queue = self.queue.lock();
        queue.waiting.push_back((op, Arc::clone(&slot)));
        if queue.gathering {
            self.arrived.notify_one();
        }
        loop {
            if let Some(result) = slot.lock().take() {
                return result;
            }
            if queue.leading {
                self.stepped_down.wait(&mut queue);
                continue;
            }
            queue.leading = true;
            let expected = queue.active_estimate.min(self.max_batch);
            if queue.waiting.len() < expected && !self.max_wait.is_zero() {
                let deadline = Instant::now() + self.max_wait;
                queue.gathering = true;
                while queue.waiting.len() < expected {
                    if self.arrived.wait_until(&mut queue, deadline).timed_out() {
                        break;
                    }
                }
                queue.gathering = false;
            }
            let take = queue.waiting.len().min(self.max_batch);
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.operations.fetch_add(take as u64, Ordering::Relaxed);
            let (ops, slots): (Vec<Op>, Vec<Arc<Slot>>) = queue.waiting.drain(..take).unzip();
            // Steps down and wakes everyone even if `commit` panics, failing the operations it held.
            let mut leader = Leader {
                group: self,
                slots,
                batch: take,
            };
            // The lock is released while the transaction runs: writers keep enqueueing for the next batch.
            drop(queue);
            leader.deliver(commit(ops));
            drop(leader);
            queue = self.queue.lock();
        }
    }
}

/// The leader's duty to answer every writer of its batch and to step down.
struct Leader<'a, Op> {
    group: &'a GroupCommit<Op>,
    slots: Vec<Arc<Slot>>,
    batch: usize,
}

impl<Op> Leader<'_, Op> {
    fn deliver(&mut self, results: Vec<Result<(), StoreError>>) {
        let mut results = results.into_iter();
        for slot in self.slots.drain(..) {
            let result = results.next().unwrap_or_else(|| {
                Err(StoreError::Storage(
                    "group commit returned fewer results than operations".into(),
                ))
            });
            *slot.lock() = Some(result);
        }
    }
}

impl<Op> Drop for Leader<'_, Op> {
    fn drop(&mut self) {
        // Non-empty only when `commit` panicked: its transaction was dropped (aborted), so nothing was written.
        for slot in self.slots.drain(..) {
            *slot.lock() = Some(Err(StoreError::Storage(
                "the committing thread panicked; nothing was written".into(),
            )));
        }
        let mut queue = self.group.queue.lock();
        queue.leading = false;
        queue.active_estimate = self.batch + queue.waiting.len();
        drop(queue);
        self.group.stepped_down.notify_all();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn concurrent_submissions_share_commits_and_get_their_own_results() {
        let group = GroupCommit::<u32>::new(1000, Duration::from_millis(1));
        let commits = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..32u32 {
                let (group, commits) = (&group, &commits);
                s.spawn(move || {
                    for i in 0..20u32 {
                        let op = t * 100 + i;
                        let r = group.submit(op, |ops| {
                            commits.fetch_add(1, Ordering::Relaxed);
                            // Long enough that the other writers queue up behind the "fsync".
                            std::thread::sleep(Duration::from_millis(2));
                            ops.iter()
                                .map(|o| {
                                    if o % 2 == 0 {
                                        Ok(())
                                    } else {
                                        Err(StoreError::NotFound)
                                    }
                                })
                                .collect()
                        });
                        assert_eq!(r.is_ok(), op % 2 == 0, "op {op}");
                    }
                });
            }
        });
        let commits = commits.into_inner();
        assert!(commits < 32 * 20 / 2, "{commits} commits for 640 ops");
    }

    #[test]
    fn a_panicking_leader_fails_its_batch_and_the_queue_goes_on() {
        let group = GroupCommit::<u32>::new(10, Duration::from_millis(1));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.submit(1, |_| panic!("boom"))
        }));
        assert!(r.is_err());
        assert!(
            group
                .submit(2, |ops| ops.iter().map(|_| Ok(())).collect())
                .is_ok()
        );
    }
}
