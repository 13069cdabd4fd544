//! Runtime: the engine's threads, queues, clocks and subscriptions.
//!
//! Path of one event: `Input` (producer thread) writes it into its
//! `queue::InputQueue` → the worker (`engine::worker_loop`) drains the queue
//! into an Arrow batch → `dataflow::Dataflow::push` runs every query reading
//! the stream → result batches go to each `Subscription`'s bounded queue →
//! the host pulls them (`next`) or `Engine::poll` runs its callback.

pub mod clock;
pub(crate) mod dataflow;
pub mod engine;
pub mod input;
pub mod options;
pub(crate) mod queue;
#[cfg(test)]
mod queue_tests;
pub mod stats;
pub mod subscription;

pub use engine::Engine;
pub use input::Input;
pub use options::{ClockKind, Options, Overflow, WorkerKind};
pub use subscription::Subscription;
