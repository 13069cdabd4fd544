//! eddy_subscribe, eddy_subscription_*: results by pull or by callback.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StructArray};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

use super::batch::eddy_batch;
use super::engine::{eddy_engine, engine_ref};
use super::*;
use crate::runtime::Subscription;

/// A subscription handle.
pub struct eddy_subscription(SubFields);

/// The handle's fields; tag first (see eddy_engine).
#[repr(C)]
#[doc(hidden)]
pub struct SubFields {
    pub(crate) magic: u64,
    sub: Subscription,
    /// Column names as C strings, for eddy_batch_column_name.
    names: Arc<Vec<CString>>,
    poisoned: bool,
}
const _: () = assert!(std::mem::offset_of!(eddy_subscription, 0) == 0);

impl std::ops::Deref for eddy_subscription {
    type Target = SubFields;
    fn deref(&self) -> &SubFields {
        &self.0
    }
}

impl std::ops::DerefMut for eddy_subscription {
    fn deref_mut(&mut self) -> &mut SubFields {
        &mut self.0
    }
}

impl Handle for eddy_subscription {
    const MAGIC: u64 = MAGIC_SUB;
    const NAME: &'static str = "subscription";
    fn tag(&self) -> u64 {
        self.magic
    }
    fn poisoned(&mut self) -> &mut bool {
        &mut self.poisoned
    }
}

/// Callback type: `batch` is valid only during the call.
pub type eddy_batch_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, batch: *const eddy_batch)>;
/// Releases user data given with a callback.
pub type eddy_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

unsafe fn with_sub(
    s: *mut eddy_subscription,
    err: *mut *mut eddy_error,
    f: impl FnOnce(&mut eddy_subscription) -> Result<()>,
) -> eddy_status {
    with_handle(s, err, f)
}

/// Subscribes to everything `stream` emits after this call.
#[no_mangle]
pub unsafe extern "C" fn eddy_subscribe(
    engine: *mut eddy_engine,
    stream: *const c_char,
    out: *mut *mut eddy_subscription,
    err: *mut *mut eddy_error,
) -> eddy_status {
    let e = match engine_ref(engine) {
        Ok(e) => e,
        Err(x) => return fail(err, x),
    };
    guard(
        err,
        || {},
        || {
            if out.is_null() {
                return Err(null_arg("out"));
            }
            let sub = e.engine.subscribe(str_arg(stream, "stream")?)?;
            let names = sub
                .schema()
                .fields()
                .iter()
                .map(|f| message_cstring(f.name()))
                .collect();
            *out = Box::into_raw(Box::new(eddy_subscription(SubFields {
                magic: MAGIC_SUB,
                sub,
                names: Arc::new(names),
                poisoned: false,
            })));
            Ok(())
        },
    )
}

/// Exports `batch` as a C Data Interface struct array + schema (the caller
/// owns both and must call their release callbacks).
pub(crate) unsafe fn export_batch(
    batch: &RecordBatch,
    out_batch: *mut FFI_ArrowArray,
    out_schema: *mut FFI_ArrowSchema,
) -> Result<()> {
    if out_batch.is_null() {
        return Err(null_arg("out_batch"));
    }
    if out_schema.is_null() {
        return Err(null_arg("out_schema"));
    }
    let data = StructArray::from(batch.clone()).into_data();
    let (a, s) = arrow::ffi::to_ffi(&data)?;
    std::ptr::write(out_batch, a);
    std::ptr::write(out_schema, s);
    Ok(())
}

/// Waits up to timeout_ms (-1: forever, 0: don't wait) for the next result
/// batch and exports it into *out_batch / *out_schema (a struct array; the
/// caller releases both). EDDY_ERR_TIMEOUT when nothing came;
/// EDDY_ERR_END_OF_STREAM once the engine closed and all was read.
#[no_mangle]
pub unsafe extern "C" fn eddy_subscription_next(
    subscription: *mut eddy_subscription,
    timeout_ms: i32,
    out_batch: *mut FFI_ArrowArray,
    out_schema: *mut FFI_ArrowSchema,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_sub(subscription, err, |h| {
        if out_batch.is_null() {
            return Err(null_arg("out_batch"));
        }
        if out_schema.is_null() {
            return Err(null_arg("out_schema"));
        }
        let t = (timeout_ms >= 0).then(|| std::time::Duration::from_millis(timeout_ms as u64));
        let b = h.sub.next(t)?;
        export_batch(&b, out_batch, out_schema)
    })
}

struct HostCallback {
    cb: unsafe extern "C" fn(*mut c_void, *const eddy_batch),
    user_data: *mut c_void,
    free_user_data: eddy_free_fn,
    names: Arc<Vec<CString>>,
}

// SAFETY: the host promises its callback and user data may be used from the
// thread that calls eddy_engine_poll (docs/c-api.md); we never run them
// concurrently.
unsafe impl Send for HostCallback {}

impl Drop for HostCallback {
    fn drop(&mut self) {
        if let Some(f) = self.free_user_data {
            unsafe { f(self.user_data) };
        }
    }
}

/// Delivers this subscription's results to `cb` from inside
/// eddy_engine_poll, on the polling thread. `free_user_data` (may be NULL)
/// runs exactly once: when the subscription is freed or the callback
/// replaced. A NULL `cb` removes the callback (back to pull mode) and calls
/// `free_user_data(user_data)` at once. Ownership: on EDDY_OK eddy owns
/// `user_data`; on failure it does not, and `free_user_data` is not called.
#[no_mangle]
pub unsafe extern "C" fn eddy_subscription_set_callback(
    subscription: *mut eddy_subscription,
    cb: eddy_batch_callback,
    user_data: *mut c_void,
    free_user_data: eddy_free_fn,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_sub(subscription, err, |h| {
        let Some(cb) = cb else {
            if let Some(f) = free_user_data {
                f(user_data);
            }
            h.sub.shared.set_callback(None);
            return Ok(());
        };
        let host = HostCallback {
            cb,
            user_data,
            free_user_data,
            names: h.names.clone(),
        };
        h.sub.set_callback(Box::new(move |b: &RecordBatch| {
            let view = eddy_batch::new(b, &host.names);
            let _lent = view.lend();
            // SAFETY: cb is the host's function; the view lives for the call.
            unsafe { (host.cb)(host.user_data, &view) };
        }))
    })
}

/// Number of columns of the subscribed stream (0 for an invalid handle).
#[no_mangle]
pub unsafe extern "C" fn eddy_subscription_num_columns(subscription: *const eddy_subscription) -> u32 {
    match subscription.as_ref() {
        Some(h) if h.magic == MAGIC_SUB => h.names.len() as u32,
        _ => 0,
    }
}

/// Frees a subscription; its callback's user data is released. NULL is
/// accepted. Freeing it from inside its own callback is allowed: the user
/// data is released when that callback returns.
#[no_mangle]
pub unsafe extern "C" fn eddy_subscription_free(subscription: *mut eddy_subscription) {
    if subscription.is_null() || (*subscription).0.magic != MAGIC_SUB {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut h = Box::from_raw(subscription);
        h.magic = MAGIC_DEAD;
        drop(h);
    }));
}
