//! wray's guest SDK for Rust: the canonical ABI of the `wray:runtime` world
//! (wit/runtime.wit) and MessagePack values, in one crate with no
//! dependencies. `wray build --lang rust src/lib.rs` compiles it and the
//! guest for `wasm32-unknown-unknown` with rustc (Debian: `rustc` and
//! `libstd-rust-dev-wasm32`) and wraps the module as a component.
//!
//! ```ignore
//! use wray::{Actor, Args, Out, Result};
//!
//! fn add(a: &mut Args, out: &mut Out) -> Result<()> {
//!     let (x, y) = (a.f64()?, a.f64()?);
//!     out.f64(x + y);
//!     Ok(())
//! }
//!
//! struct Counter { value: f64 }
//! impl Actor for Counter {
//!     fn new(a: &mut Args) -> Result<Self> { Ok(Counter { value: if a.count > 0 { a.f64()? } else { 0.0 } }) }
//! }
//! impl Counter {
//!     fn incr(&mut self, a: &mut Args, out: &mut Out) -> Result<()> { self.value += 1.0; out.f64(self.value); Ok(()) }
//! }
//!
//! wray::guest! {
//!     tasks: { "add" => add },
//!     actors: { "Counter" => Counter { "incr" => incr } },
//! }
//! ```
//!
//! A task reads its arguments from `a` (`a.count` of them, in order) and
//! writes `a.num_returns` values to `out`; an `Err` fails the call with that
//! error, and a panic traps it (the message goes to the host's log).

use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut};

// ---- errors -------------------------------------------------------------------

/// A failed call: the caller's `get` throws an error of `name` with `message`.
#[derive(Clone, Debug)]
pub struct Error {
    pub name: String,
    pub message: String,
    // a failure map the host gave us (a failed dependency, a timeout), passed on unchanged
    raw: Option<Vec<u8>>,
}

impl Error {
    pub fn new(name: &str, message: impl Into<String>) -> Error {
        Error { name: name.to_string(), message: message.into(), raw: None }
    }

    pub fn type_error(message: impl Into<String>) -> Error {
        Error::new("TypeError", message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

// ---- MessagePack --------------------------------------------------------------

/// Extension types wray gives meaning to (docs/protocol.md).
pub const EXT_OBJECT_REF: i8 = 1;
pub const EXT_ACTOR_HANDLE: i8 = 2;
pub const EXT_TYPED_ARRAY: i8 = 3;
/// A JavaScript Map: the payload is one map, keys of any type.
pub const EXT_MAP: i8 = 4;
/// A JavaScript Set: the payload is one array.
pub const EXT_SET: i8 = 5;
/// Kind byte of extension 3 for an ArrayBuffer (untyped bytes); 11 is a DataView.
pub const BINARY_ARRAY_BUFFER: u8 = 0;
const TYPED_F64: u8 = 8;

/// What the next value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nil,
    Bool,
    Int,
    Float,
    Str,
    Bin,
    Array,
    Map,
    Ext,
    End,
    Invalid,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Nil => "nil",
            Kind::Bool => "a boolean",
            Kind::Int => "an integer",
            Kind::Float => "a float",
            Kind::Str => "a string",
            Kind::Bin => "bytes",
            Kind::Array => "an array",
            Kind::Map => "a map",
            Kind::Ext => "an extension value",
            Kind::End => "the end of the input",
            Kind::Invalid => "an invalid byte",
        }
    }
}

/// An object in the object store: the result of a task or a `put`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectRef(pub [u8; 20]);

/// An actor, to call methods on with `call_actor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActorHandle(pub [u8; 16]);

/// An ID of N bytes from the host (zeros if it sent another length, which it does not).
fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}

