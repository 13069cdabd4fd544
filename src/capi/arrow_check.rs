//! Structural checks of foreign Arrow C Data Interface structs before they
//! are imported. arrow-rs's importer trusts its input (it asserts, and may
//! read past arrays whose counts disagree), so anything a host can get
//! wrong — counts, NULL pointers, released structs, types we do not take —
//! is refused here with a message instead.

use std::ffi::{c_char, c_void, CStr};

use crate::error::{Error, Result};

/// The C Data Interface `struct ArrowArray`, field for field.
#[repr(C)]
struct RawArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *const *const c_void,
    children: *const *const RawArray,
    dictionary: *const RawArray,
    release: Option<unsafe extern "C" fn(*mut RawArray)>,
    private_data: *mut c_void,
}

/// The C Data Interface `struct ArrowSchema`, field for field.
#[repr(C)]
struct RawSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *const *const RawSchema,
    dictionary: *const RawSchema,
    release: Option<unsafe extern "C" fn(*mut RawSchema)>,
    private_data: *mut c_void,
}

/// How many buffers an array of this format has, for the formats a stream
/// column can be fed from (and other fixed-width ones, so that a type
/// mismatch is reported by name later). None: not accepted at all.
fn expected_buffers(format: &str) -> Option<std::ops::RangeInclusive<i64>> {
    match format {
        "+s" => Some(1..=1),
        "b" | "c" | "C" | "s" | "S" | "i" | "I" | "l" | "L" | "e" | "f" | "g" => Some(2..=2),
        "u" | "U" | "z" | "Z" => Some(3..=3),
        // null, views, then data buffers, then the variadic lengths buffer.
        "vu" | "vz" => Some(3..=i64::MAX),
        f if f.starts_with("td") || f.starts_with("tt") || f.starts_with("ts") || f.starts_with("tD") => {
            Some(2..=2)
        }
        _ => None,
    }
}

unsafe fn check(array: *const RawArray, schema: *const RawSchema, path: &str) -> Result<()> {
    let bad = |what: String| Err(Error::invalid(format!("invalid Arrow batch at {path}: {what}")));
    let (a, s) = match (array.as_ref(), schema.as_ref()) {
        (Some(a), Some(s)) => (a, s),
        _ => return bad("NULL array or schema".into()),
    };
    if a.release.is_none() {
        return bad("the array was already released".into());
    }
    if s.release.is_none() {
        return bad("the schema was already released".into());
    }
    if s.format.is_null() {
        return bad("schema format is NULL".into());
    }
    let Ok(format) = CStr::from_ptr(s.format).to_str() else {
        return bad("schema format is not UTF-8".into());
    };
    // arrow-rs panics on a name that is not UTF-8 (`FFI_ArrowSchema::name`
    // expects it): refuse it here (found writing the arrow_import fuzz
    // target; tests/fuzz_regressions.rs).
    if !s.name.is_null() && CStr::from_ptr(s.name).to_str().is_err() {
        return bad("schema name is not UTF-8".into());
    }
    let Some(buffers) = expected_buffers(format) else {
        return Err(Error::schema(format!(
            "Arrow type with format '{format}' at {path} is not accepted by eddy streams \
             (BOOL b, INT i, BIGINT l, FLOAT f, DOUBLE g, STRING u/U/vu, TIMESTAMP tsm:)"
        )));
    };
    if !a.dictionary.is_null() || !s.dictionary.is_null() {
        return Err(Error::schema(format!(
            "dictionary-encoded column at {path} is not accepted"
        )));
    }
    if a.length < 0 || a.offset < 0 || a.null_count < -1 {
        return bad(format!(
            "negative length {}, offset {} or null_count {}",
            a.length, a.offset, a.null_count
        ));
    }
    if !buffers.contains(&a.n_buffers) {
        return bad(format!(
            "format '{format}' needs {buffers:?} buffers, the array has {}",
            a.n_buffers
        ));
    }
    if a.n_buffers > 0 && a.buffers.is_null() {
        return bad("buffers pointer is NULL".into());
    }
    let want_children = if format == "+s" { s.n_children } else { 0 };
    if a.n_children != want_children || s.n_children != want_children {
        return bad(format!(
            "the schema has {} children and the array {} (format '{format}' needs {want_children})",
            s.n_children, a.n_children
        ));
    }
    if a.length > 0 {
        // Data buffers (all but the validity bitmap) must exist.
        for i in 1..a.n_buffers as usize {
            if (*a.buffers.add(i)).is_null() {
                return bad(format!("buffer {i} is NULL"));
            }
        }
        // null_count -1 means "not computed": with no bitmap there are no
        // nulls, a valid array (refusing it was found by the arrow_import
        // fuzz target).
        if (*a.buffers).is_null() && a.null_count > 0 && a.n_buffers > 0 && format != "+s" {
            return bad("null_count is not 0 but there is no validity buffer".into());
        }
    }
    if matches!(format, "u" | "z" | "U" | "Z")
        && (a.length > 0 || a.offset > 0)
        && !(*a.buffers.add(1)).is_null()
    {
        // arrow-rs sizes the data buffer by the last offset, before any
        // validation: a negative one became a buffer longer than isize::MAX
        // (undefined behaviour, an abort in debug builds; found by the
        // arrow_import fuzz target). The offsets buffer holds offset +
        // length + 1 entries (the producer's duty), so the last can be read.
        let at = (a.offset as usize).saturating_add(a.length as usize);
        let offsets = *a.buffers.add(1);
        let last = if format == "u" || format == "z" {
            std::ptr::read_unaligned((offsets as *const i32).add(at)) as i64
        } else {
            std::ptr::read_unaligned((offsets as *const i64).add(at))
        };
        if last < 0 {
            return bad(format!("the last offset is negative ({last})"));
        }
    }
    if (format == "vu" || format == "vz") && a.n_buffers > 3 {
        // The last buffer gives the sizes of the variadic data buffers.
        // arrow-rs reads it whatever the length (a NULL one was undefined
        // behaviour), and takes a negative size as a huge buffer against
        // which any view validates. Sizes cannot be checked, their signs can.
        let lengths = *a.buffers.add(a.n_buffers as usize - 1) as *const i64;
        if lengths.is_null() {
            return bad("the variadic buffer lengths of a view array are NULL".into());
        }
        for i in 0..a.n_buffers as usize - 3 {
            let n = std::ptr::read_unaligned(lengths.add(i));
            if n < 0 {
                return bad(format!("view data buffer {i} has a negative size {n}"));
            }
        }
    }
    if want_children > 0 && (a.children.is_null() || s.children.is_null()) {
        return bad("children pointer is NULL".into());
    }
    for i in 0..want_children as usize {
        let (ca, cs) = (*a.children.add(i), *s.children.add(i));
        let name = if cs.is_null() || (*cs).name.is_null() {
            format!("child {i}")
        } else {
            CStr::from_ptr((*cs).name).to_string_lossy().into_owned()
        };
        check(ca, cs, &format!("column '{name}'"))?;
    }
    Ok(())
}

