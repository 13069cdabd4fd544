//! `LIKE` / `ILIKE` without regular expressions.
//!
//! A pattern is compiled (cheaply, into reusable buffers) to the segments
//! between its `%` wildcards. Each segment is a fixed number of characters
//! (literals and `_`), so matching anchors the first segment at the start,
//! the last at the end, and finds each middle segment at its leftmost
//! position, which is optimal: an earlier match never leaves less room for
//! the rest. Purely literal segments are compared as bytes (and searched with
//! `str::find`), so `'abc%'`, `'%abc'` and `'%abc%'` are prefix, suffix and
//! substring tests; `_` skips one UTF-8 sequence without decoding it.
//!
//! Escapes: `\` makes the next character literal (`\%`, `\_`, `\\`); a
//! trailing lone `\` matches a backslash. `_` matches one character (Unicode
//! scalar value), not one byte. ILIKE compares characters after Unicode
//! lowercase mapping (per character; a character whose lowercase is several
//! characters, like `İ`, is compared as itself).

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, StringArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::DataType;

use super::strings::{change_case, row_bytes};
use super::Value;
use crate::error::{Error, Result};
use crate::types::type_name;

/// A run of literal characters (a byte range of `Matcher::lits`, lowercased
/// for ILIKE, and whether it is all ASCII) or of `n` single-character
/// wildcards.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Piece {
    Lit(usize, usize, bool),
    Any(usize),
}

#[derive(Clone, Copy, Debug)]
struct Seg {
    /// Piece range in `Matcher::pieces`.
    start: usize,
    end: usize,
    /// Length in characters.
    chars: usize,
}

/// A compiled LIKE pattern. Reusable: `compile` clears and refills it without
/// allocating once the buffers have grown.
#[derive(Debug)]
pub(crate) struct Matcher {
    case_insensitive: bool,
    pieces: Vec<Piece>,
    segs: Vec<Seg>,
    lits: String,
    /// Whether the pattern has an unescaped `%`.
    percent: bool,
    shape: Shape,
}

#[inline]
fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    }
}

/// Byte equality; an inlined loop beats a `memcmp` call for the short
/// literals of typical patterns.
#[inline(always)]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Leftmost occurrence of `needle` in `hay`. A first-byte scan plus compare
/// is fastest for the short strings and needles LIKE usually sees (and needs
/// no per-call setup, unlike `str::find`); long inputs go to `str::find`'s
/// linear-time search. A match of valid UTF-8 in valid UTF-8 always starts
/// at a character boundary.
#[inline]
fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = match needle.split_first() {
        Some(x) => x,
        None => return Some(0),
    };
    if hay.len() > 4096 || needle.len() > 64 {
        let h = std::str::from_utf8(hay).ok()?;
        let n = std::str::from_utf8(needle).ok()?;
        return h.find(n);
    }
    let last = hay.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last {
        let k = hay.get(i..=last)?.iter().position(|&b| b == first)?;
        i += k;
        if eq_bytes(hay.get(i + 1..i + needle.len())?, rest) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whole-pattern shortcuts for case-sensitive patterns whose only wildcards
/// are a leading and/or trailing `%` (the literal is a byte range of `lits`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    General,
    Exact(usize, usize),
    Prefix(usize, usize),
    Suffix(usize, usize),
    Contains(usize, usize),
}

/// Length of the UTF-8 sequence that starts with byte `b`.
#[inline(always)]
fn utf8_len(b: u8) -> usize {
    match b {
        0..=0x7f => 1,
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        _ => 2,
    }
}

impl Matcher {
    pub(crate) fn new(case_insensitive: bool) -> Matcher {
        Matcher {
            case_insensitive,
            pieces: Vec::new(),
            segs: Vec::new(),
            lits: String::new(),
            percent: false,
            shape: Shape::General,
        }
    }

