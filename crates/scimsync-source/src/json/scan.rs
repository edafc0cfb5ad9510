//! Splits an export into one JSON text per user without holding the file in memory: a JSON
//! array (`[{...}, {...}]`), Graph's wrapper (`{"value": [...], "@odata.nextLink": ...}`) or
//! JSON Lines. Each piece is parsed on its own, so memory follows the largest record, not the
//! file, and every error knows its record index and line.

use std::io::BufRead;

/// One record's JSON text and where it starts.
#[derive(Debug)]
pub struct Piece {
    pub index: usize,
    /// 1-based line and column of the record's first byte.
    pub line: usize,
    pub column: usize,
    pub text: Vec<u8>,
}

/// What the scanner found wrong with the file's structure (the record texts themselves are
/// checked by serde_json).
#[derive(Debug, PartialEq, Eq)]
pub struct ScanError {
    pub line: usize,
    pub message: String,
    /// The record being read when it went wrong, if any.
    pub index: Option<usize>,
}

/// Top-level members of a Graph response other than `value`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `@odata.nextLink`: the file holds one page of a longer list.
    pub next_link: Option<String>,
    /// Whether the document was an object with a `value` array (rather than a bare array).
    pub wrapped: bool,
}

enum State {
    Start,
    /// Inside the user array; `first` until the first element was read.
    InArray {
        first: bool,
    },
    /// After the user array, inside the wrapper object.
    AfterArray,
    Done,
}

/// Reads records out of one JSON document.
pub struct DocumentScanner<R> {
    input: R,
    line: usize,
    column: usize,
    index: usize,
    state: State,
    pub envelope: Envelope,
    peeked: Option<u8>,
}

impl<R: BufRead> DocumentScanner<R> {
    pub fn new(input: R) -> Self {
        DocumentScanner {
            input,
            line: 1,
            column: 0,
            index: 0,
            state: State::Start,
            envelope: Envelope::default(),
            peeked: None,
        }
    }

    fn next_byte(&mut self) -> Result<Option<u8>, ScanError> {
        if let Some(b) = self.peeked.take() {
            return Ok(Some(b));
        }
        let buf = self.input.fill_buf().map_err(|e| ScanError {
            line: self.line,
            message: format!("read error: {e}"),
            index: None,
        })?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        if b == b'\n' {
            self.line += 1;
            self.column = 0;
        } else if b & 0xC0 != 0x80 {
            // Columns count characters: UTF-8 continuation bytes do not start one.
            self.column += 1;
        }
        Ok(Some(b))
    }

    fn error(&self, message: impl Into<String>, index: Option<usize>) -> ScanError {
        ScanError {
            line: self.line,
            message: message.into(),
            index,
        }
    }

    /// The next byte that is not whitespace (a UTF-8 BOM at the start counts as whitespace).
    fn skip_ws(&mut self) -> Result<Option<u8>, ScanError> {
        loop {
            match self.next_byte()? {
                Some(b' ' | b'\t' | b'\n' | b'\r') => {}
                Some(0xEF) if matches!(self.state, State::Start) => {
                    // BOM: EF BB BF
                    self.next_byte()?;
                    self.next_byte()?;
                }
                other => return Ok(other),
            }
        }
    }

    /// Copies one JSON value starting with `first` into `out`.
    fn value(
        &mut self,
        first: u8,
        out: &mut Vec<u8>,
        index: Option<usize>,
    ) -> Result<(), ScanError> {
        out.push(first);
        match first {
            b'{' | b'[' => {
                let mut depth = 1usize;
                while depth > 0 {
                    let b = self
                        .next_byte()?
                        .ok_or_else(|| self.error("the file ends inside a record", index))?;
                    out.push(b);
                    match b {
                        b'"' => self.string_rest(out, index)?,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                }
                Ok(())
            }
            b'"' => self.string_rest(out, index),
            _ => {
                // A scalar runs until a delimiter, which is put back.
                while let Some(b) = self.next_byte()? {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                        // Put back; the line count already saw it and is not bumped again.
                        self.peeked = Some(b);
                        break;
                    }
                    out.push(b);
                }
                Ok(())
            }
        }
    }

