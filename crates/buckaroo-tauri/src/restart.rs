//! The restart rule, pure: from how each sidecar life ended, restart now, restart
//! after a backoff, or give up. No clocks and no processes here; the supervisor
//! measures and this decides.
//!
//! A sidecar that became ready and then served (answered at least one of a page's
//! requests, or stayed up [`RestartPolicy::healthy_uptime`] after ready) proved the
//! interpreter, packages and data work: when it dies (killed, OOM, a crash in native
//! code) it is restarted at once and its death uses none of the budget. Only a crash
//! loop (dying before ready, or soon after it with nothing served) waits a backoff,
//! and `max_restarts` crashes in a row end in `failed`.

use crate::config::RestartPolicy;
use std::time::Duration;

/// One sidecar life, as the policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Life {
    /// It printed its port and was published as ready.
    pub reached_ready: bool,
    /// From ready to exit (zero if it never got there).
    pub up_after_ready: Duration,
    /// Page requests it answered: row replies, and loads a page asked for (replays
    /// after a restart do not count: they are the plugin's, not a page's).
    pub served: u64,
    /// Retrying cannot help (no interpreter, missing packages, unsupported buckaroo).
    pub permanent: bool,
}

impl Life {
    /// A start that failed before the sidecar was ready.
    pub fn before_ready(permanent: bool) -> Self {
        Self {
            reached_ready: false,
            up_after_ready: Duration::ZERO,
            served: 0,
            permanent,
        }
    }

    /// Ready, then served a request or stayed up `healthy_uptime`.
    pub fn was_healthy(&self, policy: &RestartPolicy) -> bool {
        self.reached_ready && !self.permanent && (self.served > 0 || self.up_after_ready >= policy.healthy_uptime)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start again after `delay`; `attempt` is the restart number within the current
    /// crash loop (1 after a healthy life).
    Restart {
        delay: Duration,
        attempt: u32,
    },
    GiveUp,
}

/// Consecutive crash-loop deaths; a healthy life resets it.
#[derive(Debug, Clone, Default)]
pub struct CrashLoop {
    crashes: u32,
}

impl CrashLoop {
    #[cfg(test)]
    pub fn crashes(&self) -> u32 {
        self.crashes
    }

    /// What to do after `life` ended.
    pub fn decide(&mut self, policy: &RestartPolicy, life: &Life) -> Decision {
        if life.permanent {
            return Decision::GiveUp;
        }
        if life.was_healthy(policy) {
            self.crashes = 0;
            return Decision::Restart {
                delay: Duration::ZERO,
                attempt: 1,
            };
        }
        self.crashes += 1;
        if self.crashes > policy.max_restarts {
            return Decision::GiveUp;
        }
        Decision::Restart {
            delay: policy.backoff(self.crashes),
            attempt: self.crashes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RestartPolicy {
        RestartPolicy {
            max_restarts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            healthy_uptime: Duration::from_secs(5),
        }
    }

    fn served_then_killed() -> Life {
        Life {
            reached_ready: true,
            up_after_ready: Duration::from_millis(800),
            served: 1,
            permanent: false,
        }
    }

    fn died_soon_after_ready() -> Life {
        Life {
            reached_ready: true,
            up_after_ready: Duration::from_millis(200),
            served: 0,
            permanent: false,
        }
    }

    #[test]
    fn healthy_deaths_restart_at_once_forever() {
        let (p, mut c) = (policy(), CrashLoop::default());
        for _ in 0..50 {
            assert_eq!(
                c.decide(&p, &served_then_killed()),
                Decision::Restart {
                    delay: Duration::ZERO,
                    attempt: 1
                }
            );
        }
        // Up past the grace with nothing served is healthy too (an idle app).
        let idle = Life {
            up_after_ready: Duration::from_secs(5),
            served: 0,
            ..served_then_killed()
        };
        assert!(matches!(c.decide(&p, &idle), Decision::Restart { delay, .. } if delay.is_zero()));
    }

    #[test]
    fn a_crash_loop_backs_off_then_gives_up() {
        let (p, mut c) = (policy(), CrashLoop::default());
        let lives = [Life::before_ready(false), died_soon_after_ready(), Life::before_ready(false)];
        let delays: Vec<_> = lives
            .iter()
            .map(|l| match c.decide(&p, l) {
                Decision::Restart { delay, attempt } => (delay.as_millis(), attempt),
                Decision::GiveUp => panic!("gave up early"),
            })
            .collect();
        assert_eq!(delays, vec![(100, 1), (200, 2), (400, 3)]);
        assert_eq!(c.decide(&p, &died_soon_after_ready()), Decision::GiveUp);
    }

    #[test]
    fn a_healthy_life_resets_the_crash_count() {
        let (p, mut c) = (policy(), CrashLoop::default());
        for _ in 0..3 {
            c.decide(&p, &Life::before_ready(false));
        }
        assert_eq!(c.crashes(), 3);
        c.decide(&p, &served_then_killed());
        assert_eq!(c.crashes(), 0);
        assert!(matches!(
            c.decide(&p, &Life::before_ready(false)),
            Decision::Restart { attempt: 1, .. }
        ));
    }

    #[test]
    fn permanent_failures_give_up_at_once() {
        let (p, mut c) = (policy(), CrashLoop::default());
        assert_eq!(c.decide(&p, &Life::before_ready(true)), Decision::GiveUp);
        let zero = RestartPolicy {
            max_restarts: 0,
            ..policy()
        };
        assert_eq!(CrashLoop::default().decide(&zero, &Life::before_ready(false)), Decision::GiveUp);
        // Even with no budget, a healthy sidecar's death is restarted.
        assert!(matches!(
            CrashLoop::default().decide(&zero, &served_then_killed()),
            Decision::Restart { .. }
        ));
    }
}
