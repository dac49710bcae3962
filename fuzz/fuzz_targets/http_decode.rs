//! Fuzzes the HTTP/1 message decoding with libhtp's semantics: any bytes as a response or a
//! request (lenient status line, header fields with CR/LF CR line ends and folding, loose
//! chunked framing, content-length, gzip/deflate/zlib layers with retries) must parse and
//! decode without panicking, with the output of each decompression layer bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_applayer::http::{self, BodyEnd, DecodeOptions};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the layer limit; the rest is the message.
    let Some((&sel, msg)) = data.split_first() else {
        return;
    };
    let opts = DecodeOptions {
        decompress_layer_limit: usize::from(sel & 3),
    };
    if let Ok(r) = http::Response::parse(msg) {
        let fd = r.file_data(&opts);
        // Each layer is bounded; the raw body and the appended bytes after it are too.
        assert!(fd.len() <= msg.len().max(http::DECOMPRESS_LIMIT));
        if let BodyEnd::At(n) = r.body_end() {
            assert!(n <= r.body().len());
        }
        let _ = (r.status(), r.status_number(), r.headers().count(), r.start());
    }
    if let Ok(r) = http::Response::parse_server_bytes(msg) {
        let _ = (r.file_data(&opts), r.framing(), r.body_end());
    }
    // The streaming chunk reader, fed in two pieces.
    let mut dec = http::ChunkedDecoder::new();
    let mut out = Vec::new();
    let cut = usize::from(sel) % (msg.len() + 1);
    let used = dec.feed(&msg[..cut], &mut out) + dec.feed(&msg[cut..], &mut out);
    assert!(used <= msg.len());
    if let Ok(r) = http::Request::parse(msg) {
        let _ = (r.file_data(&opts), r.body_end(), r.headers().count());
    }
    let _ = http::is_response_start(msg);
    let _ = http::dechunk(msg);
    let _ = (http::decompress(msg, b"gzip"), http::decompress(msg, b"deflate, gzip"));
});