    pub(crate) fn compile(&mut self, pattern: &str) {
        self.pieces.clear();
        self.segs.clear();
        self.lits.clear();
        self.percent = false;
        let mut seg_start = 0;
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let lit = match c {
                '\\' => chars.next().unwrap_or('\\'),
                '%' => {
                    self.percent = true;
                    self.close_segment(seg_start);
                    seg_start = self.pieces.len();
                    continue;
                }
                '_' => {
                    let in_segment = self.pieces.len() > seg_start;
                    match self.pieces.last_mut() {
                        Some(Piece::Any(n)) if in_segment => *n += 1,
                        _ => self.pieces.push(Piece::Any(1)),
                    }
                    continue;
                }
                c => c,
            };
            let lit = if self.case_insensitive { fold(lit) } else { lit };
            self.lits.push(lit);
            let end = self.lits.len();
            let in_segment = self.pieces.len() > seg_start;
            match self.pieces.last_mut() {
                Some(Piece::Lit(_, e, ascii)) if in_segment => {
                    *e = end;
                    *ascii &= lit.is_ascii();
                }
                _ => self
                    .pieces
                    .push(Piece::Lit(end - lit.len_utf8(), end, lit.is_ascii())),
            }
        }
        self.close_segment(seg_start);
        self.shape = self.classify();
    }

    fn classify(&self) -> Shape {
        if self.case_insensitive {
            return Shape::General;
        }
        let lit_range = |seg: &Seg| match self.pieces(seg) {
            [Piece::Lit(a, b, _)] => Some((*a, *b)),
            _ => None,
        };
        let empty = |seg: &Seg| seg.start == seg.end;
        match self.segs.as_slice() {
            [only] if !self.percent => match (empty(only), lit_range(only)) {
                (true, _) => Shape::Exact(0, 0),
                (_, Some((a, b))) => Shape::Exact(a, b),
                _ => Shape::General,
            },
            [first, last] if empty(last) => {
                lit_range(first).map_or(Shape::General, |(a, b)| Shape::Prefix(a, b))
            }
            [first, last] if empty(first) => {
                lit_range(last).map_or(Shape::General, |(a, b)| Shape::Suffix(a, b))
            }
            [first, mid, last] if empty(first) && empty(last) => {
                lit_range(mid).map_or(Shape::General, |(a, b)| Shape::Contains(a, b))
            }
            _ => Shape::General,
        }
    }

    fn close_segment(&mut self, start: usize) {
        let end = self.pieces.len();
        let chars = self.pieces[start..end]
            .iter()
            .map(|p| match *p {
                Piece::Lit(a, b, _) => self.lits.get(a..b).map_or(0, |s| s.chars().count()),
                Piece::Any(n) => n,
            })
            .sum();
        self.segs.push(Seg { start, end, chars });
    }

    fn pieces(&self, seg: &Seg) -> &[Piece] {
        self.pieces.get(seg.start..seg.end).unwrap_or(&[])
    }

    /// The literal text of a case-sensitive segment without wildcards.
    fn pure_lit(&self, seg: &Seg) -> Option<&str> {
        match self.pieces(seg) {
            [] => Some(""),
            [Piece::Lit(a, b, _)] if !self.case_insensitive => self.lits.get(*a..*b),
            _ => None,
        }
    }

    /// Matches the lowercased literal `lit` at byte `pos` of `hay`
    /// case-insensitively; returns the end of the match.
    #[inline]
    fn match_ci(lit: &str, ascii: bool, hay: &str, mut pos: usize, limit: usize) -> Option<usize> {
        let bytes = hay.as_bytes();
        if ascii {
            for &lc in lit.as_bytes() {
                if pos >= limit {
                    return None;
                }
                let b = *bytes.get(pos)?;
                if b < 0x80 {
                    if b.to_ascii_lowercase() != lc {
                        return None;
                    }
                    pos += 1;
                } else {
                    // A non-ASCII character can still lowercase to ASCII
                    // (KELVIN SIGN is 'k').
                    let c = hay.get(pos..)?.chars().next()?;
                    if fold(c) != char::from(lc) {
                        return None;
                    }
                    pos += c.len_utf8();
                }
            }
            return (pos <= limit).then_some(pos);
        }
        for lc in lit.chars() {
            if pos >= limit {
                return None;
            }
            let b = *bytes.get(pos)?;
            if b < 0x80 {
                if char::from(b.to_ascii_lowercase()) != lc {
                    return None;
                }
                pos += 1;
            } else {
                let c = hay.get(pos..)?.chars().next()?;
                if fold(c) != lc {
                    return None;
                }
                pos += c.len_utf8();
            }
        }
        (pos <= limit).then_some(pos)
    }

    /// Matches `seg` at byte `pos` of `hay`, not going past `limit`; returns
    /// the end of the match.
    #[inline]
    fn match_at(&self, seg: &Seg, hay: &str, pos: usize, limit: usize) -> Option<usize> {
        self.match_pieces(self.pieces(seg), hay, pos, limit)
    }

    #[inline]
    fn match_pieces(&self, pieces: &[Piece], hay: &str, mut pos: usize, limit: usize) -> Option<usize> {
        let bytes = hay.as_bytes();
        for piece in pieces {
            match *piece {
                Piece::Lit(a, b, ascii) => {
                    let lit = self.lits.get(a..b)?;
                    if self.case_insensitive {
                        pos = Self::match_ci(lit, ascii, hay, pos, limit)?;
                    } else {
                        let end = pos + lit.len();
                        if end > limit || !eq_bytes(bytes.get(pos..end)?, lit.as_bytes()) {
                            return None;
                        }
                        pos = end;
                    }
                }
                Piece::Any(n) => {
                    for _ in 0..n {
                        if pos >= limit {
                            return None;
                        }
                        pos += utf8_len(*bytes.get(pos)?);
                    }
                }
            }
        }
        (pos <= limit).then_some(pos)
    }

    /// Byte offset where the last segment has to start for it to end exactly
    /// at the end of `hay` (each pattern character matches one character).
    fn suffix_start(&self, seg: &Seg, hay: &str) -> Option<usize> {
        if let Some(lit) = self.pure_lit(seg) {
            return hay.len().checked_sub(lit.len());
        }
        let bytes = hay.as_bytes();
        let mut pos = hay.len();
        for _ in 0..seg.chars {
            pos = pos.checked_sub(1)?;
            while pos > 0 && bytes.get(pos).is_some_and(|&b| b & 0xc0 == 0x80) {
                pos -= 1;
            }
        }
        Some(pos)
    }

    /// End of the leftmost match of `seg` in `hay[from..limit]`.
    fn find(&self, seg: &Seg, hay: &str, from: usize, limit: usize) -> Option<usize> {
        if let Some(lit) = self.pure_lit(seg) {
            let idx = find_bytes(hay.as_bytes().get(from..limit)?, lit.as_bytes())?;
            return Some(from + idx + lit.len());
        }
        let bytes = hay.as_bytes();
        let mut pos = from;
        // Case-sensitive with a literal first or right after leading `_`s:
        // jump between occurrences of that literal. The segment has a fixed
        // length in characters, so the leftmost literal occurrence that
        // completes a match gives the leftmost match.
        let pieces = self.pieces(seg);
        let (skip, rest) = match pieces {
            [Piece::Any(n), rest @ ..] => (*n, rest),
            _ => (0, pieces),
        };
        if let (false, Some(Piece::Lit(a, b, _))) = (self.case_insensitive, rest.first()) {
            let first = self.lits.get(*a..*b)?;
            for _ in 0..skip {
                if pos >= limit {
                    return None;
                }
                pos += utf8_len(*bytes.get(pos)?);
            }
            loop {
                let q = pos + find_bytes(bytes.get(pos..limit)?, first.as_bytes())?;
                if let Some(end) = self.match_pieces(rest, hay, q, limit) {
                    return Some(end);
                }
                pos = q + utf8_len(*bytes.get(q)?);
            }
        }
        while pos <= limit {
            if let Some(end) = self.match_at(seg, hay, pos, limit) {
                return Some(end);
            }
            pos += utf8_len(*bytes.get(pos)?);
        }
        None
    }

    #[inline]
    pub(crate) fn matches(&self, hay: &str) -> bool {
        let h = hay.as_bytes();
        let lit = |a: usize, b: usize| self.lits.as_bytes().get(a..b).unwrap_or(&[]);
        match self.shape {
            Shape::General => self.matches_general(hay),
            Shape::Exact(a, b) => eq_bytes(h, lit(a, b)),
            Shape::Prefix(a, b) => {
                let l = lit(a, b);
                h.len() >= l.len() && eq_bytes(&h[..l.len()], l)
            }
            Shape::Suffix(a, b) => {
                let l = lit(a, b);
                h.len() >= l.len() && eq_bytes(&h[h.len() - l.len()..], l)
            }
            Shape::Contains(a, b) => find_bytes(h, lit(a, b)).is_some(),
        }
    }

    fn matches_general(&self, hay: &str) -> bool {
        let len = hay.len();
        let (Some(first), Some(last)) = (self.segs.first(), self.segs.last()) else {
            return hay.is_empty();
        };
        if !self.percent {
            return self.match_at(first, hay, 0, len) == Some(len);
        }
        let Some(mut pos) = self.match_at(first, hay, 0, len) else {
            return false;
        };
        let Some(tail) = self.suffix_start(last, hay) else {
            return false;
        };
        if tail < pos || self.match_at(last, hay, tail, len) != Some(len) {
            return false;
        }
        let middle = self.segs.get(1..self.segs.len() - 1).unwrap_or(&[]);
        for seg in middle {
            match self.find(seg, hay, pos, tail) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        true
    }
}

