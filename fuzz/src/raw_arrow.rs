//! Hand-built Arrow C Data Interface structs, so `arrow_import` can lie
//! about everything a consumer is expected to check.
//!
//! A batch is described as a tree of [`ArrayNode`] / [`SchemaNode`] values
//! that may disagree with each other in any way (formats, buffer and child
//! counts, lengths, offsets, null counts, bitmaps, UTF-8, released or NULL
//! members, dictionaries). [`export`] turns them into real `ArrowArray` /
//! `ArrowSchema` structs. Before it does, [`honour_producer_duties`] makes
//! the buffers as large as the *declared* format, length and offset require
//! (what a consumer cannot check, see fuzz/README.md): every buffer is at
//! least 16 bytes per slot plus padding, the UTF-8 data buffer reaches the
//! last offset, and a view array's variadic-lengths buffer tells the true
//! sizes of its data buffers. Everything else is left as generated.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Exported batches not yet released: must be 0 once eddy returns.
pub static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The C Data Interface `struct ArrowArray`.
#[repr(C)]
pub struct RawArray {
    pub length: i64,
    pub null_count: i64,
    pub offset: i64,
    pub n_buffers: i64,
    pub n_children: i64,
    pub buffers: *mut *const c_void,
    pub children: *mut *mut RawArray,
    pub dictionary: *mut RawArray,
    pub release: Option<unsafe extern "C" fn(*mut RawArray)>,
    pub private_data: *mut c_void,
}

/// The C Data Interface `struct ArrowSchema`.
#[repr(C)]
pub struct RawSchema {
    pub format: *const c_char,
    pub name: *const c_char,
    pub metadata: *const c_char,
    pub flags: i64,
    pub n_children: i64,
    pub children: *mut *mut RawSchema,
    pub dictionary: *mut RawSchema,
    pub release: Option<unsafe extern "C" fn(*mut RawSchema)>,
    pub private_data: *mut c_void,
}

/// An 8-byte aligned byte buffer.
#[derive(Clone, Debug, Default)]
pub struct Buf {
    words: Vec<u64>,
    len: usize,
}