/// Reads MessagePack values in order, borrowing strings and bytes from the input.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next value's kind, without consuming it.
    pub fn kind(&self) -> Kind {
        let b = match self.buf.get(self.pos) {
            Some(b) => *b,
            None => return Kind::End,
        };
        match b {
            0x00..=0x7f | 0xe0..=0xff => Kind::Int,
            0x80..=0x8f => Kind::Map,
            0x90..=0x9f => Kind::Array,
            0xa0..=0xbf => Kind::Str,
            0xc0 => Kind::Nil,
            0xc2 | 0xc3 => Kind::Bool,
            0xc4..=0xc6 => Kind::Bin,
            0xc7..=0xc9 | 0xd4..=0xd8 => Kind::Ext,
            0xca | 0xcb => Kind::Float,
            0xcc..=0xd3 => Kind::Int,
            0xd9..=0xdb => Kind::Str,
            0xdc | 0xdd => Kind::Array,
            0xde | 0xdf => Kind::Map,
            _ => Kind::Invalid,
        }
    }

    fn expected(&self, what: &str) -> Error {
        Error::type_error(format!("expected {}, found {} at byte {}", what, self.kind().describe(), self.pos))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(self.expected(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize, what: &str) -> Result<u64> {
        let s = self.take(n, what)?;
        Ok(s.iter().fold(0u64, |v, b| (v << 8) | *b as u64))
    }

    pub fn nil(&mut self) -> Result<()> {
        if self.kind() != Kind::Nil {
            return Err(self.expected("nil"));
        }
        self.pos += 1;
        Ok(())
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.buf.get(self.pos) {
            Some(0xc2) => { self.pos += 1; Ok(false) }
            Some(0xc3) => { self.pos += 1; Ok(true) }
            _ => Err(self.expected("a boolean")),
        }
    }

    /// An integer (a float with an integral value is accepted too, as JavaScript sends 2.0 as 2).
    pub fn i64(&mut self) -> Result<i64> {
        let start = self.pos;
        let b = match self.buf.get(self.pos) {
            Some(b) => *b,
            None => return Err(self.expected("an integer")),
        };
        let v = match b {
            0x00..=0x7f => { self.pos += 1; b as i64 }
            0xe0..=0xff => { self.pos += 1; b as i8 as i64 }
            0xcc => { self.pos += 1; self.be(1, "an integer")? as i64 }
            0xcd => { self.pos += 1; self.be(2, "an integer")? as i64 }
            0xce => { self.pos += 1; self.be(4, "an integer")? as i64 }
            0xcf => { self.pos += 1; self.be(8, "an integer")? as i64 }
            0xd0 => { self.pos += 1; self.be(1, "an integer")? as u8 as i8 as i64 }
            0xd1 => { self.pos += 1; self.be(2, "an integer")? as u16 as i16 as i64 }
            0xd2 => { self.pos += 1; self.be(4, "an integer")? as u32 as i32 as i64 }
            0xd3 => { self.pos += 1; self.be(8, "an integer")? as i64 }
            0xca | 0xcb => {
                let f = self.f64()?;
                if f.trunc() != f {
                    self.pos = start;
                    return Err(self.expected("an integer"));
                }
                f as i64
            }
            _ => return Err(self.expected("an integer")),
        };
        Ok(v)
    }

    /// Any number, integer or float.
    pub fn f64(&mut self) -> Result<f64> {
        match self.buf.get(self.pos) {
            Some(0xcb) => {
                self.pos += 1;
                Ok(f64::from_bits(self.be(8, "a number")?))
            }
            Some(0xca) => {
                self.pos += 1;
                Ok(f32::from_bits(self.be(4, "a number")? as u32) as f64)
            }
            Some(0xcf) => {
                self.pos += 1;
                Ok(self.be(8, "a number")? as f64)
            }
            _ if self.kind() == Kind::Int => Ok(self.i64()? as f64),
            _ => Err(self.expected("a number")),
        }
    }

    fn len(&mut self, fix: Option<(u8, u8, u8)>, ops: [u8; 3], what: &str) -> Result<usize> {
        let b = match self.buf.get(self.pos) {
            Some(b) => *b,
            None => return Err(self.expected(what)),
        };
        if let Some((lo, hi, mask)) = fix {
            if b >= lo && b <= hi {
                self.pos += 1;
                return Ok((b & mask) as usize);
            }
        }
        let n = if ops[0] != 0 && b == ops[0] { 1 } else if b == ops[1] { 2 } else if b == ops[2] { 4 } else { return Err(self.expected(what)) };
        let start = self.pos;
        self.pos += 1;
        match self.be(n, what) {
            Ok(v) => Ok(v as usize),
            Err(e) => {
                self.pos = start;
                Err(e)
            }
        }
    }

    /// The header of an array: how many values follow.
    pub fn array(&mut self) -> Result<u32> {
        Ok(self.len(Some((0x90, 0x9f, 0x0f)), [0, 0xdc, 0xdd], "an array")? as u32)
    }

    /// The header of a map: how many key/value pairs follow.
    pub fn map(&mut self) -> Result<u32> {
        Ok(self.len(Some((0x80, 0x8f, 0x0f)), [0, 0xde, 0xdf], "a map")? as u32)
    }

    /// A string, borrowed from the input.
    pub fn str(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let n = self.len(Some((0xa0, 0xbf, 0x1f)), [0xd9, 0xda, 0xdb], "a string")?;
        let bytes = match self.take(n, "a string") {
            Ok(b) => b,
            Err(e) => {
                self.pos = start;
                return Err(e);
            }
        };
        std::str::from_utf8(bytes).map_err(|_| {
            self.pos = start;
            Error::type_error(format!("the string at byte {} is not UTF-8", start))
        })
    }

    /// Bytes (MessagePack bin), borrowed from the input.
    pub fn bin(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        let n = self.len(None, [0xc4, 0xc5, 0xc6], "bytes")?;
        self.take(n, "bytes").map_err(|e| {
            self.pos = start;
            e
        })
    }

    /// An extension value: its type and payload.
    pub fn ext(&mut self) -> Result<(i8, &'a [u8])> {
        let start = self.pos;
        let b = match self.buf.get(self.pos) {
            Some(b) => *b,
            None => return Err(self.expected("an extension value")),
        };
        let r = (|| {
            let n = match b {
                0xd4 => { self.pos += 1; 1 }
                0xd5 => { self.pos += 1; 2 }
                0xd6 => { self.pos += 1; 4 }
                0xd7 => { self.pos += 1; 8 }
                0xd8 => { self.pos += 1; 16 }
                0xc7 => { self.pos += 1; self.be(1, "an extension value")? as usize }
                0xc8 => { self.pos += 1; self.be(2, "an extension value")? as usize }
                0xc9 => { self.pos += 1; self.be(4, "an extension value")? as usize }
                _ => return Err(self.expected("an extension value")),
            };
            let t = self.take(1, "an extension value")?[0] as i8;
            Ok((t, self.take(n, "an extension value")?))
        })();
        if r.is_err() {
            self.pos = start;
        }
        r
    }

    // an ID carried as extension `t` (an ObjectRef or an ActorHandle)
    fn ext_id<const N: usize>(&mut self, t: i8, what: &str) -> Result<[u8; N]> {
        let start = self.pos;
        match self.ext() {
            Ok((ty, d)) if ty == t && d.len() == N => Ok(fixed(d)),
            _ => {
                self.pos = start;
                Err(self.expected(what))
            }
        }
    }

    /// An ObjectRef (extension 1): refs nested inside values stay refs.
    pub fn object_ref(&mut self) -> Result<ObjectRef> {
        self.ext_id(EXT_OBJECT_REF, "an ObjectRef").map(ObjectRef)
    }

    /// An ActorHandle (extension 2).
    pub fn actor(&mut self) -> Result<ActorHandle> {
        self.ext_id(EXT_ACTOR_HANDLE, "an ActorHandle").map(ActorHandle)
    }

    // the payload of extension `t`, which holds one map (or array): a reader over its entries
    fn ext_container(&mut self, t: i8, map: bool, what: &str) -> Result<(u32, Reader<'a>)> {
        let start = self.pos;
        let r = match self.ext() {
            Ok((ty, d)) if ty == t => {
                let mut inner = Reader::new(d);
                match if map { inner.map() } else { inner.array() } {
                    Ok(n) => Ok((n, inner)),
                    Err(_) => Err(self.expected(what)),
                }
            }
            _ => Err(self.expected(what)),
        };
        if r.is_err() {
            self.pos = start;
        }
        r
    }

    /// A Map (extension 4): its entry count, and a reader over key, value, key, value, ...
    pub fn map_ext(&mut self) -> Result<(u32, Reader<'a>)> {
        self.ext_container(EXT_MAP, true, "a Map")
    }

    /// A Set (extension 5): its element count, and a reader over them.
    pub fn set_ext(&mut self) -> Result<(u32, Reader<'a>)> {
        self.ext_container(EXT_SET, false, "a Set")
    }

    /// An ArrayBuffer (extension 3, kind 0): its bytes.
    pub fn array_buffer(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        match self.ext() {
            Ok((EXT_TYPED_ARRAY, d)) if !d.is_empty() && d[0] == BINARY_ARRAY_BUFFER => Ok(&d[1..]),
            _ => {
                self.pos = start;
                Err(self.expected("an ArrayBuffer"))
            }
        }
    }

    /// A Float64Array (extension 3), or an array of numbers.
    pub fn f64s(&mut self) -> Result<Vec<f64>> {
        if self.kind() == Kind::Array {
            let n = self.array()?;
            return (0..n).map(|_| self.f64()).collect();
        }
        let start = self.pos;
        match self.ext() {
            Ok((EXT_TYPED_ARRAY, d)) if !d.is_empty() && d[0] == TYPED_F64 && (d.len() - 1) % 8 == 0 => {
                Ok(d[1..].chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect())
            }
            _ => {
                self.pos = start;
                Err(self.expected("a Float64Array"))
            }
        }
    }

    /// Skips one value, nested ones included.
    pub fn skip(&mut self) -> Result<()> {
        match self.kind() {
            Kind::Nil => self.nil(),
            Kind::Bool => self.bool().map(|_| ()),
            Kind::Int | Kind::Float => self.f64().map(|_| ()),
            Kind::Str => {
                let n = self.len(Some((0xa0, 0xbf, 0x1f)), [0xd9, 0xda, 0xdb], "a string")?;
                self.take(n, "a string").map(|_| ())
            }
            Kind::Bin => self.bin().map(|_| ()),
            Kind::Ext => self.ext().map(|_| ()),
            Kind::Array => {
                for _ in 0..self.array()? {
                    self.skip()?;
                }
                Ok(())
            }
            Kind::Map => {
                for _ in 0..2 * self.map()? as u64 {
                    self.skip()?;
                }
                Ok(())
            }
            _ => Err(self.expected("a value")),
        }
    }

    /// The next value's encoding, borrowed (to pass on unchanged).
    pub fn raw(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        self.skip()?;
        Ok(&self.buf[start..self.pos])
    }
}

/// Appends MessagePack values; every method returns the writer, to chain.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer { buf: Vec::new() }
    }

    fn head(&mut self, op: u8, v: u64, n: usize) {
        self.buf.push(op);
        self.buf.extend_from_slice(&v.to_be_bytes()[8 - n..]);
    }

    pub fn nil(&mut self) -> &mut Writer {
        self.buf.push(0xc0);
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Writer {
        self.buf.push(if v { 0xc3 } else { 0xc2 });
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Writer {
        if (0..=0x7f).contains(&v) || (-32..0).contains(&v) {
            self.buf.push(v as u8);
        } else if v >= 0 {
            if v <= 0xff { self.head(0xcc, v as u64, 1) } else if v <= 0xffff { self.head(0xcd, v as u64, 2) } else if v <= 0xffff_ffff { self.head(0xce, v as u64, 4) } else { self.head(0xcf, v as u64, 8) }
        } else if v >= -128 {
            self.head(0xd0, v as u8 as u64, 1)
        } else if v >= -32768 {
            self.head(0xd1, v as u16 as u64, 2)
        } else if v >= -2147483648 {
            self.head(0xd2, v as u32 as u64, 4)
        } else {
            self.head(0xd3, v as u64, 8)
        }
        self
    }

    /// A number; integral values go as integers, as JavaScript's MessagePack does.
    pub fn f64(&mut self, v: f64) -> &mut Writer {
        if v.trunc() == v && v.abs() <= 9007199254740991.0 && !(v == 0.0 && v.is_sign_negative()) {
            return self.i64(v as i64);
        }
        self.head(0xcb, v.to_bits(), 8);
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Writer {
        let n = s.len();
        if n < 32 { self.buf.push(0xa0 | n as u8) } else if n <= 0xff { self.head(0xd9, n as u64, 1) } else if n <= 0xffff { self.head(0xda, n as u64, 2) } else { self.head(0xdb, n as u64, 4) }
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    pub fn bin(&mut self, b: &[u8]) -> &mut Writer {
        let n = b.len();
        if n <= 0xff { self.head(0xc4, n as u64, 1) } else if n <= 0xffff { self.head(0xc5, n as u64, 2) } else { self.head(0xc6, n as u64, 4) }
        self.buf.extend_from_slice(b);
        self
    }

    pub fn array(&mut self, n: u32) -> &mut Writer {
        if n < 16 { self.buf.push(0x90 | n as u8) } else if n <= 0xffff { self.head(0xdc, n as u64, 2) } else { self.head(0xdd, n as u64, 4) }
        self
    }

    pub fn map(&mut self, n: u32) -> &mut Writer {
        if n < 16 { self.buf.push(0x80 | n as u8) } else if n <= 0xffff { self.head(0xde, n as u64, 2) } else { self.head(0xdf, n as u64, 4) }
        self
    }

    fn ext_head(&mut self, t: i8, n: usize) {
        match n {
            1 => self.buf.push(0xd4),
            2 => self.buf.push(0xd5),
            4 => self.buf.push(0xd6),
            8 => self.buf.push(0xd7),
            16 => self.buf.push(0xd8),
            _ if n <= 0xff => self.head(0xc7, n as u64, 1),
            _ if n <= 0xffff => self.head(0xc8, n as u64, 2),
            _ => self.head(0xc9, n as u64, 4),
        }
        self.buf.push(t as u8);
    }

    pub fn ext(&mut self, t: i8, data: &[u8]) -> &mut Writer {
        self.ext_head(t, data.len());
        self.buf.extend_from_slice(data);
        self
    }

    /// An ObjectRef; at the top level of task arguments the callee receives its value.
    pub fn object_ref(&mut self, r: &ObjectRef) -> &mut Writer {
        // always ext 8 (c7 14 01), as docs/protocol.md fixes it
        self.buf.extend_from_slice(&[0xc7, 20, EXT_OBJECT_REF as u8]);
        self.buf.extend_from_slice(&r.0);
        self
    }

    pub fn actor(&mut self, h: &ActorHandle) -> &mut Writer {
        self.ext(EXT_ACTOR_HANDLE, &h.0)
    }

    /// A Float64Array (the caller receives a Float64Array).
    pub fn f64s(&mut self, xs: &[f64]) -> &mut Writer {
        self.ext_head(EXT_TYPED_ARRAY, 1 + 8 * xs.len());
        self.buf.push(TYPED_F64);
        for x in xs {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
        self
    }

    /// A Map (extension 4) of `n` entries, which `entries` writes as key, value, key, value, ...
    pub fn map_ext(&mut self, n: u32, entries: impl FnOnce(&mut Writer)) -> &mut Writer {
        self.container_ext(EXT_MAP, |w| {
            w.map(n);
            entries(w);
        })
    }

    /// A Set (extension 5) of `n` elements, which `elements` writes.
    pub fn set_ext(&mut self, n: u32, elements: impl FnOnce(&mut Writer)) -> &mut Writer {
        self.container_ext(EXT_SET, |w| {
            w.array(n);
            elements(w);
        })
    }

    /// An ArrayBuffer (extension 3, kind 0).
    pub fn array_buffer(&mut self, b: &[u8]) -> &mut Writer {
        self.ext_head(EXT_TYPED_ARRAY, 1 + b.len());
        self.buf.push(BINARY_ARRAY_BUFFER);
        self.buf.extend_from_slice(b);
        self
    }

    // an ext 32 whose payload `body` writes; its length is filled in after
    fn container_ext(&mut self, t: i8, body: impl FnOnce(&mut Writer)) -> &mut Writer {
        self.buf.extend_from_slice(&[0xc9, 0, 0, 0, 0, t as u8]);
        let at = self.buf.len();
        body(self);
        let n = (self.buf.len() - at) as u32;
        self.buf[at - 5..at - 1].copy_from_slice(&n.to_be_bytes());
        self
    }

    /// Already-encoded MessagePack (e.g. from Reader::raw).
    pub fn raw(&mut self, b: &[u8]) -> &mut Writer {
        self.buf.extend_from_slice(b);
        self
    }
}

// ---- tasks and actors ----------------------------------------------------------

/// A task's (or method's) arguments: a Reader positioned at the first of `count` values.
pub struct Args<'a> {
    r: Reader<'a>,
    /// How many arguments were passed.
    pub count: u32,
    /// How many values the caller expects in `out` (1 unless it asked for `numReturns`).
    pub num_returns: u32,
}

impl<'a> Deref for Args<'a> {
    type Target = Reader<'a>;
    fn deref(&self) -> &Reader<'a> {
        &self.r
    }
}

impl<'a> DerefMut for Args<'a> {
    fn deref_mut(&mut self) -> &mut Reader<'a> {
        &mut self.r
    }
}

/// Where a task writes its `num_returns` results.
pub type Out = Writer;

/// An actor class: `new` runs once per actor, in the actor's own instance.
pub trait Actor: Sized + 'static {
    fn new(args: &mut Args) -> Result<Self>;
}

