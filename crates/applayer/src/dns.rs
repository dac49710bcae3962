//! DNS messages (RFC 1035): header, questions with their names decoded to dotted form.
//!
//! [`Message::parse`] checks the 12-byte header; [`Message::questions`] walks the question
//! section lazily. Names follow compression pointers with a hop limit, so a pointer loop is an
//! error, not a hang. No-panic: all reads go through bounds-checked `get`.

use crate::Error;

/// The longest name Suricata would decode, and our bound on the dotted form.
const MAX_NAME: usize = 1025;
/// Compression pointers followed per name before the name is declared invalid.
const MAX_HOPS: usize = 32;
/// [`Error::Invalid`] reason of a name longer than [`MAX_NAME`].
pub(crate) const NAME_TOO_LONG: &str = "DNS name (too long)";
/// [`Error::Invalid`] reason of a name whose compression pointers loop.
pub(crate) const NAME_LOOP: &str = "DNS name (compression loop)";

/// A DNS message view.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parses a DNS message carried over TCP: a 2-byte length, then the message.
pub fn parse_tcp(p: &[u8]) -> Result<Message<'_>, Error> {
    let len = usize::from(be16(p, 0).ok_or(Error::Incomplete)?);
    let msg = p.get(2..2 + len).ok_or(Error::Incomplete)?;
    Message::parse(msg)
}

impl<'a> Message<'a> {
    /// Checks the header: at least 12 bytes, at most 32 questions, and the counts not larger
    /// than the bytes could hold. Any opcode is accepted, as Suricata's parser does (an
    /// opcode of 7 or more is flagged by `dns.invalid_opcode`, see [`crate::events`]).
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, Error> {
        if buf.len() < 12 {
            return Err(Error::Incomplete);
        }
        let m = Message { buf };
        if m.qdcount() > 32 {
            return Err(Error::Invalid("DNS header (question count)"));
        }
        // Each question takes at least 5 bytes, each record at least 11.
        let min = 12
            + 5 * usize::from(m.qdcount())
            + 11 * (usize::from(m.count(6)) + usize::from(m.count(8)) + usize::from(m.count(10)));
        if min > buf.len() {
            return Err(Error::Invalid(
                "DNS header (counts larger than the message)",
            ));
        }
        Ok(m)
    }

    fn count(&self, at: usize) -> u16 {
        be16(self.buf, at).unwrap_or(0)
    }

    /// Transaction id.
    pub fn id(&self) -> u16 {
        self.count(0)
    }

    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, rcode).
    pub fn flags(&self) -> u16 {
        self.count(2)
    }

    /// The opcode (0 = query, 4 = notify, 5 = update, ...).
    pub fn opcode(&self) -> u8 {
        ((self.flags() >> 11) & 0xf) as u8
    }

    /// The response code (0 = NOERROR, 3 = NXDOMAIN, ...).
    pub fn rcode(&self) -> u8 {
        (self.flags() & 0xf) as u8
    }

    /// True for a response (QR bit set).
    pub fn is_response(&self) -> bool {
        self.flags() & 0x8000 != 0
    }

    /// The number of questions.
    pub fn qdcount(&self) -> u16 {
        self.count(4)
    }

    /// The questions, in order; an item is an error when that question is malformed (the
    /// iterator then stops).
    pub fn questions(&self) -> Questions<'a> {
        Questions {
            buf: self.buf,
            pos: 12,
            left: self.qdcount(),
        }
    }
}

/// One question: the name in dotted form (no trailing dot; the root is empty) and the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The query name, dotted (`dns.query`), labels as sent (case kept).
    pub name: Vec<u8>,
    /// The query type (1 = A, 28 = AAAA, ...).
    pub qtype: u16,
    /// The query class (1 = IN).
    pub qclass: u16,
}

/// Iterator over the question section.
#[derive(Debug, Clone)]
pub struct Questions<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u16,
}