    /// The rest of a string after its opening quote.
    fn string_rest(&mut self, out: &mut Vec<u8>, index: Option<usize>) -> Result<(), ScanError> {
        loop {
            let b = self
                .next_byte()?
                .ok_or_else(|| self.error("the file ends inside a string", index))?;
            out.push(b);
            match b {
                b'\\' => {
                    let escaped = self
                        .next_byte()?
                        .ok_or_else(|| self.error("the file ends inside a string", index))?;
                    out.push(escaped);
                }
                b'"' => return Ok(()),
                _ => {}
            }
        }
    }

    /// A top-level key of the wrapper object.
    fn key(&mut self) -> Result<String, ScanError> {
        let mut raw = Vec::new();
        self.value(b'"', &mut raw, None)?;
        serde_json::from_slice(&raw).map_err(|e| self.error(format!("bad key: {e}"), None))
    }

    fn expect_colon(&mut self) -> Result<(), ScanError> {
        match self.skip_ws()? {
            Some(b':') => Ok(()),
            _ => Err(self.error("expected `:` after a key", None)),
        }
    }

    /// Reads the wrapper's members until the `value` array starts, or the object ends.
    fn members(&mut self, mut first: bool) -> Result<bool, ScanError> {
        loop {
            let b = self.skip_ws()?;
            match b {
                Some(b'}') => return Ok(false),
                Some(b',') if !first => {}
                Some(b'"') if first => {
                    self.peeked = Some(b'"');
                }
                _ => {
                    return Err(
                        self.error("expected a member or `}` in the top-level object", None)
                    );
                }
            }
            first = false;
            match self.skip_ws()? {
                Some(b'"') => {}
                _ => return Err(self.error("expected a key in the top-level object", None)),
            }
            let key = self.key()?;
            self.expect_colon()?;
            let start = self
                .skip_ws()?
                .ok_or_else(|| self.error("the file ends after a key", None))?;
            if key == "value" {
                if start != b'[' {
                    return Err(self.error("`value` must be an array of users", None));
                }
                return Ok(true);
            }
            let mut raw = Vec::new();
            self.value(start, &mut raw, None)?;
            if key == "@odata.nextLink" {
                self.envelope.next_link = serde_json::from_slice::<String>(&raw).ok();
            }
        }
    }

    /// The next record, `Ok(None)` at the end of the document.
    pub fn next_piece(&mut self) -> Result<Option<Piece>, ScanError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => match self.skip_ws()? {
                    Some(b'[') => self.state = State::InArray { first: true },
                    Some(b'{') => {
                        self.envelope.wrapped = true;
                        if self.members(true)? {
                            self.state = State::InArray { first: true };
                        } else {
                            return Err(self.error(
                                "expected a JSON array of users or an object with a `value` array, found an object without `value`",
                                None,
                            ));
                        }
                    }
                    None => return Err(self.error("the file is empty", None)),
                    Some(other) => {
                        return Err(self.error(
                            format!(
                                "expected a JSON array of users, found `{}`",
                                char::from(other)
                            ),
                            None,
                        ));
                    }
                },
                State::InArray { first } => {
                    let mut b = self.skip_ws()?;
                    if b == Some(b']') {
                        self.state = if self.envelope.wrapped {
                            State::AfterArray
                        } else {
                            State::Done
                        };
                        continue;
                    }
                    if !first {
                        if b != Some(b',') {
                            return Err(self.error(
                                format!("expected `,` or `]` after record {}", self.index - 1),
                                Some(self.index - 1),
                            ));
                        }
                        b = self.skip_ws()?;
                    }
                    let index = self.index;
                    let start =
                        b.ok_or_else(|| self.error("the file ends inside the array", Some(index)))?;
                    let (line, column) = (self.line, self.column);
                    let mut text = Vec::new();
                    self.value(start, &mut text, Some(index))?;
                    self.index += 1;
                    self.state = State::InArray { first: false };
                    return Ok(Some(Piece {
                        index,
                        line,
                        column,
                        text,
                    }));
                }
                State::AfterArray => {
                    if self.members(false)? {
                        return Err(self.error("a second `value` array", None));
                    }
                    self.state = State::Done;
                }
            }
        }
    }

    /// Checks that nothing but whitespace follows the document.
    pub fn finish(&mut self) -> Result<(), ScanError> {
        match self.skip_ws()? {
            None => Ok(()),
            Some(_) => Err(self.error("unexpected text after the end of the document", None)),
        }
    }
}

