//! Group commit: concurrent writers share one transaction and one fsync.
//!
//! Each writer enqueues its operation and waits. Whichever waiter finds no commit in progress becomes the leader:
//! it takes the queued operations (its own among them), applies them in one transaction, commits once, hands every
//! writer its own result, and steps down; the next leader takes what queued up meanwhile. With fsync at ~3 ms and
//! 64 writers, one commit carries ~64 operations instead of one. No writer returns before the commit that contains
//! its operation has returned, so an acknowledged write is a durable one.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::store::StoreError;

/// One writer's result, filled in by the leader that committed its operation.
type Slot = Mutex<Option<Result<(), StoreError>>>;

struct Queue<Op> {
    waiting: VecDeque<(Op, Arc<Slot>)>,
    /// A leader is applying a batch now.
    leading: bool,
}

/// The queue of operations waiting for a commit.
pub(super) struct GroupCommit<Op> {
    queue: Mutex<Queue<Op>>,
    /// Signalled when a leader steps down: results are ready, and someone may have to lead next.
    stepped_down: Condvar,
    max_batch: usize,
}

impl<Op> GroupCommit<Op> {
    /// A queue whose leaders take at most `max_batch` operations per transaction.
    pub(super) fn new(max_batch: usize) -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                leading: false,
            }),
            stepped_down: Condvar::new(),
            max_batch: max_batch.max(1),
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
        loop {
            if let Some(result) = slot.lock().take() {
                return result;
            }
            if queue.leading {
                self.stepped_down.wait(&mut queue);
                continue;
            }
            queue.leading = true;
            let take = queue.waiting.len().min(self.max_batch);
            let (ops, slots): (Vec<Op>, Vec<Arc<Slot>>) = queue.waiting.drain(..take).unzip();
            // Steps down and wakes everyone even if `commit` panics, failing the operations it held.
            let mut leader = Leader { group: self, slots };
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
        self.group.queue.lock().leading = false;
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
        let group = GroupCommit::<u32>::new(1000);
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
        let group = GroupCommit::<u32>::new(10);
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
