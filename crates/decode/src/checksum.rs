//! Internet checksums (RFC 1071) of transport segments, for checksum validation
//! (Suricata's `-k all` / `checksum-checks`).
//!
//! Pure functions over byte slices: they never panic, whatever the lengths.

use std::net::IpAddr;

/// One's complement sum of big-endian 16-bit words of `bytes` (an odd last byte is padded
/// with zero), added to `sum`. Callers keep every part but the last of even length.
fn add(mut sum: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// True when the TCP, UDP or ICMPv6 segment `header` + `payload` (the transport header as
/// captured, checksum field included, and the data after it) carries a valid checksum for the
/// pseudo header of `src`, `dst` and `proto`. IPv4 UDP with checksum 0 (not computed by the
/// sender) is valid. Mixed address families are never valid.
pub fn transport_ok(src: IpAddr, dst: IpAddr, proto: u8, header: &[u8], payload: &[u8]) -> bool {
    let len = header.len() as u64 + payload.len() as u64;
    let mut sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            if proto == 17 && header.get(6..8) == Some(&[0, 0]) {
                return true;
            }
            add(add(0, &s.octets()), &d.octets()) + u64::from(proto) + (len & 0xffff)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            add(add(0, &s.octets()), &d.octets()) + (len >> 16) + (len & 0xffff) + u64::from(proto)
        }
        _ => return false,
    };
    if header.len() % 2 == 0 {
        sum = add(add(sum, header), payload);
    } else {
        // The header's odd last byte pairs with the payload's first.
        let (body, last) = header.split_at(header.len() - 1);
        let first = payload.first().copied().unwrap_or(0);
        sum = add(sum, body) + u64::from(u16::from_be_bytes([last[0], first]));
        sum = add(sum, payload.get(1..).unwrap_or(&[]));
    }
    fold(sum) == 0xffff
}

/// True when the ICMPv4 message `header` + `payload` carries a valid checksum (no pseudo
/// header).
pub fn icmpv4_ok(header: &[u8], payload: &[u8]) -> bool {
    let mut whole = Vec::with_capacity(header.len() + payload.len());
    whole.extend_from_slice(header);
    whole.extend_from_slice(payload);
    fold(add(0, &whole)) == 0xffff
}

/// True when the IPv4 `header` (options included) carries a valid checksum.
pub fn ipv4_header_ok(header: &[u8]) -> bool {
    header.len() >= 20 && fold(add(0, header)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    // TCP SYN 192.168.1.1:12345 -> 192.168.1.2:80 (checksum 0xdc04, computed independently with Python).
    const TCP_SYN: [u8; 20] = [
        0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0x20,
        0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn with_csum(mut seg: Vec<u8>, at: usize, src: IpAddr, dst: IpAddr, proto: u8) -> Vec<u8> {
        // Compute the right checksum by brute force over the field: exactly one value is valid.
        for v in 0..=u16::MAX {
            seg[at..at + 2].copy_from_slice(&v.to_be_bytes());
            if transport_ok(src, dst, proto, &seg, &[]) {
                return seg;
            }
        }
        panic!("no valid checksum");
    }

    #[test]
    fn tcp_v4_valid_and_corrupted() {
        let (s, d): (IpAddr, IpAddr) = (
            "192.168.1.1".parse().unwrap(),
            "192.168.1.2".parse().unwrap(),
        );
        let seg = with_csum(TCP_SYN.to_vec(), 16, s, d, 6);
        assert_eq!(&seg[16..18], &[0xdc, 0x04]);
        assert!(transport_ok(s, d, 6, &seg, &[]));
        // Split anywhere between header and payload: same result.
        for cut in 0..=seg.len() {
            assert!(transport_ok(s, d, 6, &seg[..cut], &seg[cut..]));
        }
        let mut bad = seg.clone();
        bad[16] ^= 1;
        assert!(!transport_ok(s, d, 6, &bad, &[]));
        // Another address changes the pseudo header.
        assert!(!transport_ok(
            d,
            "192.168.1.3".parse().unwrap(),
            6,
            &seg,
            &[]
        ));
    }

    #[test]
    fn tcp_v6_and_odd_payload() {
        let (s, d): (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        let mut seg = TCP_SYN.to_vec();
        seg.extend_from_slice(b"odd");
        let seg = with_csum(seg, 16, s, d, 6);
        assert!(transport_ok(s, d, 6, &seg[..20], &seg[20..]));
        assert!(transport_ok(s, d, 6, &seg[..21], &seg[21..]));
        assert!(!transport_ok(s, d, 17, &seg[..20], &seg[20..]));
    }

    #[test]
    fn udp_zero_checksum_and_hostile_inputs() {
        let (s, d): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let udp = [0x04, 0x57, 0x08, 0xae, 0x00, 0x08, 0x00, 0x00];
        assert!(transport_ok(s, d, 17, &udp, &[]));
        // Over IPv6 a zero UDP checksum is invalid.
        let v6: IpAddr = "::1".parse().unwrap();
        assert!(!transport_ok(v6, v6, 17, &udp, &[]));
        // Mixed families, empty and short inputs never panic.
        assert!(!transport_ok(s, v6, 6, &udp, &[]));
        let _ = transport_ok(s, d, 6, &[], &[]);
        let _ = transport_ok(s, d, 6, &[1], &[]);
        let _ = transport_ok(s, d, 6, &[], &[1, 2, 3]);
        let big = vec![0xffu8; 70_000];
        let _ = transport_ok(v6, v6, 6, &big, &big);
        assert!(!ipv4_header_ok(&[0x45; 19]));
        let _ = icmpv4_ok(&[], &[]);
    }

    #[test]
    fn ipv4_header_and_icmp() {
        // 20-byte IPv4 header with checksum 0xb861 (the classic RFC 1071 example packet).
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(ipv4_header_ok(&hdr));
        let mut bad = hdr;
        bad[10] = 0;
        assert!(!ipv4_header_ok(&bad));
        // ICMP echo request id 1 seq 1, no data: checksum 0xf7fd.
        let echo = [0x08, 0x00, 0xf7, 0xfd, 0x00, 0x01, 0x00, 0x01];
        assert!(icmpv4_ok(&echo, &[]));
        assert!(!icmpv4_ok(&echo[..7], &[]));
    }
}
