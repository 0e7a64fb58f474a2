//! [`described`]: a value found where a run expects something else, named for the issue
//! that reports it ("the number 3", "a list", "the string \"x\"").
//!
//! Automerge's own `Display` prints a float with 324 decimals and an object as its Rust
//! type, and it brings the float formatting code into the web app's wasm; floats here are
//! written as JSON writes them.

use automerge::{ObjType, ScalarValue, Value};

/// What `value` is, for an error message.
pub(crate) fn described(value: &Value<'_>) -> String {
    match value {
        Value::Object(ObjType::Map) => "a map".into(),
        Value::Object(ObjType::Table) => "a table".into(),
        Value::Object(ObjType::List) => "a list".into(),
        Value::Object(ObjType::Text) => "text".into(),
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(s) => format!("the string {:?}", s.as_str()),
            ScalarValue::Int(i) => format!("the number {i}"),
            ScalarValue::Uint(u) => format!("the number {u}"),
            ScalarValue::F64(f) if f.is_finite() => {
                format!(
                    "the number {}",
                    serde_json::to_string(f).unwrap_or_default()
                )
            }
            ScalarValue::F64(_) => "a number that is not finite".into(),
            ScalarValue::Counter(c) => format!("the counter {}", i64::from(c)),
            ScalarValue::Timestamp(t) => format!("the timestamp {t}"),
            ScalarValue::Boolean(b) => format!("the boolean {b}"),
            ScalarValue::Null => "null".into(),
            ScalarValue::Bytes(b) => format!("bytes of length {}", b.len()),
            ScalarValue::Unknown { type_code, .. } => {
                format!("a value of unknown type {type_code}")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(value: ScalarValue) -> String {
        described(&Value::Scalar(std::borrow::Cow::Owned(value)))
    }

    #[test]
    fn names_each_kind_of_value() {
        assert_eq!(described(&Value::Object(ObjType::Map)), "a map");
        assert_eq!(described(&Value::Object(ObjType::List)), "a list");
        assert_eq!(described(&Value::Object(ObjType::Text)), "text");
        assert_eq!(
            scalar(ScalarValue::Str("a\"b".into())),
            r#"the string "a\"b""#
        );
        assert_eq!(scalar(ScalarValue::Int(-3)), "the number -3");
        assert_eq!(
            scalar(ScalarValue::Uint(u64::MAX)),
            "the number 18446744073709551615"
        );
        assert_eq!(scalar(ScalarValue::F64(2.5)), "the number 2.5");
        assert_eq!(scalar(ScalarValue::F64(1e300)), "the number 1e+300");
        assert_eq!(
            scalar(ScalarValue::F64(f64::NAN)),
            "a number that is not finite"
        );
        assert_eq!(scalar(ScalarValue::Boolean(true)), "the boolean true");
        assert_eq!(scalar(ScalarValue::Null), "null");
        assert_eq!(scalar(ScalarValue::Bytes(vec![1, 2])), "bytes of length 2");
        assert_eq!(scalar(ScalarValue::Timestamp(7)), "the timestamp 7");
    }
}