impl Iterator for Questions<'_> {
    type Item = Result<Question, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = (|| {
            let (name, end) = read_name(self.buf, self.pos)?;
            let qtype = be16(self.buf, end).ok_or(Error::Incomplete)?;
            let qclass = be16(self.buf, end + 2).ok_or(Error::Incomplete)?;
            self.pos = end + 4;
            Ok(Question {
                name,
                qtype,
                qclass,
            })
        })();
        if r.is_err() {
            self.left = 0;
        }
        Some(r)
    }
}

/// Reads a (possibly compressed) name at `pos`: the dotted name and the offset just after
/// the name's bytes at `pos`.
pub fn read_name(buf: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), Error> {
    let mut out = Vec::new();
    let mut end = None;
    let mut hops = 0;
    loop {
        let len = *buf.get(pos).ok_or(Error::Incomplete)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok((out, end.unwrap_or(pos + 1)));
                }
                let label = buf
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(Error::Incomplete)?;
                if !out.is_empty() {
                    out.push(b'.');
                }
                out.extend_from_slice(label);
                if out.len() > MAX_NAME {
                    return Err(Error::Invalid(NAME_TOO_LONG));
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let lo = *buf.get(pos + 1).ok_or(Error::Incomplete)?;
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Error::Invalid(NAME_LOOP));
                }
                end.get_or_insert(pos + 2);
                pos = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
            }
            _ => return Err(Error::Invalid("DNS name (reserved label type)")),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A one-question query message for `name` (wire form) and `qtype`.
    pub(crate) fn query(name: &[u8], qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(name);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    #[test]
    fn question_names() {
        let q = query(b"\x03www\x07Example\x03com\x00", 28);
        let m = Message::parse(&q).unwrap();
        assert_eq!(m.id(), 0x1234);
        assert!(!m.is_response());
        let qs: Vec<_> = m.questions().collect();
        assert_eq!(
            qs,
            vec![Ok(Question {
                name: b"www.Example.com".to_vec(),
                qtype: 28,
                qclass: 1
            })]
        );
    }

    #[test]
    fn compression_and_loops() {
        // Two questions, the second pointing into the first name.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 2, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x03com\x00\x00\x01\x00\x01");
        m.extend_from_slice(b"\x01b\xc0\x0e\x00\x10\x00\x01");
        let msg = Message::parse(&m).unwrap();
        assert!(msg.is_response());
        assert_eq!((msg.opcode(), msg.rcode()), (0, 0));
        let names: Vec<_> = msg.questions().map(|q| q.unwrap().name).collect();
        assert_eq!(names, vec![b"a.com".to_vec(), b"b.com".to_vec()]);
        // A pointer to itself.
        let mut l = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        l.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        let msg = Message::parse(&l).unwrap();
        assert!(matches!(
            msg.questions().next(),
            Some(Err(Error::Invalid(_)))
        ));
    }

    #[test]
    fn bad_headers_and_tcp() {
        assert_eq!(Message::parse(&[0; 5]).unwrap_err(), Error::Incomplete);
        let mut q = query(b"\x01x\x00", 1);
        q[5] = 40; // 40 questions in a tiny message
        assert!(Message::parse(&q).is_err());
        let mut q = query(b"\x01x\x00", 1);
        q[2] = 0x49; // opcode 9: parsed, flagged by the events
        assert_eq!(Message::parse(&q).unwrap().opcode(), 9);
        let q = query(b"\x01x\x00", 1);
        let mut t = (q.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&q);
        assert_eq!(parse_tcp(&t).unwrap().questions().count(), 1);
        assert_eq!(parse_tcp(&t[..5]).unwrap_err(), Error::Incomplete);
        // Truncated name.
        let q = query(b"\x05ab", 1);
        let m = Message::parse(&q[..q.len() - 4]);
        if let Ok(m) = m {
            assert!(m.questions().next().unwrap().is_err());
        }
    }
}
