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