// ---- host calls ---------------------------------------------------------------

#[link(wasm_import_module = "wray:runtime/host@0.1.0")]
extern "C" {
    #[link_name = "log"]
    fn host_log(level: i32, p: *const u8, n: usize);
    #[link_name = "submit"]
    fn host_submit(fp: *const u8, fl: usize, ap: *const u8, al: usize, op: *const u8, ol: usize, ret: *mut RawList);
    #[link_name = "get"]
    fn host_get(ids: *const RawList, n: usize, timeout_ms: i64, ret: *mut RawList);
    #[link_name = "wait"]
    fn host_wait(ids: *const RawList, n: usize, num_returns: u32, timeout_ms: i64, ret: *mut RawList);
    #[link_name = "put"]
    fn host_put(vp: *const u8, vl: usize, ret: *mut RawList);
    #[link_name = "create-actor"]
    fn host_create_actor(cp: *const u8, cl: usize, ap: *const u8, al: usize, op: *const u8, ol: usize, ret: *mut RawList);
    #[link_name = "call-actor"]
    fn host_call_actor(hp: *const u8, hl: usize, mp: *const u8, ml: usize, ap: *const u8, al: usize, op: *const u8, ol: usize, ret: *mut RawList);
    #[link_name = "get-actor"]
    fn host_get_actor(np: *const u8, nl: usize, ret: *mut RawList);
    #[link_name = "now"]
    fn host_now() -> f64;
    #[link_name = "random-seed"]
    fn host_random_seed() -> i64;
    #[link_name = "cancelled"]
    fn host_cancelled() -> i32;
}

