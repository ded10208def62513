//! The parser of the text format (`.qir`), separate from the printer, with `line:column` errors.
//!
//! Grammar (comments run from `;` to the end of the line):
//! ```text
//! graph   := "graph" "@" name ("phase=" ident)? "{" item* "}"
//! item    := "input" vref ":" type
//!          | "const" "@" ident ":" type "=" (list | "dense<" attrs ">") string?
//!          | results "=" Op "(" operand,* ")" attrmap? ":" types string?
//!          | "output" string "=" vref
//! type    := dtype ("<" quant ">")? "[" (dim,* | "*") "]"
//! quant   := float ":" int | "axis=" int "," ("block=" int ",")? "scales=" list ("," "zps=" list)?
//! dim     := int | ident | "?"
//! operand := vref | "@" ident | "_"
//! ```
//! `dense<…>` constants are resolved through a [`WeightSource`] (see [`crate::weights`]).

use crate::dtype::DType;
use crate::graph::{Graph, Value};
use crate::ops::Op;
use crate::phase::Phase;
use crate::tensor::{Data, Tensor};
use crate::types::{Dim, Quant, Shape, TensorType};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A parse error at a position of the source.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// The source line, for display.
    pub source_line: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:{}: {}", self.line, self.col, self.message)?;
        writeln!(f, "  | {}", self.source_line)?;
        write!(f, "  | {}^", " ".repeat(self.col.saturating_sub(1)))
    }
}

impl std::error::Error for ParseError {}

/// Where `dense<…>` constants get their data.
pub trait WeightSource {
    /// The tensor stored under `key` (`c3` for `@c3`), if any.
    fn get(&self, key: &str) -> Option<Arc<Tensor>>;
}

/// No weights: every `dense<…>` is an error.
pub struct NoWeights;

impl WeightSource for NoWeights {
    fn get(&self, _: &str) -> Option<Arc<Tensor>> {
        None
    }
}

impl WeightSource for HashMap<String, Arc<Tensor>> {
    fn get(&self, key: &str) -> Option<Arc<Tensor>> {
        HashMap::get(self, key).cloned()
    }
}

/// Parses a graph whose constants are all inline.
pub fn parse(text: &str) -> Result<Graph, ParseError> {
    parse_with(text, &NoWeights)
}

/// Parses a graph, resolving `dense<…>` constants through `weights` (their hash is checked).
pub fn parse_with(text: &str, weights: &dyn WeightSource) -> Result<Graph, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser { toks, pos: 0, text, weights, names: HashMap::new() };
    p.graph()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `%name`, `%3` or `%"quoted"` (the key keeps the quotes of a quoted name, so `%"0"` and
    /// `%0` differ), and the bare name.
    Val(String, String),
    /// `@name`
    At(String),
    Str(String),
    Int(i64),
    Float(f64),
    Punct(char),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Val(_, s) => write!(f, "`%{s}`"),
            Tok::At(s) => write!(f, "`@{s}`"),
            Tok::Str(s) => write!(f, "string {s:?}"),
            Tok::Int(i) => write!(f, "`{i}`"),
            Tok::Float(x) => write!(f, "`{x}`"),
            Tok::Punct(c) => write!(f, "`{c}`"),
            Tok::Eof => f.write_str("end of input"),
        }
    }
}

struct Spanned {
    tok: Tok,
    line: usize,
    col: usize,
}

fn err_at(text: &str, line: usize, col: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        col,
        message: message.into(),
        source_line: text.lines().nth(line.saturating_sub(1)).unwrap_or("").to_string(),
    }
}

