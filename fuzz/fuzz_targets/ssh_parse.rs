//! Fuzzes the SSH parsers: any bytes must parse (banner, KEXINIT, HASSH) or fail without
//! panicking, and the stream framer must keep at most its limit whatever the cuts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_applayer::ssh::{md5_hex, Banner, Framer, KexInit, SshMessage};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    if let Ok(m) = SshMessage::parse(data) {
        if let Some(k) = m.kexinit {
            let _ = (md5_hex(&k.hassh_string()), md5_hex(&k.hassh_server_string()));
        }
    }
    let _ = Banner::parse(data);
    let _ = KexInit::parse(data);
    // The framer over cuts of 1..=64 bytes, with a limit picked by the selector.
    let cut = usize::from(sel % 64) + 1;
    let limit = usize::from(sel) * 16;
    let mut f = Framer::default();
    let mut buf = Vec::new();
    for part in data.chunks(cut) {
        f.data(&mut buf, part, limit);
    }
    assert!(buf.len() <= limit);
    let _ = SshMessage::parse(&buf);
});
