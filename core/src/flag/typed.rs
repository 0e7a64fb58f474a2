//! A flag value as a person types it (the web app's flag form): a JSON scalar as itself —
//! `true`, `false`, `null`, a number, a "quoted string" — and any other text as that
//! string. Read by serde_json scalar by scalar, without its JSON tree, so the browser app
//! carries no code for one.

use crate::error::RunError;
use crate::flag::FlagValue;

/// The whitespace JSON allows around a value.
const JSON_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

impl FlagValue {
    /// The value `text` types for flag `key`; refused as [`FlagValue::from_json`] refuses
    /// (a string over the limit). Text that is no JSON scalar — an object, an array, a
    /// number too large for a float, a quote left open — is that text as a string.
    pub fn from_typed(key: &str, text: &str) -> Result<Self, RunError> {
        let json = text.trim_matches(JSON_SPACE);
        let as_text = || Self::Str(text.to_owned());
        let flag = match json {
            "null" => Self::Null,
            "true" => Self::Bool(true),
            "false" => Self::Bool(false),
            _ if json.starts_with('"') => {
                serde_json::from_str::<String>(json).map_or_else(|_| as_text(), Self::Str)
            }
            _ => match serde_json::from_str::<serde_json::Number>(json) {
                Ok(n) => match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => Self::Int(i),
                    (None, Some(f)) => Self::Float(f),
                    (None, None) => as_text(),
                },
                Err(_) => as_text(),
            },
        };
        flag.validate(key)?;
        Ok(flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the web app did before: serde_json's tree, objects and arrays as text.
    fn through_json_tree(text: &str) -> Result<FlagValue, RunError> {
        let value = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if !v.is_object() && !v.is_array() => v,
            _ => serde_json::Value::String(text.to_owned()),
        };
        FlagValue::from_json("k", &value)
    }

    #[test]
    fn typed_text_reads_as_serde_json_reads_it() {
        let long = format!("\"{}\"", "x".repeat(crate::MAX_FLAG_STRING_BYTES + 1));
        let cases = [
            "true",
            "false",
            "null",
            " true ",
            "\ttrue\n",
            "3",
            "-3",
            "2.5",
            "-0",
            "0",
            "-0.0",
            "01",
            "1.",
            ".5",
            "+1",
            "1e5",
            "1E+5",
            "-1e-5",
            "1e400",
            "-1e400",
            "2e-400",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "12345678901234567890",
            "123456789012345678901234567890",
            "\"x\"",
            "\"a\\\"b\"",
            "\"\\u00e9\"",
            "\"unterminated",
            "\"bad \\q escape\"",
            "{\"a\":1}",
            "[1]",
            "inf",
            "NaN",
            "nan",
            "hello",
            "",
            "  ",
            "1 2",
            "tru",
            "0x10",
            "1_000",
            "1e",
            "1e+",
            "-",
            "--1",
            "1.5.5",
            "\"two\" \"strings\"",
            &long,
        ];
        for text in cases {
            let typed = FlagValue::from_typed("k", text).map_err(|e| e.to_string());
            let tree = through_json_tree(text).map_err(|e| e.to_string());
            match (&typed, &tree) {
                (Ok(FlagValue::Float(a)), Ok(FlagValue::Float(b))) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{text:?}");
                }
                _ => assert_eq!(typed, tree, "{text:?}"),
            }
        }
    }
}
