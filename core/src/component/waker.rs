//! Waking a session that waits for its feed and its commands together.
//!
//! A live feed (a NATS subscription, a socket) has no next event until the world sends one, and
//! `serve` must answer its admin API meanwhile. So the session does not block in the feed: it
//! asks [`Feed::poll_event`](super::Feed::poll_event), and when the feed has nothing it waits on
//! its one [`Waker`], which two kinds of thread ring: the feed's receiving thread when an event
//! arrives, and whoever sends the session a command
//! ([`CommandSender`](crate::session::CommandSender)). Either wakes it at once, so commands are
//! applied within microseconds of arriving while no data comes, and an event is handled as soon
//! as it is received, with no polling interval in between.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Rings a waiting session awake. Cheap to clone; every clone rings the same session.
#[derive(Clone, Debug, Default)]
pub struct Waker(Arc<Bell>);

#[derive(Debug, Default)]
struct Bell {
    rung: Mutex<bool>,
    ringing: Condvar,
}

impl Waker {
    /// A waker no session waits on yet.
    #[must_use]
    pub fn new() -> Waker {
        Waker::default()
    }

    /// Wakes the session if it waits, or makes its next wait return at once: a ring is never
    /// lost between a feed's `Pending` and the session's wait.
    pub fn wake(&self) {
        *self.0.rung.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0.ringing.notify_all();
    }

    /// Waits until rung, or at most `timeout`; returns whether it was rung. Clears the ring.
    pub fn wait(&self, timeout: Duration) -> bool {
        let rung = self.0.rung.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut rung, _) =
            self.0.ringing.wait_timeout_while(rung, timeout, |rung| !*rung).unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *rung, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_ring_before_the_wait_is_kept_and_one_wait_clears_it() {
        let waker = Waker::new();
        waker.wake();
        assert!(waker.wait(Duration::from_secs(5)), "rung before: returns at once");
        let started = Instant::now();
        assert!(!waker.wait(Duration::from_millis(30)), "cleared: times out");
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn a_ring_from_another_thread_wakes_the_waiter_before_its_timeout() {
        let waker = Waker::new();
        let ringer = waker.clone();
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            ringer.wake();
        });
        assert!(waker.wait(Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(10), "woken, not timed out");
        thread.join().unwrap();
    }
}
