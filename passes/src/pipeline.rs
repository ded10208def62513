//! Text pipelines: `canonicalize,fold-batchnorm,cse{max=100}`.
//!
//! Grammar: `pipeline := item (',' item)*`, `item := name ('{' opt (',' opt)* '}')?`,
//! `opt := key '=' value`. Names and keys are kebab-case (letters, digits, `-`, `_`); a value
//! is anything up to the next `,` or `}`, or a double-quoted string with `\"` and `\\` escapes.
//! Whitespace around tokens is ignored. [`Pipeline`]'s `Display` prints the canonical form, and
//! `parse(print(p)) == p`. A name may be a pass or a named pipeline of the registry
//! (e.g. `canonicalize`); the registry expands the latter when it builds the passes.

use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Errors from parsing or building pipelines.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelineError {
    /// The text does not follow the grammar.
    #[error("bad pipeline at byte {pos}: {message}\n  {text}\n  {caret:>width$}", caret = "^", width = pos + 1)]
    Syntax {
        /// The pipeline text.
        text: String,
        /// Byte offset of the problem.
        pos: usize,
        /// What was expected.
        message: String,
    },
    /// A name is neither a registered pass nor a named pipeline.
    #[error("unknown pass `{name}`; known passes: {}", known.join(", "))]
    UnknownPass {
        /// The name given.
        name: String,
        /// Every registered pass and pipeline name.
        known: Vec<String>,
    },
    /// The options do not fit the pass.
    #[error("pass `{pass}`: bad options `{options}`: {message}")]
    Options {
        /// The pass.
        pass: String,
        /// The options as written.
        options: String,
        /// Why they were rejected.
        message: String,
    },
    /// A named pipeline refers to itself.
    #[error("pipeline `{0}` expands into itself")]
    Recursive(String),
    /// A name was registered twice.
    #[error("`{0}` is already registered")]
    Duplicate(String),
}

/// Options of one pipeline item, as written (`key → value`), ordered by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PassOptions(pub BTreeMap<String, String>);

impl PassOptions {
    /// True when no option is given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Deserializes the options into `T` (serde). Values that parse as JSON scalars (numbers,
    /// booleans) are given as such, others as strings; `T` should use
    /// `#[serde(default, deny_unknown_fields)]` so that unknown keys are rejected.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, String> {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.0 {
            let key = k.replace('-', "_");
            let val = match serde_json::from_str::<serde_json::Value>(v) {
                Ok(j @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => j,
                _ => serde_json::Value::String(v.clone()),
            };
            m.insert(key, val);
        }
        serde_json::from_value(serde_json::Value::Object(m)).map_err(|e| e.to_string())
    }
}

impl fmt::Display for PassOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=")?;
            let plain = !v.is_empty()
                && v.chars().all(|c| {
                    !matches!(c, ',' | '{' | '}' | '"' | '\\' | '=') && !c.is_whitespace()
                });
            if plain {
                f.write_str(v)?;
            } else {
                f.write_str("\"")?;
                for c in v.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")?;
            }
        }
        Ok(())
    }
}

/// One item of a pipeline: a pass (or named pipeline) and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassSpec {
    /// Kebab-case name.
    pub name: String,
    /// Options as written.
    pub options: PassOptions,
}

impl PassSpec {
    /// A spec without options.
    pub fn new(name: impl Into<String>) -> PassSpec {
        PassSpec { name: name.into(), options: PassOptions::default() }
    }
}

impl fmt::Display for PassSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.options.is_empty() {
            write!(f, "{{{}}}", self.options)?;
        }
        Ok(())
    }
}

/// A parsed pipeline: a list of items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pipeline(pub Vec<PassSpec>);

impl Pipeline {
    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Pipeline, PipelineError> {
        Parser { text, pos: 0 }.pipeline()
    }
}

