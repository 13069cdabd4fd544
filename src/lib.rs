//! eddy: an embeddable streaming SQL and complex-event engine.
//!
//! Where an event goes, by folder: `capi` (the C ABI, thin) → `runtime`
//! (inputs, queues, the worker thread, subscriptions) → `ops` (the operators
//! a query runs) → `expr` (expression kernels over Arrow batches). `sql` turns
//! statements into the plans the runtime installs; `types` and `batch` hold
//! the data representation shared by all of them.

pub mod capi;
pub mod error;
pub mod expr;
/// cbindgen:ignore
/// (capi publishes the limits a host needs as EDDY_* constants.)
pub mod limits;
pub mod ops;
pub mod runtime;
pub mod sql;
pub(crate) mod state;
pub mod types;

pub use error::{Error, Result, Status};
pub use runtime::{Engine, Input, Options, Subscription};