fn lex(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let is_ident_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    while i < chars.len() {
        let c = chars[i];
        let (tl, tc) = (line, col);
        let advance = |i: &mut usize, col: &mut usize, n: usize| {
            *i += n;
            *col += n;
        };
        if c == '\n' {
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_whitespace() {
            advance(&mut i, &mut col, 1);
            continue;
        }
        if c == ';' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let lex_str = |i: &mut usize, col: &mut usize| -> Result<String, ParseError> {
            // at opening quote
            let mut s = String::new();
            *i += 1;
            *col += 1;
            loop {
                let Some(&ch) = chars.get(*i) else {
                    return Err(err_at(text, tl, tc, "unterminated string"));
                };
                *i += 1;
                *col += 1;
                match ch {
                    '"' => return Ok(s),
                    '\n' => return Err(err_at(text, tl, tc, "unterminated string")),
                    '\\' => {
                        let Some(&e) = chars.get(*i) else {
                            return Err(err_at(text, tl, tc, "unterminated string"));
                        };
                        *i += 1;
                        *col += 1;
                        match e {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            '"' => s.push('"'),
                            '\\' => s.push('\\'),
                            'u' => {
                                // \u{hex}
                                let start = *i;
                                while *i < chars.len() && chars[*i] != '}' {
                                    *i += 1;
                                }
                                let hex: String =
                                    chars[start..*i].iter().filter(|c| **c != '{').collect();
                                *i += 1;
                                *col += *i - start;
                                let ch =
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                                s.push(ch.ok_or_else(|| err_at(text, tl, tc, "bad \\u escape"))?);
                            }
                            other => {
                                return Err(err_at(
                                    text,
                                    line,
                                    *col - 1,
                                    format!("unknown escape `\\{other}`"),
                                ))
                            }
                        }
                    }
                    ch => s.push(ch),
                }
            }
        };
        let tok = if c == '"' {
            Tok::Str(lex_str(&mut i, &mut col)?)
        } else if c == '%' || c == '@' {
            advance(&mut i, &mut col, 1);
            let quoted = chars.get(i) == Some(&'"');
            let name = if quoted {
                lex_str(&mut i, &mut col)?
            } else {
                let start = i;
                while i < chars.len() && is_ident(chars[i]) {
                    advance(&mut i, &mut col, 1);
                }
                if start == i {
                    return Err(err_at(text, tl, tc, format!("expected a name after `{c}`")));
                }
                chars[start..i].iter().collect()
            };
            if c == '%' {
                let key = if quoted { format!("\"{name}\"") } else { name.clone() };
                Tok::Val(key, name)
            } else {
                Tok::At(name)
            }
        } else if c.is_ascii_digit()
            || ((c == '-' || c == '+')
                && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == 'i'))
        {
            let start = i;
            advance(&mut i, &mut col, 1);
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                advance(&mut i, &mut col, 1);
            }
            let s: String = chars[start..i].iter().collect();
            if let Ok(v) = s.parse::<i64>() {
                Tok::Int(v)
            } else if let Ok(v) = s.parse::<f64>() {
                Tok::Float(v)
            } else {
                return Err(err_at(text, tl, tc, format!("bad number `{s}`")));
            }
        } else if c == '_' && !chars.get(i + 1).is_some_and(|&d| is_ident(d)) {
            advance(&mut i, &mut col, 1);
            Tok::Punct('_')
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                advance(&mut i, &mut col, 1);
            }
            let s: String = chars[start..i].iter().collect();
            match s.as_str() {
                "nan" => Tok::Float(f64::NAN),
                "inf" => Tok::Float(f64::INFINITY),
                _ => Tok::Ident(s),
            }
        } else if "()[]{}<>,:=_?*".contains(c) {
            advance(&mut i, &mut col, 1);
            Tok::Punct(c)
        } else {
            return Err(err_at(text, tl, tc, format!("unexpected character `{c}`")));
        };
        toks.push(Spanned { tok, line: tl, col: tc });
    }
    toks.push(Spanned { tok: Tok::Eof, line, col });
    Ok(toks)
}

struct Parser<'a> {
    toks: Vec<Spanned>,
    pos: usize,
    text: &'a str,
    weights: &'a dyn WeightSource,
    names: HashMap<String, Value>,
}

