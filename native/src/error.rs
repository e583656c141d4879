//! Kernel failures as plain Rust values: a code from Quiver's `ErrorCode` list and the facts of the failure
//! as a small JSON object. The glue throws them with the code as the napi status (so it arrives in
//! JavaScript as `err.code`) and the JSON as the whole message; the text a user reads is built from the
//! code and those facts in TypeScript (`kernelError` in src/errors.ts), the same way for every backend.

#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Int(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct KernelError {
    pub code: &'static str,
    pub facts: Vec<(&'static str, Fact)>,
}

impl KernelError {
    fn new(code: &'static str, facts: Vec<(&'static str, Fact)>) -> Self {
        KernelError { code, facts }
    }

    /// An array shorter than the shape needs.
    pub fn shape(argument: &str, length: usize, needed: usize) -> Self {
        KernelError::new(
            "SHAPE_MISMATCH",
            vec![("argument", text(argument)), ("length", int(length)), ("needed", int(needed))],
        )
    }

    /// An output that shares memory with another argument (outputs become `&mut` slices).
    pub fn overlap(argument: &str, other: &str) -> Self {
        KernelError::new("INVALID_ARGUMENT", vec![("argument", text(argument)), ("overlaps", text(other))])
    }

    /// A value outside [min, max] (`row`: the CSR row it was found in, if any).
    pub fn out_of_range(argument: &str, value: i64, min: i64, max: i64, row: Option<usize>) -> Self {
        let mut facts = vec![
            ("argument", text(argument)),
            ("value", Fact::Int(value)),
            ("min", Fact::Int(min)),
            ("max", Fact::Int(max)),
        ];
        facts.extend(row.map(|r| ("row", int(r))));
        KernelError::new("INVALID_ARGUMENT", facts)
    }

    pub fn not_positive_definite(pivot: usize) -> Self {
        KernelError::new("NOT_POSITIVE_DEFINITE", vec![("pivot", int(pivot))])
    }

    /// An instruction-set level this CPU cannot run (or a name that is no level).
    pub fn isa_unavailable(requested: &str, best: &str) -> Self {
        KernelError::new("BACKEND_UNAVAILABLE", vec![("requested", text(requested)), ("best", text(best))])
    }

    /// A panic caught at the FFI boundary: a bug, reported instead of aborting the process.
    pub fn panic(message: String) -> Self {
        KernelError::new("INTERNAL", vec![("panic", Fact::Text(message))])
    }

    /// The facts as one JSON object.
    pub fn details_json(&self) -> String {
        let mut s = String::from("{");
        for (i, (key, fact)) in self.facts.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_json_string(&mut s, key);
            s.push(':');
            match fact {
                Fact::Int(v) => s.push_str(&v.to_string()),
                Fact::Text(t) => push_json_string(&mut s, t),
            }
        }
        s.push('}');
        s
    }
}

fn int(v: usize) -> Fact {
    Fact::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn text(t: &str) -> Fact {
    Fact::Text(t.to_owned())
}

fn push_json_string(s: &mut String, t: &str) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.details_json())
    }
}

impl std::error::Error for KernelError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_one_json_object() {
        assert_eq!(KernelError::not_positive_definite(3).details_json(), "{\"pivot\":3}");
        assert_eq!(
            KernelError::out_of_range("aIdx", -2, 0, 9, Some(4)).details_json(),
            "{\"argument\":\"aIdx\",\"value\":-2,\"min\":0,\"max\":9,\"row\":4}"
        );
        assert_eq!(
            KernelError::panic("index \"7\"\tout of\\bounds".to_owned()).details_json(),
            "{\"panic\":\"index \\\"7\\\"\\u0009out of\\\\bounds\"}"
        );
    }
}
