//! The C ABI called from Rust, for what is easiest to check here (the C tests
//! under tests/c cover the boundary from C).

use std::ffi::{CStr, CString};
use std::ptr;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::ffi::FFI_ArrowSchema;
use eddy::capi::engine::*;
use eddy::capi::*;

unsafe fn open() -> *mut eddy_engine {
    let mut e = ptr::null_mut();
    assert_eq!(
        eddy_engine_open(ptr::null(), &mut e, ptr::null_mut()),
        eddy_status::EDDY_OK
    );
    e
}

#[test]
fn stream_schema_is_exported() {
    unsafe {
        let e = open();
        let sql = CString::new(
            "CREATE STREAM T (s STRING, ts TIMESTAMP); INSERT INTO O SELECT UPPER(s) AS u, ts FROM T",
        )
        .unwrap();
        assert_eq!(
            eddy_engine_execute(e, sql.as_ptr(), ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        let mut out = FFI_ArrowSchema::empty();
        let name = CString::new("o").unwrap();
        assert_eq!(
            eddy_engine_stream_schema(e, name.as_ptr(), &mut out, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        let dt = DataType::try_from(&out).unwrap();
        let want = Schema::new(vec![
            Field::new("u", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ]);
        assert_eq!(dt, DataType::Struct(want.fields().clone()));
        drop(out);

        let mut err: *mut eddy_error = ptr::null_mut();
        let mut out = FFI_ArrowSchema::empty();
        let nope = CString::new("nope").unwrap();
        assert_eq!(
            eddy_engine_stream_schema(e, nope.as_ptr(), &mut out, &mut err),
            eddy_status::EDDY_ERR_NOT_FOUND
        );
        assert!(CStr::from_ptr(eddy_error_message(err))
            .to_str()
            .unwrap()
            .contains("'nope'"));
        eddy_error_free(err);
        assert_eq!(
            eddy_engine_stream_schema(e, name.as_ptr(), ptr::null_mut(), ptr::null_mut()),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            eddy_engine_stream_schema(ptr::null_mut(), name.as_ptr(), &mut out, ptr::null_mut()),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT
        );
        eddy_engine_free(e);
    }
}

#[test]
fn abort_row_discards_and_column_types_are_reported() {
    use eddy::capi::input::*;
    unsafe {
        let e = open();
        let sql = CString::new("CREATE STREAM T (a INT, s STRING, ts TIMESTAMP)").unwrap();
        assert_eq!(
            eddy_engine_execute(e, sql.as_ptr(), ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        let mut inp = ptr::null_mut();
        let t = CString::new("T").unwrap();
        assert_eq!(
            eddy_input_open(e, t.as_ptr(), &mut inp, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        assert_eq!(eddy_input_column_type(inp, 0), eddy_type::EDDY_TYPE_INT);
        assert_eq!(eddy_input_column_type(inp, 1), eddy_type::EDDY_TYPE_STRING);
        assert_eq!(eddy_input_column_type(inp, 2), eddy_type::EDDY_TYPE_TIMESTAMP);
        assert_eq!(eddy_input_column_type(inp, 3), eddy_type::EDDY_TYPE_INVALID);
        assert_eq!(
            eddy_input_column_type(ptr::null(), 0),
            eddy_type::EDDY_TYPE_INVALID
        );
        assert_eq!(eddy_input_begin_row(inp, ptr::null_mut()), eddy_status::EDDY_OK);
        assert_eq!(
            eddy_input_set_i64(inp, 0, 1, ptr::null_mut()),
            eddy_status::EDDY_ERR_SCHEMA
        );
        assert_eq!(
            eddy_input_begin_row(inp, ptr::null_mut()),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT
        );
        assert_eq!(eddy_input_abort_row(inp, ptr::null_mut()), eddy_status::EDDY_OK);
        assert_eq!(
            eddy_input_end_row(inp, ptr::null_mut()),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT,
            "row gone"
        );
        assert_eq!(eddy_input_begin_row(inp, ptr::null_mut()), eddy_status::EDDY_OK);
        assert_eq!(
            eddy_input_set_i32(inp, 0, 1, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        assert_eq!(eddy_input_end_row(inp, ptr::null_mut()), eddy_status::EDDY_OK);
        assert_eq!(eddy_engine_flush(e, 5000, ptr::null_mut()), eddy_status::EDDY_OK);
        let mut json = ptr::null_mut();
        assert_eq!(
            eddy_engine_stats_json(e, &mut json, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        let stats = CStr::from_ptr(json).to_str().unwrap().to_string();
        eddy_string_free(json);
        assert!(
            stats.contains("\"name\":\"T\",\"events_in\":1,"),
            "only the committed row: {stats}"
        );
        eddy_input_free(inp);
        eddy_engine_free(e);
    }
}

/// A batch view kept past its callback: documented as undefined, but debug
/// builds (this test's) detect it and answer with a status instead of
/// reading the view's dead stack frame.
#[cfg(debug_assertions)]
#[test]
fn a_batch_view_used_after_its_callback_is_detected_in_debug_builds() {
    use eddy::capi::batch::*;
    use eddy::capi::input::*;
    use eddy::capi::subscription::*;
    use std::ffi::c_void;
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

    static KEPT: AtomicPtr<eddy_batch> = AtomicPtr::new(ptr::null_mut());
    static ROWS_INSIDE: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn keep(_: *mut c_void, b: *const eddy_batch) {
        ROWS_INSIDE.store(eddy_batch_num_rows(b), Ordering::SeqCst);
        KEPT.store(b as *mut eddy_batch, Ordering::SeqCst);
    }
    unsafe {
        let e = open();
        let sql = CString::new("CREATE STREAM T (a INT)").unwrap();
        assert_eq!(
            eddy_engine_execute(e, sql.as_ptr(), ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        let t = CString::new("T").unwrap();
        let mut sub = ptr::null_mut();
        assert_eq!(
            eddy_subscribe(e, t.as_ptr(), &mut sub, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        assert_eq!(
            eddy_subscription_set_callback(sub, Some(keep), ptr::null_mut(), None, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        let mut input = ptr::null_mut();
        assert_eq!(
            eddy_input_open(e, t.as_ptr(), &mut input, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        assert_eq!(eddy_input_begin_row(input, ptr::null_mut()), eddy_status::EDDY_OK);
        assert_eq!(
            eddy_input_set_i32(input, 0, 7, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        assert_eq!(eddy_input_end_row(input, ptr::null_mut()), eddy_status::EDDY_OK);
        assert_eq!(eddy_engine_flush(e, -1, ptr::null_mut()), eddy_status::EDDY_OK);
        let mut n = 0usize;
        assert_eq!(
            eddy_engine_poll(e, 5000, &mut n, ptr::null_mut()),
            eddy_status::EDDY_OK
        );
        assert_eq!((n, ROWS_INSIDE.load(Ordering::SeqCst)), (1, 1));

        let stale = KEPT.load(Ordering::SeqCst) as *const eddy_batch;
        assert!(!stale.is_null());
        let msg = "batch is not a live eddy_batch: a batch is valid only inside the callback that received it (use eddy_batch_export_arrow to keep it)";
        let mut v = 0i32;
        let mut err: *mut eddy_error = ptr::null_mut();
        assert_eq!(
            eddy_batch_get_i32(stale, 0, 0, &mut v, &mut err),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT
        );
        assert_eq!(CStr::from_ptr(eddy_error_message(err)).to_str().unwrap(), msg);
        eddy_error_free(err);
        assert_eq!(v, 0, "nothing written");
        let mut isnull = false;
        assert_eq!(
            eddy_batch_is_null(stale, 0, 0, &mut isnull, ptr::null_mut()),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT
        );
        let mut a = arrow::ffi::FFI_ArrowArray::empty();
        let mut s = FFI_ArrowSchema::empty();
        assert_eq!(
            eddy_batch_export_arrow(stale, &mut a, &mut s, ptr::null_mut()),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT
        );
        // The accessors without a status give their "invalid" value.
        assert_eq!(eddy_batch_num_rows(stale), 0);
        assert_eq!(eddy_batch_num_columns(stale), 0);
        assert!(eddy_batch_column_name(stale, 0).is_null());
        assert_eq!(eddy_batch_column_type(stale, 0), eddy_type::EDDY_TYPE_INVALID);

        eddy_input_free(input);
        eddy_subscription_free(sub);
        eddy_engine_free(e);
    }
}
