//! LogQL tokens with their byte offsets (Loki's lexer, `pkg/logql/syntax/lex.go`,
//! is the reference for what a token is: Go-quoted or back-quoted strings,
//! durations such as `1h30m`, numbers, identifiers, operators).

use super::error::LogqlError;

/// One token. Strings are already unquoted.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `=~`
    Re,
    /// `!~`
    Nre,
    /// `|=`
    PipeExact,
    /// `|~`
    PipeMatch,
    /// `|>`
    PipePattern,
    /// `!>`
    NotPattern,
    /// `|`
    Pipe,
    /// `==`, `>`, `>=`, `<`, `<=`
    Cmp(&'static str),
    /// `+ - * / % ^`
    Arith(char),
    Ident(String),
    Str(String),
    /// A quoted string with a bad escape: the message, reported only if the
    /// grammar expects a string here (else the token is a syntax error).
    BadStr(String),
    Number(f64),
    /// A number with a unit (`5m`, `1h30m`, `10KB`), kept as written.
    Unit(String),
    /// `--strict`-style flags of `| logfmt`.
    Flag(String),
    Eof,
}

impl Tok {
    /// How a token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("IDENTIFIER {s:?}"),
            Tok::Str(s) => format!("STRING {s:?}"),
            Tok::BadStr(_) => "STRING".to_string(),
            Tok::Number(n) => format!("NUMBER {n}"),
            Tok::Unit(s) => format!("DURATION {s:?}"),
            Tok::Flag(s) => format!("FLAG {s:?}"),
            Tok::Eof => "end of input".to_string(),
            other => format!("{:?}", symbol(other)),
        }
    }
}

fn symbol(tok: &Tok) -> String {
    match tok {
        Tok::LBrace => "{".into(),
        Tok::RBrace => "}".into(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::LBracket => "[".into(),
        Tok::RBracket => "]".into(),
        Tok::Comma => ",".into(),
        Tok::Eq => "=".into(),
        Tok::Neq => "!=".into(),
        Tok::Re => "=~".into(),
        Tok::Nre => "!~".into(),
        Tok::PipeExact => "|=".into(),
        Tok::PipeMatch => "|~".into(),
        Tok::PipePattern => "|>".into(),
        Tok::NotPattern => "!>".into(),
        Tok::Pipe => "|".into(),
        Tok::Cmp(s) => (*s).into(),
        Tok::Arith(c) => c.to_string(),
        _ => String::new(),
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub tok: Tok,
    pub at: usize,
}

/// Splits `input` into tokens, ending with [`Tok::Eof`].
pub fn lex(input: &str) -> Result<Vec<Spanned>, LogqlError> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            // A comment runs to the end of the line.
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let at = i;
        let (tok, len) = match punctuation(bytes, i) {
            Some(found) => found,
            None => match c {
                b'"' => {
                    let (s, len) = quoted(input, i)?;
                    (s.map_or_else(Tok::BadStr, Tok::Str), len)
                }
                b'`' => match input[i + 1..].find('`') {
                    Some(end) => (Tok::Str(input[i + 1..i + 1 + end].to_string()), end + 2),
                    None => return Err(LogqlError::syntax(input, at, "unterminated raw string")),
                },
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    let end = scan_while(bytes, i + 2, |b| b.is_ascii_alphanumeric() || b == b'_');
                    (Tok::Flag(input[i..end].to_string()), end - i)
                }
                b'0'..=b'9' | b'.' => number(input, i)?,
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    let end = scan_while(bytes, i, |b| b.is_ascii_alphanumeric() || b == b'_');
                    (Tok::Ident(input[i..end].to_string()), end - i)
                }
                _ => {
                    let ch = input[i..].chars().next().unwrap_or('?');
                    return Err(LogqlError::syntax(
                        input,
                        at,
                        &format!("syntax error: unexpected character {ch:?}"),
                    ));
                }
            },
        };
        out.push(Spanned { tok, at });
        i += len;
    }
    out.push(Spanned {
        tok: Tok::Eof,
        at: input.len(),
    });
    Ok(out)
}

