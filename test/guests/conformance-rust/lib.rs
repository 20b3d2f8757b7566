//! The guest conformance behaviours (test/guests/README.md), in Rust.
use wray::{Actor, Args, Error, Out, Result, Writer};

/// echo(x) -> x, whatever x is
fn echo(a: &mut Args, out: &mut Out) -> Result<()> {
    if a.count != 1 {
        return Err(Error::type_error("echo(x) takes one value"));
    }
    out.raw(a.raw()?);
    Ok(())
}

/// add(a, b) -> a + b
fn add(a: &mut Args, out: &mut Out) -> Result<()> {
    let xy = (a.f64(), a.f64());
    match xy {
        (Ok(x), Ok(y)) if a.count == 2 => {
            out.f64(x + y);
            Ok(())
        }
        _ => Err(Error::type_error("add(a, b) takes two numbers")),
    }
}

/// fail(message): fails with an Error carrying the message
fn fail(a: &mut Args, _out: &mut Out) -> Result<()> {
    Err(Error::new("Error", a.str()?))
}

/// trap(): reaches unreachable
fn trap(_a: &mut Args, _out: &mut Out) -> Result<()> {
    std::process::abort()
}

fn square(a: &mut Args, out: &mut Out) -> Result<()> {
    let x = a.f64()?;
    out.f64(x * x);
    Ok(())
}

/// sumSquares(n): submits square(i) for i < n as nested tasks and sums their results
fn sum_squares(a: &mut Args, out: &mut Out) -> Result<()> {
    let n = a.i64()?;
    if !(0..=10_000).contains(&n) {
        return Err(Error::type_error("sumSquares(n) takes a count"));
    }
    let mut refs = Vec::new();
    for i in 0..n {
        let mut args = Writer::new();
        args.array(1).i64(i);
        refs.push(wray::submit("square", &args, None)[0]);
    }
    let values = wray::get(&refs, -1)?;
    let mut r = values.reader();
    let mut sum = 0.0;
    for _ in 0..n {
        sum += r.f64()?;
    }
    out.f64(sum);
    Ok(())
}

/// tally(map, set, buffer): [map.size, sum of its values, set.size, sum of it, buffer bytes, sum of them]
fn tally(a: &mut Args, out: &mut Out) -> Result<()> {
    if a.count != 3 {
        return Err(Error::type_error("tally(map, set, buffer) takes a Map, a Set and an ArrayBuffer"));
    }
    let (nm, mut m) = a.map_ext()?;
    let (ns, mut s) = a.set_ext()?;
    let b = a.array_buffer()?;
    let mut mv = 0.0;
    for _ in 0..nm {
        m.skip()?;
        mv += m.f64()?;
    }
    let mut sv = 0.0;
    for _ in 0..ns {
        sv += s.f64()?;
    }
    let bv: f64 = b.iter().map(|x| *x as f64).sum();
    out.array(6).i64(nm as i64).f64(mv).i64(ns as i64).f64(sv).i64(b.len() as i64).f64(bv);
    Ok(())
}

/// collections(n): [Map of "k<i>" -> i, Set of 0..n-1, ArrayBuffer of bytes i & 255], for i < n
fn collections(a: &mut Args, out: &mut Out) -> Result<()> {
    let n = a.i64()?;
    if !(0..=100_000).contains(&n) {
        return Err(Error::type_error("collections(n) takes a count"));
    }
    out.array(3);
    out.map_ext(n as u32, |w| {
        for i in 0..n {
            w.str(&format!("k{}", i)).i64(i);
        }
    });
    out.set_ext(n as u32, |w| {
        for i in 0..n {
            w.i64(i);
        }
    });
    let bytes: Vec<u8> = (0..n).map(|i| (i & 255) as u8).collect();
    out.array_buffer(&bytes);
    Ok(())
}

/// Counter actor: new Counter(start), incr(by) -> value, get() -> value
struct Counter {
    value: f64,
}

impl Actor for Counter {
    fn new(a: &mut Args) -> Result<Self> {
        Ok(Counter { value: if a.count > 0 { a.f64()? } else { 0.0 } })
    }
}

impl Counter {
    fn incr(&mut self, a: &mut Args, out: &mut Out) -> Result<()> {
        self.value += if a.count > 0 { a.f64()? } else { 1.0 };
        out.f64(self.value);
        Ok(())
    }

    fn get(&mut self, _a: &mut Args, out: &mut Out) -> Result<()> {
        out.f64(self.value);
        Ok(())
    }
}

wray::guest! {
    tasks: { "echo" => echo, "add" => add, "fail" => fail, "trap" => trap, "square" => square, "sumSquares" => sum_squares, "tally" => tally, "collections" => collections },
    actors: { "Counter" => Counter { "incr" => incr, "get" => get } },
}