/// A list in the canonical ABI: (pointer, length).
#[repr(C)]
struct RawList {
    ptr: *mut u8,
    len: usize,
}

impl RawList {
    fn empty() -> RawList {
        RawList { ptr: std::ptr::null_mut(), len: 0 }
    }

    /// Takes a list<u8> the host allocated through cabi_realloc.
    unsafe fn into_bytes(self) -> Vec<u8> {
        if self.len == 0 {
            return Vec::new();
        }
        Vec::from_raw_parts(self.ptr, self.len, self.len)
    }

    /// Takes a list<list<u8>> (of object IDs).
    unsafe fn into_refs(self) -> Vec<ObjectRef> {
        let mut out = Vec::with_capacity(self.len);
        for i in 0..self.len {
            let item = std::ptr::read((self.ptr as *const RawList).add(i));
            out.push(ObjectRef(fixed(&item.into_bytes())));
        }
        free(self.ptr, self.len * 8, 4);
        out
    }
}

fn lower_ids(refs: &[ObjectRef]) -> Vec<RawList> {
    refs.iter().map(|r| RawList { ptr: r.0.as_ptr() as *mut u8, len: 20 }).collect()
}

#[derive(Clone, Copy, Debug)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Writes a line to the host's log, tagged with the running task.
pub fn log(level: Level, message: &str) {
    unsafe { host_log(level as i32, message.as_ptr(), message.len()) }
}