impl Buf {
    pub fn zeroed(len: usize) -> Buf {
        Buf {
            words: vec![0; len.div_ceil(8)],
            len,
        }
    }
    pub fn from_bytes(b: &[u8]) -> Buf {
        let mut buf = Buf::zeroed(b.len());
        buf.bytes_mut().copy_from_slice(b);
        buf
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: words holds at least len bytes.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.len) }
    }
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, self.len) }
    }
    /// Grows (zero-filled) to at least `len` bytes.
    pub fn grow(&mut self, len: usize) {
        if len > self.len {
            self.words.resize(len.div_ceil(8), 0);
            self.len = len;
        }
    }
    pub fn read_i32(&self, i: usize) -> Option<i32> {
        let b = self.bytes().get(i * 4..i * 4 + 4)?;
        Some(i32::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn write_i32(&mut self, i: usize, v: i32) {
        if let Some(b) = self.bytes_mut().get_mut(i * 4..i * 4 + 4) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    }
    pub fn read_i64(&self, i: usize) -> Option<i64> {
        let b = self.bytes().get(i * 8..i * 8 + 8)?;
        Some(i64::from_le_bytes(b.try_into().unwrap()))
    }
    pub fn write_i64(&mut self, i: usize, v: i64) {
        if let Some(b) = self.bytes_mut().get_mut(i * 8..i * 8 + 8) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    }
    fn ptr(&self) -> *const c_void {
        self.words.as_ptr() as *const c_void
    }
}

#[derive(Clone, Debug, Default)]
pub struct ArrayNode {
    pub length: i64,
    pub null_count: i64,
    pub offset: i64,
    /// None: a NULL buffer pointer.
    pub buffers: Vec<Option<Buf>>,
    pub children: Vec<ArrayNode>,
    pub dictionary: Option<Box<ArrayNode>>,
    /// Exported with `release == NULL`.
    pub released: bool,
}

#[derive(Clone, Debug, Default)]
pub struct SchemaNode {
    /// The format string's bytes (no NUL); None: a NULL pointer.
    pub format: Option<Vec<u8>>,
    pub name: Option<Vec<u8>>,
    /// Raw metadata bytes (the C Data Interface encoding); None: NULL.
    pub metadata: Option<Vec<u8>>,
    pub flags: i64,
    pub children: Vec<SchemaNode>,
    pub dictionary: Option<Box<SchemaNode>>,
    pub released: bool,
}

/// Largest data buffer a lie may make a producer allocate (see
/// [`honour_producer_duties`]).
pub const MAX_DATA: usize = 1 << 16;

/// Makes the buffers as large as `format`, `length` and `offset` require of
/// an honest producer, without changing anything a consumer can check.
pub fn honour_producer_duties(a: &mut ArrayNode, s: Option<&SchemaNode>) {
    let format = s.and_then(|s| s.format.clone()).unwrap_or_default();
    let slots = (a.length.max(0) as usize).saturating_add(a.offset.max(0) as usize);
    let generous = slots.saturating_add(1).saturating_mul(16) + 64;
    let nb = a.buffers.len();
    for b in a.buffers.iter_mut().flatten() {
        b.grow(generous);
    }
    let empty_at_zero = a.length == 0 && a.offset == 0;
    match format.as_slice() {
        // The data buffer's size is the last offset: a consumer must take it
        // on trust, so it is made true (capped, so that a huge value is
        // turned into one the buffer honours rather than a 2 GiB buffer).
        b"u" | b"z" if nb >= 3 && !empty_at_zero => {
            let last = a.buffers[1].as_ref().and_then(|o| o.read_i32(slots)).unwrap_or(0);
            if last as i64 > MAX_DATA as i64 {
                if let Some(o) = a.buffers[1].as_mut() {
                    o.write_i32(slots, MAX_DATA as i32);
                }
            }
            let need = last.clamp(0, MAX_DATA as i32) as usize;
            if let Some(d) = a.buffers[2].as_mut() {
                d.grow(need);
            }
        }
        b"U" | b"Z" if nb >= 3 && !empty_at_zero => {
            let last = a.buffers[1].as_ref().and_then(|o| o.read_i64(slots)).unwrap_or(0);
            if last > MAX_DATA as i64 {
                if let Some(o) = a.buffers[1].as_mut() {
                    o.write_i64(slots, MAX_DATA as i64);
                }
            }
            let need = last.clamp(0, MAX_DATA as i64) as usize;
            if let Some(d) = a.buffers[2].as_mut() {
                d.grow(need);
            }
        }
        // Views: the last buffer gives the sizes of the data buffers
        // between it and the views; it is made to tell the truth.
        b"vu" | b"vz" if nb >= 3 => {
            let sizes: Vec<i64> = a.buffers[2..nb - 1]
                .iter()
                .map(|b| b.as_ref().map_or(0, |b| b.len() as i64))
                .collect();
            let mut lens = Buf::zeroed(sizes.len() * 8);
            let old = a.buffers[nb - 1].clone();
            for (i, s) in sizes.iter().enumerate() {
                // A negative size is a lie a consumer can see: kept.
                let told = old.as_ref().and_then(|o| o.read_i64(i)).unwrap_or(0);
                lens.write_i64(i, if told < 0 { told } else { *s });
            }
            if a.buffers[nb - 1].is_some() {
                a.buffers[nb - 1] = Some(lens);
            }
        }
        _ => {}
    }
    let sc = s.map(|s| s.children.as_slice()).unwrap_or(&[]);
    for (i, c) in a.children.iter_mut().enumerate() {
        honour_producer_duties(c, sc.get(i));
    }
    if let Some(d) = a.dictionary.as_mut() {
        honour_producer_duties(d, s.and_then(|s| s.dictionary.as_deref()));
    }
}

/// What an exported array owns; freed by the top-level release.
struct ArrayHolder {
    _bufs: Vec<Buf>,
    _ptr_lists: Vec<Vec<*const c_void>>,
    _child_lists: Vec<Vec<*mut RawArray>>,
    nodes: Vec<*mut RawArray>,
}

struct SchemaHolder {
    _strings: Vec<Vec<u8>>,
    _child_lists: Vec<Vec<*mut RawSchema>>,
    nodes: Vec<*mut RawSchema>,
}

unsafe extern "C" fn release_array(a: *mut RawArray) {
    let a = &mut *a;
    assert!(a.release.is_some(), "release called on a released array");
    let holder = Box::from_raw(a.private_data as *mut ArrayHolder);
    a.release = None;
    a.private_data = std::ptr::null_mut();
    // Node 0 is the top-level struct, which the caller owns.
    for &n in &holder.nodes[1..] {
        drop(Box::from_raw(n));
    }
    LIVE.fetch_sub(1, Ordering::SeqCst);
}

/// A child's release: the parent's release frees the memory.
unsafe extern "C" fn release_child_array(a: *mut RawArray) {
    (*a).release = None;
}

unsafe extern "C" fn release_schema(s: *mut RawSchema) {
    let s = &mut *s;
    assert!(s.release.is_some(), "release called on a released schema");
    let holder = Box::from_raw(s.private_data as *mut SchemaHolder);
    s.release = None;
    s.private_data = std::ptr::null_mut();
    for &n in &holder.nodes[1..] {
        drop(Box::from_raw(n));
    }
}

unsafe extern "C" fn release_child_schema(s: *mut RawSchema) {
    (*s).release = None;
}

fn build_array(n: &ArrayNode, h: &mut ArrayHolder, out: *mut RawArray, top: bool) {
    // The holder's clones own the memory: point at them, not at `n`.
    let mut ptrs: Vec<*const c_void> = Vec::with_capacity(n.buffers.len());
    for b in &n.buffers {
        match b {
            Some(b) => {
                h._bufs.push(b.clone());
                ptrs.push(h._bufs.last().unwrap().ptr());
            }
            None => ptrs.push(std::ptr::null()),
        }
    }
    let mut children = Vec::new();
    for c in &n.children {
        let raw = Box::into_raw(Box::new(empty_array()));
        h.nodes.push(raw);
        build_array(c, h, raw, false);
        children.push(raw);
    }
    let dictionary = n.dictionary.as_ref().map_or(std::ptr::null_mut(), |d| {
        let raw = Box::into_raw(Box::new(empty_array()));
        h.nodes.push(raw);
        build_array(d, h, raw, false);
        raw
    });
    let buffers = if ptrs.is_empty() {
        std::ptr::null_mut()
    } else {
        ptrs.as_mut_ptr()
    };
    let children_ptr = if children.is_empty() {
        std::ptr::null_mut()
    } else {
        children.as_mut_ptr()
    };
    // SAFETY: out is a live RawArray allocated by the caller.
    unsafe {
        *out = RawArray {
            length: n.length,
            null_count: n.null_count,
            offset: n.offset,
            n_buffers: ptrs.len() as i64,
            n_children: children.len() as i64,
            buffers,
            children: children_ptr,
            dictionary,
            release: match (n.released, top) {
                (true, _) => None,
                (false, true) => Some(release_array),
                (false, false) => Some(release_child_array),
            },
            private_data: std::ptr::null_mut(),
        };
    }
    // Moving a Vec does not move its heap buffer, so the pointers stay good.
    h._ptr_lists.push(ptrs);
    h._child_lists.push(children);
}

fn empty_array() -> RawArray {
    RawArray {
        length: 0,
        null_count: 0,
        offset: 0,
        n_buffers: 0,
        n_children: 0,
        buffers: std::ptr::null_mut(),
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    }
}

fn empty_schema() -> RawSchema {
    RawSchema {
        format: std::ptr::null(),
        name: std::ptr::null(),
        metadata: std::ptr::null(),
        flags: 0,
        n_children: 0,
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    }
}

fn c_bytes(h: &mut SchemaHolder, b: &Option<Vec<u8>>, nul_terminate: bool) -> *const c_char {
    match b {
        None => std::ptr::null(),
        Some(v) => {
            let mut v: Vec<u8> = if nul_terminate {
                v.iter().copied().filter(|&c| c != 0).collect()
            } else {
                v.clone()
            };
            v.push(0);
            let p = v.as_ptr() as *const c_char;
            h._strings.push(v);
            p
        }
    }
}

fn build_schema(n: &SchemaNode, h: &mut SchemaHolder, out: *mut RawSchema, top: bool) {
    let format = c_bytes(h, &n.format, true);
    let name = c_bytes(h, &n.name, true);
    let metadata = c_bytes(h, &n.metadata, false);
    let mut children = Vec::new();
    for c in &n.children {
        let raw = Box::into_raw(Box::new(empty_schema()));
        h.nodes.push(raw);
        build_schema(c, h, raw, false);
        children.push(raw);
    }
    let dictionary = n.dictionary.as_ref().map_or(std::ptr::null_mut(), |d| {
        let raw = Box::into_raw(Box::new(empty_schema()));
        h.nodes.push(raw);
        build_schema(d, h, raw, false);
        raw
    });
    let children_ptr = if children.is_empty() {
        std::ptr::null_mut()
    } else {
        children.as_mut_ptr()
    };
    unsafe {
        *out = RawSchema {
            format,
            name,
            metadata,
            flags: n.flags,
            n_children: children.len() as i64,
            children: children_ptr,
            dictionary,
            release: match (n.released, top) {
                (true, _) => None,
                (false, true) => Some(release_schema),
                (false, false) => Some(release_child_schema),
            },
            private_data: std::ptr::null_mut(),
        };
    }
    h._child_lists.push(children);
}

/// Exports `a` into a caller-owned struct. Its release frees everything;
/// if it is exported as released (`a.released`), the memory is freed here
/// after the call by [`free_unreleased`] instead.
pub fn export_array(a: &ArrayNode) -> Box<RawArray> {
    let mut h = ArrayHolder {
        _bufs: Vec::new(),
        _ptr_lists: Vec::new(),
        _child_lists: Vec::new(),
        nodes: vec![std::ptr::null_mut()],
    };
    let mut top = Box::new(empty_array());
    build_array(a, &mut h, &mut *top, true);
    top.private_data = Box::into_raw(Box::new(h)) as *mut c_void;
    LIVE.fetch_add(1, Ordering::SeqCst);
    top
}

pub fn export_schema(s: &SchemaNode) -> Box<RawSchema> {
    let mut h = SchemaHolder {
        _strings: Vec::new(),
        _child_lists: Vec::new(),
        nodes: vec![std::ptr::null_mut()],
    };
    let mut top = Box::new(empty_schema());
    build_schema(s, &mut h, &mut *top, true);
    top.private_data = Box::into_raw(Box::new(h)) as *mut c_void;
    top
}

/// Frees an exported array whose release pointer was NULL from the start
/// (a "released" struct eddy must refuse to touch), or that is still
/// unreleased after the call.
pub fn free_array(a: &mut RawArray) {
    if a.private_data.is_null() {
        return;
    }
    // SAFETY: private_data is our holder; release was never run.
    unsafe {
        a.release = Some(release_array);
        release_array(a);
    }
}

pub fn free_schema(s: &mut RawSchema) {
    if s.private_data.is_null() {
        return;
    }
    unsafe {
        s.release = Some(release_schema);
        release_schema(s);
    }
}