/// Matches every row of `a` against one compiled pattern, with the common
/// pattern shapes as their own loops.
fn match_column(m: &Matcher, a: &StringArray, negated: bool) -> BooleanBuffer {
    let n = a.len();
    let lit = |x: usize, y: usize| m.lits.as_bytes().get(x..y).unwrap_or(&[]);
    match m.shape {
        Shape::Exact(x, y) => {
            let l = lit(x, y);
            BooleanBuffer::collect_bool(n, |i| eq_bytes(a.value(i).as_bytes(), l) != negated)
        }
        Shape::Prefix(x, y) => {
            let l = lit(x, y);
            BooleanBuffer::collect_bool(n, |i| {
                let h = a.value(i).as_bytes();
                (h.len() >= l.len() && eq_bytes(&h[..l.len()], l)) != negated
            })
        }
        Shape::Suffix(x, y) => {
            let l = lit(x, y);
            BooleanBuffer::collect_bool(n, |i| {
                let h = a.value(i).as_bytes();
                (h.len() >= l.len() && eq_bytes(&h[h.len() - l.len()..], l)) != negated
            })
        }
        Shape::Contains(x, y) => {
            let l = lit(x, y);
            BooleanBuffer::collect_bool(n, |i| find_bytes(a.value(i).as_bytes(), l).is_some() != negated)
        }
        Shape::General => BooleanBuffer::collect_bool(n, |i| m.matches_general(a.value(i)) != negated),
    }
}