impl FromStr for Pipeline {
    type Err = PipelineError;
    fn from_str(s: &str) -> Result<Pipeline, PipelineError> {
        Pipeline::parse(s)
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, PipelineError> {
        Err(PipelineError::Syntax {
            text: self.text.to_string(),
            pos: self.pos,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, PipelineError> {
        self.skip_ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return self.err(format!("expected {what}"));
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn value(&mut self) -> Result<String, PipelineError> {
        self.skip_ws();
        if self.peek() == Some('"') {
            self.pos += 1;
            let mut out = String::new();
            loop {
                match self.peek() {
                    None => return self.err("unterminated string"),
                    Some('"') => {
                        self.pos += 1;
                        return Ok(out);
                    }
                    Some('\\') => {
                        self.pos += 1;
                        match self.peek() {
                            Some(c @ ('"' | '\\')) => {
                                out.push(c);
                                self.pos += 1;
                            }
                            _ => return self.err("expected `\"` or `\\` after `\\`"),
                        }
                    }
                    Some(c) => {
                        out.push(c);
                        self.pos += c.len_utf8();
                    }
                }
            }
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if matches!(c, ',' | '}' | '{' | '=' | '"') {
                break;
            }
            self.pos += c.len_utf8();
        }
        let v = self.text[start..self.pos].trim();
        if v.is_empty() {
            return self.err("expected a value");
        }
        Ok(v.to_string())
    }

    fn item(&mut self) -> Result<PassSpec, PipelineError> {
        let name = self.ident("a pass name")?;
        let mut options = PassOptions::default();
        if self.eat('{') && !self.eat('}') {
            loop {
                let key_pos = {
                    self.skip_ws();
                    self.pos
                };
                let key = self.ident("an option name")?;
                if !self.eat('=') {
                    return self.err(format!("expected `=` after option `{key}`"));
                }
                let v = self.value()?;
                if options.0.insert(key.clone(), v).is_some() {
                    self.pos = key_pos;
                    return self.err(format!("option `{key}` given twice"));
                }
                if self.eat('}') {
                    break;
                }
                if !self.eat(',') {
                    return self.err("expected `,` or `}`");
                }
            }
        }
        Ok(PassSpec { name, options })
    }

    fn pipeline(&mut self) -> Result<Pipeline, PipelineError> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.pos == self.text.len() {
            return Ok(Pipeline(items));
        }
        loop {
            items.push(self.item()?);
            self.skip_ws();
            if self.pos == self.text.len() {
                return Ok(Pipeline(items));
            }
            if !self.eat(',') {
                return self.err("expected `,` between passes");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for text in [
            "canonicalize,fold-batchnorm,cse{max=100}",
            "calibrate{method=entropy},quantize{weights=per-channel},fuse",
            "a{x=1,y=\"has, comma\"}",
            "",
            "dce",
        ] {
            let p = Pipeline::parse(text).unwrap();
            assert_eq!(p.to_string(), text);
            assert_eq!(Pipeline::parse(&p.to_string()).unwrap(), p);
        }
    }

    #[test]
    fn whitespace_and_option_order_are_normalised() {
        let p = Pipeline::parse(" cse { max = 3 , a=b } ,  dce ").unwrap();
        assert_eq!(p.to_string(), "cse{a=b,max=3},dce");
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let e = Pipeline::parse("cse{max 3}").unwrap_err();
        match &e {
            PipelineError::Syntax { pos, .. } => assert_eq!(*pos, 8),
            other => panic!("unexpected {other:?}"),
        }
        assert!(e.to_string().contains("expected `=` after option `max`"));
        assert!(Pipeline::parse("cse,,dce").is_err());
        assert!(Pipeline::parse("cse{max=1").is_err());
        assert!(Pipeline::parse("cse{max=1,max=2}").is_err());
        assert!(Pipeline::parse("a b").is_err());
    }

    #[test]
    fn options_deserialize_with_serde() {
        #[derive(serde::Deserialize, Debug, PartialEq, Default)]
        #[serde(default, deny_unknown_fields)]
        struct O {
            max: usize,
            mode: String,
            exact_match: bool,
        }
        let p = Pipeline::parse("x{max=7,mode=fast,exact-match=true}").unwrap();
        let o: O = p.0[0].options.parse().unwrap();
        assert_eq!(o, O { max: 7, mode: "fast".into(), exact_match: true });
        let bad = Pipeline::parse("x{nope=1}").unwrap();
        assert!(bad.0[0].options.parse::<O>().unwrap_err().contains("nope"));
    }
}