/// Reads records out of JSON Lines: one object per line, blank lines skipped.
pub struct LineScanner<R> {
    input: R,
    line: usize,
    index: usize,
}

impl<R: BufRead> LineScanner<R> {
    pub fn new(input: R) -> Self {
        LineScanner {
            input,
            line: 0,
            index: 0,
        }
    }

    pub fn next_piece(&mut self) -> Result<Option<Piece>, ScanError> {
        loop {
            let mut text = Vec::new();
            let read = self
                .input
                .read_until(b'\n', &mut text)
                .map_err(|e| ScanError {
                    line: self.line + 1,
                    message: format!("read error: {e}"),
                    index: Some(self.index),
                })?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let index = self.index;
            self.index += 1;
            return Ok(Some(Piece {
                index,
                line: self.line,
                column: 1,
                text,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (index, line, text) of each record.
    type Pieces = Vec<(usize, usize, String)>;

    fn pieces(text: &str) -> Result<(Pieces, Envelope), ScanError> {
        let mut scanner = DocumentScanner::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(p) = scanner.next_piece()? {
            out.push((p.index, p.line, String::from_utf8(p.text).unwrap()));
        }
        scanner.finish()?;
        Ok((out, scanner.envelope))
    }

    #[test]
    fn arrays_split_into_records_with_lines() {
        let (got, env) = pieces("[\n {\"a\": \"x]\\\"}\"},\n {\"b\": [1, {}]} ,\n 3\n]\n").unwrap();
        assert_eq!(
            got,
            [
                (0, 2, "{\"a\": \"x]\\\"}\"}".to_owned()),
                (1, 3, "{\"b\": [1, {}]}".to_owned()),
                (2, 4, "3".to_owned())
            ]
        );
        assert!(!env.wrapped);
        assert_eq!(pieces("[]").unwrap().0, []);
    }

    #[test]
    fn graph_wrapper_yields_value_and_reads_next_link() {
        let (got, env) = pieces(
            "{\"@odata.context\": \"x\", \"value\": [{\"id\": \"1\"}], \"@odata.nextLink\": \"https://graph/next\"}",
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        assert!(env.wrapped);
        assert_eq!(env.next_link.as_deref(), Some("https://graph/next"));
    }

    #[test]
    fn structural_errors_say_where() {
        let err = pieces("[{\"a\":1}\n{\"b\":2}]").unwrap_err();
        assert_eq!(
            err,
            ScanError {
                line: 2,
                message: "expected `,` or `]` after record 0".into(),
                index: Some(0)
            }
        );
        let err = pieces("[{\"a\":1},\n{\"b\":").unwrap_err();
        assert_eq!(err.message, "the file ends inside a record");
        assert_eq!(err.index, Some(1));
        assert_eq!(
            pieces("{\"users\": []}").unwrap_err().message,
            "expected a JSON array of users or an object with a `value` array, found an object without `value`"
        );
        assert_eq!(
            pieces("[] x").unwrap_err().message,
            "unexpected text after the end of the document"
        );
    }

    #[test]
    fn lines_skip_blanks_and_count_lines() {
        let mut s = LineScanner::new("{\"a\":1}\n\n{\"b\":2}\n".as_bytes());
        let a = s.next_piece().unwrap().unwrap();
        let b = s.next_piece().unwrap().unwrap();
        assert_eq!((a.index, a.line, b.index, b.line), (0, 1, 1, 3));
        assert!(s.next_piece().unwrap().is_none());
    }
}