fn strings<'a>(v: &'a Value, what: &str) -> Result<&'a StringArray> {
    v.array().as_string_opt::<i32>().ok_or_else(|| {
        Error::internal(format!(
            "{what} expects STRING operands, got {}",
            type_name(v.data_type())
        ))
    })
}

/// `arg [NOT] [I]LIKE pattern`; NULL if either side is NULL.
pub(crate) fn like(
    arg: &Value,
    pattern: &Value,
    negated: bool,
    case_insensitive: bool,
    rows: usize,
) -> Result<Value> {
    let what = if case_insensitive { "ILIKE" } else { "LIKE" };
    let a = strings(arg, what)?;
    let p = strings(pattern, what)?;
    let scalar = arg.is_scalar() && pattern.is_scalar();
    if arg.is_null_scalar() || pattern.is_null_scalar() {
        let rows = arg.array_len().or(pattern.array_len()).unwrap_or(rows);
        return Ok(Value::null_like(scalar, &DataType::Boolean, rows));
    }
    let mut m = Matcher::new(case_insensitive);
    let out = if pattern.is_scalar() {
        if p.is_empty() {
            return Err(Error::internal("empty scalar value"));
        }
        let pat = p.value(0);
        let bits = if case_insensitive && row_bytes(a).is_ascii() {
            // All-ASCII column: lowercase it in one pass and match the
            // lowercased pattern case-sensitively (same result, and the
            // case-sensitive shortcuts apply).
            let lowered = change_case(&arg.same_shape(Arc::clone(arg.array())), false)?;
            let la = strings(&lowered, what)?;
            let folded: String = pat.chars().map(fold).collect();
            let mut cs = Matcher::new(false);
            cs.compile(&folded);
            match_column(&cs, la, negated)
        } else {
            m.compile(pat);
            match_column(&m, a, negated)
        };
        BooleanArray::new(bits, a.nulls().cloned())
    } else {
        // A pattern per row: recompile only when it changes.
        let mut compiled: Option<String> = None;
        let mut row = |s: &str, pat: &str| -> bool {
            if compiled.as_deref() != Some(pat) {
                m.compile(pat);
                let c = compiled.get_or_insert_with(String::new);
                c.clear();
                c.push_str(pat);
            }
            m.matches(s) != negated
        };
        if arg.is_scalar() {
            if a.is_empty() {
                return Err(Error::internal("empty scalar value"));
            }
            let s = a.value(0);
            let bits = BooleanBuffer::collect_bool(p.len(), |i| p.is_valid(i) && row(s, p.value(i)));
            BooleanArray::new(bits, p.nulls().cloned())
        } else {
            if a.len() != p.len() {
                return Err(Error::internal(format!("{what} operands differ in length")));
            }
            let nulls = NullBuffer::union(a.nulls(), p.nulls());
            let bits = BooleanBuffer::collect_bool(a.len(), |i| {
                nulls.as_ref().map_or(true, |n| n.is_valid(i)) && row(a.value(i), p.value(i))
            });
            BooleanArray::new(bits, nulls)
        }
    };
    let out: Arc<dyn Array> = Arc::new(out);
    Ok(if scalar {
        Value::Scalar(out)
    } else {
        Value::Array(out)
    })
}