/// Checks a batch (a struct array) and its schema before import.
pub(crate) unsafe fn check_batch(
    array: &arrow::ffi::FFI_ArrowArray,
    schema: &arrow::ffi::FFI_ArrowSchema,
) -> Result<()> {
    let a = array as *const _ as *const RawArray;
    let s = schema as *const _ as *const RawSchema;
    if let Some(sr) = s.as_ref() {
        if !sr.format.is_null() && CStr::from_ptr(sr.format).to_bytes() != b"+s" {
            let f = CStr::from_ptr(sr.format).to_string_lossy();
            return Err(Error::invalid(format!(
                "the Arrow batch must be a struct array (format '+s', a record batch), got format '{f}'"
            )));
        }
    }
    check(a, s, "the batch")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int32Array, RecordBatch, StringArray, StructArray};
    use std::sync::Arc;

    #[test]
    fn layout_matches_arrow_rs() {
        assert_eq!(
            std::mem::size_of::<RawArray>(),
            std::mem::size_of::<arrow::ffi::FFI_ArrowArray>()
        );
        assert_eq!(
            std::mem::size_of::<RawSchema>(),
            std::mem::size_of::<arrow::ffi::FFI_ArrowSchema>()
        );
    }

    #[test]
    fn accepts_a_good_batch_and_refuses_mismatched_children() {
        let batch = RecordBatch::try_from_iter(vec![
            ("a", Arc::new(Int32Array::from(vec![1, 2])) as _),
            ("b", Arc::new(StringArray::from(vec!["x", "y"])) as _),
        ])
        .unwrap();
        let data = StructArray::from(batch).into_data();
        let (mut a, s) = arrow::ffi::to_ffi(&data).unwrap();
        unsafe { check_batch(&a, &s).unwrap() };
        // Lie about the number of children.
        unsafe { (*(&mut a as *mut _ as *mut RawArray)).n_children = 1 };
        let e = unsafe { check_batch(&a, &s) }.unwrap_err();
        assert!(e.message.contains("children"), "{}", e.message);
        unsafe { (*(&mut a as *mut _ as *mut RawArray)).n_children = 2 };
        // An array of the wrong kind is named.
        let (ia, is) = arrow::ffi::to_ffi(&Int32Array::from(vec![1]).into_data()).unwrap();
        let e = unsafe { check_batch(&ia, &is) }.unwrap_err();
        assert!(e.message.contains("format 'i'"), "{}", e.message);
        let _ = data.len();
    }
}