/// Submits the task `function` of this component with `args` (a Writer
/// holding a MessagePack array) and returns the refs of its results.
/// `options` is a MessagePack map (`numReturns`, `numCpus`, ...) or None.
pub fn submit(function: &str, args: &Writer, options: Option<&Writer>) -> Vec<ObjectRef> {
    let o = options.map(|w| &w.buf[..]).unwrap_or(&[]);
    let mut ret = RawList::empty();
    unsafe {
        host_submit(function.as_ptr(), function.len(), args.buf.as_ptr(), args.buf.len(), o.as_ptr(), o.len(), &mut ret);
        ret.into_refs()
    }
}

/// The values `get` returned, in the order of the refs asked for.
pub struct Values {
    bytes: Vec<u8>,
}

impl Values {
    /// A reader positioned at the first value.
    pub fn reader(&self) -> Reader<'_> {
        let mut r = Reader::new(&self.bytes);
        let _ = r.array();
        r
    }
}

/// Blocks until every object is ready (or `timeout_ms` passes; negative: no
/// limit) and returns their values, or the failure of one of them (return it
/// from the task to fail the task the same way). While it waits, this task's
/// CPU goes back to the scheduler.
pub fn get(refs: &[ObjectRef], timeout_ms: i64) -> Result<Values> {
    let ids = lower_ids(refs);
    let mut ret = RawList::empty();
    let bytes = unsafe {
        host_get(ids.as_ptr(), ids.len(), timeout_ms, &mut ret);
        ret.into_bytes()
    };
    if Reader::new(&bytes).kind() == Kind::Map {
        let mut e = Error::new("TaskError", failure_message(&bytes));
        e.raw = Some(bytes);
        return Err(e);
    }
    Ok(Values { bytes })
}