/// Operators and brackets at `i`: the token and its length.
fn punctuation(bytes: &[u8], i: usize) -> Option<(Tok, usize)> {
    let two = match bytes.get(i..i + 2).unwrap_or(&[]) {
        b"!=" => Some(Tok::Neq),
        b"=~" => Some(Tok::Re),
        b"!~" => Some(Tok::Nre),
        b"|=" => Some(Tok::PipeExact),
        b"|~" => Some(Tok::PipeMatch),
        b"|>" => Some(Tok::PipePattern),
        b"!>" => Some(Tok::NotPattern),
        b"==" => Some(Tok::Cmp("==")),
        b">=" => Some(Tok::Cmp(">=")),
        b"<=" => Some(Tok::Cmp("<=")),
        _ => None,
    };
    if let Some(tok) = two {
        return Some((tok, 2));
    }
    if bytes.get(i..i + 2) == Some(b"--") {
        return None;
    }
    let tok = match bytes[i] {
        b'{' => Tok::LBrace,
        b'}' => Tok::RBrace,
        b'(' => Tok::LParen,
        b')' => Tok::RParen,
        b'[' => Tok::LBracket,
        b']' => Tok::RBracket,
        b',' => Tok::Comma,
        b'=' => Tok::Eq,
        b'|' => Tok::Pipe,
        b'>' => Tok::Cmp(">"),
        b'<' => Tok::Cmp("<"),
        c @ (b'+' | b'-' | b'*' | b'/' | b'%' | b'^') => Tok::Arith(c as char),
        _ => return None,
    };
    Some((tok, 1))
}

fn scan_while(bytes: &[u8], mut i: usize, ok: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && ok(bytes[i]) {
        i += 1;
    }
    i
}

/// A number, or a number with a unit suffix (`5m`, `1h30m`, `1.5KB`).
fn number(input: &str, start: usize) -> Result<(Tok, usize), LogqlError> {
    let bytes = input.as_bytes();
    let end = scan_while(bytes, start, |b| {
        b.is_ascii_alphanumeric() || b == b'.' || b == b'_'
    });
    let text = &input[start..end];
    if let Ok(n) = text.parse::<f64>() {
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Ok((Tok::Number(n), end - start));
        }
    }
    if text.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && text.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return Ok((Tok::Unit(text.to_string()), end - start));
    }
    Err(LogqlError::syntax(
        input,
        start,
        &format!("syntax error: unexpected {text:?}, expected a number"),
    ))
}

/// A Go-quoted string starting at `start` (the opening `"`): its value
/// (or what is wrong with an escape) and its length in bytes. Escapes as
/// Go's `strconv.Unquote` reads them.
fn quoted(input: &str, start: usize) -> Result<(Result<String, String>, usize), LogqlError> {
    let mut out = Ok(String::new());
    let mut chars = input[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return Ok((out, off + 2)),
            '\n' => break,
            '\\' => match escape(&mut chars) {
                Some(decoded) => {
                    if let Ok(text) = &mut out {
                        text.push(decoded);
                    }
                }
                None => {
                    let col = input[..start + 1 + off].chars().count() + 1;
                    out = Err(format!("invalid escape sequence in string at col {col}"));
                }
            },
            c => {
                if let Ok(text) = &mut out {
                    text.push(c);
                }
            }
        }
    }
    Err(LogqlError::syntax(input, start, "unterminated string"))
}

/// The character an escape (after its backslash) stands for.
fn escape(chars: &mut std::str::CharIndices<'_>) -> Option<char> {
    let (_, e) = chars.next()?;
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '"' => Some('"'),
        '\'' => Some('\''),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    let digits = match e {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        '0'..='7' => 2,
        _ => return None,
    };
    let mut text = String::new();
    for _ in 0..digits {
        let (_, c) = chars.clone().next()?;
        if c == '"' {
            return None;
        }
        chars.next();
        text.push(c);
    }
    let code = if e.is_ascii_digit() {
        u32::from_str_radix(&format!("{e}{text}"), 8)
    } else {
        u32::from_str_radix(&text, 16)
    }
    .ok()?;
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(q: &str) -> Vec<Tok> {
        lex(q).unwrap().into_iter().map(|s| s.tok).collect()
    }

    #[test]
    fn operators_strings_numbers_durations() {
        assert_eq!(
            toks(r#"{a=~"x\"y"} |= `r\n` != "t" [1h30m] 2.5"#),
            vec![
                Tok::LBrace,
                Tok::Ident("a".into()),
                Tok::Re,
                Tok::Str("x\"y".into()),
                Tok::RBrace,
                Tok::PipeExact,
                Tok::Str("r\\n".into()),
                Tok::Neq,
                Tok::Str("t".into()),
                Tok::LBracket,
                Tok::Unit("1h30m".into()),
                Tok::RBracket,
                Tok::Number(2.5),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn escapes_follow_go() {
        assert_eq!(toks(r#""\u00e9\x41\101\t""#)[0], Tok::Str("éAA\t".into()));
        assert!(matches!(toks(r#""\q""#)[0], Tok::BadStr(_)));
        assert!(lex(r#""open"#).is_err());
    }
}
