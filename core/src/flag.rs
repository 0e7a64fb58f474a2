//! [`FlagValue`]: the JSON scalars a run's flags hold, and their Automerge encoding.

use automerge::ScalarValue;

use crate::error::RunError;

/// The longest flag key accepted, in bytes.
pub const MAX_FLAG_KEY_BYTES: usize = 128;
/// The longest string flag value accepted, in bytes.
pub const MAX_FLAG_STRING_BYTES: usize = 4096;

mod typed;

/// A flag's value: a JSON scalar.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum FlagValue {
    /// JSON `null`.
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A finite number with a fraction (or beyond `i64`).
    Float(f64),
    /// A string of at most [`MAX_FLAG_STRING_BYTES`] bytes.
    Str(String),
}

impl FlagValue {
    /// A flag value from JSON, refusing objects, arrays, non-finite numbers and long strings.
    pub fn from_json(key: &str, value: &serde_json::Value) -> Result<Self, RunError> {
        let invalid = |reason: String| RunError::InvalidFlagValue {
            key: key.to_owned(),
            reason,
        };
        let flag = match value {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => Self::Float(
                    n.as_f64()
                        .ok_or_else(|| invalid(format!("{n} is not a number")))?,
                ),
            },
            serde_json::Value::String(s) => Self::Str(s.clone()),
            serde_json::Value::Array(_) => {
                return Err(invalid("an array, expected a JSON scalar".into()));
            }
            serde_json::Value::Object(_) => {
                return Err(invalid("an object, expected a JSON scalar".into()));
            }
        };
        flag.validate(key)?;
        Ok(flag)
    }

    /// Checks the limits a value must meet before it is written.
    pub(crate) fn validate(&self, key: &str) -> Result<(), RunError> {
        match self {
            Self::Float(f) if !f.is_finite() => Err(RunError::InvalidFlagValue {
                key: key.to_owned(),
                reason: format!("{} is not a finite number", non_finite_name(*f)),
            }),
            Self::Str(s) if s.len() > MAX_FLAG_STRING_BYTES => Err(RunError::InvalidFlagValue {
                key: key.to_owned(),
                reason: format!(
                    "string is {} bytes long, the limit is {MAX_FLAG_STRING_BYTES}",
                    s.len()
                ),
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn to_scalar(&self) -> ScalarValue {
        match self {
            Self::Null => ScalarValue::Null,
            Self::Bool(b) => ScalarValue::Boolean(*b),
            Self::Int(i) => ScalarValue::Int(*i),
            Self::Float(f) => ScalarValue::F64(*f),
            Self::Str(s) => ScalarValue::Str(s.as_str().into()),
        }
    }

    /// Reads a scalar some client wrote; `None` for kinds a flag cannot hold (bytes, unknown).
    pub(crate) fn from_scalar(value: &ScalarValue) -> Option<Self> {
        Some(match value {
            ScalarValue::Null => Self::Null,
            ScalarValue::Boolean(b) => Self::Bool(*b),
            ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Self::Int(*i),
            ScalarValue::Counter(c) => Self::Int(i64::from(c)),
            ScalarValue::Uint(u) => i64::try_from(*u)
                .map(Self::Int)
                .unwrap_or(Self::Float(*u as f64)),
            ScalarValue::F64(f) if f.is_finite() => Self::Float(*f),
            ScalarValue::Str(s) => Self::Str(s.to_string()),
            _ => return None,
        })
    }
}

/// A value that is not a finite number, named as JSON tools name it (no float
/// formatting code is needed for it).
fn non_finite_name(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Checks a flag key.
pub(crate) fn validate_key(key: &str) -> Result<(), RunError> {
    if key.is_empty() || key.len() > MAX_FLAG_KEY_BYTES {
        return Err(RunError::InvalidFlagKey {
            key: key.chars().take(80).collect(),
            max: MAX_FLAG_KEY_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_scalars_round_trip_through_automerge_scalars() {
        for v in [json!(null), json!(true), json!(-3), json!(2.5), json!("on")] {
            let flag = FlagValue::from_json("k", &v).unwrap();
            assert_eq!(
                FlagValue::from_scalar(&flag.to_scalar()),
                Some(flag.clone())
            );
            assert_eq!(serde_json::to_value(&flag).unwrap(), v);
        }
    }

    #[test]
    fn objects_arrays_and_long_strings_are_refused_by_name() {
        let err = FlagValue::from_json("mode", &json!({"a": 1})).unwrap_err();
        assert!(err.to_string().contains("\"mode\"") && err.to_string().contains("object"));
        let err = FlagValue::from_json("mode", &json!([1])).unwrap_err();
        assert!(err.to_string().contains("array"));
        let long = "x".repeat(MAX_FLAG_STRING_BYTES + 1);
        let err = FlagValue::from_json("mode", &json!(long)).unwrap_err();
        assert!(err.to_string().contains("4097 bytes"), "{err}");
    }

    #[test]
    fn numbers_that_are_not_finite_are_refused_by_name() {
        for (f, named) in [
            (f64::NAN, "NaN is"),
            (f64::INFINITY, "Infinity is"),
            (f64::NEG_INFINITY, "-Infinity is"),
        ] {
            let err = FlagValue::Float(f).validate("rate").unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
        }
        assert!(FlagValue::Float(2.5).validate("rate").is_ok());
    }

    #[test]
    fn empty_and_long_keys_are_refused() {
        assert!(validate_key("").is_err());
        assert!(validate_key(&"k".repeat(MAX_FLAG_KEY_BYTES + 1)).is_err());
        assert!(validate_key("retry").is_ok());
    }
}