type R<T> = Result<T, ParseError>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].tok.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn err(&self, msg: impl Into<String>) -> ParseError {
        let s = &self.toks[self.pos];
        err_at(self.text, s.line, s.col, msg)
    }
    fn err_prev(&self, msg: impl Into<String>) -> ParseError {
        let s = &self.toks[self.pos.saturating_sub(1)];
        err_at(self.text, s.line, s.col, msg)
    }
    fn eat(&mut self, c: char) -> bool {
        if *self.peek() == Tok::Punct(c) {
            self.next();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char) -> R<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{c}`, found {}", self.peek())))
        }
    }
    fn keyword(&mut self, kw: &str) -> R<()> {
        match self.peek() {
            Tok::Ident(s) if s == kw => {
                self.next();
                Ok(())
            }
            t => Err(self.err(format!("expected `{kw}`, found {t}"))),
        }
    }
    fn ident(&mut self) -> R<String> {
        match self.next() {
            Tok::Ident(s) => Ok(s),
            t => Err(self.err_prev(format!("expected a name, found {t}"))),
        }
    }
    fn int(&mut self) -> R<i64> {
        match self.next() {
            Tok::Int(i) => Ok(i),
            t => Err(self.err_prev(format!("expected an integer, found {t}"))),
        }
    }
    fn float(&mut self) -> R<f64> {
        match self.next() {
            Tok::Int(i) => Ok(i as f64),
            Tok::Float(x) => Ok(x),
            t => Err(self.err_prev(format!("expected a number, found {t}"))),
        }
    }

    fn graph(&mut self) -> R<Graph> {
        self.keyword("graph")?;
        let name = match self.next() {
            Tok::At(s) => s,
            t => return Err(self.err_prev(format!("expected `@name` after `graph`, found {t}"))),
        };
        let mut g = Graph::new(name);
        if matches!(self.peek(), Tok::Ident(s) if s == "phase") {
            self.next();
            self.expect('=')?;
            let p = self.ident()?;
            let phase: Phase = p.parse().map_err(|e: String| self.err_prev(e))?;
            g.advance_phase(phase).map_err(|e| self.err_prev(e.to_string()))?;
        }
        self.expect('{')?;
        let mut outputs = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::Punct('}') => {
                    self.next();
                    break;
                }
                Tok::Ident(kw) if kw == "input" => {
                    self.next();
                    let (key, name) = match self.next() {
                        Tok::Val(k, s) => (k, s),
                        t => return Err(self.err_prev(format!("expected `%name`, found {t}"))),
                    };
                    self.define(&key)?;
                    self.expect(':')?;
                    let ty = self.ty()?;
                    let v = g.add_input(name, ty);
                    self.names.insert(key, v);
                }
                Tok::Ident(kw) if kw == "const" => {
                    self.next();
                    self.constant(&mut g)?;
                }
                Tok::Ident(kw) if kw == "output" => {
                    self.next();
                    let name = match self.next() {
                        Tok::Str(s) => s,
                        t => {
                            return Err(self.err_prev(format!(
                                "expected the output's name as a string, found {t}"
                            )))
                        }
                    };
                    self.expect('=')?;
                    let v = self.value_ref()?;
                    outputs.push((name, v));
                }
                Tok::Val(..) | Tok::Punct('(') => self.node(&mut g)?,
                Tok::Eof => return Err(self.err("unexpected end of input: missing `}`")),
                t => {
                    return Err(self
                        .err(format!("expected `input`, `const`, a node or `output`, found {t}")))
                }
            }
        }
        if *self.peek() != Tok::Eof {
            return Err(self.err(format!("unexpected {} after the graph", self.peek())));
        }
        g.set_outputs(outputs).map_err(|e| self.err_prev(e.to_string()))?;
        Ok(g)
    }

    fn define(&self, name: &str) -> R<()> {
        if self.names.contains_key(name) {
            return Err(self.err_prev(format!("`{name}` is defined twice")));
        }
        Ok(())
    }

    fn value_ref(&mut self) -> R<Value> {
        match self.next() {
            Tok::Val(k, s) => self
                .names
                .get(&k)
                .copied()
                .ok_or_else(|| self.err_prev(format!("undefined value `%{s}`"))),
            Tok::At(s) => {
                let key = format!("@{s}");
                self.names
                    .get(&key)
                    .copied()
                    .ok_or_else(|| self.err_prev(format!("undefined constant `@{s}`")))
            }
            t => Err(self.err_prev(format!("expected a value, found {t}"))),
        }
    }

    fn constant(&mut self, g: &mut Graph) -> R<()> {
        let key = match self.next() {
            Tok::At(s) => s,
            t => return Err(self.err_prev(format!("expected `@name`, found {t}"))),
        };
        let full = format!("@{key}");
        self.define(&full)?;
        self.expect(':')?;
        let ty = self.ty()?;
        self.expect('=')?;
        let dims = ty
            .shape
            .as_fixed()
            .ok_or_else(|| self.err_prev("a constant's shape must be fully known"))?;
        let tensor = if matches!(self.peek(), Tok::Ident(s) if s == "dense") {
            let dense_pos = self.pos;
            self.next();
            self.expect('<')?;
            let attrs = self.attr_entries('>')?;
            let at_dense = |p: &Self, msg: String| {
                let s = &p.toks[dense_pos];
                err_at(p.text, s.line, s.col, msg)
            };
            let t = self.weights.get(&key).ok_or_else(|| {
                at_dense(self, format!("constant `@{key}` is stored in a weights file: load the .qir with its .safetensors"))
            })?;
            if t.dtype != ty.dtype
                && !(t.dtype.size_bytes() == ty.dtype.size_bytes()
                    && (ty.dtype.is_int() || ty.dtype.is_minifloat()))
            {
                return Err(self.err_prev(format!(
                    "weights file has `@{key}` as {}, the type says {}",
                    t.dtype, ty.dtype
                )));
            }
            if t.shape != dims {
                return Err(self.err_prev(format!(
                    "weights file has `@{key}` of shape {:?}, the type says {:?}",
                    t.shape, dims
                )));
            }
            if let Some(serde_json::Value::String(h)) = attrs.get("sha256") {
                let got = crate::print::tensor_hash(&t);
                if *h != got {
                    return Err(at_dense(
                        self,
                        format!("weights of `@{key}` do not match the .qir (sha256 {got}, expected {h}): wrong weights file?"),
                    ));
                }
            }
            if t.dtype == ty.dtype {
                t
            } else {
                Arc::new(
                    Tensor::from_le_bytes(ty.dtype, dims, &t.to_le_bytes())
                        .map_err(|e| self.err_prev(e.to_string()))?,
                )
            }
        } else {
            Arc::new(self.literal(ty.dtype, dims)?)
        };
        let name = match self.peek() {
            Tok::Str(_) => match self.next() {
                Tok::Str(s) => s,
                _ => unreachable!("peeked a string"),
            },
            _ => String::new(),
        };
        let v = g.add_const_typed(name, tensor, ty);
        self.names.insert(full, v);
        Ok(())
    }

    fn literal(&mut self, dtype: DType, dims: Vec<usize>) -> R<Tensor> {
        self.expect('[')?;
        let mut nums: Vec<Tok> = Vec::new();
        if !self.eat(']') {
            loop {
                nums.push(self.next());
                if self.eat(']') {
                    break;
                }
                self.expect(',')?;
            }
        }
        let f = |t: &Tok| -> Option<f64> {
            match t {
                Tok::Int(i) => Some(*i as f64),
                Tok::Float(x) => Some(*x),
                _ => None,
            }
        };
        let bad = || self.err_prev(format!("bad element in a {dtype} constant"));
        let data = match dtype {
            DType::F32 => Data::F32(
                nums.iter()
                    .map(|t| f(t).map(|x| x as f32))
                    .collect::<Option<_>>()
                    .ok_or_else(bad)?,
            ),
            DType::F16 => Data::F16(
                nums.iter()
                    .map(|t| f(t).map(half::f16::from_f64))
                    .collect::<Option<_>>()
                    .ok_or_else(bad)?,
            ),
            DType::BF16 => Data::BF16(
                nums.iter()
                    .map(|t| f(t).map(half::bf16::from_f64))
                    .collect::<Option<_>>()
                    .ok_or_else(bad)?,
            ),
            DType::F8E4M3FN | DType::F8E5M2 | DType::F4E2M1 => {
                let v: Vec<f64> = nums.iter().map(f).collect::<Option<_>>().ok_or_else(bad)?;
                minifloat_data(dtype, &v)
            }
            DType::Bool => Data::Bool(
                nums.iter()
                    .map(|t| match t {
                        Tok::Ident(s) if s == "true" => Some(true),
                        Tok::Ident(s) if s == "false" => Some(false),
                        _ => None,
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(bad)?,
            ),
            _ => {
                let ints: Vec<i64> = nums
                    .iter()
                    .map(|t| match t {
                        Tok::Int(i) => Some(*i),
                        _ => None,
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(bad)?;
                let (lo, hi) = dtype.int_range().expect("integer dtype");
                if let Some(x) = ints.iter().find(|&&x| x < lo || x > hi) {
                    return Err(self.err_prev(format!("{x} is out of range for {dtype}")));
                }
                return Tensor::from_i64_saturating(dtype, dims, &ints)
                    .map_err(|e| self.err_prev(e.to_string()));
            }
        };
        Tensor::with_dtype(dtype, dims, data).map_err(|e| self.err_prev(e.to_string()))
    }

    fn node(&mut self, g: &mut Graph) -> R<()> {
        let mut results = Vec::new();
        if self.eat('(') {
            self.expect(')')?;
        } else {
            loop {
                match self.next() {
                    Tok::Val(k, _) => {
                        self.define(&k)?;
                        if results.contains(&k) {
                            return Err(self.err_prev(format!("`%{k}` is defined twice")));
                        }
                        results.push(k);
                    }
                    t => return Err(self.err_prev(format!("expected a result `%name`, found {t}"))),
                }
                if !self.eat(',') {
                    break;
                }
            }
        }
        self.expect('=')?;
        let op_name = self.ident()?;
        let op_pos = self.pos - 1;
        self.expect('(')?;
        let mut operands = Vec::new();
        if !self.eat(')') {
            loop {
                if self.eat('_') {
                    operands.push(None);
                } else {
                    operands.push(Some(self.value_ref()?));
                }
                if self.eat(')') {
                    break;
                }
                self.expect(',')?;
            }
        }
        let attrs = if *self.peek() == Tok::Punct('{') {
            self.next();
            self.attr_entries('}')?
        } else {
            serde_json::Map::new()
        };
        let op = Op::from_name_attrs(&op_name, attrs).map_err(|e| {
            let s = &self.toks[op_pos];
            err_at(self.text, s.line, s.col, e)
        })?;
        if matches!(op, Op::Input | Op::Constant(_)) {
            let s = &self.toks[op_pos];
            return Err(err_at(
                self.text,
                s.line,
                s.col,
                "use `input` / `const` declarations for inputs and constants",
            ));
        }
        self.expect(':')?;
        let mut types = Vec::new();
        if self.eat('(') {
            self.expect(')')?;
        } else {
            loop {
                types.push(self.ty()?);
                if !self.eat(',') {
                    break;
                }
            }
        }
        if types.len() != results.len() {
            return Err(self.err_prev(format!(
                "{} results but {} types",
                results.len(),
                types.len()
            )));
        }
        let name = match self.peek() {
            Tok::Str(_) => match self.next() {
                Tok::Str(s) => s,
                _ => unreachable!("peeked a string"),
            },
            _ => String::new(),
        };
        let id =
            g.add_node(op, name, &operands, types).map_err(|e| self.err_prev(e.to_string()))?;
        for (i, r) in results.into_iter().enumerate() {
            self.names.insert(r, Value { node: id, index: i as u32 });
        }
        Ok(())
    }

    /// `key=value, …` up to the closing delimiter (consumed).
    fn attr_entries(&mut self, close: char) -> R<serde_json::Map<String, serde_json::Value>> {
        let mut m = serde_json::Map::new();
        if self.eat(close) {
            return Ok(m);
        }
        loop {
            let k = self.ident()?;
            self.expect('=')?;
            let v = self.attr_value()?;
            if m.insert(k.clone(), v).is_some() {
                return Err(self.err_prev(format!("attribute `{k}` given twice")));
            }
            if self.eat(close) {
                return Ok(m);
            }
            self.expect(',')?;
        }
    }

    fn attr_value(&mut self) -> R<serde_json::Value> {
        use serde_json::Value as J;
        Ok(match self.next() {
            Tok::Int(i) => J::from(i),
            Tok::Float(x) => serde_json::Number::from_f64(x).map(J::Number).unwrap_or(J::Null),
            Tok::Str(s) => J::String(s),
            Tok::Ident(s) if s == "true" => J::Bool(true),
            Tok::Ident(s) if s == "false" => J::Bool(false),
            Tok::Ident(s) if s == "none" => J::Null,
            Tok::Ident(s) => J::String(s),
            Tok::Punct('[') => {
                let mut a = Vec::new();
                if !self.eat(']') {
                    loop {
                        a.push(self.attr_value()?);
                        if self.eat(']') {
                            break;
                        }
                        self.expect(',')?;
                    }
                }
                J::Array(a)
            }
            Tok::Punct('{') => J::Object(self.attr_entries('}')?),
            t => return Err(self.err_prev(format!("expected an attribute value, found {t}"))),
        })
    }

    fn ty(&mut self) -> R<TensorType> {
        let d = self.ident()?;
        let dtype: DType = d.parse().map_err(|e: String| self.err_prev(e))?;
        let quant = if self.eat('<') { Some(self.quant()?) } else { None };
        self.expect('[')?;
        let shape = if self.eat('*') {
            self.expect(']')?;
            Shape::unknown()
        } else {
            let mut dims = Vec::new();
            if !self.eat(']') {
                loop {
                    dims.push(match self.next() {
                        Tok::Int(i) if i >= 0 => Dim::Fixed(i as usize),
                        Tok::Ident(s) => Dim::Sym(s),
                        Tok::Punct('?') => Dim::Sym("?".into()),
                        t => return Err(self.err_prev(format!("expected a dimension, found {t}"))),
                    });
                    if self.eat(']') {
                        break;
                    }
                    self.expect(',')?;
                }
            }
            Shape(Some(dims))
        };
        Ok(TensorType { dtype, shape, quant })
    }

    fn quant(&mut self) -> R<Quant> {
        if matches!(self.peek(), Tok::Ident(s) if s == "axis") {
            let m = self.attr_entries('>')?;
            let get_usize = |k: &str| m.get(k).and_then(|v| v.as_u64()).map(|v| v as usize);
            let axis =
                get_usize("axis").ok_or_else(|| self.err_prev("quantization needs `axis=`"))?;
            let scales: Vec<f32> = m
                .get("scales")
                .and_then(|v| v.as_array())
                .and_then(|a| a.iter().map(|x| x.as_f64().map(|f| f as f32)).collect())
                .ok_or_else(|| self.err_prev("quantization needs `scales=[…]`"))?;
            let zero_points: Vec<i32> = match m.get("zps") {
                None => vec![0; scales.len()],
                Some(v) => v
                    .as_array()
                    .and_then(|a| {
                        a.iter().map(|x| x.as_i64().and_then(|i| i32::try_from(i).ok())).collect()
                    })
                    .ok_or_else(|| self.err_prev("`zps=` must be a list of integers"))?,
            };
            for k in m.keys() {
                if !["axis", "block", "scales", "zps"].contains(&k.as_str()) {
                    return Err(self.err_prev(format!("unknown quantization field `{k}`")));
                }
            }
            Ok(match get_usize("block") {
                Some(block) => Quant::Block { axis, block, scales, zero_points },
                None => Quant::Axis { axis, scales, zero_points },
            })
        } else {
            let scale = self.float()? as f32;
            self.expect(':')?;
            let zp = self.int()?;
            let zero_point =
                i32::try_from(zp).map_err(|_| self.err_prev("zero point out of range"))?;
            self.expect('>')?;
            Ok(Quant::Tensor { scale, zero_point })
        }
    }
}

/// Low-precision float storage from literal values: rounded to nearest even, not saturating, so
/// printed values (exact, `inf` included) read back to the same bits (NaN's sign excepted).
fn minifloat_data(dtype: DType, v: &[f64]) -> Data {
    use crate::minifloat::{F4E2M1, F8E4M3FN, F8E5M2};
    match dtype {
        DType::F8E4M3FN => {
            Data::F8E4M3FN(v.iter().map(|&x| F8E4M3FN::from_f64(x, false)).collect())
        }
        DType::F8E5M2 => Data::F8E5M2(v.iter().map(|&x| F8E5M2::from_f64(x, false)).collect()),
        _ => Data::F4E2M1(v.iter().map(|&x| F4E2M1::from_f64(x, false)).collect()),
    }
}
