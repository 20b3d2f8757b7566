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
    tasks: { "echo" => echo, "add" => add, "fail" => fail, "trap" => trap, "square" => square, "sumSquares" => sum_squares },
    actors: { "Counter" => Counter { "incr" => incr, "get" => get } },
}