fn failure_message(map: &[u8]) -> String {
    let mut r = Reader::new(map);
    let n = r.map().unwrap_or(0);
    for _ in 0..n {
        let key = r.str().ok();
        if key == Some("message") {
            if let Ok(m) = r.str() {
                return m.to_string();
            }
        }
        if r.skip().is_err() {
            break;
        }
    }
    "failed".to_string()
}

/// Blocks until `num_returns` of the objects are ready; the indices of the ready ones, in order.
pub fn wait(refs: &[ObjectRef], num_returns: u32, timeout_ms: i64) -> Vec<u32> {
    let ids = lower_ids(refs);
    let mut ret = RawList::empty();
    unsafe {
        host_wait(ids.as_ptr(), ids.len(), num_returns, timeout_ms, &mut ret);
        let out = (0..ret.len).map(|i| std::ptr::read((ret.ptr as *const u32).add(i))).collect();
        free(ret.ptr, ret.len * 4, 4);
        out
    }
}

/// Stores a value (a Writer holding one MessagePack value).
pub fn put(value: &Writer) -> ObjectRef {
    let mut ret = RawList::empty();
    let bytes = unsafe {
        host_put(value.buf.as_ptr(), value.buf.len(), &mut ret);
        ret.into_bytes()
    };
    ObjectRef(fixed(&bytes))
}

/// Creates an actor of `class` (a class this component declares); `options`
/// may set `name`, `maxConcurrency`, `numCpus`, ...
pub fn create_actor(class: &str, args: &Writer, options: Option<&Writer>) -> ActorHandle {
    let o = options.map(|w| &w.buf[..]).unwrap_or(&[]);
    let mut ret = RawList::empty();
    let bytes = unsafe {
        host_create_actor(class.as_ptr(), class.len(), args.buf.as_ptr(), args.buf.len(), o.as_ptr(), o.len(), &mut ret);
        ret.into_bytes()
    };
    ActorHandle(fixed(&bytes))
}

/// Calls `method` on an actor; calls from one caller run in the order they are made.
pub fn call_actor(actor: &ActorHandle, method: &str, args: &Writer, options: Option<&Writer>) -> Vec<ObjectRef> {
    let o = options.map(|w| &w.buf[..]).unwrap_or(&[]);
    let mut ret = RawList::empty();
    unsafe {
        host_call_actor(actor.0.as_ptr(), 16, method.as_ptr(), method.len(), args.buf.as_ptr(), args.buf.len(), o.as_ptr(), o.len(), &mut ret);
        ret.into_refs()
    }
}

/// The actor registered under `name`, if any.
pub fn get_actor(name: &str) -> Option<ActorHandle> {
    let mut ret = RawList::empty();
    let bytes = unsafe {
        host_get_actor(name.as_ptr(), name.len(), &mut ret);
        ret.into_bytes()
    };
    // an empty reply: no actor of that name
    if bytes.len() != 16 {
        return None;
    }
    Some(ActorHandle(fixed(&bytes)))
}

/// Wall-clock milliseconds since the Unix epoch, with fractions.
pub fn now() -> f64 {
    unsafe { host_now() }
}

/// 64 bits from the host's random source.
pub fn random_seed() -> u64 {
    unsafe { host_random_seed() as u64 }
}

/// True once the running task was cancelled: a long loop polls it and returns early.
pub fn cancelled() -> bool {
    unsafe { host_cancelled() != 0 }
}

unsafe fn free(p: *mut u8, size: usize, align: usize) {
    if size > 0 {
        std::alloc::dealloc(p, std::alloc::Layout::from_size_align_unchecked(size, align));
    }
}

// ---- the guest interface (used by `guest!`) --------------------------------------

#[doc(hidden)]
pub mod __rt {
    use super::*;
    use std::cell::RefCell;

    pub type TaskFn = fn(&mut Args, &mut Out) -> Result<()>;

    pub struct Task {
        pub name: &'static str,
        pub f: TaskFn,
    }

    pub struct Method {
        pub name: &'static str,
        pub f: fn(&mut dyn Any, &mut Args, &mut Out) -> Result<()>,
    }

    pub struct Class {
        pub name: &'static str,
        pub construct: fn(&mut Args) -> Result<Box<dyn Any>>,
        pub methods: &'static [Method],
    }

    pub fn boxed<T: Any>(r: Result<T>) -> Result<Box<dyn Any>> {
        r.map(|v| Box::new(v) as Box<dyn Any>)
    }

    /// Where a reply's (pointer, length) goes for the host to read.
    #[repr(C)]
    pub struct Ret {
        ptr: *const u8,
        len: usize,
    }

    struct State {
        // the instance's actor and its class, once constructed
        actor: Option<(Box<dyn Any>, &'static Class)>,
        // a method is running (a nested call would alias its &mut self)
        in_method: bool,
        // replies the host has not read yet: calls nest while a task waits, and post-return follows each at once
        live: Vec<Vec<u8>>,
        // reply buffers to reuse, so a call allocates nothing of its own
        spare: Vec<Vec<u8>>,
        hooked: bool,
    }

