//! Fuzzes the TLS server-handshake parser: any bytes, as a handshake record or as a DER
//! certificate, must parse or fail without panicking, and every accessor must be safe.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_applayer::tls_server::{CertInfo, Handshake, ServerHello};

fuzz_target!(|data: &[u8]| {
    if let Ok(hs) = Handshake::parse(data) {
        if let Some(sh) = &hs.server_hello {
            let _ = (sh.ja3s(), sh.ja3s_hash(), sh.extension_list().count());
        }
        for c in &hs.certs {
            let _ = CertInfo::parse(c);
        }
        let _ = hs.has(11);
    }
    // The parts on their own, whatever the framing says.
    let _ = ServerHello::parse(data).map(|s| s.ja3s());
    let _ = CertInfo::parse(data);
});