    // a reused reply buffer is kept unless a large reply grew it
    const KEEP_BYTES: usize = 64 << 10;

    thread_local! {
        static STATE: RefCell<State> = RefCell::new(State { actor: None, in_method: false, live: Vec::new(), spare: Vec::new(), hooked: false });
    }

    fn take_buffer() -> Vec<u8> {
        STATE.with(|s| s.borrow_mut().spare.pop()).unwrap_or_else(|| Vec::with_capacity(64))
    }
    static mut RET: Ret = Ret { ptr: std::ptr::null(), len: 0 };

    pub unsafe fn realloc(old: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
        use std::alloc::{alloc, realloc, Layout};
        if new_size == 0 {
            return align as *mut u8; // an empty list: no block, nothing to free later
        }
        let p = if old.is_null() || old_size == 0 {
            alloc(Layout::from_size_align_unchecked(new_size, align))
        } else {
            realloc(old, Layout::from_size_align_unchecked(old_size, align), new_size)
        };
        if p.is_null() {
            std::process::abort();
        }
        p
    }

    fn hook() {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if !s.hooked {
                s.hooked = true;
                // a panic traps the call (panic=abort); say why first
                std::panic::set_hook(Box::new(|info| log(Level::Error, &format!("panic: {}", info))));
            }
        });
    }

    fn failure(e: &Error) -> Vec<u8> {
        if let Some(raw) = &e.raw {
            return raw.clone();
        }
        let mut w = Writer::new();
        w.map(3).str("name").str(&e.name).str("message").str(&e.message).str("stack").str("");
        w.buf
    }

    fn unknown(kind: &str, name: &str) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(4).str("code").str("WRAY_UNKNOWN_FUNCTION").str("name").str("WrayError");
        w.str("message").str(&format!("{} '{}' is not exported by this component", kind, name)).str("stack").str("");
        w.buf
    }

    unsafe fn reply(bytes: Vec<u8>) -> *mut Ret {
        RET = Ret { ptr: bytes.as_ptr(), len: bytes.len() };
        STATE.with(|s| s.borrow_mut().live.push(bytes));
        std::ptr::addr_of_mut!(RET)
    }

    pub unsafe fn post() {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(mut b) = s.live.pop() {
                if b.capacity() <= KEEP_BYTES {
                    b.clear();
                    s.spare.push(b);
                }
            }
        });
    }

    // takes the lowered name and args (freed when done) and runs `f` over them
    unsafe fn dispatch(name_ptr: *mut u8, name_len: usize, args_ptr: *mut u8, args_len: usize, num_returns: u32, f: impl FnOnce(&str, &mut Args, &mut Out) -> Option<Result<()>>) -> *mut Ret {
        hook();
        let name_bytes = if name_len == 0 { Vec::new() } else { Vec::from_raw_parts(name_ptr, name_len, name_len) };
        let args_bytes = if args_len == 0 { Vec::new() } else { Vec::from_raw_parts(args_ptr, args_len, args_len) };
        let name = String::from_utf8_lossy(&name_bytes);
        let mut r = Reader::new(&args_bytes);
        let bytes = match r.array() {
            Err(_) => failure(&Error::type_error("the arguments are not a MessagePack array")),
            Ok(count) => {
                let mut args = Args { r, count, num_returns };
                let mut out = Writer { buf: take_buffer() };
                out.array(num_returns);
                let head = out.buf.len();
                match f(&name, &mut args, &mut out) {
                    None => out.buf, // already a full reply (an unknown name)
                    Some(Err(e)) => failure(&e),
                    Some(Ok(())) if num_returns == 0 => {
                        out.buf.clear(); // a constructor returns nothing, whatever it wrote
                        out.buf.push(0x90);
                        out.buf
                    }
                    Some(Ok(())) if out.buf.len() == head => failure(&Error::type_error(format!("'{}' returned without writing its result", name))),
                    Some(Ok(())) => out.buf,
                }
            }
        };
        reply(bytes)
    }

    pub unsafe fn invoke(tasks: &'static [Task], np: *mut u8, nl: usize, ap: *mut u8, al: usize, num_returns: u32) -> *mut Ret {
        dispatch(np, nl, ap, al, num_returns, |name, args, out| match tasks.iter().find(|t| t.name == name) {
            Some(t) => Some((t.f)(args, out)),
            None => {
                out.buf = unknown("task", name);
                None
            }
        })
    }

    pub unsafe fn construct(classes: &'static [Class], np: *mut u8, nl: usize, ap: *mut u8, al: usize) -> *mut Ret {
        dispatch(np, nl, ap, al, 0, |name, args, out| match classes.iter().find(|c| c.name == name) {
            Some(c) => Some((c.construct)(args).map(|a| STATE.with(|s| s.borrow_mut().actor = Some((a, c))))),
            None => {
                out.buf = unknown("actor class", name);
                None
            }
        })
    }

    pub unsafe fn call(np: *mut u8, nl: usize, ap: *mut u8, al: usize, num_returns: u32) -> *mut Ret {
        dispatch(np, nl, ap, al, num_returns, |name, args, out| {
            // the actor leaves STATE while its method runs, so host calls made by the method can borrow STATE
            let taken = STATE.with(|s| {
                let mut s = s.borrow_mut();
                if s.in_method {
                    return Err(true);
                }
                match s.actor.take() {
                    Some(a) => {
                        s.in_method = true;
                        Ok(a)
                    }
                    None => Err(false),
                }
            });
            let (mut actor, class) = match taken {
                Ok(a) => a,
                Err(true) => return Some(Err(Error::new("WrayError", "Rust actors take one call at a time (create them with maxConcurrency 1)"))),
                Err(false) => {
                    out.buf = unknown("method", name);
                    return None;
                }
            };
            let r = match class.methods.iter().find(|m| m.name == name) {
                Some(m) => Some((m.f)(actor.as_mut(), args, out)),
                None => {
                    out.buf = unknown("method", name);
                    None
                }
            };
            STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.actor = Some((actor, class));
                s.in_method = false;
            });
            r
        })
    }

    pub unsafe fn describe(tasks: &'static [Task], classes: &'static [Class]) -> *mut Ret {
        let mut w = Writer { buf: take_buffer() };
        w.map(2).str("tasks").array(tasks.len() as u32);
        for t in tasks {
            w.str(t.name);
        }
        w.str("actors").map(classes.len() as u32);
        for c in classes {
            w.str(c.name).array(c.methods.len() as u32);
            for m in c.methods {
                w.str(m.name);
            }
        }
        reply(w.buf)
    }
}

/// Declares the component's tasks and actor classes and exports the
/// `wray:runtime/guest` interface for them:
///
/// ```ignore
/// wray::guest! {
///     tasks: { "add" => add, "echo" => echo },
///     actors: { "Counter" => Counter { "incr" => incr, "get" => get } },
/// }
/// ```
///
/// Tasks are `fn(&mut Args, &mut Out) -> Result<()>`; an actor class is a
/// type implementing `Actor`, its methods `fn(&mut self, &mut Args, &mut Out) -> Result<()>`.
#[macro_export]
macro_rules! guest {
    (
        tasks: { $($tname:literal => $tfn:path),* $(,)? }
        $(, actors: { $($cname:literal => $cty:ty { $($mname:literal => $mfn:ident),* $(,)? }),* $(,)? })?
        $(,)?
    ) => {
        static __WRAY_TASKS: &[$crate::__rt::Task] = &[$($crate::__rt::Task { name: $tname, f: $tfn }),*];
        static __WRAY_CLASSES: &[$crate::__rt::Class] = &[$($($crate::__rt::Class {
            name: $cname,
            construct: |a| $crate::__rt::boxed(<$cty as $crate::Actor>::new(a)),
            methods: &[$($crate::__rt::Method {
                name: $mname,
                f: |s, a, o| <$cty>::$mfn(s.downcast_mut::<$cty>().expect("actor of another class"), a, o),
            }),*],
        }),*)?];

        #[export_name = "cabi_realloc"]
        pub unsafe extern "C" fn __wray_cabi_realloc(old: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
            $crate::__rt::realloc(old, old_size, align, new_size)
        }
        #[export_name = "wray:runtime/guest@0.1.0#invoke"]
        pub unsafe extern "C" fn __wray_invoke(np: *mut u8, nl: usize, ap: *mut u8, al: usize, nr: u32) -> *mut $crate::__rt::Ret {
            $crate::__rt::invoke(__WRAY_TASKS, np, nl, ap, al, nr)
        }
        #[export_name = "wray:runtime/guest@0.1.0#construct"]
        pub unsafe extern "C" fn __wray_construct(np: *mut u8, nl: usize, ap: *mut u8, al: usize) -> *mut $crate::__rt::Ret {
            $crate::__rt::construct(__WRAY_CLASSES, np, nl, ap, al)
        }
        #[export_name = "wray:runtime/guest@0.1.0#call"]
        pub unsafe extern "C" fn __wray_call(np: *mut u8, nl: usize, ap: *mut u8, al: usize, nr: u32) -> *mut $crate::__rt::Ret {
            $crate::__rt::call(np, nl, ap, al, nr)
        }
        #[export_name = "wray:runtime/guest@0.1.0#describe"]
        pub unsafe extern "C" fn __wray_describe() -> *mut $crate::__rt::Ret {
            $crate::__rt::describe(__WRAY_TASKS, __WRAY_CLASSES)
        }
        #[export_name = "cabi_post_wray:runtime/guest@0.1.0#invoke"]
        pub unsafe extern "C" fn __wray_post_invoke(_: *mut u8) { $crate::__rt::post() }
        #[export_name = "cabi_post_wray:runtime/guest@0.1.0#construct"]
        pub unsafe extern "C" fn __wray_post_construct(_: *mut u8) { $crate::__rt::post() }
        #[export_name = "cabi_post_wray:runtime/guest@0.1.0#call"]
        pub unsafe extern "C" fn __wray_post_call(_: *mut u8) { $crate::__rt::post() }
        #[export_name = "cabi_post_wray:runtime/guest@0.1.0#describe"]
        pub unsafe extern "C" fn __wray_post_describe(_: *mut u8) { $crate::__rt::post() }
    };
}
